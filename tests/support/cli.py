"""The ``leakguard`` command line through typer's CliRunner."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

from leakguard.cli import app as app_module


@functools.cache
def leakguard_app() -> typer.Typer:
    """The ``leakguard`` typer app with every command registered (once per test process)."""
    app_module._register()
    return app_module.app


def run_cli(args: list[str]) -> tuple[int, str]:
    """Run ``leakguard ARGS`` in-process; its exit code and output."""
    result = CliRunner().invoke(leakguard_app(), args)
    return result.exit_code, result.output


REPO = Path(__file__).resolve().parents[2]
#: what the installed ``leakguard`` command runs (its early starts and fast exit included)
ENTRY = "from leakguard.cli.entry import main; main()"


def console_script(
    args: list[str], cwd: Path, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    """``leakguard ARGS`` as the installed command runs it, in ``cwd`` (its state and cache
    there too); ``env`` adds to the environment."""
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={
            **os.environ,
            "PYTHONPATH": str(REPO),
            "XDG_STATE_HOME": str(cwd / "state"),
            "XDG_CACHE_HOME": str(cwd / "cache"),
            **env,
        },
    )
