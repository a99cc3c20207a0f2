"""An incremental scan records what it scanned only after its report was delivered: a report
that never got out (a full disk, an interrupt) must not make the next scan skip its findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.model import ScanResult, ScanState
from leakguard.options import GitOptions, ScanOptions
from leakguard.scanner import run_scan, scan_then_record
from leakguard.sources import git_signature
from leakguard.sources.git_repo import discover
from leakguard.store.cursors import state_store_for
from tests.integration.git_repos import Builder, key
from tests.integration.test_git_unchanged import RULE

pytestmark = pytest.mark.integration


class ReportFailed(Exception):
    pass


def _failing(result: ScanResult) -> None:
    raise ReportFailed("disk full")


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Builder:
    monkeypatch.setattr(git_signature, "RACY_NS", 0)  # fresh timestamps may use the fast path
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "acme.yaml").write_text(RULE.format(title="Acme token"))
    b = Builder(tmp_path / "repo")
    b.write("app.py", f"A = '{key('committed')}'\n")
    b.commit("first", "app.py")
    return b


@pytest.mark.parametrize("store", ["state-file", "findings-store"])
def test_a_report_that_never_got_out_records_nothing(
    repo: Builder, tmp_path: Path, store: str
) -> None:
    options = ScanOptions(
        jobs=1,
        state_dir=tmp_path / "state",
        db=tmp_path / "lg.db" if store == "findings-store" else None,
        rules_dirs=(tmp_path / "rules",),
        git=GitOptions(incremental=True),
    )
    target = [str(repo.path)]
    with pytest.raises(ReportFailed):
        scan_then_record(target, options, _failing, state_store_for(options))
    delivered: list[ScanResult] = []
    again = scan_then_record(target, options, delivered.append, state_store_for(options))
    assert [f.fingerprint for f in again.findings] == [f.fingerprint for f in delivered[0].findings]
    assert len(again.findings) == 1 and again.unchanged == ()
    # delivered this time, so the state is recorded: nothing new, nothing scanned
    third = scan_then_record(target, options, delivered.append, state_store_for(options))
    assert third.unchanged == (str(repo.path),) and third.findings == ()
    # a new commit is scanned incrementally: only its blob
    repo.write("late.py", f"L = '{key('late')}'\n")
    repo.commit("late", "late.py")
    fourth = scan_then_record(target, options, delivered.append, state_store_for(options))
    assert {f.location.path for f in fourth.findings if f.location.commit} == {"late.py"}


def test_the_core_reads_state_through_its_reader_and_returns_what_it_saw(
    repo: Builder, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    options = ScanOptions(
        jobs=1,
        state_dir=state_dir,
        rules_dirs=(tmp_path / "rules",),
        git=GitOptions(incremental=True),
    )
    repo.write("second.py", "S = 2\n")
    repo.commit("second", "second.py")
    target = [str(repo.path)]
    recorded = state_store_for(options)
    first = run_scan(target, options, state=recorded)
    assert not state_dir.exists()  # the core wrote nothing: its caller writes
    repo_dir = discover(repo.path)
    assert repo_dir is not None
    key = repo_dir.key
    assert set(first.state.commits) == {key}
    assert first.state.seen(key) == set(repo.git("rev-list", "--all").split())  # git says
    signature = first.state.signature(key)
    assert signature is not None and signature.startswith("sha256:")

    recorded.write(first.state)
    assert recorded.read([key]) == first.state
    again = run_scan(target, options, state=recorded)
    assert again.unchanged == tuple(target) and again.state == ScanState()
    # without a reader, the same options read no state: a full scan, reported in full
    alone = run_scan(target, options)
    assert alone.unchanged == () and len(alone.findings) == 1
    assert alone.state.seen(key) == first.state.seen(key)
