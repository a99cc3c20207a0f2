from __future__ import annotations

import json

import pytest

from leakguard.backends.interface import SecretData, SecretLister, StoredVersion
from leakguard.errors import BackendError
from leakguard.graph import export, ids
from leakguard.graph.interface import EdgeKind, StoreRef
from leakguard.graph.queries import Graph
from leakguard.graph.stores import WHOLE, add_store, value_fingerprints
from leakguard.redact import fingerprint
from tests.unit.graph.helpers import EV, FP_A, consumer, sample
from tests.unit.graph.helpers import STRIPE as STRIPE_REF

KEY = "sk_live_" + "9" * 10 + "AbCdEfGhIjKlMn"


class _Lister:
    """An in-memory store implementing only what the builder needs (our own protocols)."""

    kind = "aws-secretsmanager"

    def __init__(self, secrets: dict[str, SecretData]) -> None:
        self.secrets = secrets
        self.reads: list[str] = []

    def list_names(self, prefix: str = "") -> list[str]:
        return sorted(n for n in self.secrets if n.startswith(prefix))

    def read_current(self, name: str) -> tuple[StoredVersion, SecretData]:
        self.reads.append(name)
        if name.endswith("forbidden"):
            raise BackendError(f"read secret {name} failed: permission denied")
        if name.endswith("flaky"):
            raise BackendError("read failed: timed out", transient=True)
        return StoredVersion("v-1", ("AWSCURRENT",), "sha256:x"), dict(self.secrets[name])


def test_value_fingerprints_cover_fields_and_the_whole_value() -> None:
    hashes = value_fingerprints({"api_key": KEY, "mode": "live"})
    assert hashes[fingerprint(KEY)] == "api_key"
    assert hashes[fingerprint(json.dumps({"api_key": KEY, "mode": "live"}))] == WHOLE
    assert KEY not in repr(hashes)


def test_store_entries_link_to_credentials_by_fingerprint_only() -> None:
    store = _Lister(
        {
            "prod/stripe": {"api_key": KEY, "mode": "live"},
            "prod/plain": {"value": KEY},
            "prod/other": {"password": "hunter2hunter2"},
            "dev/x": {"value": KEY},
        }
    )
    assert isinstance(store, SecretLister)
    g = Graph()
    cred = g.add_credential(fingerprint(KEY))
    scan = add_store(g, store, prefix="prod/", source="aws-secretsmanager:test")
    assert (scan.entries, scan.matches) == (3, 2)
    assert store.reads == ["prod/other", "prod/plain", "prod/stripe"]
    assert sorted(g.out_edges(cred, EdgeKind.STORED_IN)) == [
        StoreRef("aws-secretsmanager", "prod/plain").id,
        StoreRef("aws-secretsmanager", "prod/stripe").id,
    ]
    edge = g.edge(cred, StoreRef("aws-secretsmanager", "prod/stripe").id, EdgeKind.STORED_IN)
    assert edge is not None and edge["field"] == "api_key" and edge["version"] == "v-1"
    other = g.node(StoreRef("aws-secretsmanager", "prod/other").id)
    assert other["stages"] == "AWSCURRENT" and other["version"] == "v-1"
    dump = repr(list(g.g.nodes(data=True))) + repr(list(g.g.edges(data=True)))
    assert KEY not in dump and "hunter2" not in dump
    assert fingerprint("hunter2hunter2") not in dump


def test_dot_and_mermaid_escape_labels() -> None:
    g = sample()
    g.add_consumer(consumer('we"ird'), EV)
    dot = export.to_dot(g)
    assert '"consumer:we\\"ird"' in dot
    mermaid = export.to_mermaid(g)
    assert "we#quot;ird" in mermaid and 'we"ird' not in mermaid
    assert mermaid.count("-->") == g.g.number_of_edges()


def test_neighbourhood_export_keeps_only_the_blast_radius() -> None:
    g = sample()
    keep = export.neighbourhood(g, FP_A[:16])
    doc = export.node_link(g, keep)
    kinds = {n["kind"] for n in doc["nodes"]}
    assert kinds == {"credential", "leak", "store_entry", "consumer", "identity", "environment"}
    assert ids.credential("sha256:" + "c" * 64) not in {n["id"] for n in doc["nodes"]}
    # billing-worker uses B directly: B is outside A's radius, so that edge is dropped
    assert all(link["source"] in keep and link["target"] in keep for link in doc["links"])
    assert ids.credential("sha256:" + "b" * 64) not in keep
    html = export.to_html(g, keep)
    assert "</script>" in html and "__DATA__" not in html and "<script src" not in html


def test_unreadable_entries_are_skipped_and_transient_errors_stop() -> None:
    g = Graph()
    g.add_credential(fingerprint(KEY))
    store = _Lister({"a/ok": {"value": KEY}, "a/forbidden": {"value": "x"}})
    scan = add_store(g, store, prefix="a/", source="t")
    assert (scan.entries, scan.matches) == (1, 1)
    assert scan.skipped == ("a/forbidden: read secret a/forbidden failed: permission denied",)
    with pytest.raises(BackendError, match="timed out"):
        add_store(g, _Lister({"b/flaky": {"value": "x"}}), prefix="b/", source="t")


def test_webhook_reload_urls_are_shown_without_their_token() -> None:
    """The graph keeps the full URL (a playbook calls it); every display drops path and query."""
    from leakguard.graph.interface import ConsumerInfo, Reload

    g = sample()
    hook = "https://hooks.slack.test/services/T00/B00/XyZsEcReTtOkEn?key=QqQq"
    info = ConsumerInfo(ids.consumer("ledger"), "ledger", "job", Reload("webhook", hook))
    node = g.add_consumer(info, EV)
    g.add_edge(node, g.add_store(STRIPE_REF), EdgeKind.READS, EV)
    assert g.node(node)["reload_target"] == hook  # kept for the playbooks
    shown = [
        json.dumps(export.node_link(g)),
        export.to_html(g),
        json.dumps(export.radius_dict(g, g.blast_radius(FP_A))),
        json.dumps([export.consumer_dict(c) for c in g.consumers_of(FP_A)]),
    ]
    for text in shown:
        assert "hooks.slack.test" in text
        assert "XyZsEcReTtOkEn" not in text and "QqQq" not in text
    assert export.shown_reload(Reload("command", "systemctl restart x")) == "systemctl restart x"
