#!/usr/bin/env python3
"""Write the demo estate's access evidence in the providers' own formats.

* ``evidence/vault-audit.log``: OpenBao/Vault file-audit ``response`` entries (one JSON object a
  line; strings HMAC'd as audit devices do by default, the fields Vault writes in clear left
  clear) for the KV v2 reads of ``secret/payments/stripe`` by the ``payments`` and ``billing``
  AppRoles, and one denied read that must not count.
* ``evidence/cloudtrail/<date>.json``: a CloudTrail log file (``{"Records": [...]}``) with the
  deployer role's ``GetSecretValue`` calls on ``prod/deploy/aws``, and calls signed with the
  leaked access key id of ``examples/leaky-app/src/deploy.py`` (an IAM user's key: the key id is
  not secret; its secret half never appears here).

The output is deterministic (a fixed seed and fixed times), so the committed files are exactly
what this script writes: run it after changing the demo app's AWS key and commit the result.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
APP = HERE.parent / "leaky-app"
ACCOUNT = "123456789012"
START = datetime(2026, 11, 30, 1, 0, 0, tzinfo=UTC)
_rng = random.Random(20261130)


def _hmac(text: str) -> str:
    return "hmac-sha256:" + hashlib.sha256(b"estate-audit-salt" + text.encode()).hexdigest()


def _uuid() -> str:
    return str(uuid.UUID(int=_rng.getrandbits(128), version=4))


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def leaked_key_id() -> str:
    match = re.search(r"AKIA[0-9A-Z]{16}", (APP / "src" / "deploy.py").read_text())
    if match is None:
        raise SystemExit("examples/leaky-app/src/deploy.py holds no AWS access key id")
    return match.group(0)


def vault_read(
    at: datetime, role: str, entity: str, version: int, remote: str
) -> dict[str, object]:
    auth = {
        "client_token": _hmac(f"token-{role}"),
        "accessor": _hmac(f"accessor-{role}"),
        "display_name": "approle",
        "policies": ["default", role],
        "token_policies": ["default", role],
        "metadata": {"role_name": role},
        "entity_id": entity,
        "token_type": "service",
        "token_ttl": 3600,
    }
    mount = {
        "mount_point": "secret/",
        "mount_type": "kv",
        "mount_accessor": "kv_6e3f1b2a",
        "mount_running_version": "v2.1.0+builtin",
        "mount_class": "secret",
    }
    request = {
        "id": _uuid(),
        "operation": "read",
        **mount,
        "client_token": auth["client_token"],
        "client_token_accessor": auth["accessor"],
        "namespace": {"id": "root"},
        "path": "secret/data/payments/stripe",
        "remote_address": remote,
        "remote_port": _rng.randint(32768, 60999),
    }
    data = {
        "data": {"api_key": _hmac(f"stripe-v{version}")},
        "metadata": {
            "created_time": _hmac(f"created-v{version}"),
            "custom_metadata": None,
            "deletion_time": _hmac(""),
            "destroyed": False,
            "version": version,
        },
    }
    return {
        "time": _stamp(at),
        "type": "response",
        "auth": auth,
        "request": request,
        "response": {**mount, "data": data},
    }


def vault_audit() -> list[dict[str, object]]:
    readers = [
        ("payments", _uuid(), "10.20.3.17"),
        ("billing", _uuid(), "10.20.4.9"),
    ]
    entries = []
    for hour in range(0, 48, 6):
        for role, entity, remote in readers:
            at = START + timedelta(hours=hour, seconds=_rng.randint(0, 600))
            entries.append(vault_read(at, role, entity, 3, remote))
    denied = vault_read(START + timedelta(hours=7), "reporting", _uuid(), 3, "10.20.9.2")
    denied["error"] = "1 error occurred:\n\t* permission denied\n\n"
    denied["response"] = {"data": {"error": "1 error occurred:\n\t* permission denied\n\n"}}
    entries.append(denied)
    return sorted(entries, key=lambda e: str(e["time"]))


def _event(at: datetime, identity: dict[str, object], secret: str, agent: str) -> dict[str, object]:
    arn = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{secret}-Ab3dE5"
    return {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "secretsmanager.amazonaws.com",
        "eventName": "GetSecretValue",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.10",
        "userAgent": agent,
        "requestParameters": {"secretId": secret},
        "responseElements": None,
        "requestID": _uuid(),
        "eventID": _uuid(),
        "readOnly": True,
        "resources": [{"accountId": ACCOUNT, "type": "AWS::SecretsManager::Secret", "ARN": arn}],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }


def cloudtrail() -> dict[str, object]:
    role = {
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLEDEPLOYER01:gha-release",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/gha-release",
        "accountId": ACCOUNT,
        "accessKeyId": "ASIA"
        + "".join(_rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16)),
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLEDEPLOYER01",
                "arn": f"arn:aws:iam::{ACCOUNT}:role/deployer",
                "accountId": ACCOUNT,
                "userName": "deployer",
            },
            "attributes": {"creationDate": "2026-11-30T01:55:00Z", "mfaAuthenticated": "false"},
        },
    }
    user = {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLEDEPLOYUSER",
        "arn": f"arn:aws:iam::{ACCOUNT}:user/deploy",
        "accountId": ACCOUNT,
        "accessKeyId": leaked_key_id(),
        "userName": "deploy",
    }
    records = []
    for day in range(2):
        at = START + timedelta(days=day, hours=1, minutes=5)
        records.append(
            _event(
                at,
                role,
                "prod/deploy/aws",
                "aws-cli/2.22.0 md/command#secretsmanager.get-secret-value",
            )
        )
        at = START + timedelta(days=day, hours=3, minutes=41)
        records.append(_event(at, user, "prod/deploy/config", "Boto3/1.35.0 md/Botocore#1.35.0"))
    return {"Records": records}


def main() -> None:
    audit = HERE / "evidence" / "vault-audit.log"
    audit.parent.mkdir(parents=True, exist_ok=True)
    audit.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in vault_audit()))
    trail = HERE / "evidence" / "cloudtrail" / f"{ACCOUNT}_CloudTrail_us-east-1_20261130.json"
    trail.parent.mkdir(parents=True, exist_ok=True)
    trail.write_text(json.dumps(cloudtrail(), indent=1) + "\n")
    print(f"wrote {audit.relative_to(HERE)} and {trail.relative_to(HERE)}")


if __name__ == "__main__":
    main()
