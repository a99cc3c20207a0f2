"""Findings builder (scan result, JSON report, findings store) and the persisted graph."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from leakguard.errors import GraphError
from leakguard.graph import ids
from leakguard.graph.findings import add_findings_store, add_scan_report, add_scan_result
from leakguard.graph.interface import EdgeKind, Evidence, NodeKind
from leakguard.graph.persist import GraphStore
from leakguard.graph.queries import Graph
from leakguard.options import ScanOptions
from leakguard.redact import fingerprint
from leakguard.reports.json_report import render
from leakguard.scanner import run_scan
from leakguard.store.findings import FindingsStore
from tests.unit.graph.helpers import FP_A, STRIPE, read, sample

SECRET = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc9f2cZZ"


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    src = tmp_path_factory.mktemp("app")
    (src / "config").mkdir()
    (src / "config" / "settings.py").write_text(f"\n\nSTRIPE = '{SECRET}'\n")
    return src, run_scan([str(src)], ScanOptions(jobs=1))


def test_scan_result_gives_credential_and_leak(scanned: tuple[Path, object]) -> None:
    _src, result = scanned
    g = Graph()
    assert add_scan_result(g, result, target="shop") == 1  # type: ignore[arg-type]
    cred = ids.credential(fingerprint(SECRET))
    data = g.node(cred)
    assert data["provider"] == "stripe" and data["redacted"].startswith("sk_live_")
    (leak,) = g.out_edges(cred, EdgeKind.LEAKED_AT)
    assert leak == "leak:shop:config/settings.py:3"
    assert g.node(leak)["kind"] == NodeKind.LEAK


def test_json_report_and_findings_store_agree(scanned: tuple[Path, object], tmp_path: Path) -> None:
    _src, result = scanned
    report = tmp_path / "report.json"
    report.write_text(render(result))  # type: ignore[arg-type]
    from_report = Graph()
    add_scan_report(from_report, report, target="shop")
    db = tmp_path / "lg.db"
    with FindingsStore.open(db) as store:
        store.record_scan("shop", result)  # type: ignore[arg-type]
        from_store = Graph()
        assert add_findings_store(from_store, store) == 1
    assert set(from_report.g.nodes) == set(from_store.g.nodes)
    assert from_store.node(ids.credential(fingerprint(SECRET)))["status"] == "open"
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 1}')
    with pytest.raises(GraphError, match="not a LeakGuard JSON report"):
        add_scan_report(Graph(), bad)


def test_save_and_load_round_trip_incrementally(tmp_path: Path) -> None:
    db = tmp_path / "lg.db"
    g = sample()
    with GraphStore.open(db) as store:
        assert store.save(g) == (len(g), g.g.number_of_edges())
        assert store.save(g) == (0, 0)  # nothing changed, nothing written
        loaded = store.load()
    assert set(loaded.g.nodes) == set(g.g.nodes)
    assert loaded.blast_radius(FP_A) == g.blast_radius(FP_A)
    assert (db.stat().st_mode & 0o777) == 0o600
    # evidence arriving later updates one edge in place
    assert loaded.add_reads([read("vault-approle:payments", "2026-05-01T00:00:00Z", "4")]) == 1
    with GraphStore.open(db) as store:
        assert store.save(loaded) == (0, 1)
        again = store.load()
        counts = store.counts()
    edge = again.edge(ids.consumer("payments-api"), STRIPE.id, EdgeKind.READS)
    assert edge is not None and edge["versions"] == {"4": "2026-05-01T00:00:00.000000Z"}
    assert {e.source for e in edge["evidence"]} == {"test", "audit:test"}
    assert counts["edges"] == g.g.number_of_edges()
    assert [c.name for c in again.stale_consumers(STRIPE, "2026-04-01T00:00:00Z", "4")] == [
        "billing-worker"
    ]


def test_adopted_observed_consumer_is_deleted_from_the_store(tmp_path: Path) -> None:
    db = tmp_path / "lg.db"
    g = sample()
    g.add_reads([read("vault-approle:ledger", "2026-02-01T00:00:00Z")])
    with GraphStore.open(db) as store:
        store.save(g)
        g = store.load()
        from tests.unit.graph.helpers import consumer

        g.add_consumer(consumer("ledger", "vault-approle:ledger"), Evidence("inv", "2026-03-01"))
        store.save(g)
        ids_ = {r[0] for r in store.db.conn.execute("SELECT id FROM graph_nodes")}
    assert "consumer:vault-approle:ledger" not in ids_ and "consumer:ledger" in ids_
    conn = sqlite3.connect(db)
    dangling = conn.execute(
        "SELECT COUNT(*) FROM graph_edges WHERE src NOT IN (SELECT id FROM graph_nodes)"
    ).fetchone()[0]
    assert dangling == 0


def _strings(path: Path) -> bytes:
    return b"\n".join(re.findall(rb"[\x20-\x7e]{6,}", path.read_bytes()))


def test_the_graph_tables_hold_no_secret(scanned: tuple[Path, object], tmp_path: Path) -> None:
    from leakguard.graph.references import add_references, scan_references
    from tests.unit.graph.configs import write_configs

    _src, result = scanned
    g = Graph()
    add_scan_result(g, result, target="shop")  # type: ignore[arg-type]
    repo = write_configs(tmp_path / "repo", SECRET)
    refs, _ = scan_references(repo)
    add_references(g, refs, root=repo)
    assert list(g.in_edges(ids.credential(fingerprint(SECRET)), EdgeKind.USES))
    db = tmp_path / "graph.db"
    with GraphStore.open(db) as store:
        store.save(g)
        files = [db, Path(str(db) + "-wal")]
        raw = b"".join(f.read_bytes() for f in files if f.exists())
        assert SECRET.encode() not in raw
        strings = tmp_path / "strings.txt"
        strings.write_bytes(b"\n".join(_strings(f) for f in files if f.exists()))
        assert b"sk_live_" in strings.read_bytes()  # the redacted preview is there
        found = run_scan(
            [str(f) for f in files if f.exists()] + [str(strings)], ScanOptions(jobs=1)
        )
        assert found.findings == ()


def test_identity_attributes_are_copied_and_nothing_else() -> None:
    from leakguard.graph.findings import add_findings

    g = Graph()
    finding = {
        "fingerprint": "sha256:" + "e" * 64,
        "provider": "aws",
        "rule_id": "aws-access-key",
        "redacted": "AKIA…WXYZ",
        "source_kind": "file",
        "location": {"path": "a.env", "line": 3},
        "attributes": {"account_id": "123456789012", "paired": True, "jwt_alg": "HS256"},
        "occurrences": [{"path": "b.env", "line": 9}],
    }
    assert (
        add_findings(g, [finding, {"fingerprint": "not-a-fingerprint"}], target="t", source="s")
        == 2
    )
    data = g.node("credential:sha256:" + "e" * 64)
    assert data["id_account_id"] == "123456789012"
    assert not any(k in data for k in ("id_paired", "id_jwt_alg", "paired"))
    assert sorted(g.out_edges("credential:sha256:" + "e" * 64, EdgeKind.LEAKED_AT)) == [
        "leak:t:a.env:3",
        "leak:t:b.env:9",
    ]


def test_a_node_removed_and_added_again_keeps_only_its_new_edges(tmp_path: Path) -> None:
    g = sample()
    with GraphStore.open(tmp_path / "lg.db") as store:
        store.save(g)
        g = store.load()
        api = ids.consumer("payments-api")
        g.remove_node(api)
        g.add_node(api, NodeKind.CONSUMER, name="payments-api")
        g.add_edge(api, ids.credential(FP_A), EdgeKind.USES, Evidence("again", "2026-06-01"))
        store.save(g)
        loaded = store.load()
    assert [(d, k) for _, d, k in loaded.g.out_edges(api, keys=True)] == [
        (ids.credential(FP_A), "uses")
    ]
    assert not list(loaded.in_edges(api, EdgeKind.READS))


def test_load_add_reads_save_round_trip(tmp_path: Path) -> None:
    from leakguard.graph.build import load, save

    db = tmp_path / "lg.db"
    assert save(db, sample()) != (0, 0)
    graph = load(db)
    graph.add_reads([read("vault-approle:billing", "2026-07-01T00:00:00Z", "5")])
    assert save(db, graph) == (0, 1)
    assert load(db).stale_consumers(STRIPE, "2026-06-01T00:00:00Z", "5")[0].name == "payments-api"
