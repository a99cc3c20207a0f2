"""Plan mode runs the read-only steps for real and makes zero writes: OpenBao's audit log shows
no write request and its state is unchanged; moto's IAM and Secrets Manager state is unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import hvac
import pytest

from leakguard.graph.interface import StoreRef
from leakguard.rotation import runner as engine
from leakguard.rotation.planner import plan_playbook
from leakguard.rotation.schema import find_playbook, load_playbook
from tests.integration.test_playbook_helpers import seed_kv_secret, unique
from tests.support.graphs import save_graph
from tests.support.servers import Moto, OpenBao

WRITES = {"create", "update", "delete", "patch"}


def _vault_writes(audit_log: Path, since: int, path: str) -> list[str]:
    lines = audit_log.read_bytes().splitlines()[since:]
    out = []
    for raw in lines:
        entry = json.loads(raw)
        request = entry.get("request") or {}
        if (
            entry.get("type") == "request"
            and request.get("operation") in WRITES
            and path in str(request.get("path", ""))
        ):
            out.append(f"{request['operation']} {request['path']}")
    return out


def _vault_state(root: hvac.Client, path: str) -> Any:
    meta = root.secrets.kv.v2.read_secret_metadata(path=path)["data"]
    return meta["current_version"], meta["custom_metadata"], sorted(meta["versions"])


def test_plan_makes_zero_writes_to_vault(openbao: OpenBao, tmp_path: Path) -> None:
    assert openbao.audit_log is not None
    old = "old-" + "p" * 30
    root, path = seed_kv_secret(openbao, "lg-plan/app", {"value": old})
    db = tmp_path / "lg.db"
    fp = save_graph(db, old, StoreRef("vault-kv2", path, "secret"), [])
    before = _vault_state(root, path)
    start = len(openbao.audit_log.read_bytes().splitlines())
    options = engine.EngineOptions(
        graph=engine.open_graph(db),
        backend_overrides={"vault": {"url": openbao.url, "token": openbao.token}},
    )
    plan = plan_playbook(
        load_playbook(find_playbook("vault-kv-secret")),
        {"credential": fp, "secret": path, "audit_log": str(openbao.audit_log)},
        options,
    )
    kinds = {line.step_id: line.kind for line in plan.lines}
    assert kinds["current"] == "read" and kinds["dangling"] == "read"  # ran for real
    assert kinds["stage"] == "write" and kinds["promote"] == "write"
    assert kinds["discard-dangling"] == "skip"  # nothing pending: a real read decided it
    assert kinds["approve-revoke"] == "approval"
    assert plan.writes >= 3
    reads = next(line for line in plan.lines if line.step_id == "current")
    assert "version_id=1" in reads.text and old not in reads.text
    assert _vault_state(root, path) == before
    assert _vault_writes(openbao.audit_log, start, path) == []
    assert not list(tmp_path.glob("**/*.jsonl"))  # no run, no audit trail


def test_plan_makes_zero_writes_to_aws(
    openbao: OpenBao, moto: Moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in moto.env().items():
        monkeypatch.setenv(key, value)
    session = boto3.session.Session(region_name=moto.region)
    iam = session.client("iam", endpoint_url=moto.url)
    sm = session.client("secretsmanager", endpoint_url=moto.url)
    user = unique("plan-user")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    name = unique("lg-plan/iam")
    sm.create_secret(
        Name=name,
        SecretString=json.dumps(
            {
                "aws_access_key_id": key["AccessKeyId"],
                "aws_secret_access_key": key["SecretAccessKey"],
            }
        ),
    )

    def state() -> Any:
        return (
            iam.list_access_keys(UserName=user)["AccessKeyMetadata"],
            iam.list_user_policies(UserName=user)["PolicyNames"],
            sm.describe_secret(SecretId=name)["VersionIdsToStages"],
        )

    before = state()
    db = tmp_path / "lg.db"
    fp = save_graph(db, key["SecretAccessKey"], StoreRef("aws-secretsmanager", name), [])
    aws = {"endpoint_url": moto.url, "region": moto.region}
    options = engine.EngineOptions(
        graph=engine.open_graph(db),
        backend_overrides={"kind:aws-iam": aws, "kind:aws-secretsmanager": aws},
    )
    plan = plan_playbook(
        load_playbook(find_playbook("aws-iam-access-key")),
        {"credential": fp, "user": user, "secret": name, "store": "sm"},
        options,
    )
    kinds = {line.step_id: line.kind for line in plan.lines}
    assert kinds["keys"] == "read" and kinds["current"] == "read"
    assert kinds["deny-risky"] == "write" and kinds["new-key"] == "write"
    assert kinds["delete-old"] == "write" and kinds["free-slot"] == "skip"
    assert state() == before
