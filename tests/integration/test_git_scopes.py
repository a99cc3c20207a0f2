"""Git scopes (issue #13): --staged, --range A..B, --since-commit, shallow clones, and which
work-tree files count as changed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from leakguard.model import ScanResult
from leakguard.options import GitOptions, ScanOptions
from leakguard.redact import fingerprint
from leakguard.scanner import run_scan
from tests.integration.git_repos import Builder, key
from tests.support.cli import leakguard_app

pytestmark = pytest.mark.integration


def _scan(path: Path, tmp_path: Path, **git: object) -> ScanResult:
    git_options = GitOptions(**git)  # type: ignore[arg-type]
    options = ScanOptions(jobs=1, state_dir=tmp_path / "state", git=git_options)
    return run_scan([str(path)], options)


def _cli(*args: str) -> Result:
    return CliRunner().invoke(leakguard_app(), list(args))


def _names(result: ScanResult, *names: str) -> dict[str, tuple[str | None, str]]:
    """name -> (commit, path) of each planted key found."""
    by_fp = {fingerprint(key(n)): n for n in names}
    return {
        by_fp[f.fingerprint]: (f.location.commit, f.location.path)
        for f in result.findings
        if f.fingerprint in by_fp
    }


ALL = ("committed", "staged", "unstaged", "untracked", "main-1", "main-2", "f1", "f2")


def test_staged_scans_what_will_be_committed_not_the_work_tree(tmp_path: Path) -> None:
    b = Builder(tmp_path / "repo")
    b.write("old.py", f"K = '{key('committed')}'\n")
    b.commit("first", "old.py")
    b.write("app.py", f"K = '{key('staged')}'\n")
    b.git("add", "app.py")
    # the work tree then moves on: the staged key is gone from disk, another one is not staged
    b.write("app.py", f"K = '{key('unstaged')}'\n")
    b.write("new.py", f"K = '{key('untracked')}'\n")

    staged = _scan(b.path, tmp_path, staged=True)
    assert _names(staged, *ALL) == {"staged": (None, "app.py")}
    (finding,) = staged.findings
    assert finding.location.get("staged") is True
    assert finding.location.get("blob") == b.git("rev-parse", ":app.py")

    work_tree = _scan(b.path, tmp_path, history=False)
    assert set(_names(work_tree, *ALL)) == {"committed", "unstaged", "untracked"}

    # the CLI: a staged key exits 1, a clean index exits 0
    assert _cli("scan", "--staged", "-q", str(b.path)).exit_code == 1
    b.git("reset", "-q")
    assert _cli("scan", "--staged", "-q", str(b.path)).exit_code == 0


def _pull_request(path: Path) -> tuple[Builder, dict[str, str]]:
    """main: main-1; feature branches off and adds f1, f2; main then adds main-2."""
    b = Builder(path)
    commits = {}
    b.write("base.py", f"K = '{key('main-1')}'\n")
    commits["main-1"] = b.commit("base", "base.py")
    b.git("checkout", "-q", "-b", "feature")
    b.write("feat/a.py", f"A = '{key('f1')}'\n")
    commits["f1"] = b.commit("f1", "feat/a.py")
    b.write("feat/b.py", f"\nB = '{key('f2')}'\n")
    commits["f2"] = b.commit("f2", "feat/b.py")
    b.git("checkout", "-q", "main")
    b.write("late.py", f"L = '{key('main-2')}'\n")
    commits["main-2"] = b.commit("late", "late.py")
    b.git("checkout", "-q", "feature")
    b.write("dirty.py", f"D = '{key('untracked')}'\n")  # not part of any range
    return b, commits


@pytest.mark.parametrize("jobs", [1, 2])
def test_range_reports_only_what_the_branch_introduced_with_provenance(
    tmp_path: Path, jobs: int
) -> None:
    b, commits = _pull_request(tmp_path / "repo")
    options = ScanOptions(
        jobs=jobs,
        state_dir=tmp_path / "state",
        git=GitOptions(range_from="main", range_to="feature"),
    )
    result = run_scan([str(b.path)], options)
    assert _names(result, *ALL) == {
        "f1": (commits["f1"], "feat/a.py"),
        "f2": (commits["f2"], "feat/b.py"),
    }
    f2 = next(f for f in result.findings if f.fingerprint == fingerprint(key("f2")))
    assert f2.location.line == 2 and f2.location.get("author_date") == b.date(3)
    assert f2.location.get("present_at") == "feature"


def test_since_commit_and_range_through_the_cli(tmp_path: Path) -> None:
    b, commits = _pull_request(tmp_path / "repo")
    for args in (["--since-commit", "main"], ["--range", "main..HEAD"]):
        result = _cli("scan", "-f", "json", "-j", "1", *args, str(b.path))
        assert result.exit_code == 1, result.output
        findings = json.loads(result.stdout)["findings"]
        found = {f["fingerprint"]: f["location"] for f in findings}
        assert set(found) == {fingerprint(key("f1")), fingerprint(key("f2"))}
        assert found[fingerprint(key("f1"))]["commit"] == commits["f1"]
    # nothing between a branch and itself
    assert _cli("scan", "-q", "--range", "feature..feature", str(b.path)).exit_code == 0
    for bad in (["--range", "main...feature"], ["--range", "main"], ["--range", "nope..main"]):
        result = _cli("scan", *bad, str(b.path))
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        assert len(result.output.strip().splitlines()) <= 2
    both = _cli("scan", "--staged", "--range", "main..feature", str(b.path))
    assert both.exit_code == 2


def test_a_shallow_clone_is_scanned_with_a_warning_and_a_json_flag(tmp_path: Path) -> None:
    b, _commits = _pull_request(tmp_path / "origin")
    clone = tmp_path / "shallow"
    b.git("clone", "-q", "--depth", "1", "--branch", "main", f"file://{b.path}", str(clone))
    result = _cli("scan", "-f", "json", "-j", "1", str(clone))
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["stats"]["counters"]["git_shallow_repositories"] == 1
    assert any("shallow clone" in w for w in report["stats"]["warnings"])
    text = _cli("scan", "-j", "1", str(clone))
    assert text.exit_code == 1 and "warning:" in text.output and "a shallow clone" in text.output
    full = _cli("scan", "-f", "json", "-j", "1", str(b.path))
    assert "git_shallow_repositories" not in json.loads(full.stdout)["stats"].get("counters", {})


def test_only_changed_work_tree_files_are_read_beside_history(tmp_path: Path) -> None:
    """A tracked file that was only touched is history's blob (read once, from history); a
    staged-only change and a same-size rewrite are read from disk."""
    b = Builder(tmp_path / "repo")
    b.write("touched.py", f"K = '{key('touched')}'\n")
    b.write("same-size.py", f"K = '{key('before')}'\n")
    b.write("staged.py", "nothing\n")
    b.commit("first", "touched.py", "same-size.py", "staged.py")
    os.utime(b.path / "touched.py", (1_600_000_000, 1_600_000_000))
    st = (b.path / "same-size.py").stat()
    b.write("same-size.py", f"K = '{key('after-')}'\n")  # same length, new content
    os.utime(b.path / "same-size.py", ns=(st.st_atime_ns, st.st_mtime_ns))
    b.write("staged.py", f"K = '{key('staged-only')}'\n")
    b.git("add", "staged.py")
    result = _scan(b.path, tmp_path)
    work_tree = {
        f.location.path: f.location.get("worktree")
        for f in result.findings
        if f.source_kind == "file"
    }
    assert work_tree == {"same-size.py": "modified", "staged.py": "modified"}
    assert {f.location.path for f in result.findings if f.source_kind == "git"} == {
        "touched.py",
        "same-size.py",
    }
