"""AWS access keys: STS ``GetCallerIdentity`` signed with the leaked pair.

GetCallerIdentity needs no permission and cannot be denied by a policy, so success proves the key
is active and names its account, ARN and user id. The endpoint is the standard one, or what the
standard AWS settings say (``AWS_ENDPOINT_URL_STS``, then ``AWS_ENDPOINT_URL``), as every AWS tool
honours them; never a value from scanned content. A key id without its secret cannot be checked:
``unknown``.
"""

from __future__ import annotations

import os
import re

from leakguard.backends._aws import make_client
from leakguard.errors import BackendError
from leakguard.model import Finding
from leakguard.verify.interface import Probe, Result, Status, Transport

_KEY_ID = re.compile(r"^(AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}$")
_REVOKED = {
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "AuthFailure",
}
ENDPOINT = "https://sts.amazonaws.com"


def sts_endpoint() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL_STS") or os.environ.get("AWS_ENDPOINT_URL") or None


class AwsVerifier:
    name = "aws"

    def handles(self, finding: Finding) -> bool:
        return finding.provider == "aws" and finding.rule_id.startswith("aws-access-key")

    def probe(self, finding: Finding) -> Probe | None:
        if finding.attribute("paired") is False:
            return None
        return Probe(self.name, "POST", (sts_endpoint() or ENDPOINT) + " GetCallerIdentity")

    def verify(self, finding: Finding, secret: str, transport: Transport) -> Result:
        key_id, _, key_secret = secret.partition(":")
        endpoint = f"POST {sts_endpoint() or ENDPOINT} GetCallerIdentity"
        if not _KEY_ID.match(key_id) or not key_secret:
            return Result(Status.UNKNOWN, self.name, endpoint, detail="a key id without its secret")
        try:
            client = make_client(
                "sts",
                endpoint_url=sts_endpoint(),
                timeout=10.0,
                credentials={"aws_access_key_id": key_id, "aws_secret_access_key": key_secret},
            )
            answer = client.get_caller_identity()
        except BackendError as exc:
            return Result(Status.UNKNOWN, self.name, endpoint, detail=exc.message)
        except Exception as exc:  # botocore: ClientError, connection and timeout errors
            code = _error_code(exc)
            if code in _REVOKED:
                return Result(Status.REVOKED, self.name, endpoint, http_status=403, detail=code)
            return Result(Status.UNKNOWN, self.name, endpoint, detail=code or type(exc).__name__)
        identity = {k.lower(): str(answer[k]) for k in ("Account", "Arn", "UserId") if k in answer}
        return Result(
            Status.LIVE,
            self.name,
            endpoint,
            http_status=200,
            identity=tuple(sorted(identity.items())),
            detail="GetCallerIdentity answered",
        )


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""
