"""Build a backend from its ``kind`` and parameters (a playbook's ``backend:`` block), importing
the SDK module only when that kind is used. ``dry_run=True`` gives the in-memory fakes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from leakguard.backends.interface import KeyIssuer, SecretStore
from leakguard.errors import UsageError

STORE_KINDS = ("vault-kv2", "aws-secretsmanager", "fake")
ISSUER_KINDS = ("aws-iam", "generated", "manual", "fake")


def _check(kind: str, params: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = set(params) - allowed
    if unknown:
        raise UsageError(
            f"unknown parameter(s) for backend {kind}: {', '.join(sorted(unknown))}",
            hint=f"allowed: {', '.join(sorted(allowed)) or 'none'}",
        )


def _timeout(params: Mapping[str, Any]) -> float:
    try:
        return float(params.get("timeout", 10.0))
    except (TypeError, ValueError):
        raise UsageError("backend timeout must be a number of seconds") from None


def make_store(
    kind: str, params: Mapping[str, Any] | None = None, *, dry_run: bool = False
) -> SecretStore:
    params = dict(params or {})
    if kind not in STORE_KINDS:
        raise UsageError(f"unknown secret store {kind!r}", hint=f"use {', '.join(STORE_KINDS)}")
    if dry_run or kind == "fake":
        from leakguard.backends.fake import FakeStore

        return FakeStore()
    if kind == "vault-kv2":
        from leakguard.backends.vault_kv2 import STAGING_FOLDER, VaultKV2Store

        _check(kind, params, {"url", "token", "mount", "timeout", "staging"})
        if "url" in params and "token" in params:
            return VaultKV2Store(
                str(params["url"]),
                str(params["token"]),
                str(params.get("mount", "secret")),
                _timeout(params),
                staging=str(params.get("staging") or STAGING_FOLDER),
            )
        return VaultKV2Store.from_env(params.get("mount"), _timeout(params), params.get("staging"))
    from leakguard.backends.aws_secretsmanager import SecretsManagerStore

    _check(kind, params, {"endpoint_url", "region", "timeout"})
    return SecretsManagerStore(
        endpoint_url=params.get("endpoint_url"),
        region=params.get("region"),
        timeout=_timeout(params),
    )


def make_issuer(
    kind: str, params: Mapping[str, Any] | None = None, *, dry_run: bool = False, **hooks: Any
) -> KeyIssuer:
    """``hooks``: ``prompt``/``confirm`` callbacks for the manual issuer."""
    params = dict(params or {})
    if kind not in ISSUER_KINDS:
        raise UsageError(f"unknown key issuer {kind!r}", hint=f"use {', '.join(ISSUER_KINDS)}")
    if dry_run or kind == "fake":
        from leakguard.backends.fake import FakeIssuer

        return FakeIssuer(kind)
    if kind == "aws-iam":
        from leakguard.backends.aws_iam import IamKeyIssuer

        _check(kind, params, {"endpoint_url", "region", "timeout"})
        return IamKeyIssuer(
            endpoint_url=params.get("endpoint_url"),
            region=params.get("region"),
            timeout=_timeout(params),
        )
    if kind == "generated":
        from leakguard.backends.generated import GeneratedIssuer, GeneratedSpec

        return GeneratedIssuer(GeneratedSpec.from_params(params))
    from leakguard.backends.manual import ManualIssuer

    _check(kind, params, {"provider", "value_file", "field"})
    if "provider" not in params:
        raise UsageError("the manual issuer needs a provider", hint="e.g. provider: stripe")
    value_file = params.get("value_file")
    return ManualIssuer(
        str(params["provider"]),
        prompt=hooks.get("prompt"),
        confirm=hooks.get("confirm"),
        value_file=Path(value_file) if value_file else None,
        field=str(params.get("field", "value")),
    )
