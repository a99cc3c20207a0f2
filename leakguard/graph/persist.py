"""The graph in the findings store (SQLite): nodes, edges and their evidence, migration
component ``graph``.

:meth:`GraphStore.save` writes only what changed since the graph was loaded (the graph marks
touched nodes and edges), in one transaction, so evidence arriving later updates the stored
graph without a rebuild. Node and edge attributes are ids, names, paths, versions, times and
fingerprints: never a secret value.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from leakguard.errors import GraphError
from leakguard.graph.interface import Evidence
from leakguard.graph.model import bulk
from leakguard.graph.queries import Graph
from leakguard.store.db import Database

COMPONENT = "graph"

MIGRATIONS: list[str] = [
    """
    CREATE TABLE graph_nodes (
      id TEXT PRIMARY KEY,
      kind TEXT NOT NULL,
      attrs TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX graph_nodes_kind ON graph_nodes(kind);
    CREATE TABLE graph_edges (
      src TEXT NOT NULL REFERENCES graph_nodes(id) ON DELETE CASCADE,
      dst TEXT NOT NULL REFERENCES graph_nodes(id) ON DELETE CASCADE,
      kind TEXT NOT NULL,
      attrs TEXT NOT NULL DEFAULT '{}',
      PRIMARY KEY (src, dst, kind)
    );
    CREATE INDEX graph_edges_dst ON graph_edges(dst);
    CREATE TABLE graph_evidence (
      src TEXT NOT NULL,
      dst TEXT NOT NULL,
      kind TEXT NOT NULL,
      source TEXT NOT NULL,
      observed_at TEXT NOT NULL,
      detail TEXT NOT NULL DEFAULT '',
      PRIMARY KEY (src, dst, kind, source),
      FOREIGN KEY (src, dst, kind) REFERENCES graph_edges(src, dst, kind) ON DELETE CASCADE
    )
    """,
]


def migrate(db: Database) -> None:
    db.migrate(COMPONENT, MIGRATIONS)


_ENCODER = json.JSONEncoder(separators=(",", ":"), sort_keys=True, default=str)


def _dump(attrs: dict[str, Any]) -> str:
    return "{}" if not attrs else _ENCODER.encode(attrs)


class GraphStore:
    """Load and incrementally save a :class:`Graph` in one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @classmethod
    def open(cls, path: Path | None = None) -> GraphStore:
        db = Database.open(path)
        try:
            migrate(db)
        except BaseException:
            db.close()
            raise
        return cls(db)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def load(self) -> Graph:
        with bulk():
            return self._load()

    def _load(self) -> Graph:
        graph = Graph()
        conn = self.db.conn
        add_node = graph.g.add_node
        for node, kind, attrs in conn.execute("SELECT id, kind, attrs FROM graph_nodes"):
            add_node(node, kind=kind, **json.loads(attrs))
        evidence: dict[tuple[str, str, str], list[Evidence]] = {}
        for src, dst, kind, source, at, detail in conn.execute(
            "SELECT src, dst, kind, source, observed_at, detail FROM graph_evidence"
        ):
            evidence.setdefault((src, dst, kind), []).append(Evidence(source, at, detail))
        add = graph.g.add_edge
        for src, dst, kind, attrs in conn.execute("SELECT src, dst, kind, attrs FROM graph_edges"):
            extra = json.loads(attrs) if attrs != "{}" else {}
            add(src, dst, key=kind, kind=kind, evidence=evidence.get((src, dst, kind), []), **extra)
        graph.clear_dirty()
        return graph

    def save(self, graph: Graph) -> tuple[int, int]:
        """Write the nodes and edges the graph marked as changed; returns (nodes, edges)."""
        nodes, edges = len(graph.dirty_nodes), len(graph.dirty_edges)
        try:
            with self.db.transaction() as conn:
                for node in graph.removed_nodes:
                    conn.execute("DELETE FROM graph_nodes WHERE id = ?", (node,))
                conn.executemany(
                    "INSERT INTO graph_nodes (id, kind, attrs) VALUES (?, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET kind = excluded.kind,"
                    " attrs = excluded.attrs",
                    (
                        (
                            n,
                            str(graph.g.nodes[n]["kind"]),
                            _dump({k: v for k, v in graph.g.nodes[n].items() if k != "kind"}),
                        )
                        for n in graph.dirty_nodes
                        if n in graph.g
                    ),
                )
                changed = [
                    (src, dst, kind, graph.g.edges[src, dst, kind])
                    for src, dst, kind in graph.dirty_edges
                    if graph.g.has_edge(src, dst, key=kind)
                ]
                conn.executemany(
                    "INSERT INTO graph_edges (src, dst, kind, attrs) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (src, dst, kind) DO UPDATE SET attrs = excluded.attrs",
                    (
                        (
                            src,
                            dst,
                            kind,
                            _dump({k: v for k, v in data.items() if k not in ("kind", "evidence")}),
                        )
                        for src, dst, kind, data in changed
                    ),
                )
                conn.executemany(
                    "INSERT INTO graph_evidence (src, dst, kind, source, observed_at, detail)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (src, dst, kind, source) DO UPDATE"
                    " SET observed_at = excluded.observed_at, detail = excluded.detail",
                    (
                        (src, dst, kind, e.source, e.observed_at, e.detail)
                        for src, dst, kind, data in changed
                        for e in data["evidence"]
                    ),
                )
        except sqlite3.Error as exc:
            raise GraphError(f"saving the graph to {self.db.path} failed: {exc}") from None
        graph.clear_dirty()
        return nodes, edges

    def counts(self) -> dict[str, int]:
        conn = self.db.conn
        return {
            "nodes": int(conn.execute("SELECT COUNT(*) FROM graph_nodes").fetchone()[0]),
            "edges": int(conn.execute("SELECT COUNT(*) FROM graph_edges").fetchone()[0]),
            "evidence": int(conn.execute("SELECT COUNT(*) FROM graph_evidence").fetchone()[0]),
        }
