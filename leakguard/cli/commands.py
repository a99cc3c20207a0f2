"""Every command group, in the order `leakguard --help` lists them."""

from __future__ import annotations

from collections.abc import Callable

import typer

from leakguard.cli import scan

REGISTRARS: list[Callable[[typer.Typer], None]] = [
    scan.register,
]
