"""Baseline files: fingerprints only, versioned, 0600, keyed by fingerprint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leakguard.baseline import BASELINE_VERSION, Baseline
from leakguard.errors import InputError, UsageError
from leakguard.model import Finding, Location, Severity
from leakguard.redact import fingerprint, redact

SECRET = "sk_live_Zq8RmT4vWx2Yb6Nc1Pd9Lf3Hj7Kg5Ss0"


def _finding(secret: str, path: str, line: int, commit: str | None = None) -> Finding:
    return Finding(
        rule_id="stripe-live-secret-key",
        provider="stripe",
        title="Stripe live secret key",
        severity=Severity.CRITICAL,
        fingerprint=fingerprint(secret),
        redacted=redact(secret),
        source_kind="file",
        location=Location(path, line, 1, commit),
        secret=secret,
    )


def test_write_holds_fingerprints_only_once_each(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    count = Baseline.write(path, [_finding(SECRET, "a", 1), _finding(SECRET, "b", 9)])
    assert count == 1
    text = path.read_text()
    assert SECRET not in text and SECRET[8:] not in text
    doc = json.loads(text)
    assert doc["version"] == BASELINE_VERSION
    assert doc["credentials"] == [
        {"fingerprint": fingerprint(SECRET), "rule_id": "stripe-live-secret-key"}
    ]
    assert path.stat().st_mode & 0o777 == 0o600


def test_suppression_survives_moves_and_rebases(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    Baseline.write(path, [_finding(SECRET, "config/.env", 2, "a" * 40)])
    baseline = Baseline.load(path)
    assert baseline.suppresses(_finding(SECRET, "elsewhere/app.py", 300, "b" * 40))
    assert not baseline.suppresses(_finding(SECRET + "X", "config/.env", 2, "a" * 40))


def test_an_empty_baseline_loads(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    Baseline.write(path, [])
    assert Baseline.load(path).fingerprints == frozenset()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[]", "unsupported format version None"),
        ('{"version": 3, "credentials": []}', "unsupported format version 3"),
        ('{"version": true, "credentials": []}', "unsupported format version True"),
        (
            '{"version": 2, "credentials": [{"fingerprint": "sha256:' + "0" * 64 + '", '
            '"audit": {"verdict": "maybe"}}]}',
            "'audit' needs a verdict",
        ),
        ('{"version": 1, "credentials": {}}', "'credentials' must be a list"),
        ('{"version": 1, "credentials": ["sha256:00"]}', "credential #1"),
        ("\xff", "not readable JSON"),
    ],
)
def test_bad_files_are_input_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        Baseline.load(path)


def test_missing_or_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="baseline not found") as exc:
        Baseline.load(tmp_path / "none.json")
    assert "baseline create" in exc.value.diagnostics()
    with pytest.raises(InputError, match="is a directory"):
        Baseline.load(tmp_path)


def test_a_version_1_baseline_is_migrated_with_its_entries(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    fp = fingerprint(SECRET)
    path.write_text(
        json.dumps({"version": 1, "credentials": [{"fingerprint": fp, "rule_id": "r"}]})
    )
    baseline = Baseline.load(path)
    assert baseline.migrated_from == 1 and baseline.fingerprints == {fp}
    assert baseline.entries[0].audit is None
    baseline.save(path)
    doc = json.loads(path.read_text())
    assert doc["version"] == BASELINE_VERSION == 2
    assert doc["credentials"] == [{"fingerprint": fp, "rule_id": "r"}]
    assert Baseline.load(path).migrated_from is None


def test_update_adds_new_prunes_gone_and_keeps_audit_marks() -> None:
    gone, kept, new = (SECRET[:-1] + c for c in "ABC")
    before = Baseline.from_findings([_finding(gone, "a", 1), _finding(kept, "b", 1)])
    before = before.audited(fingerprint(kept)[7:20], "false-positive", "fixture", "dana")
    change = before.updated([_finding(kept, "b", 2), _finding(new, "c", 1)])
    assert (change.added, change.pruned, change.kept) == (1, 1, 1)
    entries = {e.fingerprint: e for e in change.baseline.entries}
    assert set(entries) == {fingerprint(kept), fingerprint(new)}
    mark = entries[fingerprint(kept)].audit
    assert mark is not None and (mark.verdict, mark.reason, mark.by) == (
        "false-positive",
        "fixture",
        "dana",
    )
    assert entries[fingerprint(new)].audit is None


def test_audit_needs_a_known_verdict_a_reason_and_an_unambiguous_prefix() -> None:
    baseline = Baseline.from_findings([_finding(SECRET, "a", 1)])
    fp = fingerprint(SECRET)
    with pytest.raises(UsageError, match="unknown verdict"):
        baseline.audited(fp, "maybe", "why", "me")
    with pytest.raises(UsageError, match="needs a reason"):
        baseline.audited(fp, "true-positive", " ", "me")
    with pytest.raises(UsageError, match="no entry"):
        baseline.audited(fp[7:10], "true-positive", "why", "me")  # under 6 digits
    with pytest.raises(UsageError, match="no entry"):
        baseline.audited("sha256:ffffff", "true-positive", "why", "me")
    marked = baseline.audited(fp[7:14], "true-positive", "live key, INC-9", "me")
    assert marked.entries[0].audit is not None
    assert marked.fingerprints == baseline.fingerprints
