"""A backend that fails or hangs mid-run (behind a local proxy): the runner retries with backoff,
then pauses cleanly with a diagnostic; once the backend is back, resume finishes with every
write made once."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakguard.graph.interface import StoreRef
from leakguard.rotation import runner as engine
from leakguard.rotation.journal import Journal, Kind, RunState
from leakguard.rotation.schema import find_playbook, load_playbook
from tests.integration.test_backend_transient import Proxy
from tests.integration.test_playbook_helpers import seed_kv_secret
from tests.support.clocks import QuickClock
from tests.support.graphs import save_graph
from tests.support.servers import OpenBao


@pytest.fixture()
def proxy(openbao: OpenBao) -> Iterator[Proxy]:
    p = Proxy(openbao.url)
    yield p
    p.close()


@pytest.mark.parametrize("failure", ["close", "hang", "503"])
def test_backend_outage_mid_run_retries_then_pauses_then_resumes(
    openbao: OpenBao, proxy: Proxy, tmp_path: Path, failure: str
) -> None:
    old = "old-" + "o" * 30
    root, path = seed_kv_secret(openbao, "lg-outage/app", {"value": old})
    db = tmp_path / "lg.db"
    fp = save_graph(db, old, StoreRef("vault-kv2", path, "secret"), [])
    playbook = load_playbook(find_playbook("vault-kv-secret"))
    clock = QuickClock()

    def on_event(event: engine.Event) -> None:
        if event.kind == "start" and event.step_id == "promote":
            proxy.set(failure)  # the store goes away right before promotion

    options = engine.EngineOptions(
        yes=True,
        time_scale=0.001,
        graph=engine.open_graph(db),
        backend_overrides={"vault": {"url": proxy.url, "token": openbao.token, "timeout": 0.5}},
        clock=clock,
        rng=random.Random(3),
        progress=on_event,
    )
    inputs = {"credential": fp, "secret": path, "overlap": "1s"}
    with Journal.open(db) as journal:
        view = engine.start_run(journal, playbook, inputs, options, run_id="outage")
        assert view.state == RunState.PAUSED
        promote = view.steps["promote"]
        assert promote.state == "failed" and promote.retries == 4  # 5 attempts in all
        assert "resume outage" in (view.hint or "") and "rollback outage" in (view.hint or "")
        assert "promote" in (view.diagnostic or "")
        retries = [r for r in journal.records("outage") if r.kind == Kind.RETRY]
        assert [r.data["delay"] for r in retries] == pytest.approx(clock.waits[:4], abs=0.001)
        assert clock.waits[0] < clock.waits[1] < clock.waits[2] < clock.waits[3]
        # nothing was promoted: consumers still read version 1
        meta = root.secrets.kv.v2.read_secret_metadata(path=path)["data"]
        assert meta["current_version"] == 1

        proxy.set("forward")
        options.progress = None
        view = engine.resume_run(journal, "outage", options)
    assert view.state == RunState.COMPLETED, view.diagnostic
    meta = root.secrets.kv.v2.read_secret_metadata(path=path)["data"]
    assert sorted(meta["versions"]) == ["1", "2"]  # promoted once, never twice
    assert meta["custom_metadata"]["leakguard_written_versions"] == "2"
