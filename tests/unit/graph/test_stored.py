"""Queries from the store (indexed adjacency, nothing loaded) give exactly what the same queries
give on the graph in memory: on the hand-built sample and on a generated estate."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from leakguard.errors import GraphError
from leakguard.graph import export, ids
from leakguard.graph.interface import EdgeKind, GraphQueries, NodeKind, PartsQueries
from leakguard.graph.persist import MIGRATIONS, GraphStore
from leakguard.graph.queries import Graph
from leakguard.graph.stored import StoredGraph
from leakguard.store.db import Database
from tests.support.graphs import generated_graph
from tests.unit.graph.helpers import FP_A, FP_B, STRIPE, read, sample


def _saved(graph: Graph, path: Path) -> StoredGraph:
    with GraphStore.open(path) as store:
        store.save(graph)
    return StoredGraph.open(path)


def _assert_same(memory: Graph, stored: StoredGraph) -> None:
    creds = sorted(memory.nodes_of(NodeKind.CREDENTIAL))
    assert creds == list(stored.nodes_of(NodeKind.CREDENTIAL))
    for i, cred in enumerate(creds):
        radius = memory.blast_radius(cred)
        assert stored.blast_radius(cred) == radius
        assert stored.stores_of(cred) == memory.stores_of(cred)
        if i % 3 == 0:
            assert stored.consumers_of(cred) == memory.consumers_of(cred)
            assert stored.rotation_order([cred]) == memory.rotation_order([cred])
            assert export.radius_dict(stored, radius) == export.radius_dict(memory, radius)
    for group in (creds[:5], creds[::7], creds):
        assert stored.rotation_order(group) == memory.rotation_order(group)
    for node in sorted(memory.nodes_of(NodeKind.STORE_ENTRY))[::2]:
        ref = memory.store_ref(node)
        assert stored.consumers_of_store(ref) == memory.consumers_of_store(ref)
        for cred in memory.in_edges(node, EdgeKind.STORED_IN):
            assert stored.fields_holding(cred, ref) == memory.fields_holding(cred, ref)
        for since, version in (("2026-03-01T00:00:00Z", None), ("2026-02-01T00:00:00Z", "2")):
            assert stored.stale_consumers(ref, since, version) == memory.stale_consumers(
                ref, since, version
            )
    assert stored.unknown_consumers() == memory.unknown_consumers()
    assert stored.counts() == memory.counts()
    assert export.summary(stored) == export.summary(memory)


def test_the_stored_view_satisfies_the_protocol(tmp_path: Path) -> None:
    with _saved(sample(), tmp_path / "lg.db") as stored:
        assert isinstance(stored, GraphQueries) and isinstance(stored, PartsQueries)
    assert isinstance(Graph(), PartsQueries)


def test_stored_queries_equal_in_memory_queries_on_the_sample(tmp_path: Path) -> None:
    memory = sample()
    memory.add_reads([read("vault-approle:payments", "2026-05-01T00:00:00Z", "4")])
    with _saved(memory, tmp_path / "lg.db") as stored:
        _assert_same(memory, stored)


def test_stored_queries_equal_in_memory_queries_on_a_generated_estate(tmp_path: Path) -> None:
    memory = generated_graph(300)
    assert (
        len(memory) > 2000
        and memory.rotation_order(list(memory.nodes_of(NodeKind.CREDENTIAL))).cycles
    )
    with _saved(memory, tmp_path / "lg.db") as stored:
        _assert_same(memory, stored)


def test_prefixes_resolve_alike_and_errors_alike(tmp_path: Path) -> None:
    memory = sample()
    memory.add_credential("sha256:" + "a" * 63 + "b")
    with _saved(memory, tmp_path / "lg.db") as stored:
        for query in ("bbbb", "sha256:cc", FP_A, ids.credential(FP_A)):
            assert stored.resolve_credential(query) == memory.resolve_credential(query)
        for query in ("aaaa", "dddd", ""):
            with pytest.raises(GraphError) as from_memory:
                memory.resolve_credential(query)
            with pytest.raises(GraphError) as from_store:
                stored.resolve_credential(query)
            assert from_store.value.message == from_memory.value.message


def test_add_reads_through_the_view_matches_add_reads_in_memory(tmp_path: Path) -> None:
    memory = generated_graph(60, seed=5)
    events = [
        read("vault-approle:role-3", "2026-09-01T00:00:00Z", "7"),
        read("vault-approle:nobody-declared", "2026-09-02T00:00:00Z", "7"),
        read("vault-approle:role-4", "2026-01-01T00:00:00Z", "1"),
    ]
    db = tmp_path / "lg.db"
    with _saved(memory, db) as stored:
        assert stored.add_reads(events) == memory.add_reads(events)
    with GraphStore.open(db) as store:
        reloaded = store.load()
    assert set(reloaded.g.nodes) == set(memory.g.nodes)
    assert sorted(reloaded.g.edges(keys=True)) == sorted(memory.g.edges(keys=True))
    for src, dst, kind, data in memory.edges():
        got = reloaded.edge(src, dst, kind)
        assert got is not None
        assert {k: v for k, v in got.items() if k != "evidence"} == {
            k: v for k, v in data.items() if k != "evidence"
        }
        assert set(got["evidence"]) == set(data["evidence"])
    with StoredGraph.open(db) as stored:
        assert stored.stale_consumers(STRIPE, "2026-08-01T00:00:00Z") == memory.stale_consumers(
            STRIPE, "2026-08-01T00:00:00Z"
        )


def test_a_version_1_graph_store_is_migrated_with_its_evidence(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    memory = sample()
    with Database.open(path) as db:
        db.migrate("graph", MIGRATIONS[:1])
        conn = db.conn
        for node, data in memory.g.nodes(data=True):
            attrs = {k: v for k, v in data.items() if k != "kind"}
            conn.execute(
                "INSERT INTO graph_nodes VALUES (?, ?, ?)",
                (node, str(data["kind"]), __import__("json").dumps(attrs)),
            )
        for src, dst, kind, data in memory.edges():
            conn.execute("INSERT INTO graph_edges VALUES (?, ?, ?, '{}')", (src, dst, str(kind)))
            for e in data["evidence"]:
                conn.execute(
                    "INSERT INTO graph_evidence VALUES (?, ?, ?, ?, ?, ?)",
                    (src, dst, str(kind), e.source, e.observed_at, e.detail),
                )
    with StoredGraph.open(path) as stored:
        assert stored.db.schema_version("graph") == len(MIGRATIONS)
        _assert_same(memory, stored)
        assert stored.evidence(ids.consumer("payments-api"), STRIPE.id, "reads") == (  # type: ignore[arg-type]
            memory.evidence(ids.consumer("payments-api"), STRIPE.id, "reads")  # type: ignore[arg-type]
        )
    conn = sqlite3.connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "graph_evidence" not in tables


QUERY_COMMANDS = [
    ["blast-radius", FP_A],
    ["show"],
    ["stale", "vault:secret/payments/stripe", "--since", "2026-01-01T00:00:00Z"],
    ["rotation-order", FP_A, FP_B],
]


@pytest.mark.parametrize("command", QUERY_COMMANDS, ids=lambda c: c[0])
def test_a_query_from_the_command_line_never_loads_the_graph(
    tmp_path: Path, command: list[str]
) -> None:
    """Every query command reads through the stored view: the module that loads a whole
    graph (persist) and the in-memory graph (queries, model) are never imported, nor YAML;
    only rotation-order imports networkx, for its ordering of the few nodes it read."""
    db = tmp_path / "lg.db"
    with _saved(sample(), db):
        pass
    code = (
        "import sys\n"
        "from leakguard.cli.app import main\n"
        f"sys.argv = ['leakguard', 'graph', *{command!r}, '--db', {str(db)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "loaded = ('networkx', 'yaml', 'boto3', 'hvac', 'leakguard.graph.persist',\n"
        "          'leakguard.graph.queries', 'leakguard.graph.model')\n"
        "print('HEAVY', sorted(m for m in loaded if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "billing-worker" in out.stdout or "payments-api" in out.stdout, out.stdout
    expected = ["networkx"] if command[0] == "rotation-order" else []
    assert f"HEAVY {expected}" in out.stdout, out.stdout


def test_a_neighbourhood_export_from_the_store_equals_the_one_from_memory(tmp_path: Path) -> None:
    memory = generated_graph(40, seed=9)
    with _saved(memory, tmp_path / "lg.db") as stored:
        for cred in sorted(memory.nodes_of(NodeKind.CREDENTIAL))[::5]:
            keep = export.neighbourhood(memory, cred)
            assert export.radius_nodes(stored, cred) == keep
            for fmt in export.FORMATS:
                from_store = export.render(stored.subgraph(keep), fmt, keep)
                assert from_store == export.render(memory, fmt, keep)
