"""SIGKILL the runner at every journal record and every backend request (answered by the server,
not yet seen by LeakGuard), resume, and end in the same state as an uninterrupted run: no lost or
extra version, no version served that no one holds, no out-of-band write reverted, the old
credential never revoked before the new one was verified. The kill points are hooks the tests
install in a forked child (tests/integration/test_playbook_helpers.KillPoints)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from leakguard.backends.aws_sandbox import bootstrap
from leakguard.graph.interface import StoreRef
from leakguard.rotation.audit import verify
from leakguard.rotation.journal import Journal, Kind, RunState
from tests.integration.test_playbook_helpers import (
    Driver,
    approle,
    consumer,
    reload_command,
    seed_kv_secret,
    unique,
)
from tests.support.graphs import save_graph
from tests.support.servers import Moto, OpenBao

OLD = "old-" + "k" * 30


def _vault_setup(openbao: OpenBao, tmp: Path, db: Path) -> tuple[Driver, str, Any]:
    assert openbao.audit_log is not None
    old = OLD
    root, path = seed_kv_secret(openbao, "lg-kill/app", {"value": old, "user": "app"})
    # a normal `bao kv put` made outside LeakGuard before the run: it must be kept
    root.secrets.kv.v2.create_or_update_secret(path=path, secret={"value": old, "user": "oob"})
    role = approle(openbao, unique("killed-app"), path)
    fp = save_graph(
        db,
        old,
        StoreRef("vault-kv2", path, "secret"),
        [consumer(role, reload_command(tmp, openbao, role, path, tmp / "reads.log"))],
    )
    driver = Driver(
        tmp,
        db,
        "vault-kv-secret",
        {
            "credential": fp,
            "secret": path,
            "overlap": "1s",
            "move_timeout": "10m",
            "audit_log": str(openbao.audit_log),
        },
        {"vault": {"url": openbao.url, "token": openbao.token}},
        {},
        time_scale=0.002,
    )
    return driver, path, root


def _vault_state(root: Any, path: str) -> dict[str, Any]:
    """What consumers can be served, by label: ``seed`` and ``oob`` (the versions written before
    the run), ``new`` (the rotated value, the out-of-band field kept, the value the run staged and
    tested), anything else ``UNKNOWN`` (a version no one holds)."""
    kv = root.secrets.kv.v2
    meta = kv.read_secret_metadata(path=path)["data"]
    staging = f".leakguard/staged/{path}"
    staged_meta = kv.read_secret_metadata(path=staging)["data"]
    staged = {
        kv.read_secret_version(path=staging, version=int(v), raise_on_deleted_version=True)["data"][
            "data"
        ]["value"]
        for v, info in staged_meta["versions"].items()
        if not info["deletion_time"]
    }
    labels = []
    for version, info in sorted(meta["versions"].items(), key=lambda kv_: int(kv_[0])):
        assert not info["destroyed"] and not info["deletion_time"]
        data = kv.read_secret_version(
            path=path, version=int(version), raise_on_deleted_version=True
        )["data"]["data"]
        if data == {"value": OLD, "user": "app"}:
            labels.append("seed")
        elif data == {"value": OLD, "user": "oob"}:
            labels.append("oob")
        elif data["user"] == "oob" and data["value"] in staged and data["value"] != OLD:
            labels.append("new")
        else:
            labels.append("UNKNOWN")
    custom = {
        k: v
        for k, v in (meta.get("custom_metadata") or {}).items()
        if k in {"leakguard_previous_version", "leakguard_written_versions"}
    }
    pending = (staged_meta.get("custom_metadata") or {}).get("leakguard_pending")
    return {
        "labels": labels,
        "custom": custom,
        "staged_versions": len(staged_meta["versions"]),
        "pending": pending,
    }


def _order_ok(journal: Journal, run_id: str, revoke: str, checks: list[str]) -> None:
    """The irreversible step's first intent comes after every check's success."""
    records = journal.records(run_id)
    first_revoke = min(r.seq for r in records if r.kind == Kind.INTENT and r.step_id == revoke)
    for check in checks:
        ok = [
            r.seq
            for r in records
            if r.kind == Kind.RESULT and r.step_id == check and r.state == "succeeded"
        ]
        assert ok and min(ok) < first_revoke, check


def _kill_at_every_point(driver: Driver, label: str) -> int:
    """Each process is SIGKILLed at the first kill point (journal record or backend request)
    where no earlier process died; a resumed process redoes what was in flight and goes on to
    the next new point. Returns how many processes died (= points tried)."""
    points = driver.tmp / "killed-at.txt"
    result = driver.call("start", "k", kill_once=points, requests=True)
    kills = 1
    while result is None:
        result = driver.call("resume", "k", kill_once=points, requests=True)
        kills += 1
        assert kills <= 3000, "the run does not progress"
    assert result["state"] == RunState.COMPLETED, result
    kinds = Counter(line.split(":", 1)[0] for line in points.read_text().splitlines())
    print(f"\nkill -9 {label}: {kills - 1} points tried ({dict(kinds)}); resumed to completion")
    return kills - 1


@pytest.mark.slow
def test_vault_playbook_survives_sigkill_at_every_point(openbao: OpenBao, tmp_path: Path) -> None:
    ref_dir, kill_dir = tmp_path / "ref", tmp_path / "kill"
    ref_dir.mkdir()
    kill_dir.mkdir()
    ref, ref_path, root = _vault_setup(openbao, ref_dir, ref_dir / "lg.db")
    done = ref.call("start", "ref")
    assert done is not None and done["state"] == RunState.COMPLETED, done
    with Journal.open(ref.db) as journal:
        total = len(journal.records("ref"))
    expected = _vault_state(root, ref_path)
    assert expected["labels"] == ["seed", "oob", "new"] and expected["pending"] is None

    driver, path, _ = _vault_setup(openbao, kill_dir, kill_dir / "lg.db")
    kills = _kill_at_every_point(driver, "vault-kv-secret")
    assert kills >= total  # every record, and the requests besides
    # same versions, none destroyed, none no one holds, the out-of-band field kept
    assert _vault_state(root, path) == expected
    assert len((kill_dir / "reads.log").read_text().split()) >= 1
    with Journal.open(driver.db) as journal:
        _order_ok(
            journal, "k", "revoke-old", ["test-new", "promote", "consumers-moved", "old-superseded"]
        )
        intents = [r.step_id for r in journal.records("k") if r.kind == Kind.INTENT]
        # nothing that writes ran to completion twice: stage and promote each have one result
        results = [
            r.step_id
            for r in journal.records("k")
            if r.kind == Kind.RESULT and r.state == "succeeded"
        ]
        assert results.count("stage") == 1 and results.count("promote") == 1
        assert intents.count("revoke-old") >= 1
        audit_path, head = journal.audit_head("k")
        assert verify(audit_path, head).ok


def _iam_setup(moto: Moto, seeder: Any, tmp: Path, user: str) -> Driver:
    leaked = seeder.user_with_key(user)
    name = unique(f"lg-kill/{user}")
    seeder.secret(name, leaked)
    db = tmp / "lg.db"
    fp = save_graph(db, leaked["aws_secret_access_key"], StoreRef("aws-secretsmanager", name), [])
    aws = {"endpoint_url": moto.url, "region": moto.region}
    return Driver(
        tmp,
        db,
        "aws-iam-access-key",
        {
            "credential": fp,
            "user": user,
            "secret": name,
            "store": "sm",
            "overlap": "1s",
            "soak": "1s",
            "move_timeout": "1m",
        },
        {"kind:aws-iam": aws, "kind:aws-secretsmanager": aws},
        {
            "AWS_ENDPOINT_URL": moto.url,
            "AWS_DEFAULT_REGION": moto.region,
            "AWS_ACCESS_KEY_ID": seeder.admin["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": seeder.admin["aws_secret_access_key"],
        },
        time_scale=0.01,
    )


def _iam_state(seeder: Any, driver: Driver) -> dict[str, Any]:
    iam, sm = seeder._client("iam"), seeder._client("secretsmanager")
    user, name = driver.inputs["user"], driver.inputs["secret"]
    keys = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    current = json.loads(
        sm.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")["SecretString"]
    )
    stages = sorted(
        tuple(sorted(s)) for s in sm.describe_secret(SecretId=name)["VersionIdsToStages"].values()
    )
    return {
        "keys": [(k["AccessKeyId"] == current["aws_access_key_id"], k["Status"]) for k in keys],
        "policies": iam.list_user_policies(UserName=user)["PolicyNames"],
        "stages": stages,
    }


@pytest.mark.slow
def test_iam_playbook_survives_sigkill_at_every_point(auth_moto: Moto, tmp_path: Path) -> None:
    seeder = bootstrap(auth_moto.url, auth_moto.region)
    ref_dir, kill_dir = tmp_path / "ref", tmp_path / "kill"
    ref_dir.mkdir()
    kill_dir.mkdir()
    ref = _iam_setup(auth_moto, seeder, ref_dir, "app-ref")
    done = ref.call("start", "ref")
    assert done is not None and done["state"] == RunState.COMPLETED, done
    with Journal.open(ref.db) as journal:
        total = len(journal.records("ref"))
    expected = _iam_state(seeder, ref)
    assert expected["keys"] == [(True, "Active")]  # one key left: the new one, stored

    driver = _iam_setup(auth_moto, seeder, kill_dir, "app-kill")
    kills = _kill_at_every_point(driver, "aws-iam-access-key")
    assert kills >= total
    assert _iam_state(seeder, driver) == expected
    with Journal.open(driver.db) as journal:
        _order_ok(
            journal, "k", "deactivate-old", ["test-new", "promote", "new-works", "consumers-moved"]
        )
        _order_ok(journal, "k", "delete-old", ["old-dead", "deactivate-old"])
        results = [
            r.step_id
            for r in journal.records("k")
            if r.kind == Kind.RESULT and r.state == "succeeded"
        ]
        assert results.count("promote") == 1 and results.count("delete-old") == 1
        audit_path, head = journal.audit_head("k")
        assert verify(audit_path, head).ok


@pytest.mark.slow
def test_kill_dash_nine_of_the_cli_mid_overlap_then_resume(
    openbao: OpenBao, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The operator's view: `leakguard playbook run` killed with SIGKILL from outside while it
    holds the overlap window open; `leakguard playbook resume` finishes the rotation."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from typer.testing import CliRunner

    from tests.support.cli import leakguard_app

    assert openbao.audit_log is not None
    old = "old-" + "c" * 30
    root, path = seed_kv_secret(openbao, "lg-kill/cli", {"value": old})
    db = tmp_path / "lg.db"
    fp = save_graph(db, old, StoreRef("vault-kv2", path, "secret"), [])
    env = {**os.environ, "VAULT_ADDR": openbao.url, "VAULT_TOKEN": openbao.token}
    cli = str(Path(sys.executable).parent / "leakguard")
    args = ["playbook", "run", "vault-kv-secret", "--db", str(db), "--run-id", "cli-kill",
            "-i", f"credential={fp}", "-i", f"secret={path}", "-i", "overlap=2s",
            "--yes"]  # fmt: skip
    proc = subprocess.Popen(
        [cli, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(600):  # until the run sits in its overlap window (or 60 s)
            time.sleep(0.1)
            with Journal.open(db) as journal:
                if any(
                    r.kind == Kind.INTENT and r.step_id == "overlap"
                    for r in journal.records("cli-kill")
                ):
                    break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    with Journal.open(db) as journal:
        assert journal.view("cli-kill").state == RunState.RUNNING  # killed, not finished

    monkeypatch.setenv("VAULT_ADDR", openbao.url)
    monkeypatch.setenv("VAULT_TOKEN", openbao.token)
    status = CliRunner().invoke(
        leakguard_app(), ["playbook", "status", "cli-kill", "--db", str(db)]
    )
    assert status.exit_code == 1
    assert "interrupted" in status.output and "playbook resume cli-kill" in status.output
    # no --yes here: the run was started with --yes, and resume keeps the run's options
    result = CliRunner().invoke(
        leakguard_app(), ["playbook", "resume", "cli-kill", "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    assert "run cli-kill: completed" in result.output
    meta = root.secrets.kv.v2.read_secret_metadata(path=path)["data"]
    assert sorted(meta["versions"]) == ["1", "2"]
    assert meta["custom_metadata"]["leakguard_written_versions"] == "2"


def _sm_setup(moto: Moto, tmp: Path) -> tuple[Driver, Any]:
    import boto3

    sm = boto3.client(
        "secretsmanager",
        endpoint_url=moto.url,
        region_name=moto.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    name = unique("lg-kill/sm")
    sm.create_secret(Name=name, SecretString=json.dumps({"value": OLD, "user": "app"}))
    # changed outside LeakGuard before the run: kept
    sm.put_secret_value(SecretId=name, SecretString=json.dumps({"value": OLD, "user": "oob"}))
    db = tmp / "lg.db"
    fp = save_graph(db, OLD, StoreRef("aws-secretsmanager", name), [])
    aws = {"endpoint_url": moto.url, "region": moto.region}
    driver = Driver(
        tmp,
        db,
        "aws-secretsmanager-secret",
        {"credential": fp, "secret": name, "overlap": "1s", "move_timeout": "1m"},
        {"kind:aws-secretsmanager": aws},
        {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
        time_scale=0.01,
    )
    return driver, sm


def _sm_state(sm: Any, name: str) -> list[tuple[str, list[str]]]:
    """Every version (deprecated ones too) by label, with its stages."""
    listed = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    labels = []
    for entry in listed:
        version, stages = entry["VersionId"], entry.get("VersionStages", [])
        data = json.loads(sm.get_secret_value(SecretId=name, VersionId=version)["SecretString"])
        if data == {"value": OLD, "user": "app"}:
            label = "seed"
        elif data == {"value": OLD, "user": "oob"}:
            label = "oob"
        elif data["user"] == "oob" and data["value"] != OLD:
            label = "new"
        else:
            label = "UNKNOWN"
        labels.append((label, sorted(stages)))
    return sorted(labels)


@pytest.mark.slow
def test_secretsmanager_playbook_survives_sigkill_at_every_point(
    moto: Moto, tmp_path: Path
) -> None:
    ref_dir, kill_dir = tmp_path / "ref", tmp_path / "kill"
    ref_dir.mkdir()
    kill_dir.mkdir()
    ref, sm = _sm_setup(moto, ref_dir)
    done = ref.call("start", "ref")
    assert done is not None and done["state"] == RunState.COMPLETED, done
    with Journal.open(ref.db) as journal:
        total = len(journal.records("ref"))
    expected = _sm_state(sm, ref.inputs["secret"])
    assert expected == [("new", ["AWSCURRENT"]), ("oob", ["AWSPREVIOUS"]), ("seed", [])]

    driver, _ = _sm_setup(moto, kill_dir)
    kills = _kill_at_every_point(driver, "aws-secretsmanager-secret")
    assert kills >= total
    # same stages, no version no one holds, the out-of-band change kept
    assert _sm_state(sm, driver.inputs["secret"]) == expected
    with Journal.open(driver.db) as journal:
        results = [
            r.step_id
            for r in journal.records("k")
            if r.kind == Kind.RESULT and r.state == "succeeded"
        ]
        assert results.count("stage") == 1 and results.count("promote") == 1
        audit_path, head = journal.audit_head("k")
        assert verify(audit_path, head).ok
