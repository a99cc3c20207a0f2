"""`leakguard sweep CONFIG`: scan every target of a sweep configuration into the findings store."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated

import typer

from leakguard.errors import EXIT_FINDINGS, EXIT_OK, UsageError
from leakguard.redact import escape_terminal, terminal_safe
from leakguard.reports import html, sarif, sweep_json, write_private
from leakguard.store.db import resolve_db_path
from leakguard.sweep.config import load_config
from leakguard.sweep.notify import WebhookError, post_json
from leakguard.sweep.outcome import SweepReport
from leakguard.sweep.runner import OnResult, SweepSettings, TargetOutcome, run_sweep

_FORMATS = ("text", "json", "html")
_DB_HELP = "Findings store (default: $LEAKGUARD_DB or the XDG state dir)."
_JOBS_HELP = "Worker processes (default: config `jobs:`, else one per core)."
_DASK_HELP = "Run the targets on this Dask scheduler (tcp://HOST:8786)."


def render_text(report: SweepReport) -> str:
    lines = [
        f"sweep #{report.sweep_id}: {len(report.targets)} target(s), {len(report.failed)} failed, "
        f"{len(report.credentials)} credential(s), {len(report.new)} new "
        f"({report.seconds:.1f} s)"
    ]
    for t in report.failed:
        lines.append(f"  FAILED {terminal_safe(t.target)}: {terminal_safe(t.error or '')}")
    if report.new:
        lines.append("new credentials since the last sweep:")
        for c in report.new:
            places = terminal_safe(", ".join(sorted({o.target for o in c.occurrences})))
            lines.append(
                f"  {c.severity.label:<8} {escape_terminal(c.provider):<10} "
                f"{escape_terminal(c.redacted):<24} {places}"
            )
    else:
        lines.append("no new credentials since the last sweep")
    return "\n".join(lines) + "\n"


def _sarif_writer(directory: Path) -> OnResult:
    """Write one SARIF file (0600) per target into ``directory``."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {directory}: {exc.strerror or exc}") from None

    def write(outcome: TargetOutcome) -> None:
        if outcome.result is None:
            return
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", outcome.label).strip("_") or "target"
        write_private(directory / f"{name}.sarif", sarif.render(outcome.result))

    return write


def sweep(
    config: Annotated[Path, typer.Argument(help="The sweep configuration (YAML).")],
    db: Annotated[Path | None, typer.Option("--db", help=_DB_HELP)] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help=_JOBS_HELP)] = None,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="text, json or html.")
    ] = "text",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report here, not stdout.")
    ] = None,
    dask: Annotated[str | None, typer.Option("--dask", help=_DASK_HELP)] = None,
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="POST a redacted JSON summary here.")
    ] = None,
    sarif_dir: Annotated[
        Path | None, typer.Option("--sarif-dir", help="Also write one SARIF file per target.")
    ] = None,
    rules: Annotated[
        list[Path] | None, typer.Option("--rules", help="A directory of extra rule files.")
    ] = None,
) -> None:
    """Scan every target of CONFIG into the findings store and report what is new.

    Exit codes: 0 no new critical/high credential, 1 new critical or high credentials, 2 usage,
    input or environment error, 3 internal error, 130 interrupted, 143 terminated (the store
    stays consistent). A failing target is reported and never stops the sweep.
    """
    if output_format not in _FORMATS:
        raise UsageError(
            f"unknown format {output_format!r}", hint=f"use one of: {', '.join(_FORMATS)}"
        )
    if jobs is not None and jobs < 0:
        raise UsageError("--jobs must be >= 0")
    cfg = load_config(config)
    settings = SweepSettings(
        db=resolve_db_path(db),
        jobs=jobs if jobs is not None else cfg.jobs,
        dask=dask or cfg.dask,
        rules_dirs=tuple(rules or ()),
    )
    on_result = _sarif_writer(sarif_dir) if sarif_dir is not None else None
    report = run_sweep(cfg, settings, on_result=on_result)
    renderers = {"text": render_text, "json": sweep_json.render, "html": html.render}
    text = renderers[output_format](report)
    if output is None:
        typer.echo(text, nl=False)
    else:
        write_private(output, text)
        if output_format != "text":
            typer.echo(render_text(report), nl=False, err=True)
    url = webhook or cfg.webhook
    if url:
        try:
            post_json(url, sweep_json.document(report, include_findings=False))
        except WebhookError as exc:
            print(f"leakguard: warning: {terminal_safe(exc.diagnostics())}", file=sys.stderr)
    raise typer.Exit(EXIT_FINDINGS if report.alerting() else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command()(sweep)
