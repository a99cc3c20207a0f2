"""A persisted dependency graph for playbook tests: one credential, its store, its readers."""

from __future__ import annotations

from pathlib import Path

from leakguard.graph.interface import ConsumerInfo, EdgeKind, Evidence, StoreRef
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
