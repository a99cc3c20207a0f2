"""The dependency graph: a networkx MultiDiGraph whose edges are keyed by :class:`EdgeKind`.

There is at most one edge per (source node, target node, kind). Each edge keeps one
:class:`Evidence` per evidence source (the latest observation of that source), so re-reading
the same audit log or inventory refreshes an edge instead of growing it. ``reads`` edges also
keep, per version read, the last time it was read (``versions``) and the overall ``last_read``.

Every mutation marks what it touched, so :class:`leakguard.graph.persist.GraphStore` writes only
what changed: evidence arrives incrementally, without a full rebuild.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Mapping
from typing import Any

import networkx as nx

from leakguard.graph import ids
from leakguard.graph.interface import EdgeKind, Evidence, NodeKind, ReadEvent
from leakguard.graph.timefmt import canonical_time, now

__all__ = ["DependencyGraph", "bulk", "canonical_time", "now"]

Attrs = dict[str, Any]
EdgeKey = tuple[str, str, str]
_READS = EdgeKind.READS.value


class DependencyGraph:
    """Typed nodes and evidence-carrying edges. Queries live in :mod:`leakguard.graph.queries`
    (see :class:`leakguard.graph.queries.Graph`, which adds them to this class)."""

    def __init__(self) -> None:
        self.g: nx.MultiDiGraph[str] = nx.MultiDiGraph()
        self.dirty_nodes: set[str] = set()
        self.dirty_edges: set[EdgeKey] = set()
        self.removed_nodes: set[str] = set()

    # --- nodes ---------------------------------------------------------------------------

    def add_node(self, node_id: str, kind: NodeKind | str, **attrs: Any) -> str:
        """Add or enrich a node; ``None`` attributes never overwrite known ones."""
        # networkx's own dicts, written directly (as networkx itself does): a build makes ~2
        # calls per node, and the public methods and views cost more than the work
        g = self.g
        data = g._node.get(node_id)
        if data is not None:
            if data["kind"] != kind:
                # a node id names one kind; the prefix scheme makes a clash a programming error
                raise ValueError(f"node {node_id} is a {data['kind']}, not a {kind}")
            changed = False
            for k, v in attrs.items():
                if v is not None and v != "" and data.get(k) != v:
                    data[k] = v
                    changed = True
            if changed:
                self.dirty_nodes.add(node_id)
            return node_id
        data = {"kind": kind if type(kind) is NodeKind else NodeKind(kind)}
        for k, v in attrs.items():
            if v is not None and v != "":
                data[k] = v
        g._node[node_id] = data
        g._succ[node_id] = {}
        g._pred[node_id] = {}
        # a node removed and added again stays in removed_nodes: its stored edges are
        # deleted first, and the ones it has now (all dirty) written after
        self.dirty_nodes.add(node_id)
        return node_id

    def remove_node(self, node_id: str) -> None:
        if node_id in self.g:
            self.g.remove_node(node_id)
            self.dirty_nodes.discard(node_id)
            self.dirty_edges = {e for e in self.dirty_edges if node_id not in (e[0], e[1])}
            self.removed_nodes.add(node_id)

    def kind_of(self, node_id: str) -> NodeKind:
        return NodeKind(self.g.nodes[node_id]["kind"])

    def node(self, node_id: str) -> Mapping[str, Any]:
        return self.g.nodes[node_id]  # type: ignore[no-any-return]

    def has_node(self, node_id: str) -> bool:
        return node_id in self.g

    def nodes_of(self, kind: NodeKind) -> Iterator[str]:
        return (n for n, d in self.g.nodes(data=True) if d["kind"] == kind)

    # --- edges ---------------------------------------------------------------------------

    def add_edge(
        self, src: str, dst: str, kind: EdgeKind | str, evidence: Evidence, **attrs: Any
    ) -> bool:
        """Add the edge or add ``evidence`` to it. Both nodes must exist. Returns True when
        the edge or this source's evidence is new or newer."""
        if type(kind) is not EdgeKind:
            kind = EdgeKind(kind)
        succ = self.g._succ
        out = succ.get(src)
        if out is None or dst not in succ:
            unknown = src if out is None else dst
            raise KeyError(f"edge {kind} {src} -> {dst}: unknown node {unknown}")
        key = kind.value
        keys = out.get(dst)
        data = keys.get(key) if keys is not None else None
        if data is not None:
            changed = _merge_evidence(data["evidence"], evidence)
            for k, v in attrs.items():
                if v is not None and data.get(k) != v:
                    data[k] = v
                    changed = True
        else:
            data = {"kind": kind, "evidence": [evidence]}
            for k, v in attrs.items():
                if v is not None:
                    data[k] = v
            if keys is None:  # networkx's layout: one key dict shared by both directions
                keys = out[dst] = self.g._pred[dst][src] = {}
            keys[key] = data
            changed = True
        if changed:
            self.dirty_edges.add((src, dst, key))
        return changed

    def edge(self, src: str, dst: str, kind: EdgeKind) -> Attrs | None:
        # the adjacency dicts directly: edge views cost more than the lookup itself
        out = self.g._succ.get(src)
        keys = out.get(dst) if out is not None else None
        return keys.get(str(kind)) if keys else None

    def evidence(self, src: str, dst: str, kind: EdgeKind) -> list[Evidence]:
        data = self.edge(src, dst, kind)
        return list(data["evidence"]) if data else []

    def out_edges(self, node: str, kind: EdgeKind) -> Iterator[str]:
        # the adjacency maps (neighbour -> {edge key: data}) are far cheaper than edge views
        return (dst for dst, keys in self.g.succ[node].items() if kind in keys)

    def in_edges(self, node: str, kind: EdgeKind) -> Iterator[str]:
        return (src for src, keys in self.g.pred[node].items() if kind in keys)

    def edges(self) -> Iterator[tuple[str, str, EdgeKind, Attrs]]:
        for src, dst, key, data in self.g.edges(keys=True, data=True):
            yield src, dst, EdgeKind(key), data

    def move_edges(self, old: str, new: str) -> None:
        """Re-home every edge of ``old`` onto ``new`` (keeping evidence), then drop ``old``."""
        moves = [(new, dst, k, d) for _, dst, k, d in self.g.out_edges(old, keys=True, data=True)]
        moves += [(src, new, k, d) for src, _, k, d in self.g.in_edges(old, keys=True, data=True)]
        for src, dst, key, data in moves:
            if src == dst:
                continue
            extra = {k: v for k, v in data.items() if k not in ("kind", "evidence")}
            for ev in data["evidence"]:
                self.add_edge(src, dst, key, ev)
            merged = self.g.edges[src, dst, key]
            if key == EdgeKind.READS:
                _merge_reads(merged, extra)
            else:
                for k, v in extra.items():
                    merged.setdefault(k, v)
            self.dirty_edges.add((src, dst, key))
        self.remove_node(old)

    # --- reads ---------------------------------------------------------------------------

    def record_read(self, consumer: str, store: str, event: ReadEvent) -> bool:
        """Fold one read into the consumer->store ``reads`` edge; True when it told us
        something new (a later read, or a version not seen before)."""
        source = event.source or "reads"
        slot = event.version or ""
        out = self.g._succ.get(consumer)
        keys = out.get(store) if out is not None else None
        existing = keys.get(_READS) if keys else None
        if existing is None:
            evidence = Evidence(source, event.at, _read_detail(event))
            self.add_edge(
                consumer,
                store,
                EdgeKind.READS,
                evidence,
                versions={slot: event.at},
                last_read=event.at,
            )
            return True
        versions: dict[str, str] = existing.setdefault("versions", {})
        new = slot not in versions or versions[slot] < event.at
        if new:
            versions[slot] = event.at
            last = existing.get("last_read")
            if last is None or event.at > last:
                existing["last_read"] = event.at
        items: list[Evidence] = existing["evidence"]
        changed = new
        for i, old in enumerate(items):
            if old.source == source:
                if event.at > old.observed_at:  # build the detail only for a later read
                    items[i] = Evidence(source, event.at, _read_detail(event))
                    changed = True
                break
        else:
            items.append(Evidence(source, event.at, _read_detail(event)))
            changed = True
        if changed:
            self.dirty_edges.add((consumer, store, _READS))
        return new

    # --- bookkeeping ---------------------------------------------------------------------

    def clear_dirty(self) -> None:
        self.dirty_nodes.clear()
        self.dirty_edges.clear()
        self.removed_nodes.clear()

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {str(k): 0 for k in NodeKind}
        for _, data in self.g.nodes(data=True):
            out[str(data["kind"])] += 1
        for k in EdgeKind:
            out[f"edges:{k}"] = 0
        for _, _, key in self.g.edges(keys=True):
            out[f"edges:{key}"] += 1
        return out

    def __len__(self) -> int:
        return int(self.g.number_of_nodes())

    def identity_node(self, identity: str) -> str:
        return self.add_node(ids.identity(identity), NodeKind.IDENTITY, name=identity)


def _merge_evidence(items: list[Evidence], evidence: Evidence) -> bool:
    for i, old in enumerate(items):
        if old.source == evidence.source:
            if evidence.observed_at > old.observed_at or (
                evidence.observed_at == old.observed_at and evidence.detail != old.detail
            ):
                items[i] = evidence
                return True
            return False
    items.append(evidence)
    return True


def _merge_reads(data: Attrs, other: Attrs) -> None:
    versions = dict(data.get("versions") or {})
    for version, at in (other.get("versions") or {}).items():
        if version not in versions or versions[version] < at:
            versions[version] = at
    data["versions"] = versions
    lasts = [x for x in (data.get("last_read"), other.get("last_read")) if x]
    if lasts:
        data["last_read"] = max(lasts)


def _read_detail(event: ReadEvent) -> str:
    parts = [f"identity={event.identity}"]
    if event.version:
        parts.append(f"version={event.version}")
    if event.remote_address:
        parts.append(f"from={event.remote_address}")
    return " ".join(parts)


@contextlib.contextmanager
def bulk() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large graph is built or loaded: every object
    made is kept, so its repeated full passes over a growing heap only cost time (a third of a
    100,000-node build). Reference counting still frees what is dropped."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
