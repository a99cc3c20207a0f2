"""Which command lines start git's share of a history scan before the CLI has loaded
(:mod:`leakguard.cli.early`): one target and only options known not to change the history read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer

from leakguard.cli import early
from tests.support.cli import leakguard_app


@pytest.mark.parametrize(
    ("args", "target"),
    [
        (["scan", "repo"], "repo"),
        (["scan", "repo", "-f", "json", "-o", "out.json"], "repo"),
        (["scan", "--format=sarif", "repo", "-q"], "repo"),
        (["scan", "-j", "2", "--rules", "my-rules", "--show-secrets", "repo"], "repo"),
        # an option's value is not a target, even when it could be a path
        (["scan", "-o", "report.json", "repo"], "repo"),
        (["scan", "--", "-odd-name"], "-odd-name"),
        # not a guess
        (["scan"], None),
        (["scan", "a", "b"], None),  # two targets
        (["scan", "-"], None),  # standard input
        (["scan", "repo", "--ref", "main"], None),
        (["scan", "repo", "--ref=main"], None),
        (["scan", "--incremental", "repo"], None),
        (["scan", "--include-unreachable", "repo"], None),
        (["scan", "--no-history", "repo"], None),
        (["scan", "--staged", "repo"], None),
        (["scan", "--range", "a..b", "repo"], None),
        (["scan", "--since-commit", "HEAD~3", "repo"], None),
        (["scan", "--help"], None),
        (["scan", "repo", "--frobnicate"], None),  # unknown: typer will say so
        (["scan", "-qv", "repo"], None),  # clustered short flags: not parsed here
        (["scan", "repo", "--quiet=yes"], None),
        (["baseline", "create", "repo"], None),
        (["-v", "scan", "repo"], None),
        ([], None),
    ],
)
def test_which_command_lines_name_one_repository(args: list[str], target: str | None) -> None:
    assert early.single_target(args) == target


def _scan_command() -> Any:
    group: Any = typer.main.get_command(leakguard_app())  # typer's own copy of click
    command = group.commands.get("scan")
    assert command is not None
    return command


def test_every_scan_option_is_classified() -> None:
    """An option added to `scan` must be placed: left out, it turns the guess off (safe), but a
    flag taken for an option with a value (or the reverse) would misread the targets."""
    known = early.VALUE_OPTIONS | early.FLAGS | early.PLANNING
    seen: set[str] = set()
    for param in _scan_command().params:
        if param.param_type_name != "option":
            continue
        for name in (*param.opts, *param.secondary_opts):
            seen.add(name)
            assert name in known, f"scan option {name} is not classified in leakguard.cli.early"
            if name in early.VALUE_OPTIONS:
                assert not param.is_flag, name
            if name in early.FLAGS:
                assert param.is_flag, name
    # (--help is click's own, not among the command's parameters)
    assert known - seen == {"--help"}, "options classified that `scan` no longer has"


def test_a_guess_on_a_plain_directory_starts_nothing(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    assert early.begin(["scan", str(tmp_path)]) is False
    assert early.begin(["scan", str(tmp_path / "missing")]) is False


@pytest.mark.parametrize(
    ("args", "guess"),
    [
        (["scan", "build"], early.WorkerGuess("build")),
        (["scan", "build", "-f", "json", "-o", "out.json", "-q"], early.WorkerGuess("build")),
        (["scan", "-j", "3", "build"], early.WorkerGuess("build", jobs=3)),
        (["scan", "--jobs=2", "--show-secrets", "build"], early.WorkerGuess("build", 2, True)),
        (["scan", "build", "--no-config", "-v"], early.WorkerGuess("build", use_config=False)),
        (["scan", "build", "--no-history"], early.WorkerGuess("build", history=False)),
        (["scan", "--output=r.sarif", "--format=sarif", "build"], early.WorkerGuess("build")),
        (["scan", "--", "-odd"], early.WorkerGuess("-odd")),
        # no guess: the options a guess does not know change the plan or the engine
        (["scan", "build", "--exclude", "*.map"], None),
        (["scan", "build", "--min-severity", "high"], None),
        (["scan", "build", "--rules", "mine"], None),
        (["scan", "build", "--verify"], None),  # keeps the values in memory
        (["scan", "build", "--max-file-size", "1MB"], None),
        (["scan", "build", "-j", "two"], None),
        (["scan", "build", "-j", "-1"], None),
        (["scan", "build", "-j"], None),
        (["scan", "build", "-q=yes"], None),
        (["scan", "a", "b"], None),
        (["scan", "-"], None),
        (["scan"], None),
        (["sweep", "build"], None),
    ],
)
def test_which_command_lines_guess_a_directory_scan(
    args: list[str], guess: early.WorkerGuess | None
) -> None:
    assert early.worker_guess(args) == guess


def test_every_option_a_guess_knows_is_a_scan_option() -> None:
    """The guess's options are read as `scan` reads them: those with a value take one."""
    options = {
        name: param
        for param in _scan_command().params
        if param.param_type_name == "option"
        for name in param.opts
    }
    for name in early.WORKER_VALUE_OPTIONS:
        assert not options[name].is_flag, name
    for name in early.WORKER_FLAGS:
        assert options[name].is_flag, name


@pytest.mark.parametrize("jobs", [0, 1, 2, 7])
@pytest.mark.parametrize("show_secrets", [False, True])
@pytest.mark.parametrize("history", [False, True])
def test_the_guessed_options_are_those_the_cli_builds(
    jobs: int, show_secrets: bool, history: bool
) -> None:
    from leakguard.cli.scan import build_options

    built = build_options(jobs=jobs, show_secrets=show_secrets, no_history=not history)
    assert early.guessed_options(jobs, show_secrets, history=history) == built


def test_a_directory_guess_forks_nothing_for_a_repository_or_a_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    assert early.begin_workers(["scan", str(tmp_path / "notes.txt"), "-j", "2"]) == 0
    assert early.begin_workers(["scan", str(tmp_path / "repo"), "-j", "2"]) == 0
    assert early.begin_workers(["scan", str(tmp_path / "missing"), "-j", "2"]) == 0
    assert early.begin_workers(["scan", str(tmp_path), "-j", "1"]) == 0  # one worker: itself


def test_a_directory_guess_forks_only_for_a_tree_large_enough_for_two_workers(
    tmp_path: Path,
) -> None:
    from leakguard import early_worker
    from leakguard.sources.filesystem import MIN_BATCH_BYTES

    assert early.LARGE_BYTES == MIN_BATCH_BYTES  # smaller: one batch, scanned in one process
    small = tmp_path / "small"
    (small / "src").mkdir(parents=True)
    (small / "src" / "app.js").write_bytes(b"x" * (early.LARGE_BYTES - 1))
    (small / "link").symlink_to("/usr")  # not followed
    assert early._large(str(small)) is False
    assert early.begin_workers(["scan", str(small), "-j", "2"]) == 0
    (small / "src" / "more.js").write_bytes(b"x")
    assert early._large(str(small)) is True
    many = tmp_path / "many"
    many.mkdir()
    for n in range(early.LOOK_ENTRIES + 1):
        (many / f"f{n}").touch()
    assert early._large(str(many)) is True  # not looked at to the end
    try:
        assert early.begin_workers(["scan", str(small), "-j", "2"]) == 1
    finally:
        early_worker.end()
        early_worker._started = None
