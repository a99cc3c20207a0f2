"""`leakguard graph` commands."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Adds the `graph` command group (not yet implemented: registers nothing)."""
