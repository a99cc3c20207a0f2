"""`leakguard baseline create`: record the credentials present now, to report only new ones."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leakguard.baseline import Baseline
from leakguard.cli.scan import (
    CacheDir,
    Jobs,
    MaxFileSize,
    NoHistory,
    Refs,
    Rules,
    Targets,
    Unreachable,
    build_options,
    check_output,
    check_targets,
    progress_bar,
)
from leakguard.redact import terminal_safe
from leakguard.reports.text import summary
from leakguard.scanner import run_scan

baseline_app = typer.Typer(
    name="baseline",
    help="Accept the credentials present today, so `scan --baseline` reports only new ones.",
    no_args_is_help=True,
)


@baseline_app.command("create", no_args_is_help=True)
def create(
    targets: Targets,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", metavar="FILE", help="The baseline file to write (0600)."),
    ],
    rules: Rules = None,
    jobs: Jobs = 0,
    no_history: NoHistory = False,
    include_unreachable: Unreachable = False,
    ref: Refs = None,
    cache_dir: CacheDir = None,
    max_file_size: MaxFileSize = "100MB",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Tracebacks on error.")] = False,
) -> None:
    """Scan TARGET... and write the fingerprints of every credential found to FILE.

    The file holds SHA-256 fingerprints and rule ids, never secrets. Because it is keyed by
    fingerprint, a baselined credential stays suppressed when its line moves or its commit is
    rebased.

    **Example:** `leakguard baseline create . -o .leakguard-baseline.json`, then
    `leakguard scan . --baseline .leakguard-baseline.json`.

    **Exit codes:** 0 written, 2 usage, input or environment error (the previous file is left
    unchanged), 3 internal error, 130 interrupted, 143 terminated.
    """
    check_output(output)
    check_targets(targets)
    options = build_options(
        rules=rules,
        jobs=jobs,
        no_history=no_history,
        include_unreachable=include_unreachable,
        refs=ref,
        cache_dir=cache_dir,
        max_file_size=max_file_size,
    )
    with progress_bar(not quiet) as progress:
        result = run_scan(targets, options, progress=progress)
    count = Baseline.write(output, result.findings)
    if not quiet:
        shown = terminal_safe(str(output))
        typer.echo(f"wrote {count} credential fingerprint(s) to {shown}", err=True)
        typer.echo(summary(result), err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(baseline_app)
