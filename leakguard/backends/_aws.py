"""boto3 sessions and clients for the AWS backends: explicit timeouts and no SDK retries (the
playbook runner owns retries), one place for the endpoint override used with moto."""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config


def client_config(timeout: float) -> Config:
    return Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"mode": "standard", "total_max_attempts": 1},
    )


def make_client(
    service: str,
    *,
    session: boto3.session.Session | None = None,
    endpoint_url: str | None = None,
    region: str | None = None,
    timeout: float = 10.0,
    credentials: dict[str, str] | None = None,
) -> Any:
    session = session or boto3.session.Session()
    region = region or session.region_name or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    return session.client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        config=client_config(timeout),
        **(credentials or {}),
    )
