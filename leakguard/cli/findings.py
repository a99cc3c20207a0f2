"""`leakguard findings` commands."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Adds the `findings` command group (not yet implemented: registers nothing)."""
