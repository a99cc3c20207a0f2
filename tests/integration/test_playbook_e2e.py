"""Every shipped playbook end to end against the real OpenBao dev server and moto in server mode
(vault-kv-secret has its own module, with AppRole consumers and kill/resume)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from leakguard.backends.aws_sandbox import bootstrap
from leakguard.graph.interface import StoreRef
from leakguard.rotation import runner as engine
from leakguard.rotation.journal import Journal, RunState
from leakguard.rotation.schema import find_playbook, load_playbook
from tests.integration.test_playbook_helpers import (
    approle,
    consumer,
    reload_command,
    seed_kv_secret,
    unique,
)
from tests.support.graphs import save_graph
from tests.support.servers import Moto, OpenBao

STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc9f2cQ"
GITHUB = "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"
SUPABASE = "sb_secret_bXp_4xP-D0CzfcOXDQJ9foajjYK3VAx"


@pytest.fixture()
def aws_env(moto: Moto, monkeypatch: pytest.MonkeyPatch) -> Moto:
    for key, value in moto.env().items():
        monkeypatch.setenv(key, value)
    return moto


def _overrides(openbao: OpenBao, moto: Moto | None) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {
        "kind:vault-kv2": {"url": openbao.url, "token": openbao.token}
    }
    if moto is not None:
        aws = {"endpoint_url": moto.url, "region": moto.region}
        out["kind:aws-secretsmanager"] = dict(aws)
        out["kind:aws-iam"] = dict(aws)
    return out


def _run(
    playbook_id: str,
    inputs: dict[str, Any],
    db: Path,
    overrides: dict[str, dict[str, Any]],
) -> Any:
    playbook = load_playbook(find_playbook(playbook_id))
    options = engine.EngineOptions(
        operator=_Operator(),
        yes=True,
        time_scale=0.002,
        graph=engine.open_graph(db),
        backend_overrides=overrides,
        rng=random.Random(0),
        approval_timeout=0,
    )
    with Journal.open(db) as journal:
        return engine.start_run(journal, playbook, inputs, options)


class _Operator:
    """The operator at the terminal: confirms they revoked the old key in the dashboard."""

    def __init__(self) -> None:
        self.confirmed: list[str] = []

    def ask(self, prompt: str, *, secret: bool = False) -> str:
        assert not secret, "the new key comes from value_file, never a prompt"
        self.confirmed.append(prompt)
        return "yes"

    def confirm(self, prompt: str) -> bool:
        self.confirmed.append(prompt)
        return True


def _value_file(tmp: Path, value: str) -> str:
    path = tmp / "new-key"
    path.write_text(value)
    os.chmod(path, 0o600)
    return str(path)


@pytest.mark.parametrize(
    ("playbook_id", "old", "new"),
    [
        ("generic-app-secret", "old-" + "g" * 30, None),
        ("stripe-key", "sk_live_" + "0ldK3yOldK3yOldK3yOldK3yQ", STRIPE),
        ("github-token", "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", GITHUB),
        ("supabase-service-role", "sb_secret_d4dx_d1ClWYth6PuZ_8NINBcRisYZjB", SUPABASE),
    ],
)
def test_vault_backed_playbooks(
    openbao: OpenBao, tmp_path: Path, playbook_id: str, old: str, new: str | None
) -> None:
    assert openbao.audit_log is not None
    _, path = seed_kv_secret(openbao, f"lg-e2e/{playbook_id}", {"value": old})
    role = approle(openbao, unique("svc"), path)
    db = tmp_path / "lg.db"
    reads = tmp_path / "reads.log"
    fp = save_graph(
        db,
        old,
        StoreRef("vault-kv2", path, "secret"),
        [consumer(role, reload_command(tmp_path, openbao, role, path, reads))],
    )
    inputs: dict[str, Any] = {
        "credential": fp,
        "secret": path,
        "store": "vault",
        "overlap": "1s",
        "move_timeout": "10m",
        "audit_log": str(openbao.audit_log),
    }
    if new is not None:
        inputs["value_file"] = _value_file(tmp_path, new)
    view = _run(playbook_id, inputs, db, _overrides(openbao, None))
    assert view.state == RunState.COMPLETED, view.diagnostic
    current = role.read(openbao.url, path)["value"]
    assert current != old
    if new is not None:
        assert current == new
    assert role.read(openbao.url, path, version=1)["value"] == old  # never destroyed
    assert reads.read_text().split() == ["2"]
    dump = (
        json.dumps([r.data for r in Journal.open(db).records(view.run_id)])
        + Path(view.audit_path).read_text()
    )
    assert current not in dump and old not in dump


def _sm_current(sm: Any, name: str) -> tuple[str, str]:
    got = sm.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")
    return got["SecretString"], got["VersionId"]


@pytest.mark.parametrize(
    ("playbook_id", "new"),
    [("aws-secretsmanager-secret", None), ("stripe-key", STRIPE)],
)
def test_secrets_manager_backed_playbooks(
    openbao: OpenBao, aws_env: Moto, tmp_path: Path, playbook_id: str, new: str | None
) -> None:
    sm = boto3.client("secretsmanager", endpoint_url=aws_env.url, region_name=aws_env.region)
    name = unique(f"lg-e2e/{playbook_id}")
    old = "sk_live_" + "0ldK3yOldK3yOldK3yOldK3yQ" if new else "old-" + "s" * 30
    sm.create_secret(Name=name, SecretString=json.dumps({"value": old, "user": "app"}))
    old_version = _sm_current(sm, name)[1]
    db = tmp_path / "lg.db"
    fp = save_graph(db, old, StoreRef("aws-secretsmanager", name), [])
    inputs: dict[str, Any] = {
        "credential": fp,
        "secret": name,
        "store": "sm",
        "overlap": "1s",
        "move_timeout": "1m",
    }
    if playbook_id == "aws-secretsmanager-secret":
        inputs.pop("store")
    if new is not None:
        inputs["value_file"] = _value_file(tmp_path, new)
    view = _run(playbook_id, inputs, db, _overrides(openbao, aws_env))
    assert view.state == RunState.COMPLETED, view.diagnostic
    current, version = _sm_current(sm, name)
    assert version != old_version
    assert json.loads(current)["value"] != old
    if new is not None:
        assert json.loads(current)["value"] == new
    previous = sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
    assert previous["VersionId"] == old_version
    stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert not any("AWSPENDING" in s for s in stages.values())


def test_aws_iam_access_key_end_to_end(
    openbao: OpenBao, auth_moto: Moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeder = bootstrap(auth_moto.url, auth_moto.region)
    leaked = seeder.user_with_key("app")
    name = unique("lg-e2e/iam")
    seeder.secret(name, leaked)
    for key, value in {
        "AWS_ENDPOINT_URL": auth_moto.url,
        "AWS_DEFAULT_REGION": auth_moto.region,
        "AWS_ACCESS_KEY_ID": seeder.admin["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": seeder.admin["aws_secret_access_key"],
    }.items():
        monkeypatch.setenv(key, value)
    admin_session = boto3.session.Session(region_name=auth_moto.region)
    sm = admin_session.client("secretsmanager", endpoint_url=auth_moto.url)
    db = tmp_path / "lg.db"
    fp = save_graph(db, leaked["aws_secret_access_key"], StoreRef("aws-secretsmanager", name), [])
    view = _run(
        "aws-iam-access-key",
        {
            "credential": fp,
            "user": "app",
            "secret": name,
            "store": "sm",
            "overlap": "1s",
            "soak": "1s",
            "move_timeout": "1m",
        },
        db,
        _overrides(openbao, auth_moto),
    )
    assert view.state == RunState.COMPLETED, view.diagnostic
    admin_iam = admin_session.client("iam", endpoint_url=auth_moto.url)
    keys = admin_iam.list_access_keys(UserName="app")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [view.outputs["new_key_id"]]
    assert keys[0]["Status"] == "Active"
    stored = json.loads(_sm_current(sm, name)[0])
    assert stored["aws_access_key_id"] == view.outputs["new_key_id"]
    sts_new = boto3.client(
        "sts",
        endpoint_url=auth_moto.url,
        region_name=auth_moto.region,
        aws_access_key_id=stored["aws_access_key_id"],
        aws_secret_access_key=stored["aws_secret_access_key"],
    )
    assert sts_new.get_caller_identity()["Arn"].endswith("user/app")
    # the containment deny policy was lifted; the user's own policy is untouched
    assert admin_iam.list_user_policies(UserName="app")["PolicyNames"] == ["sandbox"]
    # the leaked key is gone: STS rejects it
    sts_old = boto3.client(
        "sts",
        endpoint_url=auth_moto.url,
        region_name=auth_moto.region,
        aws_access_key_id=leaked["aws_access_key_id"],
        aws_secret_access_key=leaked["aws_secret_access_key"],
    )
    with pytest.raises(ClientError):
        sts_old.get_caller_identity()
