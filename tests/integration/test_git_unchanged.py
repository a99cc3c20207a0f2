"""The unchanged-repository fast path of incremental scans: skipped only when nothing changed."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from leakguard.model import ScanResult
from leakguard.options import GitOptions, ScanOptions
from leakguard.scanner import scan_then_record
from leakguard.sources import git_signature
from leakguard.sources.git_repo import discover, discover_plain
from leakguard.store.cursors import state_store_for
from tests.integration.git_repos import Builder, key
from tests.support.cli import run_cli

pytestmark = pytest.mark.integration

RULE = """provider: acme
rules:
  - id: acme-test-token
    title: {title}
    severity: high
    keywords: [acme_tok_]
    pattern: '(?P<secret>acme_tok_[0-9a-f]{{32}})'
    examples: ['ACME = "acme_tok_0123456789abcdef0123456789abcdef"']
    negative_examples: ['acme_tok_short']
"""


def backdate(top: Path, seconds: int = 60) -> None:
    """Age a work tree's files and index: timestamps from the last seconds prove nothing."""
    when = time.time() - seconds
    for path in [top / ".git" / "index", *(p for p in top.rglob("*") if ".git" not in p.parts)]:
        if path.is_file() and not path.is_symlink():
            os.utime(path, (when, when))


def _options(tmp_path: Path, **git: object) -> ScanOptions:
    return ScanOptions(
        jobs=1,
        state_dir=tmp_path / "state",
        rules_dirs=(tmp_path / "rules",),
        git=GitOptions(incremental=True, **git),  # type: ignore[arg-type]
    )


def _scan(b: Builder, options: ScanOptions) -> ScanResult:
    """Scan like ``leakguard scan``: the state the scan saw is recorded once it is delivered."""
    return scan_then_record([str(b.path)], options, _delivered, state_store_for(options))


def _delivered(result: ScanResult) -> None:
    """Where ``leakguard scan`` writes its report."""


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Builder:
    """A repository with a committed key and an untracked one, scanned once.

    Fresh timestamps disable the fast path (see test_a_fresh_timestamp_disables_the_fast_path);
    here that safety margin is off, so each change must be seen by the signature itself."""
    monkeypatch.setattr(git_signature, "RACY_NS", 0)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "acme.yaml").write_text(RULE.format(title="Acme token"))
    b = Builder(tmp_path / "repo")
    b.write("app.py", f"A = '{key('committed')}'\n")
    b.write("lib/deep/util.py", "U = 1\n")
    b.commit("first", "app.py", "lib/deep/util.py")
    b.write("local.env", f"B = '{key('untracked')}'\n")
    first = _scan(b, _options(tmp_path))  # records the signature
    assert first.unchanged == () and len(first.findings) == 2
    return b


def test_unchanged_repository_is_not_scanned(repo: Builder, tmp_path: Path) -> None:
    result = _scan(repo, _options(tmp_path))
    assert result.unchanged == (str(repo.path),)
    assert result.findings == ()
    assert result.stats.counters == {"unchanged_targets": 1}
    assert result.stats.files == 0 and result.stats.bytes == 0  # not one chunk read


def _commit(b: Builder, tmp_path: Path) -> None:
    b.write("new.py", "N = 1\n")
    b.commit("new", "new.py")


def _branch(b: Builder, tmp_path: Path) -> None:
    b.git("branch", "feature")


def _tag(b: Builder, tmp_path: Path) -> None:
    b.git("tag", "v1")


def _annotated_tag(b: Builder, tmp_path: Path) -> None:
    b.git("tag", "-a", "v2", "-m", "release")


def _stash(b: Builder, tmp_path: Path) -> None:
    b.write("app.py", "A = 'changed'\n")
    b.git("stash", "-q")


def _second_stash_entry(b: Builder, tmp_path: Path) -> None:
    _stash(b, tmp_path)
    assert _scan(b, _options(tmp_path)).unchanged == ()
    assert _scan(b, _options(tmp_path)).unchanged != ()
    b.write("app.py", "A = 'changed again'\n")
    b.git("stash", "-q")  # the tip of refs/stash moves; its reflog gets an entry


def _note(b: Builder, tmp_path: Path) -> None:
    b.git("notes", "add", "-m", "a note")


def _packed_ref_moved(b: Builder, tmp_path: Path) -> None:
    b.git("branch", "packed")
    b.git("pack-refs", "--all")
    assert _scan(b, _options(tmp_path)).unchanged == ()
    assert _scan(b, _options(tmp_path)).unchanged != ()
    _commit(b, tmp_path)
    b.git("update-ref", "refs/heads/packed", "HEAD")


def _edited_tracked_file(b: Builder, tmp_path: Path) -> None:
    b.write("app.py", "A = 'edited'\n")


def _edited_same_size_old_timestamp(b: Builder, tmp_path: Path) -> None:
    before = (b.path / "app.py").stat()
    text = (b.path / "app.py").read_text()
    b.write("app.py", text.replace("A =", "Z ="))
    os.utime(b.path / "app.py", ns=(before.st_atime_ns, before.st_mtime_ns))  # ctime moves


def _edited_file_in_a_subdirectory(b: Builder, tmp_path: Path) -> None:
    b.write("lib/deep/util.py", "U = 22\n")


def _new_untracked_file(b: Builder, tmp_path: Path) -> None:
    b.write("other.txt", "hello\n")


def _deleted_file(b: Builder, tmp_path: Path) -> None:
    (b.path / "local.env").unlink()


def _staged_file(b: Builder, tmp_path: Path) -> None:
    b.git("add", "local.env")


def _exclude_rule_added(b: Builder, tmp_path: Path) -> None:
    exclude = b.path / ".git" / "info" / "exclude"
    exclude.write_text(exclude.read_text() + "*.log\n")


def _rules_changed(b: Builder, tmp_path: Path) -> None:
    (tmp_path / "rules" / "acme.yaml").write_text(RULE.format(title="Acme API token"))


CHANGES = {
    "commit": _commit,
    "new branch": _branch,
    "tag": _tag,
    "annotated tag": _annotated_tag,
    "stash": _stash,
    "second stash entry": _second_stash_entry,
    "note": _note,
    "packed ref moved": _packed_ref_moved,
    "edited tracked file": _edited_tracked_file,
    "edited, same size, old timestamp": _edited_same_size_old_timestamp,
    "edited file in a subdirectory": _edited_file_in_a_subdirectory,
    "new untracked file": _new_untracked_file,
    "deleted file": _deleted_file,
    "staged file": _staged_file,
    "exclude rules changed": _exclude_rule_added,
    "rules changed": _rules_changed,
}


@pytest.mark.parametrize("change", list(CHANGES.values()), ids=list(CHANGES))
def test_any_change_scans_again(
    repo: Builder, tmp_path: Path, change: Callable[[Builder, Path], None]
) -> None:
    change(repo, tmp_path)
    result = _scan(repo, _options(tmp_path))
    assert result.unchanged == ()
    assert "unchanged_targets" not in result.stats.counters


OPTIONS = {
    "no history": {"history": False},
    "refs": {"refs": ("main",)},
    "blob size limit": {"max_blob_bytes": 1024},
}


@pytest.mark.parametrize("git", list(OPTIONS.values()), ids=list(OPTIONS))
def test_different_options_scan_again(
    repo: Builder, tmp_path: Path, git: dict[str, object]
) -> None:
    assert _scan(repo, _options(tmp_path, **git)).unchanged == ()


def test_other_scan_options_scan_again(repo: Builder, tmp_path: Path) -> None:
    smaller = dataclasses.replace(_options(tmp_path), max_file_bytes=4096)
    assert _scan(repo, smaller).unchanged == ()


def test_include_unreachable_always_scans(repo: Builder, tmp_path: Path) -> None:
    options = _options(tmp_path, include_unreachable=True)
    for _ in range(2):
        assert _scan(repo, options).unchanged == ()


def test_a_fresh_timestamp_disables_the_fast_path(
    repo: Builder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(git_signature, "RACY_NS", 2_000_000_000)
    (repo.path / "app.py").touch()  # modified just now: a same-size rewrite in the same clock
    for _ in range(2):  # tick would keep this timestamp, so nothing is recorded yet
        assert _scan(repo, _options(tmp_path)).unchanged == ()
    backdate(repo.path)
    assert _scan(repo, _options(tmp_path)).unchanged == ()  # old enough: recorded
    assert _scan(repo, _options(tmp_path)).unchanged == (str(repo.path),)


def test_cli_repeat_incremental_scan_with_a_store(repo: Builder, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    args = ["scan", str(repo.path), "--incremental", "--db", str(tmp_path / "lg.db")]
    args += ["-f", "json", "-o", str(out)]
    code, _ = run_cli(args)
    assert code == 1 and json.loads(out.read_text())["findings"]
    code, _ = run_cli(args)
    report = json.loads(out.read_text())
    assert code == 0 and report["findings"] == []
    assert report["stats"]["counters"] == {"unchanged_targets": 1}
    repo.write("more.env", f"C = '{key('more')}'\n")
    code, _ = run_cli(args)
    found = json.loads(out.read_text())["findings"]
    assert code == 1 and sorted(f["location"]["path"] for f in found) == ["local.env", "more.env"]


def test_a_linked_work_tree_is_always_scanned(repo: Builder, tmp_path: Path) -> None:
    """Its branches live in the main repository's git directory, which its signature would not
    read: a commit there must not go unseen."""
    repo.git("worktree", "add", "-q", str(tmp_path / "linked"))
    (repo.path / ".git" / "worktrees" / "linked" / "refs" / "bisect").mkdir(parents=True)
    linked = Builder.__new__(Builder)
    linked.path = tmp_path / "linked"
    assert _scan(linked, _options(tmp_path)).unchanged == ()
    _commit(repo, tmp_path)
    result = _scan(linked, _options(tmp_path))
    assert result.unchanged == () and result.stats.counters.get("git_commits") == 1


def test_the_sweeps_quick_discovery_names_repositories_as_git_does(tmp_path: Path) -> None:
    work = Builder(tmp_path / "work")
    bare = Builder(tmp_path / "bare.git", bare=True)
    for path in (work.path, bare.path, work.path / ".git"):
        quick, full = discover_plain(path), discover(path)
        assert quick is not None and quick == full
    (tmp_path / "plain").mkdir()
    assert discover_plain(tmp_path / "plain") is None
