"""The command line speaks in one line per problem: a missing target or an unknown option is one
usage line (exit 2), every bad input of a scan is reported together, help shows what to type,
and shell completion is offered."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.cli import leakguard_app

REPO = Path(__file__).resolve().parents[3]


def _main(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real entry point (``leakguard.cli.entry.main``), as the installed command runs it."""
    return subprocess.run(
        [sys.executable, "-c", "from leakguard.cli.entry import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "100", **(env or {})},
        timeout=60,
    )


def test_scan_without_a_target_is_one_usage_line() -> None:
    res = _main("scan")
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.splitlines() == [
        "leakguard: error: missing TARGET... (usage: leakguard scan [OPTIONS] TARGET...; "
        "--help for more)"
    ]


@pytest.mark.parametrize(
    ("args", "says"),
    [(["scan", ".", "--nope"], "No such option: --nope"), (["scan", "-j", "x", "."], "'--jobs'")],
)
def test_a_command_line_click_cannot_parse_is_one_line(args: list[str], says: str) -> None:
    res = _main(*args)
    assert res.returncode == 2 and res.stdout == ""
    (line,) = res.stderr.splitlines()
    assert line.startswith("leakguard: error: ") and says in line and "usage:" in line


def test_every_bad_input_of_a_scan_is_reported_together(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        leakguard_app(),
        ["scan", str(tmp_path / "a"), str(tmp_path / "b"), "-f", "xml", "--min-severity",
         "urgent", "--max-file-size", "3XB", "-j", "-1", "--baseline", str(tmp_path / "no.json")],
    )  # fmt: skip
    assert res.exit_code == 2 and res.stdout == ""
    errors = [line for line in res.stderr.splitlines() if line.startswith("leakguard: error:")]
    assert len(errors) == 7, res.stderr
    for part in ("'xml'", "/a: no such file", "/b: no such file", "'urgent'", "'3XB'", "--jobs",
                 "baseline not found"):  # fmt: skip
        assert sum(part in e for e in errors) == 1, (part, errors)


def test_help_shows_what_to_type_not_python_types() -> None:
    for command in (["scan"], ["sweep"], ["findings", "list"], ["baseline", "audit"], []):
        res = CliRunner().invoke(leakguard_app(), [*command, "--help"])
        assert res.exit_code == 0
        for python in ("<bool>", "<list[str]>", "<path>", "<int>", "{targets}", "<str>"):
            assert python not in res.stdout, (command, python)
    scan_help = CliRunner().invoke(leakguard_app(), ["scan", "--help"]).stdout
    assert "leakguard scan [OPTIONS] TARGET..." in scan_help


def test_shell_completion_is_offered() -> None:
    res = CliRunner().invoke(leakguard_app(), ["--help"])
    assert "--install-completion" in res.stdout and "--show-completion" in res.stdout
    # typer detects the shell from the parent processes, and pytest's need not be one (run from
    # a CI agent or a background job, "Shell  not supported"): its own test switch names it
    shown = _main(
        "--show-completion", "bash", env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    )
    assert shown.returncode == 0 and "_leakguard_completion" in shown.stdout
    assert "complete " in shown.stdout
    # what bash asks when the user presses Tab after `leakguard sweep --webhook-f`
    asked = {"_LEAKGUARD_COMPLETE": "complete_bash", "COMP_CWORD": "2"}
    words = "leakguard sweep --webhook-f"
    done = _main(env={**asked, "COMP_WORDS": words})
    assert done.returncode == 0 and done.stdout.split() == ["--webhook-format"]
