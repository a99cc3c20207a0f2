"""The scan core: progress reporting, early input checks, dedup and filters, parallel pieces."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from leakguard.errors import InputError, RuleError
from leakguard.model import Finding, Location, Severity
from leakguard.options import ScanOptions
from leakguard.redact import fingerprint, redact
from leakguard.scanner import finalize, run_scan

KEY = "sk_live_Zq8RmT4vWx2Yb6Nc1Pd9Lf3Hj7Kg5Ss0"


class Recorder:
    def __init__(self) -> None:
        self.total = -1
        self.done = 0
        self.units: dict[str, int] = {}

    def start(self, total: int) -> None:
        self.total = total

    def advance(self, done: int = 1) -> None:
        self.done += done

    def read(self, units: Mapping[str, int]) -> None:
        for unit, n in units.items():
            self.units[unit] = self.units.get(unit, 0) + n


def _finding(path: str, line: int, severity: Severity = Severity.CRITICAL) -> Finding:
    return Finding(
        "r", "p", "t", severity, fingerprint(KEY), redact(KEY), "file", Location(path, line, 1)
    )


def test_progress_counts_every_piece(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"f{i}.env").write_text(f"K={KEY}\n")
    progress = Recorder()
    result = run_scan(
        [str(tmp_path), str(tmp_path / "f0.env")], ScanOptions(jobs=1), progress=progress
    )
    assert progress.total >= 2 and progress.done == progress.total
    assert len(result.findings) == 4  # three in the directory, one in the file as given
    # what people count: files and bytes (and, for git history, commits and blobs)
    assert progress.units["files"] == result.stats.files == 4
    assert progress.units["bytes"] == result.stats.bytes > 0
    assert progress.units["commits"] == progress.units["blobs"] == 0


def test_targets_and_baseline_are_checked_before_scanning(tmp_path: Path) -> None:
    (tmp_path / "a.env").write_text(f"K={KEY}\n")
    progress = Recorder()
    with pytest.raises(InputError, match="no such file"):
        run_scan([str(tmp_path), str(tmp_path / "missing")], ScanOptions(), progress=progress)
    with pytest.raises(InputError, match="baseline not found"):
        run_scan([str(tmp_path)], ScanOptions(baseline=tmp_path / "b.json"), progress=progress)
    assert progress.total == -1  # nothing started


def test_a_missing_rules_directory_is_a_rule_error(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="rules directory not found"):
        run_scan([str(tmp_path)], ScanOptions(rules_dirs=(tmp_path / "none",)))


def test_finalize_dedups_filters_and_sorts() -> None:
    findings = [
        _finding("b", 1),
        _finding("a", 5),
        _finding("a", 5),
        _finding("c", 1, Severity.LOW),
    ]
    out = finalize(findings, ScanOptions(min_severity=Severity.MEDIUM))
    assert [(f.location.path, f.location.line) for f in out] == [("a", 5), ("b", 1)]


def test_workers_are_jobs_or_one_per_core() -> None:
    assert ScanOptions(jobs=3).workers == 3
    assert ScanOptions(jobs=0).workers >= 1


def test_finalize_drops_and_moves_findings_by_their_places() -> None:
    """Excluded paths (the outer file of a container member decides) and a rule's allowed
    paths drop a finding; a finding with other places is moved to the first kept one. Each
    (rule, path) is decided once and the verdict reused: the repeats must agree."""
    from leakguard.config import Allow, Allowlist
    from leakguard.pathfilter import PathFilter

    def at(path: str, rule: str = "r", *others: str) -> Finding:
        f = _finding(path, 1)
        occurrences = tuple(Location(o, 2, 1) for o in others)
        return Finding(
            rule, f.provider, f.title, f.severity, f.fingerprint, f.redacted, f.source_kind,
            f.location, occurrences=occurrences,
        )  # fmt: skip

    options = ScanOptions(
        excludes=PathFilter(("vendor/", "*.min.js")),
        allowlist=Allowlist(by_rule={"r": Allow(paths=PathFilter(("docs/",)))}),
    )
    findings = [
        at("src/app.py"),
        at("vendor/lib.py"),
        at("vendor/lib.py"),  # decided already
        at("dist/app.min.js!inner.py"),  # the container is excluded
        at("dist/app.zip!vendor.min.js"),  # a member's own name does not decide
        at("docs/guide.md"),
        at("docs/guide.md", "q"),  # the allowed paths are rule r's only
        at("vendor/copy.py", "r", "vendor/other.py", "src/copy.py", "docs/x.md", "lib/y.py"),
        at("src/both.py", "r", "vendor/z.py"),
    ]
    out = finalize(findings, options)
    assert [(f.rule_id, f.location.path, [o.path for o in f.occurrences]) for f in out] == [
        ("r", "dist/app.zip!vendor.min.js", []),
        ("q", "docs/guide.md", []),
        ("r", "src/app.py", []),
        ("r", "src/both.py", ["vendor/z.py"]),  # a kept first place keeps its others
        ("r", "src/copy.py", ["lib/y.py"]),
    ]
