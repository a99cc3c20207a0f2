"""`leakguard audit`: check a run's audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leakguard.errors import EXIT_FINDINGS, EXIT_OK
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
        typer.Option("--db", help="Also compare with the run journal in this store."),
    ] = None,
) -> None:
    """Detect a changed, reordered or removed entry (exit 1); exit 0 when the chain holds."""
    journal = Journal.open(db) if db is not None or resolve_db_path(None).exists() else None
    try:
        result = verify_trail(file, journal)
    finally:
        if journal is not None:
            journal.close()
    for problem in result.problems:
        typer.echo(f"{file}: {problem}", err=True)
    if result.ok:
        typer.echo(f"{file}: ok, {result.entries} entries, head {result.head[:16]}…")
        raise typer.Exit(EXIT_OK)
    raise typer.Exit(EXIT_FINDINGS)


def register(app: typer.Typer) -> None:
    """Adds the `audit` command group."""
    app.add_typer(audit_app)
