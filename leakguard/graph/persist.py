"""The graph in the findings store (SQLite): nodes, and edges with their evidence, migration
component ``graph``.

Edges are an indexed adjacency list: clustered by ``(src, kind, dst)`` (a node's out-edges of a
kind are one range) with an index on ``(dst, kind, src)`` (its in-edges), so a query reads only
the neighbourhood it needs (:class:`leakguard.graph.stored.StoredGraph`) instead of loading the
graph. Each edge row carries its evidence as JSON (``[[source, observed_at, detail], ...]``).

:meth:`GraphStore.save` writes only what changed since the graph was loaded (the graph marks
touched nodes and edges), in one transaction, rows in key order, so evidence arriving later
updates the stored graph without a rebuild. Node and edge attributes are ids, names, paths,
versions, times and fingerprints: never a secret value.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from leakguard.errors import GraphError
from leakguard.graph.interface import Evidence, NodeKind
from leakguard.graph.model import bulk
from leakguard.graph.queries import Graph
from leakguard.store.db import Database, resolve_db_path

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
    # v2: adjacency clustered by (src, kind, dst) and indexed by (dst, kind, src); evidence in
    # the edge row; no per-row foreign-key checks (save deletes a removed node's edges itself)
    """
    CREATE TABLE graph_nodes_v2 (
      id TEXT PRIMARY KEY,
      kind TEXT NOT NULL,
      attrs TEXT NOT NULL DEFAULT '{}'
    ) WITHOUT ROWID;
    INSERT INTO graph_nodes_v2 (id, kind, attrs) SELECT id, kind, attrs FROM graph_nodes;
    CREATE TABLE graph_edges_v2 (
      src TEXT NOT NULL,
      kind TEXT NOT NULL,
      dst TEXT NOT NULL,
      attrs TEXT NOT NULL DEFAULT '{}',
      evidence TEXT NOT NULL DEFAULT '[]',
      PRIMARY KEY (src, kind, dst)
    ) WITHOUT ROWID;
    INSERT INTO graph_edges_v2 (src, kind, dst, attrs, evidence)
      SELECT e.src, e.kind, e.dst, e.attrs, COALESCE(
        (SELECT json_group_array(json_array(v.source, v.observed_at, v.detail))
           FROM graph_evidence v WHERE v.src = e.src AND v.dst = e.dst AND v.kind = e.kind),
        '[]')
      FROM graph_edges e;
    DROP TABLE graph_evidence;
    DROP TABLE graph_edges;
    DROP TABLE graph_nodes;
    ALTER TABLE graph_nodes_v2 RENAME TO graph_nodes;
    ALTER TABLE graph_edges_v2 RENAME TO graph_edges;
    CREATE INDEX graph_nodes_kind ON graph_nodes(kind, id);
    CREATE INDEX graph_edges_in ON graph_edges(dst, kind, src)
    """,
]


def migrate(db: Database) -> None:
    db.migrate(COMPONENT, MIGRATIONS)


# the secondary indexes as the latest migration creates them: a first build drops and rebuilds
# them around its bulk insert
_INDEXES = (
    ("graph_nodes_kind", "CREATE INDEX IF NOT EXISTS graph_nodes_kind ON graph_nodes(kind, id)"),
    ("graph_edges_in", "CREATE INDEX IF NOT EXISTS graph_edges_in ON graph_edges(dst, kind, src)"),
)
_WRITE_CACHE_KIB = -65536  # 64 MiB of page cache while saving (negative: KiB, SQLite's unit)

_ENCODER = json.JSONEncoder(separators=(",", ":"), sort_keys=True, default=str)
_EVIDENCE = json.JSONEncoder(separators=(",", ":"))


def _encoder(sort_keys: bool, default: Callable[[Any], Any] | None) -> Callable[[Any], str]:
    """One C encoder made once and called per row: ``JSONEncoder.encode`` builds a new one on
    every call, which costs more than encoding a small row (same output either way)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # a Python without the C accelerator
        slow = _ENCODER if sort_keys else _EVIDENCE
        return slow.encode
    encode = make(
        None, default, json.encoder.encode_basestring_ascii, None, ":", ",", sort_keys, False, True
    )
    return lambda value: "".join(encode(value, 0))


_encode_attrs = _encoder(True, str)
_encode_evidence = _encoder(False, None)


def _edge_source(key: tuple[str, str, str]) -> str:
    # the table is clustered by (src, kind, dst): rows grouped by source append to the B-tree
    # (the few edges of one source need no finer order; sorting by the source alone is 4x
    # cheaper than by the whole key)
    return key[0]


def _dump(attrs: dict[str, Any]) -> str:
    return "{}" if not attrs else _encode_attrs(attrs)


def _empty(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM graph_nodes LIMIT 1").fetchone() is None


def _node_rows(graph: Graph) -> Iterator[tuple[str, str, str]]:
    nodes = graph.g._node
    for node in sorted(graph.dirty_nodes):
        data = nodes.get(node)
        if data is None:
            continue
        attrs = data.copy()
        kind = attrs.pop("kind")
        yield node, str(kind), _dump(attrs)


def _edge_rows(graph: Graph) -> Iterator[tuple[str, str, str, str, str]]:
    succ = graph.g._succ
    # an inventory line or a scan is evidence of many edges: each distinct list (by the
    # identity of its items, all alive while this runs) is encoded once
    seen: dict[tuple[int, ...], str] = {}
    for src, dst, kind in sorted(graph.dirty_edges, key=_edge_source):
        out = succ.get(src)
        keys = out.get(dst) if out is not None else None
        data = keys.get(kind) if keys else None
        if data is None:
            continue
        attrs = data.copy()
        del attrs["kind"]
        items = attrs.pop("evidence")
        key = tuple(map(id, items))
        evidence = seen.get(key)
        if evidence is None:
            evidence = seen[key] = _encode_evidence(
                [[e.source, e.observed_at, e.detail] for e in items]
            )
        yield src, kind, dst, _dump(attrs), evidence


class GraphStore:
    """Load and incrementally save a :class:`Graph` in one :class:`Database`."""

    def __init__(self, db: Database, *, written_once: bool = False) -> None:
        self.db = db
        self._written_once = written_once
        self._deferred = False  # inside deferred_indexes(): saves leave the indexes alone

    @classmethod
    def open(cls, path: Path | None = None) -> GraphStore:
        """The store at ``path``, migrated. A store this call creates holds nothing but what
        is written through it, so it is written once and without waiting for the disk: a
        rollback journal instead of the write-ahead log (which writes every page twice; the
        pages a first build appends need no journal) and ``synchronous = OFF`` (an application
        crash still leaves it consistent; a power cut during the first build may spoil it, and
        that build is simply run again). It is back in WAL mode when closed. An existing store,
        which may hold findings and rotation journals, keeps the durable settings."""
        where = resolve_db_path(path)
        new = not where.exists() or where.stat().st_size == 0
        db = Database.open(where)
        try:
            migrate(db)
            for _, create in _INDEXES:  # a first build killed before it rebuilt them
                db.conn.execute(create)
            if new:
                db.conn.execute("PRAGMA journal_mode = DELETE")
                db.conn.execute("PRAGMA synchronous = OFF")
        except BaseException:
            db.close()
            raise
        return cls(db, written_once=new)

    def close(self) -> None:
        try:
            if self._written_once:  # the mode every store is in (readers beside writers)
                with contextlib.suppress(sqlite3.Error):
                    self.db.conn.execute("PRAGMA journal_mode = WAL")
        finally:
            self.db.close()

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def deferred_indexes(self) -> Iterator[None]:
        """Around several saves into an empty store (a first build saved source by source):
        the secondary indexes are dropped once and built once at the end, one sort instead of
        a B-tree insert per row. Queries inside are correct, only slower; a process killed
        inside leaves the rows, and the next :meth:`open` builds the indexes."""
        if self._deferred or not _empty(self.db.conn):
            yield
            return
        try:
            with self.db.transaction() as conn:
                for name, _ in _INDEXES:
                    conn.execute(f"DROP INDEX IF EXISTS {name}")
        except sqlite3.Error as exc:
            raise GraphError(f"preparing {self.db.path} for a first build failed: {exc}") from None
        self._deferred = True
        try:
            yield
        finally:
            self._deferred = False
            try:
                with self.db.transaction() as conn:
                    for _, create in _INDEXES:
                        conn.execute(create)
            except sqlite3.Error as exc:
                raise GraphError(f"indexing the graph in {self.db.path} failed: {exc}") from None

    def load(self) -> Graph:
        with bulk():
            return self._load()

    def _load(self) -> Graph:
        graph = Graph()
        conn = self.db.conn
        nodes = graph.g._node  # networkx's own dicts, filled directly: 5x faster than add_*
        succ, pred = graph.g._succ, graph.g._pred
        loads = json.loads
        for node, kind, attrs in conn.execute("SELECT id, kind, attrs FROM graph_nodes"):
            node_data: dict[str, Any] = {"kind": NodeKind(kind)}
            if attrs != "{}":
                node_data.update(loads(attrs))
            nodes[node] = node_data
            succ[node] = {}
            pred[node] = {}
        for src, kind, dst, attrs, evidence in conn.execute(
            "SELECT src, kind, dst, attrs, evidence FROM graph_edges"
        ):
            data = loads(attrs) if attrs != "{}" else {}
            data["kind"] = kind
            data["evidence"] = [Evidence(*e) for e in loads(evidence)]
            keys = succ[src].get(dst)
            if keys is None:
                keys = succ[src][dst] = pred[dst][src] = {}
            keys[kind] = data
        graph.clear_dirty()
        return graph

    def load_nodes(self, wanted: Iterable[str]) -> Graph:
        """A graph holding only the ``wanted`` nodes that exist and the edges among them: what
        an update touching those nodes needs, for :meth:`save` to write back."""
        graph = Graph()
        conn = self.db.conn
        keep = set()
        for node in sorted(set(wanted)):
            row = conn.execute("SELECT kind, attrs FROM graph_nodes WHERE id = ?", (node,))
            found = row.fetchone()
            if found is not None:
                graph.g.add_node(node, kind=NodeKind(found[0]), **json.loads(found[1]))
                keep.add(node)
        for node in sorted(keep):
            for kind, dst, attrs, evidence in conn.execute(
                "SELECT kind, dst, attrs, evidence FROM graph_edges WHERE src = ?", (node,)
            ):
                if dst in keep:
                    graph.g.add_edge(
                        node,
                        dst,
                        key=kind,
                        kind=kind,
                        evidence=[Evidence(*e) for e in json.loads(evidence)],
                        **json.loads(attrs),
                    )
        graph.clear_dirty()
        return graph

    def save(self, graph: Graph) -> tuple[int, int]:
        """Write the nodes and edges the graph marked as changed; returns (nodes, edges).

        Rows go to SQLite as they are encoded, in key order, in one transaction. Into an empty
        store (a first build), the secondary indexes are dropped first and built once at the
        end: one sort instead of a random-order B-tree insert per row."""
        nodes, edges = len(graph.dirty_nodes), len(graph.dirty_edges)
        cache = self.db.conn.execute("PRAGMA cache_size").fetchone()[0]
        try:
            with self.db.transaction() as conn:
                conn.execute(f"PRAGMA cache_size = {_WRITE_CACHE_KIB}")
                for node in sorted(graph.removed_nodes):
                    conn.execute("DELETE FROM graph_edges WHERE src = ?", (node,))
                    conn.execute("DELETE FROM graph_edges WHERE dst = ?", (node,))
                    conn.execute("DELETE FROM graph_nodes WHERE id = ?", (node,))
                fresh = not self._deferred and _empty(conn)
                if fresh:
                    for name, _ in _INDEXES:
                        conn.execute(f"DROP INDEX IF EXISTS {name}")
                conn.executemany(
                    "INSERT INTO graph_nodes (id, kind, attrs) VALUES (?, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET kind = excluded.kind,"
                    " attrs = excluded.attrs",
                    _node_rows(graph),
                )
                conn.executemany(
                    "INSERT INTO graph_edges (src, kind, dst, attrs, evidence)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (src, kind, dst) DO UPDATE"
                    " SET attrs = excluded.attrs, evidence = excluded.evidence",
                    _edge_rows(graph),
                )
                if fresh:
                    for _, create in _INDEXES:
                        conn.execute(create)
        except sqlite3.Error as exc:
            raise GraphError(f"saving the graph to {self.db.path} failed: {exc}") from None
        finally:  # the pages written are not kept for the rest of the process
            with contextlib.suppress(sqlite3.Error):
                self.db.conn.execute(f"PRAGMA cache_size = {int(cache)}")
        graph.clear_dirty()
        return nodes, edges

    def counts(self) -> dict[str, int]:
        conn = self.db.conn
        return {
            "nodes": int(conn.execute("SELECT COUNT(*) FROM graph_nodes").fetchone()[0]),
            "edges": int(conn.execute("SELECT COUNT(*) FROM graph_edges").fetchone()[0]),
            "evidence": int(
                conn.execute(
                    "SELECT COALESCE(SUM(json_array_length(evidence)), 0) FROM graph_edges"
                ).fetchone()[0]
            ),
        }
