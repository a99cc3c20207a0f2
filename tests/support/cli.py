"""The ``leakguard`` command line through typer's CliRunner."""

from __future__ import annotations

from typer.testing import CliRunner

from leakguard.cli import app as app_module


def run_cli(args: list[str]) -> tuple[int, str]:
    """Run ``leakguard ARGS`` in-process; its exit code and output."""
    if not app_module.app.registered_commands:
        app_module._register()
    result = CliRunner().invoke(app_module.app, args)
    return result.exit_code, result.output
