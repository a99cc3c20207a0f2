"""``graph build`` with audit logs alone folds their reads into the store in place (only the
nodes the reads touch are read and written): the stored graph is the one the whole-graph path
gives, warnings and all."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from leakguard.graph.build import BuildInputs, BuildSummary, apply, build
from leakguard.graph.interface import EdgeKind
from leakguard.graph.persist import GraphStore
from leakguard.graph.queries import Graph

INVENTORY = """\
services:
  - name: payments-api
    environment: prod
    identities: [vault-approle:payments]
    reads:
      - vault: secret/payments/stripe
  - name: billing-worker
    environment: batch
    identities: [vault-approle:billing]
    reads:
      - vault: secret/payments/stripe
      - vault: secret/billing/db
"""


def _entry(role: str, path: str, at: str, version: int) -> str:
    return json.dumps(
        {
            "time": at,
            "type": "response",
            "auth": {"display_name": "approle", "metadata": {"role_name": role}},
            "request": {
                "operation": "read",
                "mount_point": "secret/",
                "mount_type": "kv",
                "path": f"secret/data/{path}",
                "remote_address": "10.0.0.9",
            },
            "response": {
                "data": {"data": {"k": "hmac-sha256:00"}, "metadata": {"version": version}}
            },
        }
    )


def _log(path: Path) -> Path:
    lines = [
        _entry("payments", "payments/stripe", "2026-03-01T10:00:00Z", 3),
        _entry("payments", "payments/stripe", "2026-03-02T10:00:00Z", 4),
        _entry("billing", "billing/db", "2026-03-01T11:00:00Z", 1),
        _entry("nobody-declared", "payments/stripe", "2026-03-03T09:00:00Z", 4),
        _entry("ignored-reader", "payments/stripe", "2026-03-03T09:00:00Z", 4),
        _entry("payments", "payments/stripe", "2025-01-01T00:00:00Z", 1),  # before --since
        '{"torn": ',
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _edges(graph: Graph) -> list[tuple[str, str, str, str]]:
    return sorted(
        (s, d, k, repr(sorted(data.items())))
        for s, d, k, data in graph.g.edges(keys=True, data=True)
    )


def test_audit_logs_alone_are_folded_in_place_as_the_whole_graph_path_does(
    tmp_path: Path,
) -> None:
    inventory = tmp_path / "leakguard.yaml"
    inventory.write_text(INVENTORY)
    in_place = tmp_path / "in-place.db"
    build(in_place, BuildInputs(inventory=(inventory,), findings_store=False))
    whole = tmp_path / "whole.db"
    shutil.copy(in_place, whole)  # the same graph, inventory stamps and all
    reads = BuildInputs(
        vault_audit=(_log(tmp_path / "audit.log"),),
        findings_store=False,
        since="2026-01-01T00:00:00Z",
        ignore_identities=("vault-approle:ignored-reader",),
    )
    summary = build(in_place, reads)

    with GraphStore.open(whole) as store:
        graph = store.load()
        expected = BuildSummary()
        apply(graph, reads, expected)
        expected.written_nodes, expected.written_edges = store.save(graph)
        graph = store.load()
    with GraphStore.open(in_place) as store:
        got = store.load()
    assert dict(got.g.nodes(data=True)) == dict(graph.g.nodes(data=True))
    assert _edges(got) == _edges(graph)
    assert summary.added == expected.added == {"vault-reads": 4}
    assert summary.warnings == expected.warnings and len(summary.warnings) == 1
    assert (summary.written_nodes, summary.written_edges) == (
        expected.written_nodes,
        expected.written_edges,
    )
    assert summary.counts == graph.counts()
    assert got.node("consumer:vault-approle:nobody-declared")["observed"] is True


def test_audit_logs_with_any_other_input_are_applied_to_the_loaded_graph(tmp_path: Path) -> None:
    inventory = tmp_path / "leakguard.yaml"
    inventory.write_text(INVENTORY)
    log = _log(tmp_path / "audit.log")
    together = tmp_path / "together.db"
    summary = build(
        together, BuildInputs(inventory=(inventory,), vault_audit=(log,), findings_store=False)
    )
    assert summary.added["inventory"] == 2 and summary.added["vault-reads"] == 6
    with GraphStore.open(together) as store:
        graph = store.load()
    assert graph.node("consumer:payments-api")["name"] == "payments-api"
    assert graph.edge(
        "consumer:billing-worker", "store:vault-kv2:secret/billing/db", EdgeKind.READS
    )


def test_a_build_stopped_by_a_bad_source_keeps_the_sources_it_finished(tmp_path: Path) -> None:
    from leakguard.graph.references import ReferenceError as ConfigError

    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(INVENTORY)
    db = tmp_path / "g.sqlite"
    missing = tmp_path / "no-such-config-dir"
    inputs = BuildInputs(inventory=(inventory,), config_dirs=(missing,), findings_store=False)
    with pytest.raises(ConfigError):
        build(db, inputs)
    # the configuration stage failed after the inventory stage had been written
    whole = Graph()
    apply(whole, BuildInputs(inventory=(inventory,), findings_store=False), BuildSummary())
    with GraphStore.open(db) as store:
        kept = store.load()
    assert sorted(kept.g.nodes) == sorted(whole.g.nodes) and len(whole.g.nodes) > 0
    assert sorted(kept.g.edges(keys=True)) == sorted(whole.g.edges(keys=True))


def _indexes(db: Path) -> set[str]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    return {r[0] for r in rows if r[0].startswith("graph_")}


def test_a_first_build_killed_before_its_indexes_gets_them_at_the_next_open(
    tmp_path: Path,
) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(INVENTORY)
    graph = Graph()
    apply(graph, BuildInputs(inventory=(inventory,), findings_store=False), BuildSummary())
    db = tmp_path / "g.sqlite"
    store = GraphStore.open(db)
    expected = _indexes(db)
    assert expected == {"graph_nodes_kind", "graph_edges_in"}
    store.close()
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from leakguard.graph.build import BuildInputs, BuildSummary, apply\n"
        "from leakguard.graph.persist import GraphStore\n"
        "from leakguard.graph.queries import Graph\n"
        "graph = Graph()\n"
        "inputs = BuildInputs(inventory=(Path(sys.argv[1]),), findings_store=False)\n"
        "apply(graph, inputs, BuildSummary())\n"
        "store = GraphStore.open(Path(sys.argv[2]))\n"
        "deferred = store.deferred_indexes()\n"
        "deferred.__enter__()\n"
        "store.save(graph)\n"
        "os._exit(0)  # dies inside: the indexes are never rebuilt\n"
    )
    subprocess.run([sys.executable, "-c", script, str(inventory), str(db)], check=True)
    assert _indexes(db) == set()
    with GraphStore.open(db) as again:
        assert sorted(again.load().g.nodes) == sorted(graph.g.nodes)
    assert _indexes(db) == expected
