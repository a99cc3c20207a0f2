"""What a rehearsal says would break: each problem once, however many places notice it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from leakguard.graph.interface import StoreRef
from leakguard.rotation import runner as engine
from leakguard.rotation.journal import Journal, RunState
from leakguard.rotation.planner import rehearse_playbook
from leakguard.rotation.schema import find_playbook, load_playbook
from tests.support.graphs import save_graph


class _NoSandbox:
    # backends can be built (nothing connects until an action calls them)
    overrides: dict[str, Any] = {
        "kind:vault-kv2": {"url": "http://127.0.0.1:9", "token": "unused"},
        "kind:aws-secretsmanager": {"endpoint_url": "http://127.0.0.1:9", "region": "us-east-1"},
    }


@contextlib.contextmanager
def _no_sandbox(*_: object) -> Iterator[_NoSandbox]:
    yield _NoSandbox()  # the run pauses at graph.consumers, before any backend is called


def test_a_credential_missing_from_the_graph_is_reported_once(tmp_path: Path) -> None:
    db = tmp_path / "lg.db"
    save_graph(db, "some-other-credential-" + "x" * 20, StoreRef("vault-kv2", "a/b", "secret"), [])
    options = engine.EngineOptions(graph=engine.open_graph(db), time_scale=0.0001, yes=True)
    with Journal.open(db) as journal:
        report = rehearse_playbook(
            journal,
            load_playbook(find_playbook("generic-app-secret")),
            {"credential": "sha256:" + "0" * 64, "secret": "app/signing"},
            options,
            sandbox=_no_sandbox,
        )
    assert report.run.state == RunState.PAUSED
    missing = [p for p in report.would_break if "not in the graph" in p or "no credential" in p]
    assert len(missing) == 1, report.would_break
