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
      id INTEGER PRIMARY KEY,
      src TEXT NOT NULL REFERENCES graph_nodes(id) ON DELETE CASCADE,
      dst TEXT NOT NULL REFERENCES graph_nodes(id) ON DELETE CASCADE,
      kind TEXT NOT NULL,
      attrs TEXT NOT NULL DEFAULT '{}',
      UNIQUE (src, dst, kind)
    );
    CREATE INDEX graph_edges_dst ON graph_edges(dst);
    CREATE TABLE graph_evidence (
      edge_id INTEGER NOT NULL REFERENCES graph_edges(id) ON DELETE CASCADE,
      source TEXT NOT NULL,
      observed_at TEXT NOT NULL,
      detail TEXT NOT NULL DEFAULT '',
      PRIMARY KEY (edge_id, source)
    )
    """,
]


def migrate(db: Database) -> None:
    db.migrate(COMPONENT, MIGRATIONS)


def _dump(attrs: dict[str, Any]) -> str:
    return json.dumps(
        {k: (str(v) if k == "kind" else v) for k, v in attrs.items()},
        sort_keys=True,
        separators=(",", ":"),
    )


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
        graph = Graph()
        conn = self.db.conn
        for row in conn.execute("SELECT id, kind, attrs FROM graph_nodes"):
            graph.g.add_node(row["id"], kind=row["kind"], **json.loads(row["attrs"]))
        evidence: dict[int, list[Evidence]] = {}
        for row in conn.execute(
            "SELECT edge_id, source, observed_at, detail FROM graph_evidence"
            " ORDER BY edge_id, observed_at"
        ):
            evidence.setdefault(row["edge_id"], []).append(
                Evidence(row["source"], row["observed_at"], row["detail"])
            )
        for row in conn.execute("SELECT id, src, dst, kind, attrs FROM graph_edges"):
            graph.g.add_edge(
                row["src"],
                row["dst"],
                key=row["kind"],
                kind=row["kind"],
                evidence=evidence.get(row["id"], []),
                **json.loads(row["attrs"]),
            )
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
                for src, dst, kind in graph.dirty_edges:
                    if not graph.g.has_edge(src, dst, key=kind):
                        continue
                    data = graph.g.edges[src, dst, kind]
                    attrs = {k: v for k, v in data.items() if k not in ("kind", "evidence")}
                    edge_id = conn.execute(
                        "INSERT INTO graph_edges (src, dst, kind, attrs) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT (src, dst, kind) DO UPDATE SET attrs = excluded.attrs"
                        " RETURNING id",
                        (src, dst, kind, _dump(attrs)),
                    ).fetchone()[0]
                    conn.executemany(
                        "INSERT INTO graph_evidence (edge_id, source, observed_at, detail)"
                        " VALUES (?, ?, ?, ?) ON CONFLICT (edge_id, source) DO UPDATE SET"
                        " observed_at = excluded.observed_at, detail = excluded.detail",
                        ((edge_id, e.source, e.observed_at, e.detail) for e in data["evidence"]),
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
