"""An incremental scan records what it scanned only after its report was delivered: a report
that never got out (a full disk, an interrupt) must not make the next scan skip its findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.model import ScanResult
from leakguard.options import GitOptions, ScanOptions
from leakguard.scanner import scan_then_record
from leakguard.sources import git_signature
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
