"""The in-memory graph the builders fill: :class:`Graph` implements
:class:`leakguard.graph.interface.GraphQueries` over :class:`DependencyGraph` (the queries live
in :mod:`leakguard.graph.traverse`, shared with the stored view).

Reads observed in an audit log or CloudTrail name an identity, not a
service: they land on every consumer that ``authenticates_as`` that identity, or, when no
consumer claims it yet, on an *observed* consumer named after the identity, which a later
declaration (inventory) adopts.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from leakguard.graph import ids
from leakguard.graph.interface import (
    ConsumerInfo,
    EdgeKind,
    Evidence,
    KeyUse,
    NodeKind,
    ReadEvent,
    StoreRef,
)
from leakguard.graph.model import DependencyGraph
from leakguard.graph.traverse import Queries, parse_time

__all__ = ["IDENTIFIER_PARTS", "KEY_ID_PARTS", "Graph", "parse_time"]

_CANONICAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")

# the part of a credential that is an AWS access key id (an unpaired key id is its own whole)
KEY_ID_PARTS = frozenset({None, "aws_access_key_id"})

# parts that name an account rather than prove a credential (a URL's user): a value equal to
# one links nothing on its own
IDENTIFIER_PARTS = frozenset({"user"})


class Graph(DependencyGraph, Queries):
    """The in-memory graph: the builders' additions here, the queries from :class:`Queries`."""

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

    def credentials_with_prefix(self, prefix: str) -> list[str]:
        return [n for n in self.nodes_of(NodeKind.CREDENTIAL) if n.startswith(prefix)]

    def add_reads(self, events: Iterable[ReadEvent]) -> int:
        new = 0
        stores: dict[StoreRef, str] = {}
        readers: dict[str, list[str]] = {}  # identity -> consumer nodes, for this batch
        for event in events:
            # the evidence readers give canonical times already; anything else is parsed
            at = event.at if _CANONICAL.fullmatch(event.at) else parse_time(event.at, "read time")
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


def _observed_name(event: ReadEvent) -> str:
    """An observed reader's name: a Vault entity's display name with its id, since a bare
    entity UUID tells a responder nothing."""
    if event.identity.startswith("vault-entity:") and event.display_name:
        return f"{event.display_name} ({event.identity})"
    return event.identity
