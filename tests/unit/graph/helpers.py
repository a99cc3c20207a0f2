"""A small hand-built graph for query tests: two credentials, stores, consumers, reads."""

from __future__ import annotations

from leakguard.graph import ids
from leakguard.graph.interface import ConsumerInfo, EdgeKind, Evidence, ReadEvent, Reload, StoreRef
from leakguard.graph.queries import Graph

FP_A = "sha256:" + "a" * 64
FP_B = "sha256:" + "b" * 64
FP_C = "sha256:" + "c" * 64
STRIPE = StoreRef("vault-kv2", "payments/stripe", "secret")
DB = StoreRef("aws-secretsmanager", "prod/db")
EV = Evidence("test", "2026-01-01T00:00:00.000000Z")


def consumer(name: str, *identities: str, env: str | None = "prod") -> ConsumerInfo:
    return ConsumerInfo(
        ids.consumer(name), name, "service", Reload("command", f"restart {name}"), identities, env
    )


def sample() -> Graph:
    """A stored in secret/payments/stripe, read by payments-api and billing-worker;
    B used directly by billing-worker (so A and B share a consumer); C has no consumer."""
    g = Graph()
    a = g.add_credential(FP_A, provider="stripe", redacted="sk_live_…aaaa")
    b = g.add_credential(FP_B, provider="aws", redacted="AKIA…bbbb")
    g.add_credential(FP_C, provider="github", redacted="ghp_…cccc")
    leak = g.add_node(ids.leak("repo", "config/.env", 2, "abc123"), "leak", path="config/.env")
    g.add_edge(a, leak, EdgeKind.LEAKED_AT, EV)
    stripe = g.add_store(STRIPE)
    g.add_edge(a, stripe, EdgeKind.STORED_IN, EV)
    api = g.add_consumer(consumer("payments-api", "vault-approle:payments"), EV)
    worker = g.add_consumer(consumer("billing-worker", "vault-approle:billing", env="batch"), EV)
    g.add_edge(api, stripe, EdgeKind.READS, EV)
    g.add_edge(worker, stripe, EdgeKind.READS, EV)
    g.add_edge(worker, b, EdgeKind.USES, EV)
    return g


def read(identity: str, at: str, version: str | None = "1", store: StoreRef = STRIPE) -> ReadEvent:
    return ReadEvent(store, identity, at, version, source="audit:test")
