"""The graph store's write path: a first save into an empty store (indexes dropped and rebuilt
around the bulk insert) leaves the same schema as the migrations made, and later saves update
it in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from leakguard.graph.interface import NodeKind
from leakguard.graph.persist import GraphStore
from leakguard.graph.queries import Graph
from tests.support.graphs import generated_graph
from tests.unit.graph.helpers import read, sample


def _indexes(path: Path) -> dict[str, list[str]]:
    conn = sqlite3.connect(path)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'graph_%'"
            )
        ]
        return {
            name: [r[2] for r in conn.execute(f"PRAGMA index_info({name})")]
            for name in sorted(names)
        }
    finally:
        conn.close()


def _plan(path: Path, sql: str) -> str:
    conn = sqlite3.connect(path)
    try:
        return " ".join(str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql, ("x", "y")))
    finally:
        conn.close()


def test_a_first_save_leaves_the_indexes_the_migrations_make(tmp_path: Path) -> None:
    migrated = tmp_path / "migrated.db"
    GraphStore.open(migrated).close()
    built = tmp_path / "built.db"
    with GraphStore.open(built) as store:
        store.save(generated_graph(30, seed=3))
    assert _indexes(built) == _indexes(migrated)
    assert _indexes(built) == {
        "graph_edges_in": ["dst", "kind", "src"],
        "graph_nodes_kind": ["kind", "id"],
    }
    in_edges = "SELECT src FROM graph_edges WHERE dst = ? AND kind = ?"
    assert "graph_edges_in" in _plan(built, in_edges)
    by_kind = "SELECT id FROM graph_nodes WHERE kind = ? AND id > ?"
    assert "graph_nodes_kind" in _plan(built, by_kind)


def _same(a: Graph, b: Graph) -> None:
    assert dict(a.g.nodes(data=True)) == dict(b.g.nodes(data=True))
    assert sorted(a.g.edges(keys=True, data=True), key=repr) == sorted(
        b.g.edges(keys=True, data=True), key=repr
    )


def test_a_saved_graph_loads_back_equal_after_a_first_and_a_later_save(tmp_path: Path) -> None:
    path = tmp_path / "lg.db"
    first = generated_graph(30, seed=4)
    with GraphStore.open(path) as store:
        assert store.save(first) == (len(first), first.g.number_of_edges())
        loaded = store.load()
    _same(loaded, generated_graph(30, seed=4))
    # a later save into a store that holds rows: new reads and a removed node, upserted
    later = [read("vault-approle:role-3", "2026-09-01T00:00:00Z", "7"), read("new", "2026-09-02")]
    loaded.add_reads(later)
    loaded.remove_node("consumer:svc-5")
    with GraphStore.open(path) as store:
        store.save(loaded)
        again = store.load()
    expected = generated_graph(30, seed=4)
    expected.add_reads(later)
    expected.remove_node("consumer:svc-5")
    _same(again, expected)
    assert "consumer:svc-5" not in again.g and again.kind_of("consumer:new") == NodeKind.CONSUMER
    assert _indexes(path)["graph_edges_in"] == ["dst", "kind", "src"]


def _settings(store: GraphStore) -> tuple[str, int]:
    conn = store.db.conn
    mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0])
    return mode, int(conn.execute("PRAGMA synchronous").fetchone()[0])


def _journal_mode(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        conn.close()


def test_only_a_store_this_build_creates_is_written_once_without_waiting_for_the_disk(
    tmp_path: Path,
) -> None:
    path = tmp_path / "lg.db"
    with GraphStore.open(path) as store:
        assert _settings(store) == ("delete", 0)  # nothing else lives in a new file
        store.save(sample())
    assert _journal_mode(path) == "wal"  # back in the mode every store is in
    with GraphStore.open(path) as store:
        assert _settings(store) == ("wal", 1)  # it may hold findings and journals now
        assert store.load().counts() == sample().counts()
    empty = tmp_path / "empty.db"
    empty.touch()
    with GraphStore.open(empty) as store:
        assert _settings(store) == ("delete", 0)
    assert _journal_mode(empty) == "wal"
