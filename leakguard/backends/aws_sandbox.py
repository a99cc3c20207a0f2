"""Seed a local moto server for a rehearsal sandbox (:mod:`leakguard.rotation.sandbox`): an
administrator identity, IAM users with access keys, and Secrets Manager secrets. Only ever
pointed at a server LeakGuard started itself on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from leakguard.backends._aws import make_client
from leakguard.backends.aws_iam import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from leakguard.backends.aws_secretsmanager import encode
from leakguard.backends.errors import from_botocore
from leakguard.backends.interface import SecretData

ADMIN_USER = "leakguard-sandbox-admin"
ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
BOOTSTRAP_CALLS = 3
"""Unauthenticated calls moto must allow (INITIAL_NO_AUTH_ACTION_COUNT) for :func:`bootstrap`."""


def _client(service: str, endpoint_url: str, region: str, key: SecretData) -> Any:
    credentials = {
        "aws_access_key_id": key[ACCESS_KEY_ID],
        "aws_secret_access_key": key[SECRET_ACCESS_KEY],
    }
    return make_client(service, endpoint_url=endpoint_url, region=region, credentials=credentials)


@dataclass(frozen=True)
class AwsSeeder:
    endpoint_url: str
    region: str
    admin: SecretData  # the sandbox's own administrator key (not a user secret)

    def _client(self, service: str) -> Any:
        return _client(service, self.endpoint_url, self.region, self.admin)

    def user_with_key(self, user: str) -> SecretData:
        """An IAM user allowed everything (so STS works for its keys) with one access key."""
        iam = self._client("iam")
        try:
            iam.create_user(UserName=user)
            iam.put_user_policy(UserName=user, PolicyName="sandbox", PolicyDocument=ALLOW_ALL)
            key = iam.create_access_key(UserName=user)["AccessKey"]
        except Exception as exc:
            raise from_botocore(exc, f"seed IAM user {user}") from None
        return {
            ACCESS_KEY_ID: str(key["AccessKeyId"]),
            SECRET_ACCESS_KEY: str(key["SecretAccessKey"]),
        }

    def secret(self, name: str, data: Mapping[str, str]) -> None:
        try:
            self._client("secretsmanager").create_secret(Name=name, SecretString=encode(data))
        except Exception as exc:
            raise from_botocore(exc, f"seed secret {name}") from None


def bootstrap(endpoint_url: str, region: str) -> AwsSeeder:
    """Create the administrator with moto's first unauthenticated calls; afterwards moto
    checks every request's signature and policies, as AWS does."""
    boot = _client(
        "iam", endpoint_url, region, {ACCESS_KEY_ID: "bootstrap", SECRET_ACCESS_KEY: "bootstrap"}
    )
    try:
        boot.create_user(UserName=ADMIN_USER)
        boot.put_user_policy(UserName=ADMIN_USER, PolicyName="all", PolicyDocument=ALLOW_ALL)
        key = boot.create_access_key(UserName=ADMIN_USER)["AccessKey"]
    except Exception as exc:
        raise from_botocore(exc, "bootstrap the sandbox administrator") from None
    admin = {ACCESS_KEY_ID: str(key["AccessKeyId"]), SECRET_ACCESS_KEY: str(key["SecretAccessKey"])}
    return AwsSeeder(endpoint_url, region, admin)
