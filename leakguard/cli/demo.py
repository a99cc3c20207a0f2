"""`leakguard demo`: the whole path from a leak to a verified rotation, on the example estate,
against a local sandbox. Exit 0 only when every step reached its goal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo_cmd(
    workdir: Annotated[
        Path | None,
        typer.Option(
            "--workdir", help="Work here (new or empty; kept). Default: a new temporary directory."
        ),
    ] = None,
) -> None:
    """Scan the demo app, map its estate, then plan, rehearse, run and verify the rotation of
    its leaked Stripe key against a local OpenBao and moto (needs the `sandbox` extra)."""
    from leakguard.demo import DemoOptions, run_demo  # here: `--help` starts faster

    result = run_demo(DemoOptions(workdir=workdir), typer.echo)
    typer.echo(
        f"done in {result.seconds:.1f}s: {result.fingerprint} rotated (run {result.run_id}, "
        f"version {result.new_version}); consumers moved: {', '.join(result.consumers)}"
    )
    typer.echo(
        f"outputs in {result.workdir}: report.json (the scan report), lg.db (findings, graph, run "
        f"journal), {result.audit_trail.relative_to(result.workdir)} (the audit trail)"
    )


def register(app: typer.Typer) -> None:
    """Adds the `demo` command."""
    app.command("demo")(demo_cmd)
