"""Git's share of a full scan started before LeakGuard has loaded (:mod:`git_early`): the scan
takes over exactly what it would have started itself, a wrong guess changes no result, and
nothing started is left running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leakguard.sources import git_early
from leakguard.sources.git_objects import list_by_kind
from leakguard.sources.git_provenance import start_log
from leakguard.sources.git_repo import Repository, all_tips, discover, list_refs
from tests.integration.git_repos import Builder, key
from tests.support.cli import console_script, run_cli

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def nothing_left_started() -> Iterator[None]:
    git_early.end()
    yield
    git_early.end()


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """Two branches, a tag, two stash entries (the older only in the reflog) and a secret
    introduced on each branch."""
    b = Builder(tmp_path / "repo")
    b.write("app.py", f"A = '{key('early-main')}'\n")
    b.commit("first", "app.py")
    b.git("tag", "-a", "v1", "-m", "one")
    b.git("checkout", "-q", "-b", "side")
    b.write("side.py", f"S = '{key('early-side')}'\n")
    b.commit("side", "side.py")
    b.git("checkout", "-q", "main")
    b.write("app.py", "A = 'gone'\n")
    b.commit("second", "app.py")
    for n in (1, 2):
        b.write("app.py", f"A = 'stash {n}'\n")
        b.git("stash", "push", "-q", "-m", f"stash {n}")
    return b.path


def _repo(path: Path) -> Repository:
    repo = discover(path)
    assert repo is not None
    return repo


def test_the_scan_takes_over_the_same_processes_it_would_start(history: Path) -> None:
    repo = _repo(history)
    assert git_early.begin(history)
    assert not git_early.begin(history)  # one guess per process

    claimed = git_early.claim_refs(repo)
    assert claimed is not None
    refs, warnings = claimed
    assert refs == list_refs(repo) and warnings == []
    assert git_early.claim_refs(repo) is None  # once

    assert git_early.claim_listing(repo.git_dir, ("blob", "commit")) is None  # other kinds
    listing = git_early.claim_listing(repo.git_dir, ("blob",))
    assert listing is not None
    try:
        assert listing.result() == list_by_kind(repo.git_dir, ("blob",))
    finally:
        listing.close()
    assert git_early.claim_listing(repo.git_dir, ("blob",)) is None

    tips = all_tips(repo, refs)
    assert len(tips) >= 4  # main, side, both stash entries
    assert git_early.claim_log(repo.git_dir, tips[::-1], []) is None  # another order
    assert git_early.claim_log(repo.git_dir, tips[:-1], []) is None
    assert git_early.claim_log(repo.git_dir, tips, [tips[0]]) is None  # something excluded
    log = git_early.claim_log(repo.git_dir, tips, [])
    fresh = start_log(repo.git_dir, tips)
    assert log is not None
    try:
        assert list(log.records()) == list(fresh.records())
    finally:
        log.close()
        fresh.close()


def test_another_repository_claims_nothing_and_end_stops_the_rest(
    history: Path, tmp_path: Path
) -> None:
    other = Builder(tmp_path / "other")
    other.write("a.txt", "a\n")
    other.commit("a", "a.txt")
    assert git_early.begin(history)
    started = git_early._started
    assert started is not None
    repo = _repo(other.path)
    assert git_early.claim_refs(repo) is None
    assert git_early.claim_listing(repo.git_dir, ("blob",)) is None
    assert git_early.claim_log(repo.git_dir, all_tips(repo, list_refs(repo)), []) is None
    # the work tree is part of the match: the same git directory as a bare one is not claimed
    bare = Repository(_repo(history).git_dir, None, "bare view")
    assert git_early.claim_refs(bare) is None
    git_early.end()
    assert git_early._started is None
    assert started.listing is not None and started.log is not None
    assert started.listing._output.closed and started.log.output.closed
    assert started.listing._proc.returncode is not None
    assert started.log.proc is not None and started.log.proc.returncode is not None


def _report(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def _comparable(report: dict[str, Any]) -> list[Any]:
    return report["findings"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_the_console_script_starts_git_first_and_reports_the_same(
    history: Path, tmp_path: Path, jobs: str
) -> None:
    args = ["scan", str(history), "-f", "json", "-o", "early.json", "-j", jobs]
    done = console_script(args, tmp_path)
    assert done.returncode == 1, done.stderr  # findings
    early = _report(tmp_path / "early.json")
    assert early["stats"]["counters"]["git_started_early"] == 3  # refs, listing, log

    plain_json = tmp_path / "plain.json"
    code, output = run_cli(["scan", str(history), "-f", "json", "-o", str(plain_json), "-j", jobs])
    assert code == 1, output  # nothing started early: the CLI in this process
    plain = _report(plain_json)
    assert "git_started_early" not in plain["stats"]["counters"]
    assert _comparable(early) == _comparable(plain)
    names = {f["location"]["path"] for f in early["findings"]}
    assert {"app.py", "side.py"} <= names


def test_a_wrong_guess_changes_no_result(history: Path, tmp_path: Path) -> None:
    args = ["scan", str(history), "-f", "json", "--ref", "side", "-o"]
    code, output = run_cli([*args, str(tmp_path / "expected.json")])
    assert code == 1, output
    expected = _report(tmp_path / "expected.json")

    assert git_early.begin(history)  # as if the command line had named no ref
    code, output = run_cli([*args, str(tmp_path / "guessed.json")])
    assert code == 1, output
    guessed = _report(tmp_path / "guessed.json")
    assert _comparable(guessed) == _comparable(expected)
    # the refs were the scan's to take; the whole-history listing and log were not
    assert guessed["stats"]["counters"]["git_started_early"] == 1
    assert git_early._started is None  # stopped once the scan had planned


def _slow_git(bin_dir: Path, pids: Path) -> Path:
    """A ``git`` first on PATH that turns the listing and the log into processes that would
    run for a minute (each notes its pid), and runs the real git for everything else."""
    real = subprocess.run(["sh", "-c", "command -v git"], capture_output=True, text=True)
    bin_dir.mkdir()
    pids.mkdir()
    shim = bin_dir / "git"
    shim.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        f'  *batch-all-objects*|*" log --stdin "*) echo $$ > "{pids}/$$"; exec sleep 60 ;;\n'
        "esac\n"
        f'exec {real.stdout.strip()} "$@"\n'
    )
    shim.chmod(0o755)
    return bin_dir


def test_nothing_started_early_outlives_a_command_that_fails(history: Path, tmp_path: Path) -> None:
    """A command line that starts git early and then fails (here: an unknown report format)
    exits at once with its usual error, and the processes it started are gone."""
    pids = tmp_path / "pids"
    bin_dir = _slow_git(tmp_path / "bin", pids)
    path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    args = ["scan", str(history), "-f", "no-such-format"]
    # the slow processes would hold it for a minute
    done = console_script(args, tmp_path, timeout=30, PATH=path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    started = sorted(int(p.name) for p in pids.iterdir())
    assert len(started) == 2  # the listing and the log were started early
    for pid in started:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_the_listing_starts_before_the_modules_the_rest_needs_are_loaded(history: Path) -> None:
    """Loading ``dataclasses``, ``subprocess``, ``tempfile`` and ``typing`` (and the log's and
    refs' modules) takes ~25 ms while the other core waits: the listing's git is started
    first (``posix_spawn``, an unnamed file), they load after."""
    probe = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "seen = []\n"
        "real = os.posix_spawnp\n"
        "def spy(path, args, *a, **k):\n"
        "    late = ('dataclasses', 'subprocess', 'tempfile', 'typing')\n"
        "    loaded = [m for m in late if m in sys.modules]\n"
        "    seen.append((loaded, [x for x in args if 'cat-file' in x]))\n"
        "    return real(path, args, *a, **k)\n"
        "os.posix_spawnp = spy\n"
        "from leakguard.sources import git_early\n"
        "assert git_early.begin(Path(sys.argv[1]))\n"
        "listing = git_early.claim_listing(Path(sys.argv[1]) / '.git', ('blob',))\n"
        "print(seen[0])\n"
        "print(sorted(listing.result()['blob']))\n"
        "listing.close()\n"
        "git_early.end()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, str(history)], capture_output=True, text=True, check=True
    )
    first, listed = out.stdout.splitlines()
    assert first == "([], ['cat-file'])"
    assert listed == str(sorted(list_by_kind(history / ".git", ("blob",))["blob"]))
