"""Bundles, remote mirrors, incremental scans and damaged repositories, built with the git CLI."""

from __future__ import annotations

import base64
import functools
import gzip
import os
import signal
import stat
import time
import zlib
from pathlib import Path
from typing import NoReturn

import pytest

from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet
from leakguard.errors import InputError
from leakguard.model import Chunk, Finding, ScanResult, ScanStats
from leakguard.options import GitOptions, ScanOptions
from leakguard.redact import fingerprint
from leakguard.scanner import scan_then_record
from leakguard.sources import git as git_source
from leakguard.sources import git_provenance
from leakguard.sources.git_objects import Lookups, list_by_kind, list_objects, objects_by_id
from leakguard.sources.git_pieces import Problems, blob_limit, history_chunks
from leakguard.sources.interface import QuietCheck, offering
from leakguard.sources.remote import mirror_path
from leakguard.store.cursors import state_store_for
from tests.integration.git_repos import Builder, key, loose_object

pytestmark = pytest.mark.integration


_JOBS = {"n": 1}


@pytest.fixture(params=[1, 2], ids=["sequential", "pool"], autouse=True)
def jobs(request: pytest.FixtureRequest) -> int:
    """One process (cat-file stream in the scanning process) or a pool of blob ranges."""
    _JOBS["n"] = int(request.param)
    return _JOBS["n"]


def _options(tmp_path: Path, **git: object) -> ScanOptions:
    return ScanOptions(
        jobs=_JOBS["n"],
        state_dir=tmp_path / "state",
        cache_dir=tmp_path / "cache",
        git=GitOptions(**git),  # type: ignore[arg-type]
    )


def _scan(target: str | Path, options: ScanOptions) -> ScanResult:
    """Scan like ``leakguard scan``: the state the scan saw is recorded once it is delivered."""
    return scan_then_record([str(target)], options, _delivered, state_store_for(options))


def _delivered(result: ScanResult) -> None:
    """Where ``leakguard scan`` writes its report."""


def _find(result: ScanResult, name: str) -> Finding | None:
    matches = [f for f in result.findings if f.fingerprint == fingerprint(key(name))]
    assert len(matches) <= 1
    return matches[0] if matches else None


def _backdate(top: Path, seconds: int = 60) -> None:
    """Age every file of a work tree (and its index): fresh timestamps disable the fast path."""
    when = time.time() - seconds
    for path in [top / ".git" / "index", *(p for p in top.rglob("*") if ".git" not in p.parts)]:
        if path.is_file():
            os.utime(path, (when, when))


def _two_commits(path: Path) -> tuple[Builder, str, str]:
    b = Builder(path)
    b.write("app.py", f"A = '{key('first')}'\n")
    first = b.commit("first", "app.py")
    b.write("lib/b.py", f"\nB = '{key('second')}'\n")
    second = b.commit("second", "lib/b.py")
    return b, first, second


# -- bundles ---------------------------------------------------------------------------------


def test_full_bundle_has_the_same_provenance_as_the_repository(tmp_path: Path) -> None:
    b, first, second = _two_commits(tmp_path / "src")
    b.git("checkout", "-q", "-b", "side")
    b.write("side.py", f"S = '{key('bundle-side')}'\n")
    side = b.commit("side", "side.py")
    bundle = tmp_path / "all.bundle"
    b.git("bundle", "create", str(bundle), "--all")
    result = _scan(bundle, _options(tmp_path))
    found = {n: _find(result, n) for n in ("first", "second", "bundle-side")}
    assert {
        n: (f.location.commit, f.location.path, f.location.line) for n, f in found.items() if f
    } == {
        "first": (first, "app.py", 1),
        "second": (second, "lib/b.py", 2),
        "bundle-side": (side, "side.py", 1),
    }
    assert all(f is not None and f.source_kind == "git" for f in found.values())
    side_finding = found["bundle-side"]
    assert side_finding is not None and side_finding.location.get("present_at") == "side"
    assert side_finding.location.get("unreachable") is False
    assert not result.stats.warnings


def test_incremental_bundle_without_its_prerequisites_is_scanned_with_a_note(
    tmp_path: Path,
) -> None:
    b, _first, second = _two_commits(tmp_path / "src")
    b.write("lib/c.py", f"C = '{key('third')}'\n")
    third = b.commit("third", "lib/c.py")
    bundle = tmp_path / "inc.bundle"
    b.git("bundle", "create", str(bundle), f"{second}..main")
    result = _scan(bundle, _options(tmp_path))
    assert _find(result, "first") is None and _find(result, "second") is None
    found = _find(result, "third")
    assert found is not None
    assert (found.location.commit, found.location.path) == (third, "lib/c.py")
    assert any("prerequisite" in w for w in result.stats.warnings)
    assert result.stats.counters["git_bundle_missing_prerequisites"] == 1


def test_a_damaged_bundle_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bundle"
    bad.write_bytes(b"# v2 git bundle\n" + b"0" * 40 + b" refs/heads/main\n\nPACKgarbage")
    with pytest.raises(InputError, match="bundle"):
        _scan(bad, _options(tmp_path))


# -- remotes ---------------------------------------------------------------------------------


def test_clone_reports_remote_tracking_branches_by_short_name(tmp_path: Path) -> None:
    b, first, _second = _two_commits(tmp_path / "origin")
    clone = tmp_path / "clone"
    b.git("clone", "-q", str(b.path), str(clone))
    result = _scan(clone, _options(tmp_path))
    found = _find(result, "first")
    assert found is not None and found.location.commit == first
    assert found.location.get("present_at") == "main origin/main"


def test_remote_file_url_is_mirrored_then_fetched_incrementally(tmp_path: Path) -> None:
    b, first, _second = _two_commits(tmp_path / "origin")
    url = f"file://{b.path}"
    options = _options(tmp_path, incremental=True)
    result = _scan(url, options)
    found = _find(result, "first")
    assert found is not None and (found.location.commit, found.location.path) == (first, "app.py")
    mirror = mirror_path(url, options)
    assert (mirror / "HEAD").is_file() and mirror.parent.parent == tmp_path / "cache"

    b.write("late.py", f"L = '{key('late-remote')}'\n")
    late = b.commit("late", "late.py")
    again = _scan(url, options)
    assert [(f.fingerprint, f.location.commit) for f in again.findings] == [
        (fingerprint(key("late-remote")), late)
    ]
    assert _scan(url, options).findings == ()


def test_credentials_in_a_remote_url_are_not_stored_in_the_mirror(tmp_path: Path) -> None:
    b, first, _second = _two_commits(tmp_path / "origin")
    url = f"file://user:s3cr3t-token@{b.path}"  # git ignores userinfo in file:// URLs
    options = _options(tmp_path)
    for _ in range(2):  # the clone, then a fetch
        found = _find(_scan(url, options), "first")
        assert found is not None and found.location.commit == first
    mirror = mirror_path(url, options)
    stored = b"".join(p.read_bytes() for p in mirror.rglob("*") if p.is_file())
    assert b"s3cr3t-token" not in stored


def test_unreachable_remote_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="git clone failed"):
        _scan(f"file://{tmp_path}/nothing.git", _options(tmp_path))


# -- incremental -----------------------------------------------------------------------------


def test_incremental_repeat_scan_reports_only_new_commits(tmp_path: Path) -> None:
    b, first, _second = _two_commits(tmp_path / "repo")
    options = _options(tmp_path, incremental=True)
    assert len(_scan(b.path, options).findings) == 2
    # files modified in the last seconds prove nothing by their timestamps: no signature yet
    assert [p.suffix for p in (tmp_path / "state" / "git").iterdir()] == [".commits"]
    _backdate(b.path)
    assert _scan(b.path, options).unchanged == ()  # this scan records the signature
    state_files = list((tmp_path / "state" / "git").iterdir())
    assert sorted(p.suffix for p in state_files) == [".commits", ".signature"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in state_files)

    # nothing changed: the repository is not scanned at all
    unchanged = _scan(b.path, options)
    assert unchanged.findings == () and unchanged.stats.counters == {"unchanged_targets": 1}
    assert unchanged.unchanged == (str(b.path),)
    # the work tree changed, no ref moved: the work tree is scanned, no history is read
    b.write("notes.txt", "nothing secret\n")
    no_new_commit = _scan(b.path, options)
    assert no_new_commit.findings == ()
    assert no_new_commit.stats.counters["git_unchanged_repositories"] == 1
    (b.path / "notes.txt").unlink()

    b.write("new.py", f"N = '{key('incremental')}'\n")
    new = b.commit("new", "new.py")
    b.git("checkout", "-q", "-b", "other", "HEAD~2")
    b.write("o.py", f"O = '{key('incremental-other')}'\n")
    other = b.commit("other", "o.py")
    result = _scan(b.path, options)
    assert sorted((f.location.commit or "", f.location.path) for f in result.findings) == sorted(
        [(new, "new.py"), (other, "o.py")]
    )
    # without --incremental everything is reported again
    assert len(_scan(b.path, _options(tmp_path)).findings) == 4

    # deleting a file re-reports what it held, from where it entered, with its new exposure
    b.git("rm", "-q", "app.py")
    b.commit("remove app.py from other")
    removed = _scan(b.path, options)
    assert [
        (f.fingerprint, f.location.commit, f.location.path, f.location.get("present_at"))
        for f in removed.findings
    ] == [(fingerprint(key("first")), first, "app.py", "main")]
    b.git("checkout", "-q", "main")
    b.git("rm", "-q", "app.py")
    b.commit("remove app.py from main")
    gone = _scan(b.path, options)
    assert [(f.location.commit, f.location.get("still_exposed")) for f in gone.findings] == [
        (first, False)
    ]


# -- damaged and unusual repositories --------------------------------------------------------


def test_missing_blob_is_counted_and_named_and_the_scan_goes_on(tmp_path: Path) -> None:
    b, _first, second = _two_commits(tmp_path / "repo")
    gone = b.git("rev-parse", "HEAD:app.py")
    obj = loose_object(b.path / ".git", gone)
    obj.chmod(0o644)
    obj.unlink()
    for options in (_options(tmp_path), _options(tmp_path, refs=("main",))):
        result = _scan(b.path, options)
        found = _find(result, "second")
        assert found is not None and found.location.commit == second
        assert _find(result, "first") is None
        assert result.stats.counters["git_missing_blobs"] == 1
        assert any(gone in s.path or gone in s.reason for s in result.stats.skipped)


def test_corrupt_object_is_counted_and_the_scan_goes_on(tmp_path: Path) -> None:
    b, _first, second = _two_commits(tmp_path / "repo")
    bad = b.git("rev-parse", "HEAD:app.py")
    obj = loose_object(b.path / ".git", bad)
    obj.chmod(0o644)
    # a valid header, then a truncated stream: git dies while streaming it
    obj.write_bytes(zlib.compress(b"blob 5000\0" + b"x" * 100)[:-6])
    for options in (_options(tmp_path), _options(tmp_path, refs=("main",))):
        result = _scan(b.path, options)
        found = _find(result, "second")
        assert found is not None and found.location.commit == second
        assert result.stats.counters["git_corrupt_objects"] >= 1
        assert any(bad in s.path or bad in s.reason for s in result.stats.skipped)


def test_empty_repository_is_not_an_error(tmp_path: Path) -> None:
    b = Builder(tmp_path / "empty")
    result = _scan(b.path, _options(tmp_path))
    assert result.findings == () and result.stats.counters["git_empty_repositories"] == 1
    bare = Builder(tmp_path / "bare.git", bare=True)
    unreachable = _scan(bare.path, _options(tmp_path, include_unreachable=True))
    assert unreachable.findings == () and "git_log_errors" not in unreachable.stats.counters


def test_unusual_blobs_are_counted_and_text_is_still_scanned(tmp_path: Path) -> None:
    b = Builder(tmp_path / "odd")
    name = b"caf\xe9.py"
    b.write(name, f"K = '{key('latin1-path')}'\n")
    b.write("bin.dat", b"\0\x01\x02" + key("binary").encode() + b"\0")
    b.write("big.txt", "x" * 5000 + key("oversized") + "\n")
    b.write(
        "model.bin",
        "version https://git-lfs.github.com/spec/v1\noid sha256:" + "a" * 64 + "\nsize 12\n",
    )
    b.commit("odd files", name, "bin.dat", "big.txt", "model.bin")
    sub = b.git("rev-parse", "HEAD")
    b.git("update-index", "--add", "--cacheinfo", f"160000,{sub},vendor/lib")
    b.commit("add a submodule")
    result = _scan(b.path, _options(tmp_path, max_blob_bytes=4096))
    found = _find(result, "latin1-path")
    assert found is not None and found.location.path == "caf\\xe9.py"
    assert _find(result, "binary") is None and _find(result, "oversized") is None
    counters = result.stats.counters
    assert counters["git_non_utf8_paths"] >= 1
    assert counters["git_binary_blobs"] == 1
    assert counters["git_oversized_blobs"] == 1
    assert counters["git_lfs_pointers"] == 1
    assert counters["git_submodules"] == 1
    named = {s.path.split("@")[0]: s.reason.split(" (")[0] for s in result.stats.skipped}
    assert named["bin.dat"] == "binary"
    assert named["big.txt"] == "over the size limit"
    assert named["model.bin"] == "Git LFS pointer"


def test_submodules_are_named_without_parsing_the_whole_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A history that adds and moves a submodule (every path UTF-8) is read from the log's
    catalogue, not parsed whole: the same findings, provenance and named submodules as the
    whole parse gives."""
    b = Builder(tmp_path / "repo")
    b.write("app.py", f"A = '{key('before-submodule')}'\n")
    b.commit("first", "app.py")
    sub = b.git("rev-parse", "HEAD")
    b.git("update-index", "--add", "--cacheinfo", f"160000,{sub},vendor/lib")
    added = b.commit("add a submodule")
    b.write("lib/b.py", f"B = '{key('after-submodule')}'\n")
    b.commit("third", "lib/b.py")
    b.git("update-index", "--cacheinfo", f"160000,{b.git('rev-parse', 'HEAD')},vendor/lib")
    moved = b.commit("move the submodule")

    def seen(result: ScanResult) -> tuple[object, ...]:
        found = sorted(
            (f.fingerprint, f.location.path, str(f.location.commit), len(f.occurrences))
            for f in result.findings
        )
        return tuple(found), result.stats.skipped, result.stats.counters.get("git_submodules")

    whole_parse = git_source.GitSource._parse_whole_log
    monkeypatch.setattr(git_source.GitSource, "_parse_whole_log", _not_called)
    catalogued = _scan(b.path, _options(tmp_path / "catalogued"))
    assert _find(catalogued, "before-submodule") is not None
    assert _find(catalogued, "after-submodule") is not None
    assert catalogued.stats.counters["git_submodules"] == 2
    named = [s for s in catalogued.stats.skipped if s.path.startswith("vendor/lib@")]
    assert [s.path for s in named] == [f"vendor/lib@{c[:12]}" for c in (moved, added)]  # log order
    assert all(s.reason.startswith("submodule commit ") for s in named)

    monkeypatch.setattr(git_source.GitSource, "_parse_whole_log", whole_parse)
    monkeypatch.setattr(git_provenance._Cataloguer, "finish", lambda self, size: None)
    assert seen(_scan(b.path, _options(tmp_path / "parsed"))) == seen(catalogued)


def _not_called(*args: object) -> NoReturn:
    raise AssertionError("the whole log was parsed")


def test_plain_directory_is_a_directory_unless_git_options_were_asked_for(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "x.env").write_text(f"K={key('plain')}\n")
    result = _scan(plain, _options(tmp_path))
    assert [f.source_kind for f in result.findings] == ["file"]
    for git in ({"include_unreachable": True}, {"refs": ("main",)}):
        with pytest.raises(InputError, match="not a git repository"):
            _scan(plain, _options(tmp_path, **git))


def test_unknown_ref_is_a_clear_error(tmp_path: Path) -> None:
    b, _first, _second = _two_commits(tmp_path / "repo")
    with pytest.raises(InputError, match="unknown ref 'nope'"):
        _scan(b.path, _options(tmp_path, refs=("nope",)))


def test_a_corrupt_head_warns_and_the_files_are_still_scanned(tmp_path: Path) -> None:
    b, _first, _second = _two_commits(tmp_path / "repo")
    (b.path / ".git" / "HEAD").write_text("not a ref\n")
    result = _scan(b.path, _options(tmp_path))
    assert [w for w in result.stats.warnings if "git cannot read this repository" in w]
    assert "history was not scanned" in result.stats.warnings[0]
    found = _find(result, "second")  # the work tree's files, read as a directory
    assert found is not None and found.source_kind == "file"
    with pytest.raises(InputError, match="git cannot read this repository"):
        _scan(b.path, _options(tmp_path, refs=("main",)))


def test_a_dangling_or_broken_ref_is_skipped_with_a_warning(tmp_path: Path) -> None:
    b, first, second = _two_commits(tmp_path / "repo")
    b.git("tag", "-a", "-m", "t", "v1", first)
    heads = b.path / ".git" / "refs" / "heads"
    (heads / "dangling").write_text("1" * 40 + "\n")  # an object the repository lacks
    (heads / "garbage").write_text("not an object id\n")
    tag_object = b.git("rev-parse", "v1")
    obj = loose_object(b.path / ".git", tag_object)
    obj.chmod(0o644)
    obj.unlink()  # refs/tags/v1 now names a missing tag object
    for options in (_options(tmp_path / "full"), _options(tmp_path / "inc", incremental=True)):
        result = _scan(b.path, options)
        found = {n: _find(result, n) for n in ("first", "second")}
        assert {n: f.location.commit for n, f in found.items() if f} == {
            "first": first,
            "second": second,
        }
        warnings = "\n".join(result.stats.warnings)
        assert "refs/heads/dangling" in warnings and "refs/tags/v1" in warnings
        assert "refs/heads/garbage" in warnings


def test_a_dot_git_directory_is_scanned_as_its_repository_history(tmp_path: Path) -> None:
    b, first, _second = _two_commits(tmp_path / "repo")
    b.write("untracked.txt", f"U = '{key('beside')}'\n")
    result = _scan(b.path / ".git", _options(tmp_path))
    found = _find(result, "first")
    assert found is not None and found.location.commit == first
    assert _find(result, "beside") is None


def test_a_history_walk_that_fails_keeps_the_findings_without_a_commit(tmp_path: Path) -> None:
    b, _first, _second = _two_commits(tmp_path / "repo")
    tree = b.git("rev-parse", "HEAD:lib")
    obj = loose_object(b.path / ".git", tree)
    obj.chmod(0o644)
    obj.unlink()  # git log --raw dies on the commit that needs this tree
    result = _scan(b.path, _options(tmp_path))
    assert result.stats.counters["git_log_errors"] == 1
    for name in ("first", "second"):
        found = _find(result, name)
        assert found is not None and found.location.commit is None
        assert str(found.location.get("provenance")).startswith("unknown")
        assert found.location.get("unreachable") is False


def test_a_partial_clone_is_never_fetched_from(tmp_path: Path) -> None:
    b, _first, second = _two_commits(tmp_path / "origin")
    b.git("config", "uploadpack.allowFilter", "true")
    clone = tmp_path / "partial.git"
    b.git("clone", "-q", "--bare", "--filter=blob:none", f"file://{b.path}", str(clone))
    for git in ({}, {"refs": ("main",)}):
        result = _scan(clone, _options(tmp_path, **git))
        assert result.findings == ()  # the blobs stay on the server
        assert result.stats.counters["git_missing_blobs"] == 2
        named = {s.path for s in result.stats.skipped}
        assert f"lib/b.py@{second[:12]}" in named
    listed = b.git("--git-dir", str(clone), "cat-file", "--batch-all-objects", "--batch-check")
    assert " blob " not in listed


def test_skipped_blobs_are_named_by_path_when_only_part_of_the_log_is_parsed(
    tmp_path: Path,
) -> None:
    """A plain history (UTF-8 paths, no submodule): the log is searched, not parsed whole, and
    the blobs named only by id (binary, oversized, LFS) still get their path and commit."""
    b = Builder(tmp_path / "plain")
    b.write("bin.dat", b"\0\x01\x02" + key("binary-plain").encode() + b"\0")
    b.write("big.txt", "x" * 5000 + key("oversized-plain") + "\n")
    b.write(
        "model.bin",
        "version https://git-lfs.github.com/spec/v1\noid sha256:" + "b" * 64 + "\nsize 12\n",
    )
    first = b.commit("odd files", "bin.dat", "big.txt", "model.bin")
    b.write("app.py", f"K = '{key('plain-text')}'\n")
    second = b.commit("text", "app.py")
    result = _scan(b.path, _options(tmp_path, max_blob_bytes=4096))
    found = _find(result, "plain-text")
    assert found is not None and (found.location.commit, found.location.path) == (
        second,
        "app.py",
    )
    named = {s.path: s.reason.split(" (")[0] for s in result.stats.skipped}
    short = first[:12]
    assert named[f"bin.dat@{short}"] == "binary"
    assert named[f"big.txt@{short}"] == "over the size limit"
    assert named[f"model.bin@{short}"] == "Git LFS pointer"
    assert result.stats.counters["git_commits"] == 2
    assert "git_missing_blobs" not in result.stats.counters


def test_a_path_that_looks_like_log_output_cannot_misplace_a_finding(tmp_path: Path) -> None:
    """Paths are the repository's text: one shaped like a commit header or a raw diff entry
    (naming another commit and the secret's blob) changes nothing about provenance."""
    b = Builder(tmp_path / "hostile")
    b.write("README.md", "# x\n")
    decoy = b.commit("root", "README.md")
    b.write("app.py", f"K = '{key('hostile-path')}'\n")
    second = b.commit("add the key", "app.py")
    blob = b.git("rev-parse", "HEAD:app.py")
    names = [
        f"\x01{decoy} {decoy}",  # the old header marker, then a commit id
        f":100644 100644 {'0' * 40} {blob} M",  # a raw entry naming the secret's blob
    ]
    for name in names:
        b.write(name, "nothing here\n")
    b.git("add", "-A")  # (a leading colon would be pathspec magic)
    b.commit("decoys")
    result = _scan(b.path, _options(tmp_path))
    found = _find(result, "hostile-path")
    assert found is not None
    assert (found.location.commit, found.location.path, found.occurrences) == (
        second,
        "app.py",
        (),
    )
    assert result.stats.counters["git_commits"] == 3  # no path was taken for a commit


def test_objects_listed_by_kind_are_those_listed_one_by_one(tmp_path: Path) -> None:
    b, _first, _second = _two_commits(tmp_path / "repo")
    b.git("tag", "-a", "v1", "-m", "release")
    b.git("gc", "-q")  # a pack and loose objects both
    b.write("late.txt", "late\n")
    b.commit("late", "late.txt")
    git_dir = b.path / ".git"
    kinds = ("blob", "commit", "tag")
    listed = list_by_kind(git_dir, kinds)
    one_by_one = list(list_objects(git_dir))
    on_disk = dict(
        line.split()
        for line in b.git(
            "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objectsize:disk)"
        ).splitlines()
    )
    for kind in kinds:
        assert listed[kind] == [(oid, int(on_disk[oid])) for oid, k, _ in one_by_one if k == kind]
    assert len(listed["blob"]) == 3 and len(listed["tag"]) == 1


@pytest.mark.parametrize("processes", [1, 2, 3])
def test_lookups_answer_each_query_in_order_whatever_the_processes(
    tmp_path: Path, processes: int
) -> None:
    b, first, second = _two_commits(tmp_path / "repo")
    git_dir = b.path / ".git"
    app, lib = (b.git("rev-parse", f"{second}:{p}") for p in ("app.py", "lib/b.py"))
    expected = {
        f"{first}:app.py": app,
        f"{first}:lib/b.py": None,  # not there yet
        f"{second}:lib/b.py": lib,
        f"{second}:gone.txt": None,
        f"{second}:app.py": app,
        "0" * 40 + ":app.py": None,  # no such commit
    }
    queries = [q.encode() for q in expected]
    for asked in (queries, queries[:1], []):
        lookups = Lookups(git_dir, processes)
        try:
            assert lookups.ask(asked) == list(expected.values())[: len(asked)]
        finally:
            lookups.close()
    assert app != lib


def test_lookups_of_a_git_that_fails_answer_none(tmp_path: Path) -> None:
    lookups = Lookups(tmp_path / "no-such-repository", 2)
    try:
        assert lookups.ask([b"HEAD:app.py"] * 3) == [None, None, None]
    finally:
        lookups.close()


def _forty_blobs_one_corrupt(tmp_path: Path) -> tuple[Path, list[str], str]:
    """A repository of 40 blobs (``content {i}`` 50 times), the 26th corrupt: its git
    directory, the blobs' ids in order, and the corrupt one's."""
    b = Builder(tmp_path / "repo")
    names = [f"f{i}.txt" for i in range(40)]
    for i, name in enumerate(names):
        b.write(name, f"content {i}\n" * 50)
    b.commit("many", *names)
    oids = [b.git("rev-parse", f"HEAD:{name}") for name in names]
    bad = oids[25]
    obj = loose_object(b.path / ".git", bad)
    obj.chmod(0o644)
    obj.write_bytes(zlib.compress(b"blob 5000\0" + b"x" * 100)[:-6])
    return b.path / ".git", oids, bad


def test_a_corrupt_object_amid_good_ones_loses_none_of_them(tmp_path: Path) -> None:
    """git buffers its output until it dies on the corrupt object; the objects it held are
    asked again, so each good one comes back with its content and only the bad one is
    reported."""
    git_dir, oids, bad = _forty_blobs_one_corrupt(tmp_path)
    got = list(objects_by_id(git_dir, oids, 1 << 20))
    assert [o.oid for o in got] == oids
    assert [o.oid for o in got if o.kind == "corrupt"] == [bad]
    for i, o in enumerate(got):
        if o.oid != bad:
            assert o.kind == "blob" and o.data == f"content {i}\n".encode() * 50


def _blob_scan(
    git_dir: Path, oids: list[str], check: QuietCheck | None
) -> tuple[list[Chunk], ScanStats, list[tuple[str, str, str, int, int]]]:
    """The chunks, statistics and findings of a scan of ``oids`` with or without ``check``."""
    options = ScanOptions()
    engine = _quiet_engine()
    stats = ScanStats()
    with offering(None, check):
        chunks = list(
            history_chunks(git_dir, oids, blob_limit(options), options, stats, Problems(stats))
        )
    found = sorted(
        (f.rule_id, f.fingerprint, f.location.path, f.location.line, f.location.column)
        for chunk in chunks
        for f in engine.scan(chunk, options.decode_depth)
    )
    return chunks, stats, found


@functools.cache
def _quiet_engine() -> Engine:
    return Engine(RuleSet.load(), "hyperscan")


def test_blobs_the_engine_calls_quiet_make_no_chunk_and_change_nothing_else(
    tmp_path: Path,
) -> None:
    """With the engine's quiet check, a blob with nothing in it is counted where it lies in
    git's output and makes no chunk; the findings, counts, bytes and named problems are those
    of a scan that makes a chunk of every blob: keys plain, encoded and compressed, LFS
    pointers, binary blobs, source maps, empty blobs, text that looks like a map."""
    pytest.importorskip("hyperscan")
    b = Builder(tmp_path / "repo")
    lfs = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"ab" * 32 + b"\nsize 9\n"
    source_map = b'{"version":3,"sources":["a.js"],"sourcesContent":["k=1"],"mappings":"AAAA"}'
    files = {
        "plain.txt": b"nothing here\n" * 20,
        "other.txt": b"still nothing\n" * 400,
        "app.py": f"A = '{key('quiet-plain')}'\n".encode(),
        "enc.txt": b'v = "' + base64.b64encode(f"K={key('quiet-b64')}".encode()) + b'"\n',
        "notes.gz": gzip.compress(f"K={key('quiet-gz')}\n".encode()),
        "big.bin": lfs,
        "logo.png": b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)),
        "data.json": b'{"a": 1, "b": [1, 2]}\n',
        "app.js": b"var x = 1;\n//# sourceMappingURL=app.js.map\n",
        "app.js.map": source_map,
        "empty.txt": b"",
        "tar-like.txt": b"x" * 257 + b"ustar" + b"\0" * 300,
    }
    for name, content in files.items():
        b.write(name, content)
    b.commit("all kinds", *files)
    oids = [b.git("rev-parse", f"HEAD:{name}") for name in files]
    git_dir = b.path / ".git"
    every_chunk, every_stats, every_found = _blob_scan(git_dir, oids, None)
    quiet = _quiet_engine().quiet(ScanOptions().decode_depth)
    assert quiet is not None
    chunks, stats, found = _blob_scan(git_dir, oids, quiet)
    assert found == every_found
    assert {fp for _, fp, _, _, _ in found} >= {
        fingerprint(key(name)) for name in ("quiet-plain", "quiet-b64", "quiet-gz")
    }
    assert stats == every_stats
    assert stats.counters["git_blobs"] == len(files)
    assert stats.counters["git_lfs_pointers"] == 1
    # the plain text blobs with nothing in them made no chunk (JSON too: sniffed as text, not
    # as a map); every other blob made the chunks it made
    quiet_names = ("plain.txt", "other.txt", "data.json")
    quiet_oids = {oids[list(files).index(name)] for name in quiet_names}
    assert {c.location.path for c in every_chunk} - {c.location.path for c in chunks} == quiet_oids
    assert [c for c in every_chunk if c.location.path not in quiet_oids] == chunks


def test_a_corrupt_object_amid_blobs_a_quiet_check_takes_is_still_reported(
    tmp_path: Path,
) -> None:
    """Blobs the caller's check takes are not yielded, the others come in order, and the one
    git dies on is reported corrupt with every other blob still read."""
    git_dir, oids, bad = _forty_blobs_one_corrupt(tmp_path)
    taken: list[bytes] = []

    def quiet(view: memoryview) -> bool:
        number = int(view.tobytes().split()[1])
        if number % 2:
            taken.append(view.tobytes())
            return True
        return False

    got = list(objects_by_id(git_dir, oids, 1 << 20, quiet, 1 << 20))
    expected = [oid for i, oid in enumerate(oids) if i % 2 == 0 or oid == bad]
    assert [o.oid for o in got] == expected
    assert [o.oid for o in got if o.kind == "corrupt"] == [bad]
    assert sorted(taken) == sorted(
        f"content {i}\n".encode() * 50 for i in range(1, 40, 2) if oids[i] != bad
    )
    for o in got:
        if o.oid != bad:
            i = oids.index(o.oid)
            assert o.kind == "blob" and o.data == f"content {i}\n".encode() * 50


def _git_children() -> list[int]:
    """The git processes this process started (from /proc)."""
    pids = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat_file.read_text()
        except OSError:
            continue
        name, _, rest = text.partition("(")[2].rpartition(")")
        fields = rest.split()
        if len(fields) > 1 and int(fields[1]) == os.getpid() and name == "git":
            pids.append(int(stat_file.parent.name))
    return pids


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_git_killed_mid_stream_loses_no_object(tmp_path: Path) -> None:
    """Killed mid-stream (what it held in its output buffer is lost), cat-file is asked again
    from the first object that did not arrive: every object comes back, none is corrupt."""
    b = Builder(tmp_path / "repo")
    names = [f"f{i}.txt" for i in range(40)]
    for i, name in enumerate(names):
        b.write(name, "".join(f"{i} {j}\n" for j in range(20_000)))  # about 200 KB each
    b.commit("many", *names)
    oids = [b.git("rev-parse", f"HEAD:{name}") for name in names]
    got = []
    for obj in objects_by_id(b.path / ".git", oids, 1 << 24):
        got.append(obj)
        if len(got) == 5:  # git is blocked on a full pipe by now
            for pid in _git_children():
                os.kill(pid, signal.SIGKILL)
    assert [o.oid for o in got] == oids
    assert all(o.kind == "blob" for o in got)
    assert [o.data for o in got] == [
        "".join(f"{i} {j}\n" for j in range(20_000)).encode() for i in range(40)
    ]


def test_a_commit_only_a_tag_of_a_tag_reaches_has_its_provenance(tmp_path: Path) -> None:
    b, _first, _second = _two_commits(tmp_path / "repo")
    b.git("checkout", "-q", "--detach")
    b.write("nested.py", f"N = '{key('nested-tag')}'\n")
    nested = b.commit("only under a nested tag", "nested.py")
    b.git("tag", "-a", "inner", "-m", "inner")
    b.git("-c", "advice.nestedTag=false", "tag", "-a", "outer", "inner", "-m", "outer")
    b.git("tag", "-d", "inner")  # only refs/tags/outer -> tag inner -> the commit
    b.git("checkout", "-q", "main")
    b.git("tag", "tree-tag", "HEAD^{tree}")  # a ref to a tree: no history of its own
    for jobs_options in (_options(tmp_path / "a"), _options(tmp_path / "b", refs=("outer",))):
        result = _scan(b.path, jobs_options)
        found = _find(result, "nested-tag")
        assert found is not None
        assert (found.location.commit, found.location.path) == (nested, "nested.py")
        assert not result.stats.warnings
