"""vault-kv-secret end to end on a real OpenBao dev server, with AppRole consumers."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from leakguard.errors import PlaybookError
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
from tests.support.servers import OpenBao


def _options(openbao: OpenBao, db: Path, **kw: object) -> engine.EngineOptions:
    return engine.EngineOptions(
        yes=True,
        time_scale=0.005,
        graph=engine.open_graph(db),
        backend_overrides={"vault": {"url": openbao.url, "token": openbao.token}},
        rng=random.Random(0),
        approval_timeout=0,
        **kw,  # type: ignore[arg-type]
    )


def test_vault_secret_rotates_and_approle_consumers_move(openbao: OpenBao, tmp_path: Path) -> None:
    assert openbao.audit_log is not None
    old = "old-" + "x" * 30
    _, path = seed_kv_secret(openbao, "lg-e2e/app", {"value": old, "user": "app"})
    a = approle(openbao, unique("app-a"), path)
    b = approle(openbao, unique("app-b"), path)
    assert a.read(openbao.url, path)["value"] == old  # both read the old version first
    assert b.read(openbao.url, path)["value"] == old
    db = tmp_path / "lg.db"
    reads = tmp_path / "reads.log"
    fp = save_graph(
        db,
        old,
        StoreRef("vault-kv2", path, "secret"),
        [
            consumer(a, reload_command(tmp_path, openbao, a, path, reads)),
            consumer(b, reload_command(tmp_path, openbao, b, path, reads)),
        ],
    )
    playbook = load_playbook(find_playbook("vault-kv-secret"))
    inputs = {
        "credential": fp,
        "secret": path,
        "overlap": "2s",
        "move_timeout": "10m",
        "audit_log": str(openbao.audit_log),
    }
    with Journal.open(db) as journal:
        view = engine.start_run(journal, playbook, inputs, _options(openbao, db))
    assert view.state == RunState.COMPLETED, view.diagnostic
    new = a.read(openbao.url, path)
    assert new["value"] != old and new["user"] == "app"
    assert b.read(openbao.url, path) == new
    # the old version is still there (never destroyed), readable by version number
    assert a.read(openbao.url, path, version=1)["value"] == old
    assert reads.read_text().split() == ["2", "2"]
    assert view.outputs["new_version"] == "2"
    assert sorted(view.outputs["consumers_moved"]) == sorted([a.name, b.name])


def test_a_consumer_that_never_moves_blocks_verify(openbao: OpenBao, tmp_path: Path) -> None:
    assert openbao.audit_log is not None
    old = "old-" + "y" * 30
    _, path = seed_kv_secret(openbao, "lg-e2e/stuck", {"value": old})
    moving = approle(openbao, unique("mover"), path)
    stuck = approle(openbao, unique("stuck"), path)
    db = tmp_path / "lg.db"
    reads = tmp_path / "reads.log"
    fp = save_graph(
        db,
        old,
        StoreRef("vault-kv2", path, "secret"),
        [consumer(moving, reload_command(tmp_path, openbao, moving, path, reads)), consumer(stuck)],
    )
    playbook = load_playbook(find_playbook("vault-kv-secret"))
    inputs = {
        "credential": fp,
        "secret": path,
        "overlap": "1s",
        "move_timeout": "5m",
        "audit_log": str(openbao.audit_log),
    }
    with Journal.open(db) as journal:
        view = engine.start_run(
            journal, playbook, inputs, _options(openbao, db), run_id=unique("r")
        )
        assert view.state == RunState.PAUSED
        assert view.steps["consumers-moved"].state == "failed"
        assert stuck.name in (view.diagnostic or "") and moving.name not in (view.diagnostic or "")
        assert "revoke-old" not in view.steps  # nothing irreversible ran
        assert "resume" in (view.hint or "")
        # the old version stays readable for the consumer that has not moved
        assert stuck.read(openbao.url, path, version=1)["value"] == old
        # once it reads the new version, resuming completes the run
        assert stuck.read(openbao.url, path)["value"] != old
        view = engine.resume_run(journal, view.run_id, _options(openbao, db))
    assert view.state == RunState.COMPLETED, view.diagnostic


def test_rollback_after_a_stuck_consumer_restores_the_old_value(
    openbao: OpenBao, tmp_path: Path
) -> None:
    assert openbao.audit_log is not None
    old = "old-" + "z" * 30
    root, path = seed_kv_secret(openbao, "lg-e2e/rollback", {"value": old})
    stuck = approle(openbao, unique("stuck"), path)
    db = tmp_path / "lg.db"
    fp = save_graph(db, old, StoreRef("vault-kv2", path, "secret"), [consumer(stuck)])
    playbook = load_playbook(find_playbook("vault-kv-secret"))
    inputs = {
        "credential": fp,
        "secret": path,
        "overlap": "1s",
        "move_timeout": "5m",
        "audit_log": str(openbao.audit_log),
    }
    with Journal.open(db) as journal:
        view = engine.start_run(journal, playbook, inputs, _options(openbao, db), run_id="rb")
        assert view.state == RunState.PAUSED
        new = stuck.read(openbao.url, path)["value"]
        assert new != old
        view = engine.rollback_run(journal, "rb", _options(openbao, db))
        assert view.state == RunState.ROLLED_BACK, view.diagnostic
        assert view.steps["promote"].state == "compensated"
        with pytest.raises(PlaybookError, match="already rolled back"):  # nothing undone twice
            engine.rollback_run(journal, "rb", _options(openbao, db))
    # the old value is current again, copied forward; no version was destroyed
    assert stuck.read(openbao.url, path)["value"] == old
    meta = root.secrets.kv.v2.read_secret_metadata(path=path)["data"]
    assert meta["current_version"] == 3
    assert not any(v["destroyed"] for v in meta["versions"].values())
