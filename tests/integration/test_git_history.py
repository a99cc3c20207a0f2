"""Git history scans over real repositories: exact provenance of every planted key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from leakguard.model import Finding, ScanResult
from leakguard.options import GitOptions, ScanOptions
from leakguard.redact import fingerprint
from leakguard.scanner import run_scan
from tests.integration.git_repos import AUTHOR, Builder, key

pytestmark = pytest.mark.integration


@dataclass
class History:
    path: Path
    b: Builder
    commits: dict[str, str]
    ticks: dict[str, int]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    b = Builder(tmp_path_factory.mktemp("history") / "repo")
    c: dict[str, str] = {}
    t: dict[str, int] = {}

    def commit(name: str, message: str, *paths: str) -> None:
        c[name] = b.commit(message, *paths)
        t[name] = b.tick

    b.write("README.md", "# demo\n")
    commit("root", "root", "README.md")
    # added then deleted
    b.write("config.py", f"# settings\nDEBUG = False\nSTRIPE = '{key('deleted')}'\n")
    commit("add_deleted", "add config", "config.py")
    b.git("rm", "-q", "config.py")
    commit("del_deleted", "remove config")
    # renamed: introduced at old.py, renamed to new.py (same blob)
    b.write("old.py", f"KEY = '{key('renamed')}'\n")
    commit("add_renamed", "add old", "old.py")
    b.git("mv", "old.py", "new.py")
    commit("rename", "rename old to new")
    # unmerged side branch
    b.git("checkout", "-q", "-b", "feature")
    b.write("side.py", f"\n\nSIDE = '{key('side')}'\n")
    commit("side", "side work", "side.py")
    # a key only in a tag (no branch holds the commit)
    b.git("checkout", "-q", "--detach", "main")
    b.write("tagged.py", f"T = '{key('tag')}'\n")
    commit("tagged", "tagged only", "tagged.py")
    b.git("tag", "-a", "v1.0", "-m", "release")
    # a merge whose merge commit itself adds a key (an "evil merge")
    b.git("checkout", "-q", "main")
    b.git("checkout", "-q", "-b", "topic")
    b.write("topic.py", "TOPIC = 1\n")
    commit("topic", "topic work", "topic.py")
    b.git("checkout", "-q", "main")
    b.write("main.py", "MAIN = 1\n")
    commit("main2", "main work", "main.py")
    b.tick += 1
    b.git("merge", "-q", "--no-ff", "--no-commit", "topic")
    b.write("merged.py", f"M = '{key('merge')}'\n")
    b.git("add", "merged.py")
    b.git("commit", "-q", "-m", "merge topic")
    c["merge"], t["merge"] = b.git("rev-parse", "HEAD"), b.tick
    # two stashes: the older one is only in the stash reflog
    b.write("README.md", f"# demo\nold stash {key('stash-old')}\n")
    b.tick += 1
    b.git("stash", "push", "-q", "-m", "first")
    t["stash_old"] = b.tick
    b.write("README.md", f"# demo\nstash {key('stash')}\n")
    b.tick += 1
    b.git("stash", "push", "-q", "-m", "second")
    t["stash"] = b.tick
    c["stash"] = b.git("rev-parse", "stash@{0}")
    c["stash_old"] = b.git("rev-parse", "stash@{1}")
    # a git note on the root commit (refs/notes/commits)
    b.tick += 1
    b.git("notes", "add", "-m", f"deploy with {key('note')}", c["root"])
    c["note"], t["note"] = b.git("rev-parse", "refs/notes/commits"), b.tick
    # a commit reset away (reachable only from the reflog)
    b.write("oops.py", f"OOPS = '{key('reset')}'\n")
    commit("reset", "oops", "oops.py")
    b.git("reset", "-q", "--hard", "HEAD~1")
    # a dangling blob (added to the index, never committed)
    b.write("staged.py", f"S = '{key('dangling')}'\n")
    b.git("add", "staged.py")
    b.git("rm", "-q", "--cached", "staged.py")
    (b.path / "staged.py").unlink()
    # the work tree: an untracked file and a modified tracked one
    b.write("notes.txt", f"remember {key('untracked')}\n")
    b.write("main.py", f"MAIN = 1\nK = '{key('modified')}'\n")
    return History(b.path, b, c, t)


@pytest.fixture(params=[1, 2], ids=["sequential", "pool"])
def jobs(request: pytest.FixtureRequest) -> int:
    """One process (cat-file stream in the scanning process) or a pool of blob ranges."""
    return int(request.param)


_JOBS = {"n": 1}


@pytest.fixture(autouse=True)
def _use_jobs(jobs: int) -> None:
    _JOBS["n"] = jobs


def _scan(path: Path, tmp_path: Path, **git: object) -> ScanResult:
    options = ScanOptions(
        jobs=_JOBS["n"],
        state_dir=tmp_path / "state",
        git=GitOptions(**git),  # type: ignore[arg-type]
    )
    return run_scan([str(path)], options)


def _by_key(result: ScanResult) -> dict[str, Finding]:
    out: dict[str, Finding] = {}
    for f in result.findings:
        assert f.fingerprint not in out or f.source_kind != out[f.fingerprint].source_kind
        out.setdefault(f.fingerprint, f)
    return out


def _find(result: ScanResult, name: str) -> Finding | None:
    fp = fingerprint(key(name))
    matches = [f for f in result.findings if f.fingerprint == fp]
    assert len(matches) <= 1, [f.location for f in matches]
    return matches[0] if matches else None


def _assert_intro(h: History, f: Finding | None, commit: str, path: str, line: int) -> None:
    assert f is not None
    assert f.source_kind == "git"
    loc = f.location.to_dict()
    assert (loc["commit"], loc["path"], loc["line"]) == (h.commits[commit], path, line)
    assert loc["author_name"] == AUTHOR[0] and loc["author_email"] == AUTHOR[1]
    assert loc["author_date"] == h.b.date(h.ticks[commit])
    assert loc["unreachable"] is False


def test_every_ref_with_exact_provenance(history: History, tmp_path: Path) -> None:
    h = history
    result = _scan(h.path, tmp_path)

    deleted = _find(result, "deleted")
    _assert_intro(h, deleted, "add_deleted", "config.py", 3)
    assert deleted is not None and deleted.location.get("still_exposed") is False
    assert deleted.location.get("present_at") == ""

    renamed = _find(result, "renamed")
    _assert_intro(h, renamed, "add_renamed", "old.py", 1)
    assert renamed is not None
    assert [(o.commit, o.path, o.line) for o in renamed.occurrences] == [
        (h.commits["rename"], "new.py", 1)
    ]
    # main, feature and topic all descend from the rename
    assert renamed.location.get("present_at") == "feature main topic"
    assert renamed.location.get("still_exposed") is True

    side = _find(result, "side")
    _assert_intro(h, side, "side", "side.py", 3)
    assert side is not None and side.location.get("present_at") == "feature"

    tagged = _find(result, "tag")
    _assert_intro(h, tagged, "tagged", "tagged.py", 1)
    assert tagged is not None and tagged.location.get("present_at") == ""

    merged = _find(result, "merge")
    _assert_intro(h, merged, "merge", "merged.py", 1)
    assert merged is not None and merged.location.get("present_at") == "main"

    for name, line in (("stash", 2), ("stash_old", 2)):
        found = _find(result, name.replace("_", "-"))
        _assert_intro(h, found, name, "README.md", line)

    note = _find(result, "note")
    _assert_intro(h, note, "note", h.commits["root"], 1)  # notes are stored by annotated commit

    # reset-away commits and dangling blobs need --include-unreachable
    assert _find(result, "reset") is None and _find(result, "dangling") is None

    # the work tree: untracked and modified files, as files
    untracked, modified = _find(result, "untracked"), _find(result, "modified")
    assert untracked is not None and modified is not None
    assert untracked.source_kind == "file" and untracked.location.path == "notes.txt"
    assert untracked.location.get("worktree") == "untracked"
    assert (modified.location.path, modified.location.line) == ("main.py", 2)
    assert modified.location.get("worktree") == "modified"

    assert len(result.findings) == 10
    json_loc = side.to_dict()["location"]
    assert isinstance(json_loc, dict) and json_loc["commit"] == h.commits["side"]


def test_include_unreachable_finds_reset_away_commits_and_dangling_blobs(
    history: History, tmp_path: Path
) -> None:
    h = history
    result = _scan(h.path, tmp_path, include_unreachable=True)
    reset = _find(result, "reset")
    assert reset is not None
    loc = reset.location.to_dict()
    assert (loc["commit"], loc["path"], loc["line"]) == (h.commits["reset"], "oops.py", 1)
    assert loc["unreachable"] is True and loc["still_exposed"] is False
    assert loc["author_date"] == h.b.date(h.ticks["reset"])

    dangling = _find(result, "dangling")
    assert dangling is not None
    assert dangling.location.commit is None and dangling.location.get("unreachable") is True
    assert dangling.location.path == dangling.location.get("blob")

    side = _find(result, "side")
    assert side is not None and side.location.get("unreachable") is False
    assert len(result.findings) == 12


def test_ref_limits_history_and_no_history_scans_only_the_work_tree(
    history: History, tmp_path: Path
) -> None:
    h = history
    only_feature = _scan(h.path, tmp_path, refs=("feature",))
    names = {
        n for n in ("deleted", "renamed", "side", "tag", "merge", "stash") if _find(only_feature, n)
    }
    assert names == {"deleted", "renamed", "side"}
    side = _find(only_feature, "side")
    _assert_intro(h, side, "side", "side.py", 3)

    tree_only = _scan(h.path, tmp_path, history=False)
    assert {f.source_kind for f in tree_only.findings} == {"file"}
    assert {(f.location.path, f.location.get("worktree")) for f in tree_only.findings} == {
        ("notes.txt", "untracked"),
        ("main.py", "tracked"),
        ("new.py", "tracked"),
        ("merged.py", "tracked"),
    }


def test_json_contract_for_a_git_finding(history: History, tmp_path: Path) -> None:
    result = _scan(history.path, tmp_path)
    side = _find(result, "side")
    assert side is not None
    out = side.to_dict()
    assert out["source_kind"] == "git"
    loc = out["location"]
    assert isinstance(loc, dict)
    assert {
        "path",
        "line",
        "column",
        "commit",
        "author_name",
        "author_email",
        "author_date",
    } <= set(loc)
    assert key("side") not in repr(out)


def test_cli_json_report_and_git_only_options(history: History, tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from tests.support.cli import leakguard_app

    out = tmp_path / "report.json"
    args = ["scan", str(history.path), "--ref", "feature", "-f", "json", "-o", str(out)]
    result = CliRunner(env={"XDG_STATE_HOME": str(tmp_path)}).invoke(leakguard_app(), args)
    assert result.exit_code == 1, result.output
    report = json.loads(out.read_text())
    side = [f for f in report["findings"] if f["fingerprint"] == fingerprint(key("side"))]
    assert len(side) == 1 and side[0]["source_kind"] == "git"
    loc = side[0]["location"]
    assert (loc["commit"], loc["path"], loc["line"]) == (history.commits["side"], "side.py", 3)
    assert loc["present_at"] == "feature" and loc["still_exposed"] is True
    assert key("side") not in out.read_text()

    plain = tmp_path / "plain"
    plain.mkdir()
    result = CliRunner().invoke(leakguard_app(), ["scan", str(plain), "--include-unreachable"])
    assert result.exit_code == 2 and "not a git repository" in result.output
