"""`leakguard audit`: check a run's audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leakguard.errors import EXIT_FINDINGS, EXIT_OK
from leakguard.redact import terminal_safe
from leakguard.rotation.journal import Journal
from leakguard.rotation.trail import verify_trail
from leakguard.store.db import resolve_db_path

audit_app = typer.Typer(
    name="audit", help="Check the audit trail of playbook runs.", no_args_is_help=True
)


@audit_app.command("verify")
def verify_cmd(
    file: Annotated[Path, typer.Argument(help="A run's audit trail (JSON lines).")],
    db: Annotated[
        Path | None,
        typer.Option("--db", help="The store whose run journal anchors the trail."),
    ] = None,
    chain_only: Annotated[
        bool,
        typer.Option(
            "--chain-only",
            help="Accept a check of the chain alone when the journal is not at hand "
            "(it cannot detect a trail rewritten from an entry onwards, cut or extended).",
        ),
    ] = False,
) -> None:
    """Detect a changed, reordered, removed or appended entry and a rewritten chain (exit 1)
    by checking the chain and the head the run journal recorded; exit 0 when both hold."""
    journal = Journal.open(db) if db is not None or resolve_db_path(None).exists() else None
    try:
        result, anchored = verify_trail(file, journal)
    finally:
        if journal is not None:
            journal.close()
    shown = terminal_safe(str(file))
    for problem in result.problems:
        typer.echo(f"{shown}: {terminal_safe(str(problem))}", err=True)
    if result.ok and not anchored:
        typer.echo(
            f"{shown}: the chain holds, but no run journal anchors this trail, so a rewritten, "
            "cut or extended trail cannot be told apart; pass --db with the store the run used "
            "(or --chain-only to accept the chain alone)",
            err=True,
        )
        if not chain_only:
            raise typer.Exit(EXIT_FINDINGS)
    if result.ok:
        typer.echo(f"{shown}: ok, {result.entries} entries, head {result.head[:16]}…")
        raise typer.Exit(EXIT_OK)
    raise typer.Exit(EXIT_FINDINGS)


def register(app: typer.Typer) -> None:
    """Adds the `audit` command group."""
    app.add_typer(audit_app)
