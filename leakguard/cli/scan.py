"""`leakguard scan`: parse options, call :func:`leakguard.scanner.run_scan`, render."""

from __future__ import annotations

from pathlib import Path

import typer

from leakguard.errors import EXIT_FINDINGS, EXIT_OK
from leakguard.model import Severity
from leakguard.options import ScanOptions
from leakguard.reports import render
from leakguard.scanner import run_scan


def scan(
    targets: list[str] = typer.Argument(..., help="Files, directories, repositories, bundles, URLs, or - for stdin."),
    output_format: str = typer.Option("text", "--format", "-f", help="text, json, jsonl or sarif."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the report here instead of stdout."),
    show_secrets: bool = typer.Option(False, "--show-secrets", help="Include secret values in the report."),
    baseline: Path | None = typer.Option(None, "--baseline", help="Report only credentials not in this baseline."),
    min_severity: str = typer.Option("info", "--min-severity", help="critical, high, medium, low or info."),
    rules: list[Path] = typer.Option([], "--rules", help="A directory of extra rule files (repeatable)."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Worker processes (0: one per core)."),
) -> None:
    """Scan targets for leaked credentials."""
    options = ScanOptions(
        show_secrets=show_secrets,
        baseline=baseline,
        min_severity=Severity.parse(min_severity),
        rules_dirs=tuple(rules),
        jobs=jobs,
    )
    result = run_scan(targets, options)
    text = render(result, output_format, show_secrets=show_secrets)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
    raise typer.Exit(EXIT_FINDINGS if result.findings else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command()(scan)
