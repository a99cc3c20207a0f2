"""The graph's queries straight from the store: each query reads only the neighbourhood it needs
through the indexed adjacency tables (see :mod:`leakguard.graph.persist`), so a query from the
command line costs milliseconds at any size, and never imports networkx or loads the graph.

:class:`StoredGraph` runs the very same query code as the in-memory graph
(:class:`leakguard.graph.traverse.Queries`); only the primitives differ. It is a read view: node
attributes read once are kept for the view's life, so open a new one after a build.
:meth:`StoredGraph.add_reads` loads just the nodes the events touch, folds the reads in and
writes them back.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leakguard.errors import GraphError
from leakguard.graph import ids
from leakguard.graph.interface import EdgeKind, Evidence, NodeKind, ReadEvent
from leakguard.graph.traverse import Queries
from leakguard.store.db import Database

if TYPE_CHECKING:
    from leakguard.graph.queries import Graph

GRAPH_COMPONENT = "graph"
_SCHEMA = 2  # the adjacency layout this view reads


class StoredGraph(Queries):
    """:class:`leakguard.graph.interface.GraphQueries` over a graph kept in a findings store."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._nodes: dict[str, dict[str, Any] | None] = {}
        self.rows_read = 0  # rows the view's queries have read from the store, all told

    @classmethod
    def open(cls, path: Path) -> StoredGraph:
        """A view of the graph in the store at ``path`` (migrated first if it is older)."""
        db = Database.open(path)
        try:
            if db.schema_version(GRAPH_COMPONENT) < _SCHEMA:
                from leakguard.graph.persist import migrate  # an older store: upgrade it once

                migrate(db)
        except BaseException:
            db.close()
            raise
        return cls(db)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> StoredGraph:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rows(self, sql: str, params: tuple[object, ...]) -> list[Any]:
        try:
            rows = self.db.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise GraphError(f"reading the graph in {self.db.path} failed: {exc}") from None
        self.rows_read += len(rows)
        return rows

    # --- primitives ------------------------------------------------------------------------

    def _lookup(self, node_id: str) -> dict[str, Any] | None:
        if node_id in self._nodes:
            return self._nodes[node_id]
        rows = self._rows("SELECT kind, attrs FROM graph_nodes WHERE id = ?", (node_id,))
        data: dict[str, Any] | None = None
        if rows:
            kind, attrs = rows[0]
            data = json.loads(attrs) if attrs != "{}" else {}
            data["kind"] = NodeKind(kind)
        self._nodes[node_id] = data
        return data

    def has_node(self, node_id: str) -> bool:
        return self._lookup(node_id) is not None

    def node(self, node_id: str) -> Mapping[str, Any]:
        data = self._lookup(node_id)
        if data is None:
            raise KeyError(node_id)
        return data

    def kind_of(self, node_id: str) -> NodeKind:
        return NodeKind(self.node(node_id)["kind"])

    def nodes_of(self, kind: NodeKind) -> Iterator[str]:
        rows = self._rows("SELECT id FROM graph_nodes WHERE kind = ? ORDER BY id", (str(kind),))
        return (r[0] for r in rows)

    def out_edges(self, node: str, kind: EdgeKind) -> Iterator[str]:
        rows = self._rows(
            "SELECT dst FROM graph_edges WHERE src = ? AND kind = ?", (node, str(kind))
        )
        return (r[0] for r in rows)

    def in_edges(self, node: str, kind: EdgeKind) -> Iterator[str]:
        rows = self._rows(
            "SELECT src FROM graph_edges WHERE dst = ? AND kind = ?", (node, str(kind))
        )
        return (r[0] for r in rows)

    def edge(self, src: str, dst: str, kind: EdgeKind) -> dict[str, Any] | None:
        rows = self._rows(
            "SELECT attrs, evidence FROM graph_edges WHERE src = ? AND kind = ? AND dst = ?",
            (src, str(kind), dst),
        )
        if not rows:
            return None
        attrs, evidence = rows[0]
        data: dict[str, Any] = json.loads(attrs) if attrs != "{}" else {}
        data["kind"] = EdgeKind(kind)
        data["evidence"] = [Evidence(*e) for e in json.loads(evidence)]
        return data

    def evidence(self, src: str, dst: str, kind: EdgeKind) -> list[Evidence]:
        data = self.edge(src, dst, kind)
        return list(data["evidence"]) if data else []

    def credentials_with_prefix(self, prefix: str) -> list[str]:
        if not prefix:
            return list(self.nodes_of(NodeKind.CREDENTIAL))
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # every id starting with prefix sorts below
        rows = self._rows(
            "SELECT id FROM graph_nodes WHERE id >= ? AND id < ? AND kind = ? ORDER BY id",
            (prefix, upper, str(NodeKind.CREDENTIAL)),
        )
        return [r[0] for r in rows]

    def subgraph(self, nodes: Iterable[str]) -> Graph:
        """The ``nodes`` and the edges among them, loaded in memory (an export of one
        credential's neighbourhood)."""
        from leakguard.graph.persist import GraphStore

        return GraphStore(self.db).load_nodes(nodes)

    # --- whole-graph figures, without loading it ------------------------------------------

    def counts(self) -> dict[str, int]:
        """What :meth:`leakguard.graph.model.DependencyGraph.counts` gives, by SQL."""
        out: dict[str, int] = {str(k): 0 for k in NodeKind}
        for kind, n in self._rows("SELECT kind, COUNT(*) FROM graph_nodes GROUP BY kind", ()):
            out[str(kind)] = int(n)
        for k in EdgeKind:
            out[f"edges:{k}"] = 0
        for kind, n in self._rows("SELECT kind, COUNT(*) FROM graph_edges GROUP BY kind", ()):
            out[f"edges:{kind}"] = int(n)
        return out

    # --- evidence --------------------------------------------------------------------------

    def add_reads(self, events: Iterable[ReadEvent]) -> int:
        """Record reads in the store: only the stores, identities and consumers they touch are
        loaded, updated by the in-memory code and written back. Returns how many were new."""
        return self.write_reads(events)[0]

    def write_reads(self, events: Iterable[ReadEvent]) -> tuple[int, int, int]:
        """:meth:`add_reads`, also telling how many nodes and edges were written:
        (new reads, nodes written, edges written)."""
        from leakguard.graph.persist import GraphStore

        batch = list(events)
        wanted: set[str] = set()
        for event in batch:
            wanted.add(event.store.id)
            ident = ids.identity(event.identity)
            wanted.update((ident, ids.consumer(event.identity)))
            wanted.update(self.in_edges(ident, EdgeKind.AUTHENTICATES_AS))
        store = GraphStore(self.db)
        touched = store.load_nodes(wanted)
        for node in list(touched.nodes_of(NodeKind.CONSUMER)):  # their identities, environments
            wanted.update(self.out_edges(node, EdgeKind.AUTHENTICATES_AS))
            wanted.update(self.out_edges(node, EdgeKind.RUNS_IN))
        touched = store.load_nodes(wanted)
        new = touched.add_reads(batch)
        nodes, edges = store.save(touched)
        self._nodes.clear()
        return new, nodes, edges


def open_view(path: Path) -> StoredGraph:
    """The stored graph at ``path`` as a query view (see :class:`StoredGraph`)."""
    if not path.exists():
        raise GraphError(
            f"no findings store at {path}",
            hint="build the graph first: `leakguard graph build --db PATH ...`",
        )
    return StoredGraph.open(path)
