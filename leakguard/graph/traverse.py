"""The graph's queries, written once over a few primitives (nodes, their attributes, edges of
a kind into and out of a node), so they run the same on the in-memory graph
(:class:`leakguard.graph.queries.Graph`) and on the store without loading it
(:class:`leakguard.graph.stored.StoredGraph`).

A consumer depends on a credential when it ``uses`` it directly, or ``reads`` a store entry the
credential is ``stored_in``. Nothing here imports networkx until ``rotation_order`` needs it, so
a query from the command line stays cheap to start.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from leakguard.errors import GraphError
from leakguard.graph import ids
from leakguard.graph.interface import (
    BlastRadius,
    ConsumerInfo,
    EdgeKind,
    NodeKind,
    Reload,
    RotationOrder,
    StoreRef,
)
from leakguard.graph.timefmt import canonical_time

if TYPE_CHECKING:
    import networkx as nx


class Queries:
    """The :class:`leakguard.graph.interface.GraphQueries` queries over abstract primitives."""

    # --- primitives (implemented by the in-memory graph and by the stored view) -----------

    def has_node(self, node_id: str) -> bool:
        raise NotImplementedError

    def node(self, node_id: str) -> Mapping[str, Any]:
        raise NotImplementedError

    def kind_of(self, node_id: str) -> NodeKind:
        raise NotImplementedError

    def nodes_of(self, kind: NodeKind) -> Iterator[str]:
        raise NotImplementedError

    def out_edges(self, node: str, kind: EdgeKind) -> Iterator[str]:
        raise NotImplementedError

    def in_edges(self, node: str, kind: EdgeKind) -> Iterator[str]:
        raise NotImplementedError

    def edge(self, src: str, dst: str, kind: EdgeKind) -> dict[str, Any] | None:
        raise NotImplementedError

    def credentials_with_prefix(self, prefix: str) -> list[str]:
        """Credential node ids starting with ``prefix`` (a node id prefix)."""
        raise NotImplementedError

    def counts(self) -> dict[str, int]:
        """Nodes per kind and edges per kind (``edges:<kind>``)."""
        raise NotImplementedError

    # --- lookups -------------------------------------------------------------------------

    def resolve_credential(self, credential: str) -> str:
        """A node id, fingerprint or unique fingerprint prefix (hex, with or without
        ``sha256:``) -> the credential node id."""
        if self.has_node(credential) and self.kind_of(credential) == NodeKind.CREDENTIAL:
            return credential
        fp = credential.removeprefix(ids.CREDENTIAL)
        if not fp.startswith("sha256:"):
            fp = "sha256:" + fp
        exact = ids.credential(fp)
        if self.has_node(exact) and self.kind_of(exact) == NodeKind.CREDENTIAL:
            return exact
        matches = self.credentials_with_prefix(exact)
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise GraphError(
                f"no credential {credential} in the graph",
                hint="list them with `leakguard graph show`; build with --scan-report or --db",
            )
        raise GraphError(
            f"fingerprint prefix {credential} matches {len(matches)} credentials",
            hint="give more characters of the fingerprint",
        )

    def consumer_info(self, node: str) -> ConsumerInfo:
        data = self.node(node)
        identities = tuple(
            sorted(self.node(i)["name"] for i in self.out_edges(node, EdgeKind.AUTHENTICATES_AS))
        )
        envs = sorted(self.node(e)["name"] for e in self.out_edges(node, EdgeKind.RUNS_IN))
        return ConsumerInfo(
            id=node,
            name=str(data.get("name", node.removeprefix(ids.CONSUMER))),
            kind=str(data.get("consumer_kind", "service")),
            reload=Reload(str(data.get("reload_kind") or "none"), data.get("reload_target")),
            identities=identities,
            environment=envs[0] if envs else None,
        )

    def store_ref(self, node: str) -> StoreRef:
        return ids.store_ref_of(self.node(node))

    def _store_node(self, store: StoreRef) -> str | None:
        if store.backend == "aws-secretsmanager":  # an ARN names the same node as the name
            store = StoreRef(store.backend, ids.secretsmanager_name(store.path), store.mount)
        return store.id if self.has_node(store.id) else None

    def _consumer_nodes_of_store(self, store_node: str) -> list[str]:
        return sorted(
            c
            for c in self.in_edges(store_node, EdgeKind.READS)
            if self.kind_of(c) == NodeKind.CONSUMER
        )

    def _consumer_nodes(self, cred: str) -> list[str]:
        found = {c for c in self.in_edges(cred, EdgeKind.USES)}
        for store in self.out_edges(cred, EdgeKind.STORED_IN):
            found.update(self._consumer_nodes_of_store(store))
        return sorted(c for c in found if self.kind_of(c) == NodeKind.CONSUMER)

    # --- GraphQueries --------------------------------------------------------------------

    def blast_radius(self, credential: str) -> BlastRadius:
        cred = self.resolve_credential(credential)
        consumers = self._consumer_nodes(cred)
        stores = sorted(self.out_edges(cred, EdgeKind.STORED_IN))
        identities = set(self.out_edges(cred, EdgeKind.AUTHENTICATES_AS))
        environments: set[str] = set()
        for c in consumers:
            identities.update(self.out_edges(c, EdgeKind.AUTHENTICATES_AS))
            environments.update(self.out_edges(c, EdgeKind.RUNS_IN))
        return BlastRadius(
            credential=ids.fingerprint_of(cred),
            consumers=tuple(self.consumer_info(c) for c in consumers),
            stores=tuple(self.store_ref(s) for s in stores),
            identities=tuple(sorted(self.node(i)["name"] for i in identities)),
            environments=tuple(sorted(self.node(e)["name"] for e in environments)),
            leaks=tuple(sorted(self.out_edges(cred, EdgeKind.LEAKED_AT))),
            unknown_consumers=not consumers,
        )

    def consumers_of(self, credential: str) -> list[ConsumerInfo]:
        return [
            self.consumer_info(c) for c in self._consumer_nodes(self.resolve_credential(credential))
        ]

    def consumers_of_store(self, store: StoreRef) -> list[ConsumerInfo]:
        node = self._store_node(store)
        if node is None:
            return []
        return [self.consumer_info(c) for c in self._consumer_nodes_of_store(node)]

    def stores_of(self, credential: str) -> list[StoreRef]:
        cred = self.resolve_credential(credential)
        return [self.store_ref(s) for s in sorted(self.out_edges(cred, EdgeKind.STORED_IN))]

    def fields_holding(self, credential: str, store: StoreRef) -> dict[str, str]:
        """The fields of a store entry that held the credential or a part of it when the store
        was last listed: field -> part name (``""`` for the whole credential). Empty when the
        entry is not known to hold it, or the evidence names no field (Terraform)."""
        cred = self.resolve_credential(credential)
        node = self._store_node(store)
        data = self.edge(cred, node, EdgeKind.STORED_IN) if node is not None else None
        if data is None:
            return {}
        fields = data.get("fields")
        if isinstance(fields, dict):
            return {str(k): str(v) for k, v in fields.items()}
        field = data.get("field")
        return {str(field): ""} if field else {}

    def parts_of(self, credential: str) -> dict[str, str]:
        """The credential's parts: part name -> fingerprint (empty for a one-part secret)."""
        parts = self.node(self.resolve_credential(credential)).get("parts") or {}
        return {str(k): str(v) for k, v in parts.items()}

    def stale_consumers(
        self, store: StoreRef, since: str, version: str | None = None
    ) -> list[ConsumerInfo]:
        since = parse_time(since, "--since")
        node = self._store_node(store)
        if node is None:
            return []
        stale = []
        for consumer in self._consumer_nodes_of_store(node):
            data = self.edge(consumer, node, EdgeKind.READS) or {}
            versions: dict[str, str] = data.get("versions") or {}
            if not _read_since(versions, since, version):
                stale.append(self.consumer_info(consumer))
        return stale

    def rotation_order(self, credentials: Sequence[str]) -> RotationOrder:
        creds = sorted({self.resolve_credential(c) for c in credentials})
        consumers = {c: set(self._consumer_nodes(c)) for c in creds}
        import networkx as nx  # only here: every other query runs without it

        groups = _share_groups(creds, consumers)
        steps: list[str] = []
        cycles: list[tuple[str, ...]] = []
        for group in groups:
            order = self._order_graph(group)
            for cycle in nx.simple_cycles(order):
                cycles.append(tuple(cycle))
            condensed = nx.condensation(order)
            members = condensed.graph["mapping"]
            first_member = {
                scc: min(n for n, s in members.items() if s == scc) for scc in condensed.nodes
            }
            for scc in nx.lexicographical_topological_sort(
                condensed, key=lambda s: (_rank(self, first_member[s]), first_member[s])
            ):
                for n in sorted(condensed.nodes[scc]["members"], key=lambda m: (_rank(self, m), m)):
                    if n not in steps:
                        steps.append(n)
        return RotationOrder(
            groups=tuple(tuple(ids.fingerprint_of(c) for c in g) for g in groups),
            steps=tuple(steps),
            cycles=tuple(cycles),
            warnings=tuple(self._blind_spots(creds, consumers)),
        )

    def _blind_spots(self, creds: Sequence[str], consumers: dict[str, set[str]]) -> list[str]:
        warnings = []
        for cred in creds:
            fp = ids.fingerprint_of(cred)
            if not any(True for _ in self.out_edges(cred, EdgeKind.STORED_IN)):
                warnings.append(
                    f"{fp}: no known store holds it: rotating it leaves any copy unchanged "
                    "(list the stores: graph build --vault/--aws-secrets)"
                )
            if not consumers[cred]:
                warnings.append(
                    f"{fp}: no known consumer: find who uses it before rotating it "
                    "(inventory, --config-dir, --vault-audit, --cloudtrail)"
                )
        return warnings

    def _order_graph(self, creds: Sequence[str]) -> nx.DiGraph[str]:
        import networkx as nx

        """X -> Y means X must change before Y: a credential before the stores holding it,
        a store before the consumers that reload from it, a credential before the consumers
        using it. A consumer that needs a credential held in a store it reads (to log in to
        that store) must be able to read the store first: consumer -> store, a cycle."""
        order: nx.DiGraph[str] = nx.DiGraph()
        # sorted everywhere: the same order from memory and from the store
        for cred in creds:
            order.add_node(cred)
            stores = sorted(self.out_edges(cred, EdgeKind.STORED_IN))
            for store in stores:
                order.add_edge(cred, store)
                for consumer in self._consumer_nodes_of_store(store):
                    order.add_edge(store, consumer)
            for consumer in sorted(self.in_edges(cred, EdgeKind.USES)):
                order.add_edge(cred, consumer)
            for ident in sorted(self.out_edges(cred, EdgeKind.AUTHENTICATES_AS)):
                for consumer in sorted(self.in_edges(ident, EdgeKind.AUTHENTICATES_AS)):
                    if self.kind_of(consumer) != NodeKind.CONSUMER:
                        continue
                    for store in stores:
                        if self.edge(consumer, store, EdgeKind.READS) is not None:
                            order.add_edge(consumer, store)
        return order

    def unknown_consumers(self) -> list[str]:
        return sorted(
            ids.fingerprint_of(c)
            for c in self.nodes_of(NodeKind.CREDENTIAL)
            if not self._consumer_nodes(c)
        )


_RANK = {NodeKind.CREDENTIAL: 0, NodeKind.STORE_ENTRY: 1, NodeKind.CONSUMER: 2}


def _rank(graph: Queries, node: str) -> int:
    return _RANK.get(graph.kind_of(node), 3)


def _share_groups(creds: list[str], consumers: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """Credentials that share a consumer must rotate together (union-find over consumers)."""
    parent = {c: c for c in creds}

    def find(c: str) -> str:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    owner: dict[str, str] = {}
    for cred in creds:
        for consumer in consumers[cred]:
            if consumer in owner:
                parent[find(cred)] = find(owner[consumer])
            else:
                owner[consumer] = cred
    groups: dict[str, list[str]] = {}
    for cred in creds:
        groups.setdefault(find(cred), []).append(cred)
    return sorted((tuple(sorted(g)) for g in groups.values()), key=lambda g: g[0])


_CURRENT_LABELS = ("", "AWSCURRENT")  # no version shown, or "the current one": after since
_OTHER_LABELS = ("AWSPENDING", "AWSPREVIOUS")


def _newer_or_equal(read: str, wanted: str) -> bool:
    if read in _CURRENT_LABELS or read == wanted:
        return True
    return read.isdigit() and wanted.isdigit() and int(read) >= int(wanted)


def _read_since(versions: dict[str, str], since: str, version: str | None) -> bool:
    """Was there a read at or after ``since`` (of ``version`` or newer, when the evidence
    carries versions; a read of AWSCURRENT, or without a version, counts as current; a read
    of AWSPENDING or AWSPREVIOUS does not)?"""
    for read_version, at in versions.items():
        if at < since or read_version in _OTHER_LABELS:
            continue
        if version is None or _newer_or_equal(read_version, version):
            return True
    return False


def parse_time(value: str, what: str) -> str:
    try:
        return canonical_time(value)
    except ValueError:
        raise GraphError(
            f"{what} {value!r} is not an ISO 8601 time", hint="e.g. 2026-05-01T12:00:00Z"
        ) from None
