"""Baseline files: fingerprints only, versioned, 0600, keyed by fingerprint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leakguard.baseline import BASELINE_VERSION, Baseline
from leakguard.errors import InputError
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
        ('{"version": 2, "credentials": []}', "unsupported format version 2"),
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
