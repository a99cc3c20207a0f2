"""boto3 sessions and clients for the AWS backends: explicit timeouts and no SDK retries (the
playbook runner owns retries), one place for the endpoint override used with moto."""

from __future__ import annotations

import os
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config

from leakguard.errors import BackendError

_MODELS = botocore.loaders.create_loader()
"""Service models are parsed once per process and shared by every new session (parsing them
again made each new client cost ~0.4 s); credentials are still resolved per session."""


def _new_session() -> boto3.session.Session:
    core = botocore.session.get_session()
    core.register_component("data_loader", _MODELS)
    return boto3.session.Session(botocore_session=core)


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
    session = session or _new_session()
    region = region or session.region_name or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    try:
        return session.client(
            service,
            region_name=region,
            endpoint_url=endpoint_url,
            config=client_config(timeout),
            **(credentials or {}),
        )
    except ValueError:  # botocore: "Invalid endpoint: URL" (a URL may embed credentials)
        raise BackendError(
            f"cannot make an AWS {service} client: the endpoint URL or the region ({region}) "
            "is not valid",
            hint="check --aws-endpoint / AWS_ENDPOINT_URL (http(s)://host:port) and the region",
        ) from None
