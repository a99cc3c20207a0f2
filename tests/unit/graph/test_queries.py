from __future__ import annotations

import pytest

from leakguard.errors import GraphError
from leakguard.graph import ids
from leakguard.graph.interface import EdgeKind, Evidence, GraphQueries, StoreRef
from leakguard.graph.queries import Graph
from tests.unit.graph.helpers import DB, FP_A, FP_B, FP_C, STRIPE, consumer, read, sample


def test_graph_satisfies_the_protocol() -> None:
    assert isinstance(Graph(), GraphQueries)


def test_blast_radius_reaches_consumers_through_the_store() -> None:
    radius = sample().blast_radius(FP_A)
    assert radius.credential == FP_A
    assert [c.name for c in radius.consumers] == ["billing-worker", "payments-api"]
    assert radius.stores == (STRIPE,)
    assert radius.identities == ("vault-approle:billing", "vault-approle:payments")
    assert radius.environments == ("batch", "prod")
    assert radius.leaks == ("leak:repo@abc123:config/.env:2",)
    assert radius.unknown_consumers is False
    api = next(c for c in radius.consumers if c.name == "payments-api")
    assert api.reload.kind == "command" and api.reload.target == "restart payments-api"


def test_blast_radius_of_a_key_nobody_is_known_to_use() -> None:
    radius = sample().blast_radius(FP_C[:20])
    assert radius.consumers == () and radius.unknown_consumers


def test_prefix_resolution() -> None:
    g = sample()
    assert g.resolve_credential("a" * 12) == ids.credential(FP_A)
    assert g.resolve_credential(ids.credential(FP_B)) == ids.credential(FP_B)
    with pytest.raises(GraphError, match="no credential"):
        g.resolve_credential("sha256:dead")
    g.add_credential("sha256:" + "a" * 63 + "b")
    with pytest.raises(GraphError, match="matches 2"):
        g.resolve_credential("aaaa")


def test_consumers_and_stores() -> None:
    g = sample()
    assert [c.name for c in g.consumers_of(FP_B)] == ["billing-worker"]
    assert [c.name for c in g.consumers_of_store(STRIPE)] == ["billing-worker", "payments-api"]
    assert g.consumers_of_store(DB) == []
    assert g.stores_of(FP_A) == [STRIPE]


def test_unknown_consumers_lists_only_unconsumed_credentials() -> None:
    assert sample().unknown_consumers() == [FP_C]


def test_reads_land_on_the_consumer_that_claims_the_identity() -> None:
    g = sample()
    assert g.add_reads([read("vault-approle:payments", "2026-02-01T10:00:00Z", "2")]) == 1
    edge = g.edge(ids.consumer("payments-api"), STRIPE.id, EdgeKind.READS)
    assert edge is not None
    assert edge["last_read"] == "2026-02-01T10:00:00.000000Z"
    assert edge["versions"] == {"2": "2026-02-01T10:00:00.000000Z"}
    assert {e.source for e in edge["evidence"]} == {"test", "audit:test"}
    # the same event again tells nothing new; an older one neither
    assert g.add_reads([read("vault-approle:payments", "2026-02-01T10:00:00Z", "2")]) == 0
    assert g.add_reads([read("vault-approle:payments", "2026-01-15T10:00:00Z", "2")]) == 0
    assert edge["last_read"] == "2026-02-01T10:00:00.000000Z"


def test_unclaimed_identity_becomes_an_observed_consumer_adopted_later() -> None:
    g = sample()
    g.add_reads([read("vault-approle:ledger", "2026-02-01T10:00:00+02:00", "3")])
    observed = ids.consumer("vault-approle:ledger")
    assert g.node(observed)["observed"] is True
    assert "vault-approle:ledger" in [c.name for c in g.consumers_of(FP_A)]
    g.add_consumer(
        consumer("ledger", "vault-approle:ledger"), Evidence("inventory:x", "2026-03-01")
    )
    assert not g.has_node(observed)
    assert observed in g.removed_nodes
    edge = g.edge(ids.consumer("ledger"), STRIPE.id, EdgeKind.READS)
    assert edge is not None and edge["versions"] == {"3": "2026-02-01T08:00:00.000000Z"}
    assert "ledger" in [c.name for c in g.consumers_of(FP_A)]


def test_stale_consumers_by_time_and_version() -> None:
    g = sample()
    g.add_reads(
        [
            read("vault-approle:payments", "2026-02-01T10:00:00Z", "2"),
            read("vault-approle:billing", "2026-02-01T09:00:00Z", "1"),
        ]
    )
    names = lambda cs: [c.name for c in cs]  # noqa: E731
    assert names(g.stale_consumers(STRIPE, "2026-02-01T08:00:00Z")) == []
    assert names(g.stale_consumers(STRIPE, "2026-02-01T09:30:00Z")) == ["billing-worker"]
    assert names(g.stale_consumers(STRIPE, "2026-02-01T08:00:00Z", "2")) == ["billing-worker"]
    assert names(g.stale_consumers(STRIPE, "2026-01-01T00:00:00Z", "1")) == []  # 2 is newer
    assert g.stale_consumers(DB, "2026-01-01T00:00:00Z") == []
    with pytest.raises(GraphError, match="ISO 8601"):
        g.stale_consumers(STRIPE, "yesterday")


def test_stale_consumer_without_versions_in_the_evidence_goes_by_time() -> None:
    g = Graph()
    store = g.add_store(DB)
    api = g.add_consumer(consumer("api", "aws:arn:aws:iam::1:role/api"), Evidence("t", "x"))
    g.add_edge(api, store, EdgeKind.READS, Evidence("t", "x"))
    assert [c.name for c in g.stale_consumers(DB, "2026-01-01T00:00:00Z", "v-new")] == ["api"]
    g.add_reads([read("aws:arn:aws:iam::1:role/api", "2026-01-02T00:00:00Z", None, DB)])
    assert g.stale_consumers(DB, "2026-01-01T00:00:00Z", "v-new") == []


def test_rotation_order_groups_shared_consumers_and_puts_stores_first() -> None:
    g = sample()
    order = g.rotation_order([FP_B, FP_A, FP_C])
    assert order.groups == ((FP_A, FP_B), (FP_C,))
    steps = list(order.steps)
    assert steps.index(STRIPE.id) < steps.index(ids.consumer("payments-api"))
    assert steps.index(STRIPE.id) < steps.index(ids.consumer("billing-worker"))
    assert steps.index(ids.credential(FP_A)) < steps.index(STRIPE.id)
    assert ids.credential(FP_C) in steps
    assert order.cycles == ()


def test_rotation_order_reports_a_key_locked_in_its_own_store() -> None:
    g = sample()
    # billing-worker logs in to Vault with credential B, and B is kept in the store it reads
    g.add_edge(ids.credential(FP_B), STRIPE.id, EdgeKind.STORED_IN, Evidence("t", "x"))
    ident = g.identity_node("vault-approle:billing")
    g.add_edge(ids.credential(FP_B), ident, EdgeKind.AUTHENTICATES_AS, Evidence("t", "x"))
    order = g.rotation_order([FP_B])
    assert any(set(c) == {STRIPE.id, ids.consumer("billing-worker")} for c in order.cycles)
    assert set(order.steps) >= {STRIPE.id, ids.consumer("billing-worker")}


def test_evidence_is_one_per_source_and_keeps_the_latest() -> None:
    g = Graph()
    a = g.add_credential(FP_A)
    s = g.add_store(StoreRef("vault-kv2", "x", "secret"))
    assert g.add_edge(a, s, EdgeKind.STORED_IN, Evidence("src", "2026-01-01"))
    assert not g.add_edge(a, s, EdgeKind.STORED_IN, Evidence("src", "2025-01-01"))
    assert g.add_edge(a, s, EdgeKind.STORED_IN, Evidence("src", "2026-02-01"))
    assert g.add_edge(a, s, EdgeKind.STORED_IN, Evidence("other", "2026-01-01"))
    assert [(e.source, e.observed_at) for e in g.evidence(a, s, EdgeKind.STORED_IN)] == [
        ("src", "2026-02-01"),
        ("other", "2026-01-01"),
    ]
    with pytest.raises(KeyError):
        g.add_edge(a, "consumer:nobody", EdgeKind.USES, Evidence("x", "y"))


def test_secretsmanager_labels_and_arns_in_staleness() -> None:
    g = Graph()
    store = g.add_store(DB)
    api = g.add_consumer(consumer("api", "aws:arn:aws:iam::1:role/api"), Evidence("t", "x"))
    g.add_edge(api, store, EdgeKind.READS, Evidence("t", "x"))
    arn = StoreRef("aws-secretsmanager", "arn:aws:secretsmanager:us-east-1:1:secret:prod/db-AbCdEf")
    since = "2026-01-01T00:00:00Z"
    g.add_reads([read("aws:arn:aws:iam::1:role/api", "2026-01-02T00:00:00Z", "AWSPREVIOUS", DB)])
    assert [c.name for c in g.stale_consumers(arn, since, "v-new")] == ["api"]
    assert [c.name for c in g.stale_consumers(arn, since)] == ["api"]  # an old-version read
    g.add_reads([read("aws:arn:aws:iam::1:role/api", "2026-01-03T00:00:00Z", "AWSCURRENT", DB)])
    assert g.stale_consumers(arn, since, "v-new") == []
    assert [c.name for c in g.consumers_of_store(arn)] == ["api"]
