"""Posts deploy notes to Slack and asks an LLM to summarise the changelog."""

import requests
from openai import OpenAI

SLACK_WEBHOOK = "https://hooks.slack.com/services/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"
client = OpenAI(api_key="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")


def announce(changelog: str) -> None:
    summary = client.responses.create(model="gpt-4.1-mini", input=changelog).output_text
    requests.post(SLACK_WEBHOOK, json={"text": summary}, timeout=10)
