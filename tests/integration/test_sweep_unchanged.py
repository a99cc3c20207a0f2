"""Sweeps skip repositories where nothing changed, keep what they hold, and never record a
repository's state without its findings."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from leakguard.redact import fingerprint
from leakguard.store.findings import FindingsStore
from leakguard.sweep import runner
from leakguard.sweep.config import load_config
from leakguard.sweep.outcome import SweepReport
from leakguard.sweep.runner import SweepSettings, run_sweep
from tests.integration.sweep_repos import commit_secret, make_repo
from tests.support.keys import stripe_key

pytestmark = pytest.mark.integration


def _backdate(top: Path, seconds: int = 60) -> None:
    """Age a work tree's files and index: timestamps from the last seconds prove nothing."""
    when = time.time() - seconds
    for path in [top / ".git" / "index", *(p for p in top.rglob("*") if ".git" not in p.parts)]:
        if path.is_file():
            os.utime(path, (when, when))


@pytest.fixture()
def fleet(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Three repositories, each with a committed key and an untracked (work-tree) key."""
    keys: dict[str, str] = {}
    for name in ("a", "b", "c"):
        repo = make_repo(tmp_path / "repos" / name, [stripe_key(f"{name}-committed")])
        keys[name] = stripe_key(f"{name}-committed")
        keys[f"{name}-local"] = stripe_key(f"{name}-local")
        (repo / "local.env").write_text(f"KEY = '{keys[f'{name}-local']}'\n")
        _backdate(repo)
    (tmp_path / "sweep.yaml").write_text("targets:\n  - glob: repos/*\n")
    return tmp_path, keys


def _sweep(root: Path, jobs: int = 1) -> SweepReport:
    return run_sweep(load_config(root / "sweep.yaml"), SweepSettings(db=root / "lg.db", jobs=jobs))


def _unchanged(report: SweepReport) -> set[str]:
    out = set()
    for t in report.targets:
        counters = t.stats.get("counters", {})
        if isinstance(counters, dict) and counters.get("unchanged_targets"):
            out.add(Path(t.target).name)
    return out


def _no_pool(*args: object, **kwargs: object) -> Any:
    raise AssertionError("the process pool was started")


def test_unchanged_repositories_are_not_dispatched_and_keep_their_findings(
    fleet: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, keys = fleet
    first = _sweep(root)
    assert {c.fingerprint for c in first.new} == {fingerprint(k) for k in keys.values()}
    assert _unchanged(first) == set()

    monkeypatch.setattr(runner, "ProcessPoolExecutor", _no_pool)
    again = _sweep(root, jobs=2)
    assert _unchanged(again) == {"a", "b", "c"}
    assert again.new == () and not again.failed
    assert all(t.stats.get("files") == 0 for t in again.targets)  # nothing read
    # the untracked keys were not seen by this sweep, and are still present
    with FindingsStore.open(root / "lg.db") as store:
        for name in ("a", "b", "c"):
            cred = store.credential(fingerprint(keys[f"{name}-local"]))
            assert cred.present and all(o.present for o in cred.occurrences)
    assert {t.findings for t in again.targets} == {2}

    monkeypatch.undo()
    commit_secret(root / "repos" / "b", "late.py", stripe_key("b-late"))
    _backdate(root / "repos" / "b")
    third = _sweep(root, jobs=2)
    assert _unchanged(third) == {"a", "c"}
    assert [c.fingerprint for c in third.new] == [fingerprint(stripe_key("b-late"))]
    assert _unchanged(_sweep(root)) == {"a", "b", "c"}


def test_a_removed_work_tree_file_is_marked_removed(fleet: tuple[Path, dict[str, str]]) -> None:
    root, keys = fleet
    _sweep(root)
    (root / "repos" / "a" / "local.env").unlink()
    report = _sweep(root)
    assert _unchanged(report) == {"b", "c"}
    with FindingsStore.open(root / "lg.db") as store:
        assert not store.credential(fingerprint(keys["a-local"])).present
        assert store.credential(fingerprint(keys["b-local"])).present


def test_killed_between_scan_and_record_scans_again(
    fleet: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The signature travels with the findings: a sweep that dies before writing a target's
    results has recorded neither, and the next sweep scans that target again."""
    root, keys = fleet
    record_scan = FindingsStore.record_scan
    carried: list[dict[str, str]] = []

    def dies_at_b(self: FindingsStore, target: str, *args: Any, **kwargs: Any) -> Any:
        if Path(target).name == "b":
            carried.append(dict(kwargs.get("signatures") or {}))
            raise KeyboardInterrupt  # the process dies here: nothing of b is written
        return record_scan(self, target, *args, **kwargs)

    monkeypatch.setattr(FindingsStore, "record_scan", dies_at_b)
    with pytest.raises(KeyboardInterrupt):
        _sweep(root)
    assert carried and carried[0]  # b's signature was on its way, with its findings
    conn = sqlite3.connect(root / "lg.db")
    try:
        stored = {r[0] for r in conn.execute("SELECT repo_key FROM repo_signatures")}
    finally:
        conn.close()
    assert stored == {str((root / "repos" / "a" / ".git").resolve())}

    monkeypatch.undo()
    rerun = _sweep(root)
    assert _unchanged(rerun) == {"a"}
    assert {c.fingerprint for c in rerun.new} >= {
        fingerprint(keys["b"]),
        fingerprint(keys["b-local"]),
    }
    assert _unchanged(_sweep(root)) == {"a", "b", "c"}
