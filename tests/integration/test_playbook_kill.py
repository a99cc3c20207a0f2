"""SIGKILL the runner at every journal record (every step's intent and result boundary), resume,
and end in the same state as an uninterrupted run: no lost or extra version, the old credential
never revoked before the new one was verified."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hvac
import pytest

from leakguard.graph.interface import StoreRef
from leakguard.rotation.audit import verify
from leakguard.rotation.journal import Journal, Kind, RunState
from tests.integration.test_playbook_helpers import (
    Driver,
    approle,
    consumer,
    reload_command,
    save_graph,
    unique,
)
from tests.support.servers import OpenBao


def _vault_setup(openbao: OpenBao, tmp: Path, db: Path) -> tuple[Driver, str, Any]:
    assert openbao.audit_log is not None
    root = hvac.Client(url=openbao.url, token=openbao.token)
    path = unique("lg-kill/app")
    old = "old-" + "k" * 30
    root.secrets.kv.v2.create_or_update_secret(path=path, secret={"value": old})
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


def _versions(root: Any, path: str) -> tuple[int, list[bool], dict[str, str]]:
    meta = root.secrets.kv.v2.read_secret_metadata(path=path)["data"]
    destroyed = [v["destroyed"] for _, v in sorted(meta["versions"].items())]
    custom = {
        k: v
        for k, v in (meta.get("custom_metadata") or {}).items()
        if k in {"leakguard_current_version", "leakguard_previous_version"}
    }
    return int(meta["current_version"]), destroyed, custom


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


def _kill_at_every_boundary(driver: Driver, total: int) -> int:
    """Each process is SIGKILLed right after the first journal record at a boundary (record
    kind, step, state) where no earlier process died; a resumed process redoes what was in
    flight and goes on to the next new boundary. Every intent and result boundary of the run
    gets one SIGKILL. Returns how many processes died."""
    boundaries = driver.tmp / "killed-at.txt"
    result = driver.call("start", "k", kill_once=boundaries)
    kills = 1
    while result is None:
        result = driver.call("resume", "k", kill_once=boundaries)
        kills += 1
        assert kills <= total + 5, "the run does not progress"
    assert result["state"] == RunState.COMPLETED, result
    return kills - 1


@pytest.mark.slow
def test_vault_playbook_survives_sigkill_at_every_record(openbao: OpenBao, tmp_path: Path) -> None:
    ref_dir, kill_dir = tmp_path / "ref", tmp_path / "kill"
    ref_dir.mkdir()
    kill_dir.mkdir()
    ref, ref_path, root = _vault_setup(openbao, ref_dir, ref_dir / "lg.db")
    done = ref.call("start", "ref")
    assert done is not None and done["state"] == RunState.COMPLETED, done
    with Journal.open(ref.db) as journal:
        total = len(journal.records("ref"))
    expected = _versions(root, ref_path)

    driver, path, _ = _vault_setup(openbao, kill_dir, kill_dir / "lg.db")
    kills = _kill_at_every_boundary(driver, total)
    assert kills >= total - 3
    assert _versions(root, path) == expected  # same versions, none destroyed, same pointers
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
