import boto3

# TODO move to Secrets Manager
session = boto3.Session(
    aws_access_key_id="AKIAQSAJ2XUID5ZZZZG6",
    aws_secret_access_key="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",
)
GITHUB_TOKEN = "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"
