"""The ``leakguard`` command. Each command group lives in its own module and registers itself."""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

from leakguard import __version__
from leakguard.errors import LeakguardError


class _GuardedGroup(TyperGroup):
    """Turns a LeakguardError from any command into its diagnostic and exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except LeakguardError as exc:
            if _verbose:
                raise
            typer.echo(f"leakguard: error: {exc.diagnostics()}", err=True)
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    cls=_GuardedGroup,
    name="leakguard",
    help=(
        "Find leaked credentials in code, git history, bundles, archives and logs; map who uses "
        "them; rotate them without an outage.\n\n"
        "Start with `leakguard scan PATH`. Exit codes: 0 nothing found, 1 findings, 2 usage or "
        "input error."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode="markdown",
)

_verbose = False


def verbose() -> bool:
    return _verbose


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(f"leakguard {__version__}")
        raise typer.Exit(0)


def _register() -> None:
    from leakguard.cli import commands

    for register in commands.REGISTRARS:
        register(app)


def main(argv: list[str] | None = None) -> None:
    global _verbose
    args = list(sys.argv[1:] if argv is None else argv)
    _verbose = "-v" in args or "--verbose" in args
    _register()
    try:
        app(args=args, prog_name="leakguard")
    except LeakguardError as exc:
        if _verbose:
            raise
        typer.echo(f"leakguard: error: {exc.diagnostics()}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
