"""The graph the playbooks query: :class:`Graph` implements
:class:`leakguard.graph.interface.GraphQueries` over :class:`DependencyGraph`.

A consumer depends on a credential when it ``uses`` it directly, or ``reads`` a store entry the
credential is ``stored_in``. Reads observed in an audit log or CloudTrail name an identity, not a
service: they land on every consumer that ``authenticates_as`` that identity, or, when no
consumer claims it yet, on an *observed* consumer named after the identity, which a later
declaration (inventory) adopts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import networkx as nx

from leakguard.errors import GraphError
from leakguard.graph import ids
from leakguard.graph.interface import (
    BlastRadius,
    ConsumerInfo,
    EdgeKind,
    Evidence,
    KeyUse,
    NodeKind,
    ReadEvent,
    Reload,
    RotationOrder,
    StoreRef,
)
from leakguard.graph.model import DependencyGraph, canonical_time

# the part of a credential that is an AWS access key id (an unpaired key id is its own whole)
KEY_ID_PARTS = frozenset({None, "aws_access_key_id"})

# parts that name an account rather than prove a credential (a URL's user): a value equal to
# one links nothing on its own
IDENTIFIER_PARTS = frozenset({"user"})


class Graph(DependencyGraph):
    # --- typed additions used by the builders --------------------------------------------

    def add_credential(
        self, fingerprint: str, *, parts: Mapping[str, str] | None = None, **attrs: Any
    ) -> str:
        """Add or enrich a credential; ``parts`` (part name -> fingerprint) are merged with
        those it has."""
        node = ids.credential(fingerprint)
        if parts and self.has_node(node):
            known = dict(self.node(node).get("parts") or {})
            if not parts.items() <= known.items():
                attrs["parts"] = {**known, **parts}
        elif parts:
            attrs["parts"] = dict(parts)
        return self.add_node(node, NodeKind.CREDENTIAL, fingerprint=fingerprint, **attrs)

    def fingerprint_index(self) -> dict[str, list[tuple[str, str | None]]]:
        """fingerprint -> [(credential node, part name, or None for the whole)] for every
        credential and every part of one: what a value found elsewhere may be."""
        index: dict[str, list[tuple[str, str | None]]] = {}
        for node in self.nodes_of(NodeKind.CREDENTIAL):
            data = self.node(node)
            index.setdefault(str(data["fingerprint"]), []).append((node, None))
            for name, fp in (data.get("parts") or {}).items():
                entries = index.setdefault(str(fp), [])
                if (node, name) not in entries:
                    entries.append((node, str(name)))
        return index

    def add_store(self, ref: StoreRef, **attrs: Any) -> str:
        return self.add_node(
            ref.id,
            NodeKind.STORE_ENTRY,
            backend=ref.backend,
            path=ref.path,
            mount=ref.mount,
            **attrs,
        )

    def add_environment(self, name: str) -> str:
        return self.add_node(ids.environment(name), NodeKind.ENVIRONMENT, name=name)

    def add_consumer(
        self, info: ConsumerInfo, evidence: Evidence, *, observed: bool = False
    ) -> str:
        node = self.add_node(
            info.id,
            NodeKind.CONSUMER,
            name=info.name,
            consumer_kind=info.kind,
            reload_kind=info.reload.kind if info.reload.kind != "none" or observed else None,
            reload_target=info.reload.target,
        )
        if not observed and self.node(node).get("observed"):
            self.g.nodes[node]["observed"] = False
            self.dirty_nodes.add(node)
        elif observed and "observed" not in self.node(node):
            self.g.nodes[node]["observed"] = True
        for identity in info.identities:
            ident = self.identity_node(identity)
            if not observed:
                for other in list(self.in_edges(ident, EdgeKind.AUTHENTICATES_AS)):
                    if other != node and self.node(other).get("observed"):
                        self.move_edges(other, node)
            self.add_edge(node, ident, EdgeKind.AUTHENTICATES_AS, evidence)
        if info.environment:
            self.add_edge(node, self.add_environment(info.environment), EdgeKind.RUNS_IN, evidence)
        return node

    def add_reads(self, events: Iterable[ReadEvent]) -> int:
        new = 0
        stores: dict[StoreRef, str] = {}
        readers: dict[str, list[str]] = {}  # identity -> consumer nodes, for this batch
        for event in events:
            at = parse_time(event.at, "read time")
            if at != event.at:
                event = dataclasses.replace(event, at=at)
            store = stores.get(event.store)
            if store is None:
                store = stores[event.store] = self.add_store(event.store)
            consumers = readers.get(event.identity)
            if consumers is None:
                ident = self.identity_node(event.identity)
                consumers = [
                    c
                    for c in self.in_edges(ident, EdgeKind.AUTHENTICATES_AS)
                    if self.kind_of(c) == NodeKind.CONSUMER
                ]
                if not consumers:
                    evidence = Evidence(event.source or "reads", event.at, "identity seen reading")
                    observed = ConsumerInfo(
                        ids.consumer(event.identity),
                        _observed_name(event),
                        kind="observed",
                        identities=(event.identity,),
                    )
                    consumers = [self.add_consumer(observed, evidence, observed=True)]
                readers[event.identity] = consumers
            fresh = False
            for consumer in consumers:
                fresh = self.record_read(consumer, store, event) or fresh
            new += fresh
        return new

    def add_key_uses(self, uses: Iterable[KeyUse]) -> int:
        """Record who AWS says signed requests with a credential's access key id (CloudTrail
        ``userIdentity.accessKeyId``, matched by fingerprint to the ``aws_access_key_id`` part):
        an ``authenticates_as`` edge to the IAM identity, and the user, account and last use
        on the credential. Returns how many uses matched a known credential."""
        index = self.fingerprint_index()
        matched = 0
        for use in uses:
            creds = sorted(
                {cred for cred, part in index.get(use.key_id, ()) if part in KEY_ID_PARTS}
            )
            if not creds:
                continue
            at = parse_time(use.at, "event time")
            matched += 1
            for cred in creds:
                data = self.node(cred)
                last = data.get("key_last_used")
                self.add_node(
                    cred,
                    NodeKind.CREDENTIAL,
                    iam_user=use.user,
                    iam_account=use.account,
                    iam_identity=use.identity,
                    key_last_used=at if last is None or at > str(last) else None,
                )
                if use.identity is not None:
                    detail = f"{use.event} signed with this access key" if use.event else ""
                    self.add_edge(
                        cred,
                        self.identity_node(use.identity),
                        EdgeKind.AUTHENTICATES_AS,
                        Evidence(use.source or "cloudtrail", at, detail),
                    )
        return matched

    # --- lookups -------------------------------------------------------------------------

    def resolve_credential(self, credential: str) -> str:
        """A node id, fingerprint or unique fingerprint prefix (hex, with or without
        ``sha256:``) -> the credential node id."""
        if credential in self.g and self.kind_of(credential) == NodeKind.CREDENTIAL:
            return credential
        fp = credential.removeprefix(ids.CREDENTIAL)
        if not fp.startswith("sha256:"):
            fp = "sha256:" + fp
        exact = ids.credential(fp)
        if exact in self.g:
            return exact
        matches = [n for n in self.nodes_of(NodeKind.CREDENTIAL) if n.startswith(exact)]
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
        return store.id if store.id in self.g else None

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
        """X -> Y means X must change before Y: a credential before the stores holding it,
        a store before the consumers that reload from it, a credential before the consumers
        using it. A consumer that needs a credential held in a store it reads (to log in to
        that store) must be able to read the store first: consumer -> store, a cycle."""
        order: nx.DiGraph[str] = nx.DiGraph()
        for cred in creds:
            order.add_node(cred)
            for store in self.out_edges(cred, EdgeKind.STORED_IN):
                order.add_edge(cred, store)
                for consumer in self._consumer_nodes_of_store(store):
                    order.add_edge(store, consumer)
            for consumer in self.in_edges(cred, EdgeKind.USES):
                order.add_edge(cred, consumer)
            for ident in self.out_edges(cred, EdgeKind.AUTHENTICATES_AS):
                for consumer in self.in_edges(ident, EdgeKind.AUTHENTICATES_AS):
                    if self.kind_of(consumer) != NodeKind.CONSUMER:
                        continue
                    for store in self.out_edges(cred, EdgeKind.STORED_IN):
                        if self.edge(consumer, store, EdgeKind.READS) is not None:
                            order.add_edge(consumer, store)
        return order

    def unknown_consumers(self) -> list[str]:
        return sorted(
            ids.fingerprint_of(c)
            for c in self.nodes_of(NodeKind.CREDENTIAL)
            if not self._consumer_nodes(c)
        )


def _observed_name(event: ReadEvent) -> str:
    """An observed reader's name: a Vault entity's display name with its id, since a bare
    entity UUID tells a responder nothing."""
    if event.identity.startswith("vault-entity:") and event.display_name:
        return f"{event.display_name} ({event.identity})"
    return event.identity


_RANK = {NodeKind.CREDENTIAL: 0, NodeKind.STORE_ENTRY: 1, NodeKind.CONSUMER: 2}


def _rank(graph: Graph, node: str) -> int:
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
