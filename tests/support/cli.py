"""The ``leakguard`` command line through typer's CliRunner."""

from __future__ import annotations

import functools

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
