"""`leakguard findings`: list, show, triage and export what the findings store holds."""

from __future__ import annotations

import getpass
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from leakguard.cli.tables import render_table, stdout_style
from leakguard.errors import UsageError
from leakguard.model import Severity
from leakguard.redact import escape_terminal, fingerprint, looks_like_credential, terminal_safe
from leakguard.reports import write_private
from leakguard.store.db import resolve_db_path
from leakguard.store.findings import (
    STATUSES,
    CredentialFilter,
    FindingsStore,
    StoredCredential,
    check_status,
)

findings_app = typer.Typer(
    name="findings",
    help="Triage the credentials in the findings store (filled by `leakguard sweep`).",
    no_args_is_help=True,
)

_DB_HELP = "Findings store (default: $LEAKGUARD_DB or the XDG state dir)."
Db = Annotated[Path | None, typer.Option("--db", metavar="PATH", help=_DB_HELP)]
Format = Annotated[str, typer.Option("--format", "-f", help="text or json.")]
Providers = Annotated[list[str] | None, typer.Option("--provider", help="Only this provider.")]
Severities = Annotated[list[str] | None, typer.Option("--severity", help="Only this severity.")]
Statuses = Annotated[list[str] | None, typer.Option("--status", help="Only this triage status.")]
Repositories = Annotated[
    list[str] | None,
    typer.Option("--repository", "--repo", help="Only credentials seen in this target."),
]
_FINGERPRINT = re.compile(r"^(?:sha256:[0-9a-f]{0,64}|[0-9a-f]{1,64})$")
Fingerprint = Annotated[str, typer.Argument(help="A fingerprint or a unique prefix of it.")]


def _open(db: Path | None) -> FindingsStore:
    path = resolve_db_path(db)
    if not path.exists():
        raise UsageError(
            f"no findings store at {path}",
            hint="run `leakguard sweep CONFIG` first, or pass --db PATH",
        )
    return FindingsStore.open(path)


def _check_format(fmt: str) -> str:
    if fmt not in ("text", "json"):
        raise UsageError(f"unknown format {fmt!r}", hint="use text or json")
    return fmt


def _filter(
    provider: list[str] | None,
    severity: list[str] | None,
    status: list[str] | None,
    repository: list[str] | None,
) -> CredentialFilter:
    return CredentialFilter(
        providers=tuple(provider or ()),
        severities=tuple(Severity.parse(s) for s in severity or ()),
        statuses=tuple(check_status(s) for s in status or ()),
        repositories=tuple(repository or ()),
    )


_LIST_HEADERS = (
    "FINGERPRINT",
    "SEVERITY",
    "PROVIDER",
    "CREDENTIAL",
    "STATUS",
    "EXPOSURE",
    "SEEN IN",
)
_LIST_WIDTHS = (19, 8, 16, 40, 14, 8, 60)


def _row(c: StoredCredential) -> tuple[str, ...]:
    return (
        c.fingerprint[:19],
        c.severity.label,
        escape_terminal(c.provider),
        escape_terminal(c.redacted),
        c.status,
        "present" if c.present else "removed",
        terminal_safe(", ".join(c.targets)),
    )


def _check_fingerprint(value: str) -> str:
    """A fingerprint or a prefix of one. Anything else is never echoed: a person may have
    pasted the key itself, so the error gives that value's fingerprint instead."""
    if _FINGERPRINT.match(value):
        return value
    if looks_like_credential(value):
        raise UsageError(
            "expected a fingerprint, but that value looks like a credential (not shown); "
            f"its fingerprint is {fingerprint(value)}",
            hint="pass the fingerprint (sha256:…) or a unique prefix of it",
        )
    raise UsageError(
        "expected a fingerprint (sha256: and hex digits) or a unique prefix of one",
        hint="list them with `leakguard findings list`",
    )


def list_findings(
    provider: Providers = None,
    severity: Severities = None,
    status: Statuses = None,
    repository: Repositories = None,
    output_format: Format = "text",
    db: Db = None,
    live: Annotated[
        bool,
        typer.Option("--live", help="Only credentials the provider last said are live (--verify)."),
    ] = False,
) -> None:
    """List credentials, most severe first."""
    fmt = _check_format(output_format)
    with _open(db) as store:
        creds = store.credentials(_filter(provider, severity, status, repository))
        if live:
            from leakguard.store.verifications import VerificationCache

            alive = VerificationCache(store.db).live_fingerprints()
            creds = [c for c in creds if c.fingerprint in alive]
    if fmt == "json":
        typer.echo(
            json.dumps({"version": 1, "credentials": [c.to_dict() for c in creds]}, indent=2)
        )
        return
    if creds:
        colour, width = stdout_style()
        text = render_table(
            _LIST_HEADERS,
            [_row(c) for c in creds],
            max_widths=_LIST_WIDTHS,
            severities=[c.severity.label for c in creds],
            severity_column=1,
            colour=colour,
            width=width,
        )
        typer.echo(text, nl=False)
    typer.echo(f"{len(creds)} credential(s)")


def show(
    fingerprint: Fingerprint,
    output_format: Format = "text",
    db: Db = None,
) -> None:
    """Show one credential: every occurrence with provenance, and its triage history."""
    fmt = _check_format(output_format)
    wanted = _check_fingerprint(fingerprint)
    with _open(db) as store:
        c = store.credential(wanted)
    if fmt == "json":
        typer.echo(json.dumps(c.to_dict(detail=True), indent=2))
        return
    head = f"{c.title} ({c.rule_id}), {c.severity.label}, {c.redacted}"
    typer.echo(f"{c.fingerprint}\n  {escape_terminal(head)}")
    typer.echo(f"  status: {c.status}; first seen {c.first_seen}; last seen {c.last_seen}")
    for o in c.occurrences:
        loc = o.location
        where = f"{loc.get('path')}:{loc.get('line')}"
        if loc.get("commit"):
            where += f" @ {str(loc['commit'])[:12]}"
        state = "present" if o.present else f"removed {o.removed_at}"
        prov = ", ".join(f"{k}={v}" for k, v in sorted(o.provenance.items()))
        line = f"  - {o.target}: {where} [{o.source_kind}] {state}" + (f" ({prov})" if prov else "")
        typer.echo(terminal_safe(line))
    for h in c.history:
        line = f"  * {h.at} {h.by}: {h.previous} -> {h.status}" + (
            f": {h.reason}" if h.reason else ""
        )
        typer.echo(terminal_safe(line))


def set_status(
    fingerprint: Fingerprint,
    status: Annotated[str, typer.Argument(help=" | ".join(STATUSES))],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the history).")] = "",
    by: Annotated[str | None, typer.Option("--by", help="Who (default: current user).")] = None,
    db: Db = None,
) -> None:
    """Change a credential's triage status; who, when and why are recorded."""
    check_status(status)
    wanted = _check_fingerprint(fingerprint)
    who = by or getpass.getuser()
    with _open(db) as store:
        change = store.set_status(wanted, status, by=who, reason=reason)
    typer.echo(f"{change.fingerprint[:19]}: {change.previous} -> {change.status} by {change.by}")


def export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    provider: Providers = None,
    severity: Severities = None,
    status: Statuses = None,
    repository: Repositories = None,
    db: Db = None,
) -> None:
    """Export credentials with occurrences, provenance and history as JSON (redacted)."""
    with _open(db) as store:
        creds = store.credentials(_filter(provider, severity, status, repository), detail=True)
    text = (
        json.dumps({"version": 1, "credentials": [c.to_dict(detail=True) for c in creds]}, indent=2)
        + "\n"
    )
    if output is None:
        typer.echo(text, nl=False)
    else:
        write_private(output, text)


def verify(
    fingerprints: Annotated[
        list[str], typer.Argument(metavar="FINGERPRINT...", help="Fingerprints or unique prefixes.")
    ],
    db: Db = None,
    output_format: Format = "text",
    verify_endpoint: Annotated[
        list[str] | None,
        typer.Option(
            "--verify-endpoint",
            metavar="NAME=URL",
            help="Tests and sandboxes only: send verifier NAME's calls to URL "
            "(default: $LEAKGUARD_VERIFY_ENDPOINTS).",
        ),
    ] = None,
    vault_addr: Annotated[
        str | None,
        typer.Option("--vault-addr", metavar="URL", help="Vault/OpenBao server for Vault tokens."),
    ] = None,
    shopify_shop: Annotated[
        list[str] | None,
        typer.Option(
            "--shopify-shop", metavar="SHOP", help="Shop whose Admin API is asked (repeatable)."
        ),
    ] = None,
) -> None:
    """Ask each stored credential's provider whether it is still live (docs/verify.md).

    The store holds no values: each credential's recorded targets are read again, in memory,
    to find its value; the answer is cached in the store. Exit 1 when any is live."""
    from leakguard.cli.scan import build_verify_options
    from leakguard.options import ScanOptions
    from leakguard.store.verifications import VerificationCache
    from leakguard.verify.stored import verify_stored

    fmt = _check_format(output_format)
    options = build_verify_options(verify_endpoint, vault_addr, shopify_shop)
    with _open(db) as store:
        creds = [store.credential(_check_fingerprint(fp)) for fp in fingerprints]
        answers = verify_stored(
            creds, ScanOptions(), replace(options, refresh=True), cache=VerificationCache(store.db)
        )
    if fmt == "json":
        doc = [{"fingerprint": c.fingerprint, "verification": a.to_dict()} for c, a in answers]
        typer.echo(json.dumps({"version": 1, "credentials": doc}, indent=2))
    else:
        for c, a in answers:
            who = ", ".join(f"{k}={v}" for k, v in a.identity)
            line = f"{c.fingerprint[:19]}  {c.redacted}  {a.status}  {a.detail}"
            typer.echo(terminal_safe(line + (f"  ({who})" if who else "")))
    raise typer.Exit(1 if any(a.status == "live" for _, a in answers) else 0)


findings_app.command("list")(list_findings)
findings_app.command("verify")(verify)
findings_app.command("show")(show)
findings_app.command("set-status")(set_status)
findings_app.command("export")(export)


def register(app: typer.Typer) -> None:
    app.add_typer(findings_app, name="findings")
