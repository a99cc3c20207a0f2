"""The runner against a fake git-like scan: cursor hand-off and per-target failures."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from leakguard.errors import InputError
from leakguard.model import Finding, Location, ScanResult, ScanState, ScanStats, Severity
from leakguard.options import ScanOptions
from leakguard.redact import fingerprint, redact
from leakguard.sources.interface import StateReader
from leakguard.store.cursors import StoreState
from leakguard.sweep import runner
from leakguard.sweep.config import load_config
from leakguard.sweep.runner import SweepSettings, run_sweep

KEY = "sk_live_" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Jh1Gf0Ed"


def _cursor_rows(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM repo_cursors").fetchone()[0])
    finally:
        conn.close()


def test_cursors_are_written_with_the_findings_and_failures_never_stop_the_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen_by_scan: list[set[str]] = []

    def fake_run_scan(
        targets: Sequence[str], options: ScanOptions, *, state: StateReader, **_: object
    ) -> ScanResult:
        label = Path(targets[0]).name
        assert options.jobs == 1 and options.git.incremental and options.db == tmp_path / "lg.db"
        if label == "bad-input":
            raise InputError("bad-input: not a git repository")
        if label == "bad-os":
            raise PermissionError(13, "Permission denied")
        if label == "bad-bug":
            raise RuntimeError("boom")
        seen_by_scan.append(set(state.read([label]).seen(label)))  # what the core reads
        finding = Finding(
            "stripe-live-secret-key",
            "stripe",
            "Stripe live secret key",
            Severity.CRITICAL,
            fingerprint(KEY),
            redact(KEY),
            "git",
            Location("app.py", 1, 1, commit="c1"),
        )
        # what the git source saw: the parent writes it with the findings
        scanned = ScanState({label: frozenset({"c1", "c2"})}, {label: "sha256:1"})
        return ScanResult((finding,), ScanStats(files=1), state=scanned)

    monkeypatch.setattr(runner, "run_scan", fake_run_scan)
    config = tmp_path / "sweep.yaml"
    config.write_text(
        "targets:\n  - path: good\n  - path: bad-input\n  - path: bad-os\n  - path: bad-bug\n"
    )
    settings = SweepSettings(db=tmp_path / "lg.db", jobs=1)
    report = run_sweep(load_config(config), settings)
    errors = {Path(t.target).name: t.error for t in report.targets}
    assert errors == {
        "good": None,
        "bad-input": "bad-input: not a git repository",
        "bad-os": "PermissionError: [Errno 13] Permission denied",
        "bad-bug": "internal error: RuntimeError",
    }
    assert [c.fingerprint for c in report.new] == [fingerprint(KEY)]
    assert report.alerting()
    assert _cursor_rows(settings.db) == 2
    recorded = StoreState(settings.db).read(["good", "bad-input"])
    assert recorded == ScanState({"good": frozenset({"c1", "c2"})}, {"good": "sha256:1"})

    again = run_sweep(load_config(config), settings)
    assert seen_by_scan == [set(), {"c1", "c2"}]
    assert again.new == () and not again.alerting()
