"""The ``leakguard`` command. Each command group lives in its own module and registers itself."""

from __future__ import annotations

import sys
import traceback
from typing import Any

import typer
from typer.core import TyperGroup

from leakguard import __version__
from leakguard.errors import LeakguardError

_VERBOSE = "leakguard.verbose"


def _wants_verbose(args: list[str]) -> bool:
    for arg in args:
        if arg == "--":
            return False
        if arg in ("-v", "--verbose"):
            return True
    return False


def report_error(exc: LeakguardError, *, verbose: bool) -> None:
    """One line (plus its hint) on stderr; with ``-v`` the traceback first. Locals are never
    shown, and error messages never hold secret values."""
    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    typer.echo(f"leakguard: error: {exc.diagnostics()}", err=True)


class _GuardedGroup(TyperGroup):
    """Turns a LeakguardError from any command into its diagnostic and exit code."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta[_VERBOSE] = _wants_verbose(args)
        result: list[str] = super().parse_args(ctx, args)
        return result

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except LeakguardError as exc:
            report_error(exc, verbose=bool(ctx.meta.get(_VERBOSE)))
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


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Show the traceback of an error (any command)."
    ),
) -> None:
    if version:
        typer.echo(f"leakguard {__version__}")
        raise typer.Exit(0)
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


def _register(args: list[str] | None = None) -> None:
    """Register the command ``args`` names (a faster start), or all commands."""
    from leakguard.cli import commands

    for register in commands.registrars(args):
        register(app)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = _wants_verbose(args)
    _register(args)
    try:
        app(args=args, prog_name="leakguard")
    except LeakguardError as exc:
        report_error(exc, verbose=verbose)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
