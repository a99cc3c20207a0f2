from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from leakguard.errors import GraphError
from leakguard.graph.evidence import cloudtrail_reads, vault_audit_reads
from leakguard.graph.interface import StoreRef

DATA = Path(__file__).parent / "data"


def test_openbao_audit_log_gives_the_one_kv_read() -> None:
    # written by a real OpenBao 2.x dev server: a root write, an AppRole login, one read
    events = list(vault_audit_reads(DATA / "openbao-audit-read.jsonl"))
    assert len(events) == 1
    (event,) = events
    assert event.store == StoreRef("vault-kv2", "payments/stripe", "secret")
    assert event.identity == "vault-approle:payments"
    assert event.version == "1"
    assert event.remote_address == "127.0.0.1"
    assert event.at.startswith("2026-") and event.at.endswith("Z")
    assert event.source.startswith("vault-audit:")


def _entry(
    path: str,
    *,
    at: str,
    role: str | None = None,
    entity: str | None = None,
    version: int = 3,
    error: str | None = None,
    op: str = "read",
) -> dict[str, object]:
    auth: dict[str, object] = {"display_name": "token-ci"}
    if role:
        auth["metadata"] = {"role_name": role}
    if entity:
        auth["entity_id"] = entity
    entry: dict[str, object] = {
        "time": at,
        "type": "response",
        "auth": auth,
        "request": {
            "operation": op,
            "mount_point": "kv/team/",
            "mount_type": "kv",
            "path": path,
            "remote_address": "10.0.0.7",
        },
        "response": {"data": {"data": {"k": "hmac-sha256:00"}, "metadata": {"version": version}}},
    }
    if error:
        entry["error"] = error
        entry["response"] = {}
    return entry


def test_audit_identity_scheme_mounts_since_and_skips(tmp_path: Path) -> None:
    lines = [
        _entry("kv/team/data/a/b", at="2026-03-01T10:00:00Z", role="api"),
        _entry("kv/team/data/a/b", at="2026-03-02T10:00:00Z", entity="ent-1"),
        _entry("kv/team/data/a/b", at="2026-03-03T10:00:00Z"),
        _entry("kv/team/metadata/a/b", at="2026-03-03T10:00:00Z", role="api"),
        _entry("kv/team/data/a/b", at="2026-03-03T10:00:00Z", role="x", error="permission denied"),
        _entry("kv/team/data/a/b", at="2026-03-03T10:00:00Z", role="x", op="update"),
    ]
    text = "\n".join(json.dumps(x) for x in lines) + '\n{"torn'
    log = tmp_path / "audit.log"
    log.write_text(text)
    events = list(vault_audit_reads(log))
    assert [e.identity for e in events] == [
        "vault-approle:api",
        "vault-entity:ent-1",
        "vault-token:token-ci",
    ]
    assert {e.store for e in events} == {StoreRef("vault-kv2", "a/b", "kv/team")}
    assert [e.identity for e in vault_audit_reads(log, since="2026-03-02T00:00:00Z")] == [
        "vault-entity:ent-1",
        "vault-token:token-ci",
    ]
    gz = tmp_path / "audit.log.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    assert len(list(vault_audit_reads(gz))) == 3
    with pytest.raises(GraphError, match="ISO 8601"):
        list(vault_audit_reads(log, since="last week"))
    with pytest.raises(GraphError, match="cannot read"):
        list(vault_audit_reads(tmp_path / "missing.log"))


def _trail(
    tmp_path: Path, name: str, records: list[dict[str, object]], *, gz: bool = False
) -> Path:
    body = json.dumps({"Records": records}).encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(body) if gz else body)
    return path


def _event(secret: str, arn: str, at: str, **extra: object) -> dict[str, object]:
    params: dict[str, object] = {"secretId": secret}
    params.update(extra.pop("params", {}))  # type: ignore[call-overload]
    return {
        "eventVersion": "1.08",
        "eventSource": "secretsmanager.amazonaws.com",
        "eventName": "GetSecretValue",
        "eventTime": at,
        "sourceIPAddress": "10.1.2.3",
        "userIdentity": {"type": "AssumedRole", "arn": arn},
        "requestParameters": params,
        "responseElements": None,
        **extra,
    }


def test_cloudtrail_get_secret_value(tmp_path: Path) -> None:
    role = "arn:aws:sts::123456789012:assumed-role/payments/i-0abc"
    user = "arn:aws:iam::123456789012:user/deploy"
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/stripe-AbC123"
    one = _trail(
        tmp_path,
        "a.json",
        [
            _event("prod/payments/stripe", role, "2026-04-01T12:00:00Z"),
            _event(arn, user, "2026-04-02T12:00:00Z", params={"versionStage": "AWSCURRENT"}),
            _event("prod/payments/stripe", user, "2026-04-03T12:00:00Z", errorCode="AccessDenied"),
            {**_event("x", user, "2026-04-03T12:00:00Z"), "eventName": "PutSecretValue"},
        ],
    )
    two = _trail(tmp_path, "b.json.gz", [_event("other", user, "2026-04-04T00:00:00Z")], gz=True)
    events = list(cloudtrail_reads([one, two]))
    assert [(e.store.path, e.identity, e.version) for e in events] == [
        ("prod/payments/stripe", "aws:arn:aws:iam::123456789012:role/payments", None),
        ("prod/payments/stripe", f"aws:{user}", "AWSCURRENT"),
        ("other", f"aws:{user}", None),
    ]
    assert all(e.store.backend == "aws-secretsmanager" and e.store.mount is None for e in events)
    assert events[0].remote_address == "10.1.2.3"
    assert len(list(cloudtrail_reads([one, two], since="2026-04-02T00:00:00Z"))) == 2
    bad = tmp_path / "bad.json"
    bad.write_text('{"nope": 1}')
    with pytest.raises(GraphError, match="no Records"):
        list(cloudtrail_reads([bad]))
    bad.write_text("not json")
    with pytest.raises(GraphError, match="not a CloudTrail"):
        list(cloudtrail_reads([bad]))
