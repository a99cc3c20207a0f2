"""`leakguard sweep CONFIG`: scan every target of a sweep configuration into the findings store."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated

import typer

from leakguard.cli.errors import collect, raise_all
from leakguard.cli.scan import (
    ShopifyShop,
    VaultAddr,
    VerifyDryRun,
    VerifyEndpoint,
    build_verify_options,
)
from leakguard.errors import LeakguardError, UsageError
from leakguard.redact import terminal_safe
from leakguard.reports import html, sarif, sweep_json, sweep_text, write_private
from leakguard.reports.webhook import body, check_webhook_format
from leakguard.store.db import resolve_db_path
from leakguard.sweep.config import load_config
from leakguard.sweep.notify import WebhookError, post_json
from leakguard.sweep.runner import OnResult, SweepSettings, TargetOutcome, run_sweep
from leakguard.verify.sweep import SweepVerify

_FORMATS = ("text", "json", "html")
_DB_HELP = "Findings store (default: $LEAKGUARD_DB or the XDG state dir)."
_JOBS_HELP = "Worker processes (default: config `jobs:`, else one per core)."
_DASK_HELP = "Run the targets on this Dask scheduler (tcp://HOST:8786)."
_VERIFY_HELP = (
    "Ask each new credential's provider (its official host, read-only identity call) whether "
    "it is live, revoked or unknown; live raises its alert, revoked lowers it (evidence kept); "
    "answers are cached in the store (docs/verify.md). Off by default."
)


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
    db: Annotated[Path | None, typer.Option("--db", metavar="PATH", help=_DB_HELP)] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", metavar="N", help=_JOBS_HELP)] = None,
    output_format: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help="text, json or html.")
    ] = "text",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the report to FILE (0600); the summary then goes to stdout.",
        ),
    ] = None,
    dask: Annotated[str | None, typer.Option("--dask", metavar="URL", help=_DASK_HELP)] = None,
    webhook: Annotated[
        str | None,
        typer.Option("--webhook", metavar="URL", help="POST a redacted summary here."),
    ] = None,
    webhook_format: Annotated[
        str | None,
        typer.Option(
            "--webhook-format",
            metavar="FORMAT",
            help="The webhook body: json (LeakGuard's), slack or teams (accepted as-is by "
            "their incoming webhooks); default: config `webhook_format:`, else json.",
        ),
    ] = None,
    fail_on_target_error: Annotated[
        bool,
        typer.Option(
            "--fail-on-target-error",
            help="Exit 1 when a target fails (missing, corrupt...); also config "
            "`fail_on_target_error: true`.",
        ),
    ] = False,
    sarif_dir: Annotated[
        Path | None,
        typer.Option("--sarif-dir", metavar="DIR", help="Also write one SARIF file per target."),
    ] = None,
    rules: Annotated[
        list[Path] | None,
        typer.Option("--rules", metavar="DIR", help="A directory of extra rule files."),
    ] = None,
    verify: Annotated[bool, typer.Option("--verify", help=_VERIFY_HELP)] = False,
    verify_dry_run: VerifyDryRun = False,
    verify_endpoint: VerifyEndpoint = None,
    vault_addr: VaultAddr = None,
    shopify_shop: ShopifyShop = None,
) -> None:
    """Scan every target of CONFIG into the findings store and report what is new.

    **Exit codes:** 0 no new critical/high credential, 1 new critical or high credentials (or,
    with --fail-on-target-error, a failed target), 2 usage, input or environment error, 3
    internal error, 130 interrupted, 143 terminated (the store stays consistent). A failing
    target is reported and never stops the sweep. With --verify, a new credential its provider
    says is live counts one severity level higher, a revoked one as low.
    """
    problems: list[LeakguardError] = []
    collect(problems, check_sweep_format, output_format)
    if webhook_format is not None:
        collect(problems, check_webhook_format, webhook_format)
    if jobs is not None and jobs < 0:
        problems.append(UsageError(f"--jobs must be 0 or more, not {jobs}"))
    cfg = collect(problems, load_config, config)
    verifying = verify or verify_dry_run or (cfg is not None and cfg.verify)  # or `verify: true`
    verify_options = (
        collect(problems, build_verify_options, verify_endpoint, vault_addr, shopify_shop)
        if verifying
        else None
    )
    raise_all(problems)
    assert cfg is not None
    settings = SweepSettings(
        db=resolve_db_path(db),
        jobs=jobs if jobs is not None else cfg.jobs,
        dask=dask or cfg.dask,
        rules_dirs=tuple(rules or ()),
        verify=verifying,
        verify_options=SweepVerify(verify_options, dry_run=verify_dry_run)
        if verify_options is not None
        else SweepVerify(),
    )
    on_result = _sarif_writer(sarif_dir) if sarif_dir is not None else None
    report = run_sweep(cfg, settings, on_result=on_result)
    renderers = {"text": sweep_text.render, "json": sweep_json.render, "html": html.render}
    text = renderers[output_format](report)
    if output is None:
        typer.echo(text, nl=False)
        if output_format != "text":  # stdout holds the report: the summary goes beside it
            typer.echo(sweep_text.render(report), nl=False, err=True)
    else:
        write_private(output, text)
        typer.echo(sweep_text.render(report), nl=False)  # stdout is free: the summary
    url = webhook or cfg.webhook
    if url:
        try:
            post_json(url, body(report, webhook_format or cfg.webhook_format))
        except WebhookError as exc:
            print(f"leakguard: warning: {terminal_safe(exc.diagnostics())}", file=sys.stderr)
    fail = fail_on_target_error or cfg.fail_on_target_error
    raise typer.Exit(report.exit_code(fail_on_target_error=fail))


def check_sweep_format(fmt: str) -> str:
    if fmt not in _FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint=f"use one of: {', '.join(_FORMATS)}")
    return fmt


def register(app: typer.Typer) -> None:
    app.command()(sweep)
