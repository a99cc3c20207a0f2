"""Scanning a hostile repository never runs a program it names (issue #15).

Every repository here is armed with every configuration key and attribute git can turn into a
command (see :mod:`tests.integration.hostile_repos`); each program only creates a marker file.
Each LeakGuard command that reads a repository is run on each variant and must find the planted
keys (so the repository really was read), exit with its usual code, print no traceback, end in
bounded time and leave no marker. A control test proves the markers work: plain git creates
them.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakguard.sources import git_early, git_run
from tests.integration.git_repos import key
from tests.integration.hostile_repos import build_hostile
from tests.support.cli import leakguard_app

pytestmark = pytest.mark.integration

VARIANTS = ("config", "include", "gitdir-file", "other-owner")
OTHER_UID = 65534
BOUND_SECONDS = 60


class Armed:
    def __init__(self, root: Path, marks: Path, target: Path) -> None:
        self.root = root
        self.marks = marks
        self.target = target

    @property
    def git_dir(self) -> Path:
        dot_git = self.target / ".git"
        if dot_git.is_file():
            return Path(dot_git.read_text().split(":", 1)[1].strip())
        return dot_git

    def markers(self) -> list[str]:
        return sorted(os.listdir(self.marks))


@pytest.fixture(scope="module")
def armed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Armed]:
    """One armed repository per variant, built once for the module."""
    out = {}
    for variant in VARIANTS:
        root = tmp_path_factory.mktemp(f"hostile-{variant}")
        marks = root / "marks"
        armed_by = "config" if variant == "other-owner" else variant
        target = build_hostile(root, marks, variant=armed_by)
        if variant == "other-owner":
            for path in [root / "repo", *(root / "repo").rglob("*")]:
                os.lchown(path, OTHER_UID, OTHER_UID)
        assert os.listdir(marks) == [], "building the repository ran a program"
        os.chmod(marks, 0o777)  # a program running as the other user could still leave a mark
        out[variant] = Armed(root, marks, target)
    return out


@pytest.fixture(autouse=True)
def hostile_caller_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, armed: dict[str, Armed]
) -> Iterator[None]:
    """The caller's own git environment is hostile too: GIT_* variables, a global config and
    a system-wide one naming a program (all must be ignored)."""
    evil = armed["config"].root / "repo" / ".git" / "config"
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(evil))
    monkeypatch.setenv("GIT_CONFIG_SYSTEM", str(evil))
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "core.fsmonitor")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", str(armed["config"].root / "bin" / "fsmonitor"))
    monkeypatch.setenv("GIT_EXTERNAL_DIFF", str(armed["config"].root / "bin" / "diff-external"))
    monkeypatch.setenv("GIT_PAGER", str(armed["config"].root / "bin" / "core-pager"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    yield


def _sweep_config(tmp: Path, target: Path) -> Path:
    cfg = tmp / "sweep.yaml"
    cfg.write_text(f"targets:\n  - path: {target}\n")
    return cfg


# (command id, argv builder, expected exit code)
Command = Callable[[Armed, Path], list[str]]
COMMANDS: dict[str, tuple[Command, int]] = {
    "scan": (lambda a, t: ["scan", "-j", "1", str(a.target)], 1),
    "scan-pool": (lambda a, t: ["scan", "-j", "2", str(a.target)], 1),
    "no-history": (lambda a, t: ["scan", "--no-history", "-j", "1", str(a.target)], 1),
    "incremental": (
        lambda a, t: ["scan", "--incremental", "-j", "1", "--db", str(t / "lg.db"), str(a.target)],
        1,
    ),
    "ref": (lambda a, t: ["scan", "--ref", "main", "-j", "1", str(a.target)], 1),
    "staged": (lambda a, t: ["scan", "--staged", str(a.target)], 0),  # nothing staged
    "range": (lambda a, t: ["scan", "--range", "HEAD~3..HEAD", "-j", "1", str(a.target)], 0),
    "since-commit": (lambda a, t: ["scan", "--since-commit", "HEAD~3", str(a.target)], 0),
    "unreachable": (lambda a, t: ["scan", "--include-unreachable", "-j", "1", str(a.target)], 1),
    "remote-file-url": (
        lambda a, t: ["scan", "-j", "1", "--cache-dir", str(t / "c"), f"file://{a.git_dir}"],
        1,
    ),
    "baseline": (
        lambda a, t: ["baseline", "create", "-j", "1", str(a.target), "-o", str(t / "b.json")],
        0,
    ),
    "sweep": (
        lambda a, t: ["sweep", str(_sweep_config(t, a.target)), "--db", str(t / "s.db"), "-j", "1"],
        1,
    ),
    "graph-config-dir": (
        lambda a, t: ["graph", "build", "--db", str(t / "g.db"), "--config-dir", str(a.target)],
        0,
    ),
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("command", list(COMMANDS))
def test_no_repository_program_ever_runs(
    armed: dict[str, Armed], variant: str, command: str, tmp_path: Path
) -> None:
    repo = armed[variant]
    build, expected = COMMANDS[command]
    started = time.monotonic()
    result = CliRunner().invoke(leakguard_app(), build(repo, tmp_path))
    elapsed = time.monotonic() - started
    assert repo.markers() == []
    output = result.output
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit), output
    if (command, variant) == ("remote-file-url", "other-owner"):
        # a file:// URL goes through git's own transport, whose upload-pack refuses a
        # repository owned by another user (docs/security.md): one line, exit 2
        expected = 2
        assert "dubious ownership" in output and len(output.strip().splitlines()) == 2
    assert result.exit_code == expected, output
    assert elapsed < BOUND_SECONDS
    assert key("hostile") not in output and key("hostile-worktree") not in output
    if command in ("scan", "scan-pool", "no-history", "incremental"):
        # the work tree was read: the untracked key is reported
        json_result = CliRunner().invoke(
            leakguard_app(), ["scan", "-f", "json", "-j", "1", "--no-history", str(repo.target)]
        )
        assert "local.env" in json_result.output
        assert repo.markers() == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_git_started_early_runs_no_repository_program(
    armed: dict[str, Armed], variant: str
) -> None:
    """The console script starts a scan's git processes before it loads (git_early): they
    are built like every other, and the scan that takes them over still finds the keys."""
    repo = armed[variant]
    started = git_early.begin(repo.target)
    assert started is (variant != "gitdir-file")  # a .git file is left to the scan's plan
    try:
        result = CliRunner().invoke(
            leakguard_app(), ["scan", "-j", "2", "-f", "json", str(repo.target)]
        )
    finally:
        git_early.end()
    assert repo.markers() == []
    assert "Traceback" not in result.output
    assert result.exit_code == 1, result.output
    assert "git_started_early" in result.output or not started


def test_the_markers_work_with_plain_git(tmp_path: Path) -> None:
    """The control: git itself, asked the usual questions, runs the repository's programs."""
    marks = tmp_path / "marks"
    repo = build_hostile(tmp_path, marks, variant="config")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env |= {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    config = repo / ".git" / "config"
    text = config.read_text()
    process_line = next(line for line in text.splitlines() if "process =" in line)
    config.write_text(text.replace(process_line + "\n", ""))  # else it preempts clean

    def git(*args: str, input: bytes | None = None) -> None:
        subprocess.run(
            ["git", "-C", str(repo), *args], env=env, capture_output=True, input=input, check=False
        )

    git("status")
    git("log", "-1")
    git("log", "-p", "--ext-diff", "-2")
    git("credential", "fill", input=b"protocol=https\nhost=example.com\n\n")
    git("commit", "-q", "--allow-empty", "-m", "x")
    config.write_text(text)
    os.utime(repo / "config.env", (1_500_000_000, 1_500_000_000))  # git must hash it again
    git("status")
    assert {
        "fsmonitor",
        "filter-clean",
        "filter-process",
        "gpg-program",
        "diff-command",
        "credential-helper",
        "hook",
    } <= set(os.listdir(marks))


def test_ext_urls_are_refused_by_the_runner(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    script = tmp_path / "ext"
    script.write_text(f'#!/bin/sh\ntouch "{marks}/ext"\n')
    script.chmod(0o755)
    url = f"ext::{script}"
    proc = git_run.run(["clone", "-q", "--mirror", "--", url, str(tmp_path / "m.git")])
    assert proc.returncode != 0 and os.listdir(marks) == []
    # the control: git with protocol.allow=always runs it
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    subprocess.run(
        ["git", "-c", "protocol.allow=always", "clone", "-q", url, str(tmp_path / "c")],
        env=env,
        capture_output=True,
        check=False,
    )
    assert os.listdir(marks) == ["ext"]
    # typed as a target, an ext:: "URL" is neither a URL nor a path: one line, exit 2
    result = CliRunner().invoke(leakguard_app(), ["scan", url])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert os.listdir(marks) == ["ext"]
