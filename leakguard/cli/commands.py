"""Every command group, in the order `leakguard --help` lists them."""

from __future__ import annotations

from collections.abc import Callable

import typer

from leakguard.cli import audit, baseline, findings, graph, playbook, rules, scan, sweep

REGISTRARS: list[Callable[[typer.Typer], None]] = [
    scan.register,
    baseline.register,
    rules.register,
    findings.register,
    sweep.register,
    graph.register,
    playbook.register,
    audit.register,
]
