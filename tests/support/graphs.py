"""Graphs for tests: a persisted one for playbook tests (one credential, its store, its readers)
and a generated estate for comparing the stored queries with the in-memory ones."""

from __future__ import annotations

import random
from pathlib import Path

from leakguard.graph.interface import (
    ConsumerInfo,
    EdgeKind,
    Evidence,
    ReadEvent,
    Reload,
    StoreRef,
)
from leakguard.graph.persist import GraphStore
from leakguard.graph.queries import Graph
from leakguard.redact import fingerprint

SEEN = Evidence("inventory:test", "2026-01-01T00:00:00+00:00")


def save_graph(
    db: Path, credential_value: str, store: StoreRef, consumers: list[ConsumerInfo]
) -> str:
    """Build and persist the graph: the credential, its store entry, and who reads it."""
    graph = Graph()
    fp = fingerprint(credential_value)
    cred = graph.add_credential(fp)
    store_node = graph.add_store(store)
    graph.add_edge(cred, store_node, EdgeKind.STORED_IN, SEEN)
    for consumer in consumers:
        node = graph.add_consumer(consumer, SEEN)
        graph.add_edge(node, store_node, EdgeKind.READS, SEEN)
    with GraphStore.open(db) as gstore:
        gstore.save(graph)
    return fp


def generated_graph(services: int, *, seed: int = 3) -> Graph:
    """A random estate built through the builders' API: credentials leaked, held in stores and
    used directly; services reading stores as declared identities; observed readers; reads with
    versions; credentials tied to identities; shared consumers and the occasional cycle (a
    service logging in to the store that holds its own key)."""
    rng = random.Random(seed)
    graph = Graph()
    stores = [
        StoreRef("vault-kv2", f"app/s{i}", "secret")
        if i % 3
        else StoreRef("aws-secretsmanager", f"prod/app/{i}")
        for i in range(services * 2)
    ]
    creds = [
        graph.add_credential(fingerprint(f"credential-{seed}-{i}")) for i in range(services * 3)
    ]
    for i, cred in enumerate(creds):
        leak = graph.add_node(f"leak:repo:f{i}.env:{i % 40}", "leak", path=f"f{i}.env")
        graph.add_edge(cred, leak, EdgeKind.LEAKED_AT, SEEN)
        if i % 4:
            fields = {"api_key": "", "key_id": "aws_access_key_id"} if i % 8 == 1 else None
            graph.add_edge(
                cred,
                graph.add_store(rng.choice(stores)),
                EdgeKind.STORED_IN,
                SEEN,
                field="api_key" if i % 2 else None,
                fields=fields,
            )
        if i % 7 == 0:
            ident = graph.identity_node(f"aws:arn:aws:iam::1:user/u{i % 50}")
            graph.add_edge(cred, ident, EdgeKind.AUTHENTICATES_AS, SEEN)
    for s in range(services):
        identities = (f"vault-approle:role-{s}",)
        if s % 5 == 0:
            identities += (f"aws:arn:aws:iam::1:user/u{s % 50}",)
        info = ConsumerInfo(
            f"consumer:svc-{s}",
            f"svc-{s}",
            identities=identities,
            environment=("prod", "staging", None)[s % 3],
            reload=Reload("command", f"restart svc-{s}") if s % 2 else Reload(),
        )
        node = graph.add_consumer(info, SEEN)
        for store in rng.sample(stores, 2):
            graph.add_edge(node, graph.add_store(store), EdgeKind.READS, SEEN)
        if s % 3 == 0:
            graph.add_edge(node, rng.choice(creds), EdgeKind.USES, SEEN)
    events = [
        ReadEvent(
            rng.choice(stores),
            f"vault-approle:role-{rng.randrange(services + services // 4)}",
            f"2026-0{1 + r % 6}-1{r % 9}T10:00:00Z",
            rng.choice(["1", "2", "3", None, "AWSCURRENT", "AWSPREVIOUS"]),
            source=f"audit:{r % 3}",
        )
        for r in range(services * 4)
    ]
    graph.add_reads(events)
    return graph
