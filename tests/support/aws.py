"""An administrator on a moto server that enforces authentication.

Started with ``moto_server(..., no_auth_actions=ADMIN_SETUP_CALLS)``, moto lets the first calls
through unsigned; :func:`admin_session` spends them creating an administrator (the sandbox's own
:func:`leakguard.backends.aws_sandbox.bootstrap`), after which moto checks every request's
signature and policies (STS rejects unknown and deleted keys).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import boto3

from leakguard.backends.aws_iam import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from leakguard.backends.aws_sandbox import ALLOW_ALL, BOOTSTRAP_CALLS, bootstrap
from tests.support.servers import Moto

ADMIN_SETUP_CALLS = BOOTSTRAP_CALLS


def admin_session(server: Moto) -> boto3.session.Session:
    """Create the administrator with the unauthenticated calls; a session signed by its key."""
    admin = bootstrap(server.url, server.region).admin
    return boto3.session.Session(
        aws_access_key_id=admin[ACCESS_KEY_ID],
        aws_secret_access_key=admin[SECRET_ACCESS_KEY],
        region_name=server.region,
    )


def new_user(
    admin: Any, *, keys: int = 1, allow_all: bool = False
) -> tuple[str, list[dict[str, str]]]:
    """A fresh IAM user made through the ``admin`` IAM client, with ``keys`` access keys; with
    ``allow_all`` the user may do anything (so STS accepts its keys)."""
    name = f"app-{uuid.uuid4().hex[:8]}"
    admin.create_user(UserName=name)
    if allow_all:
        admin.put_user_policy(UserName=name, PolicyName="app", PolicyDocument=ALLOW_ALL)
    made = []
    for _ in range(keys):
        k = admin.create_access_key(UserName=name)["AccessKey"]
        made.append({ACCESS_KEY_ID: k["AccessKeyId"], SECRET_ACCESS_KEY: k["SecretAccessKey"]})
    return name, made


def key_client(url: str, service: str, key: Mapping[str, str]) -> Any:
    """A boto3 client for ``service`` on the moto server at ``url``, signed by ``key``."""
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key[ACCESS_KEY_ID],
        aws_secret_access_key=key[SECRET_ACCESS_KEY],
    )
