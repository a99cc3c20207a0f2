"""Evidence readers never go silently blind: old Vault audit lines, rotated and gzipped logs,
bad files and torn lines (skipped with a warning and a count), inventory fingerprint prefixes,
and observed consumers named by their display name as well as their entity id."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from leakguard.errors import GraphError
from leakguard.graph import ids
from leakguard.graph.build import BuildInputs, BuildSummary, apply
from leakguard.graph.evidence import EvidenceReport, cloudtrail_reads, vault_audit_reads
from leakguard.graph.interface import StoreRef
from leakguard.graph.inventory import InventoryError, add_inventory, read_inventory
from leakguard.graph.queries import Graph
from tests.unit.graph.helpers import FP_A, FP_B, STRIPE, sample


def _read(path: str, at: str, *, mount: str | None = "secret/", **auth: object) -> str:
    request: dict[str, object] = {"operation": "read", "path": path, "remote_address": "10.0.0.9"}
    if mount is not None:
        request["mount_point"] = mount
        request["mount_type"] = "kv"
    entry = {
        "time": at,
        "type": "response",
        "auth": {"display_name": "approle", **auth},
        "request": request,
        "response": {"data": {"data": {"k": "hmac-sha256:00"}, "metadata": {"version": 2}}},
    }
    return json.dumps(entry) + "\n"


def test_audit_lines_without_mount_point_use_the_request_path(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text(
        _read("secret/data/payments/stripe", "2022-06-01T10:00:00Z", mount=None, entity_id="e1")
        + _read("kv/team/data/a/b", "2022-06-01T10:00:01Z", mount=None, entity_id="e1")
        + _read("secret/metadata/payments/stripe", "2022-06-01T10:00:02Z", mount=None)
        + _read("sys/data", "2022-06-01T10:00:03Z", mount=None, entity_id="e1")
    )
    events = list(vault_audit_reads(log))
    assert [e.store for e in events] == [
        StoreRef("vault-kv2", "payments/stripe", "secret"),
        StoreRef("vault-kv2", "a/b", "kv/team"),
    ]
    assert events[0].version == "2" and events[0].identity == "vault-entity:e1"


def test_a_directory_of_audit_logs_includes_rotated_and_gzipped_ones(tmp_path: Path) -> None:
    logs = tmp_path / "bao"
    logs.mkdir()

    def line(i: int) -> str:
        at = f"2026-01-0{i}T10:00:00Z"
        return _read("secret/data/payments/stripe", at, metadata={"role_name": f"r{i}"})

    (logs / "audit.log").write_text(line(1))
    (logs / "audit.log.1").write_text(line(2))
    (logs / "audit.log.2.gz").write_bytes(gzip.compress(line(3).encode()))
    (logs / "audit.log-20260104").write_text(line(4))
    (logs / "notes.txt").write_text(line(5))
    g = Graph()
    summary = BuildSummary()
    apply(g, BuildInputs(vault_audit=(logs,), findings_store=False), summary)
    assert summary.added["vault-reads"] == 4
    readers = {c.name for c in g.consumers_of_store(STRIPE)}
    assert readers == {f"vault-approle:r{i}" for i in range(1, 5)}


def test_torn_lines_are_counted_and_reported(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    good = _read("secret/data/payments/stripe", "2026-01-01T10:00:00Z", entity_id="e1")
    log.write_text(good + good[:40] + '"read" "response"\n' + good + '{"type": "response", "read')
    report = EvidenceReport()
    assert len(list(vault_audit_reads(log, report=report))) == 2
    assert report.bad_lines == {str(log): 2}
    g = Graph()
    summary = BuildSummary()
    apply(g, BuildInputs(vault_audit=(log,), findings_store=False), summary)
    assert summary.warnings == [f"{log}: skipped 2 lines that are not JSON (torn or corrupt)"]


def test_a_truncated_cloudtrail_file_is_skipped_with_a_warning(tmp_path: Path) -> None:
    trails = tmp_path / "trail"
    trails.mkdir()
    record = {
        "eventSource": "secretsmanager.amazonaws.com",
        "eventName": "GetSecretValue",
        "eventTime": "2026-05-01T10:00:00Z",
        "userIdentity": {"arn": "arn:aws:iam::123456789012:user/ci"},
        "requestParameters": {"secretId": "prod/db"},
    }
    body = json.dumps({"Records": [record]}).encode()
    (trails / "a.json").write_bytes(body)
    (trails / "b.json.gz").write_bytes(gzip.compress(body)[:-12])  # cut mid-stream
    (trails / "c.json").write_bytes(body[: len(body) // 2])
    g = Graph()
    summary = BuildSummary()
    apply(g, BuildInputs(cloudtrail=(trails,), findings_store=False), summary)
    assert summary.added["cloudtrail-reads"] == 1
    skipped = [w for w in summary.warnings if w.startswith("skipped evidence file")]
    assert len(skipped) == 2
    assert str(trails / "b.json.gz") in skipped[0] and str(trails / "c.json") in skipped[1]
    with pytest.raises(GraphError, match="not a CloudTrail"):  # without a report: an error
        list(cloudtrail_reads([trails / "c.json"]))


def test_odd_records_empty_directories_and_missing_paths_are_never_silent(tmp_path: Path) -> None:
    trail = tmp_path / "trail.json"
    trail.write_text(json.dumps({"Records": ["not an event", 7]}))
    empty = tmp_path / "no-logs"
    empty.mkdir()
    (empty / "README.txt").write_text("rotated elsewhere")
    summary = BuildSummary()
    inputs = BuildInputs(cloudtrail=(trail,), vault_audit=(empty,), findings_store=False)
    apply(Graph(), inputs, summary)
    assert summary.warnings == [
        f"{trail}: skipped 2 records that are not a JSON object",
        f"no evidence files found under {empty}",
    ]
    missing = BuildInputs(vault_audit=(tmp_path / "audit.lgo",), findings_store=False)
    with pytest.raises(GraphError, match=r"audit\.lgo does not exist"):
        apply(Graph(), missing, BuildSummary())


def test_observed_entity_readers_show_their_display_name(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text(
        _read(
            "secret/data/payments/stripe",
            "2026-01-01T10:00:00Z",
            entity_id="9f1c-77",
            display_name="oidc-alice",
        )
    )
    g = Graph()
    apply(g, BuildInputs(vault_audit=(log,), findings_store=False), BuildSummary())
    [reader] = g.consumers_of_store(STRIPE)
    assert reader.name == "oidc-alice (vault-entity:9f1c-77)"
    assert reader.identities == ("vault-entity:9f1c-77",)
    assert reader.id == ids.consumer("vault-entity:9f1c-77")


def _inventory(tmp_path: Path, fp: str) -> Path:
    inv = tmp_path / "leakguard.yaml"
    inv.write_text(f"services:\n  - name: billing\n    uses: [{fp}]\n")
    return inv


def test_inventory_fingerprint_prefixes_must_resolve_uniquely(tmp_path: Path) -> None:
    g = sample()
    g.add_credential("sha256:" + "a" * 63 + "b")
    inventory = read_inventory(_inventory(tmp_path, "sha256:bbbbbbbb"))
    assert add_inventory(g, inventory.services) == 1  # one match: the full fingerprint
    assert [c.name for c in g.consumers_of(FP_B)] == ["billing", "billing-worker"]
    count = len(g)
    inventory = read_inventory(_inventory(tmp_path, "sha256:aaaaaaaa"))
    with pytest.raises(InventoryError, match=r"leakguard.yaml:2: .* matches 2 credentials") as e:
        add_inventory(g, inventory.services)
    assert FP_A in e.value.message
    inventory = read_inventory(_inventory(tmp_path, "sha256:dddddddd"))
    with pytest.raises(InventoryError, match="matches no credential"):
        add_inventory(g, inventory.services)
    assert len(g) == count  # no phantom credential


def test_a_cut_gzip_audit_log_keeps_the_reads_before_the_cut(tmp_path: Path) -> None:
    logs = tmp_path / "bao"
    logs.mkdir()
    lines = "".join(
        _read("secret/data/payments/stripe", f"2026-01-01T10:{m:02d}:00Z", entity_id=f"e{m}")
        for m in range(60)
    )
    (logs / "audit.log.3.gz").write_bytes(gzip.compress(lines.encode())[:-200])
    summary = BuildSummary()
    graph = Graph()
    apply(graph, BuildInputs(vault_audit=(logs,), findings_store=False), summary)
    assert 0 < summary.added["vault-reads"] < 60
    [warning] = summary.warnings
    assert warning.startswith(f"skipped evidence file {logs / 'audit.log.3.gz'}: unreadable")


def test_audit_lines_are_read_as_json_loads_reads_them(tmp_path: Path) -> None:
    """A byte-order mark before the first line, blank padding and CRLF endings are JSON as
    json.loads sees them; data after the object is not."""
    log = tmp_path / "audit.log"
    good = _read("secret/data/payments/stripe", "2026-01-01T10:00:00Z", entity_id="e1").strip()
    lines = ["\ufeff" + good, "  " + good + "  \r", good + " x", good]
    log.write_bytes("\n".join(lines).encode("utf-8") + b"\n")
    expected = 0
    for line in lines:
        try:
            json.loads(line.encode("utf-8"))
            expected += 1
        except ValueError:
            pass
    report = EvidenceReport()
    assert len(list(vault_audit_reads(log, report=report))) == expected == 3
    assert report.bad_lines == {str(log): 1}
