"""Every command group, in the order `leakguard --help` lists them.

Modules are imported only when needed: `leakguard scan` does not pay for the graph, store or
playbook machinery (networkx alone costs a quarter of a second to import).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

import typer

#: top-level command name -> the leakguard.cli module that registers it
COMMANDS: dict[str, str] = {
    "scan": "scan",
    "baseline": "baseline",
    "rules": "rules",
    "findings": "findings",
    "sweep": "sweep",
    "graph": "graph",
    "playbook": "playbook",
    "audit": "audit",
    "demo": "demo",
}

Registrar = Callable[[typer.Typer], None]


def registrars(args: Sequence[str] | None = None) -> list[Registrar]:
    """The registrar of the command ``args`` names, or every registrar (help, unknown names)."""
    name = next((a for a in args or () if not a.startswith("-")), None)
    modules = [COMMANDS[name]] if name in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    found: list[Registrar] = []
    for module in modules:
        found.append(importlib.import_module(f"leakguard.cli.{module}").register)
    return found
