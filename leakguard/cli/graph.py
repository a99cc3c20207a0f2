"""`leakguard graph`: build the credential dependency graph, show it, query it, export it.

Queries (`blast-radius`, `show`, `stale`, `rotation-order`) read the store through
:class:`leakguard.graph.stored.StoredGraph`, which never loads the graph; the builders,
networkx, YAML and the SDKs are imported only by the commands that need them, so a query
starts fast.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from leakguard.errors import GraphError, UsageError
from leakguard.graph import export
from leakguard.graph.ids import parse_store
from leakguard.graph.interface import ConsumerInfo, NodeKind
from leakguard.graph.stored import StoredGraph, open_view
from leakguard.store.db import resolve_db_path

if TYPE_CHECKING:
    from leakguard.graph.build import StoreSource
    from leakguard.graph.databases import DatabaseSource
    from leakguard.graph.queries import Graph

graph_app = typer.Typer(
    name="graph",
    help="Map where each leaked credential lives and who uses it (see docs/graph.md).",
    no_args_is_help=True,
)

Db = Annotated[
    Path | None,
    typer.Option("--db", help="Findings store holding the graph (default: $LEAKGUARD_DB)."),
]
Format = Annotated[str, typer.Option("--format", "-f", help="text or json.")]
Paths = list[Path] | None


def _fmt(fmt: str, allowed: tuple[str, ...] = ("text", "json")) -> str:
    if fmt not in allowed:
        raise UsageError(f"unknown format {fmt!r}", hint=f"use one of: {', '.join(allowed)}")
    return fmt


def _existing(db: Path | None) -> Graph:
    """The whole graph, loaded (the exports need every node)."""
    from leakguard.graph.build import load

    path = _store_path(db)
    return load(path)


def _view(db: Path | None) -> StoredGraph:
    """The stored graph as a query view: reads only what a query needs."""
    return open_view(_store_path(db))


def _store_path(db: Path | None) -> Path:
    path = resolve_db_path(db)
    if not path.exists():
        raise UsageError(
            f"no findings store at {path}",
            hint="build the graph first: `leakguard graph build --db PATH ...`",
        )
    return path


def vault_source(url: str, *, token_env: str, mount: str, prefix: str = "") -> StoreSource:
    """A Vault/OpenBao KV v2 mount to list, with the token read from ``token_env``."""
    from leakguard.backends.vault_kv2 import VaultKV2Store
    from leakguard.graph.build import StoreSource

    token = os.environ.get(token_env) or (
        os.environ.get("BAO_TOKEN") if token_env == "VAULT_TOKEN" else None
    )
    if not token:
        raise GraphError(
            f"no Vault token in ${token_env}",
            hint=f"export {token_env} with a read-only token (list and read on the mount)",
        )
    store = VaultKV2Store(url, token, mount)
    return StoreSource(store, f"vault:{url}/{mount}", prefix, mount)


def aws_source(*, endpoint: str | None, region: str | None, prefix: str = "") -> StoreSource:
    """AWS Secrets Manager through the default credential chain (a read-only role)."""
    from leakguard.backends.aws_secretsmanager import SecretsManagerStore
    from leakguard.graph.build import StoreSource

    store = SecretsManagerStore(endpoint_url=endpoint, region=region)
    where = endpoint or region or "default"
    return StoreSource(store, f"aws-secretsmanager:{where}", prefix)


def database_source(dsn: str) -> DatabaseSource:
    """A database server to read sessions from (read-only), as the administrator the DSN
    names; the password from $LEAKGUARD_PG_ADMIN_PASSWORD or $LEAKGUARD_MARIADB_ADMIN_PASSWORD."""
    from leakguard.graph import databases

    target = databases.DatabaseTarget.parse(dsn)
    var = databases.ADMIN_PASSWORD_ENV[target.engine]
    password = os.environ.get(var)
    if not password:
        raise GraphError(
            f"no password for the database administrator {target.user} in ${var}",
            hint=f"export {var} (a role that may read pg_stat_activity / the processlist)",
        )
    server: databases.SessionSource
    if target.engine == databases.POSTGRES:
        from leakguard.backends import postgres

        endpoint = postgres.Endpoint(target.host, target.port, target.database)
        server = postgres.PostgresAdmin(endpoint, target.user, password)
    else:
        from leakguard.backends import mariadb

        where = mariadb.Endpoint(target.host, target.port, target.database)
        server = mariadb.MariaDBAdmin(where, target.user, password)
    return databases.DatabaseSource(target, server)


def _json(value: object) -> None:
    typer.echo(json.dumps(value, indent=2, default=str))


@graph_app.command("build")
def build_cmd(
    db: Db = None,
    inventory: Annotated[
        Paths, typer.Option("--inventory", help="leakguard.yaml or an inventory/ directory.")
    ] = None,
    scan_report: Annotated[
        Paths, typer.Option("--scan-report", help="A `leakguard scan -f json` report.")
    ] = None,
    config_dir: Annotated[
        Paths,
        typer.Option("--config-dir", help="Directory of manifests, CI files, Terraform, code."),
    ] = None,
    vault: Annotated[
        str | None,
        typer.Option("--vault", help="Vault/OpenBao URL to list (token from --vault-token-env)."),
    ] = None,
    vault_token_env: Annotated[
        str, typer.Option("--vault-token-env", help="Variable holding a read-only token.")
    ] = "VAULT_TOKEN",
    vault_mount: Annotated[
        list[str] | None,
        typer.Option("--vault-mount", help="KV v2 mount(s) to list (default: secret)."),
    ] = None,
    vault_prefix: Annotated[
        str, typer.Option("--vault-prefix", help="Only list under this folder.")
    ] = "",
    aws_secrets: Annotated[
        bool, typer.Option("--aws-secrets", help="List AWS Secrets Manager.")
    ] = False,
    aws_endpoint: Annotated[
        str | None, typer.Option("--aws-endpoint", help="Endpoint URL (e.g. a local test server).")
    ] = None,
    aws_region: Annotated[str | None, typer.Option("--aws-region", help="AWS region.")] = None,
    aws_prefix: Annotated[
        str, typer.Option("--aws-prefix", help="Only secrets whose name starts so.")
    ] = "",
    vault_audit: Annotated[
        Paths, typer.Option("--vault-audit", help="Vault/OpenBao file audit log (or directory).")
    ] = None,
    cloudtrail: Annotated[
        Paths, typer.Option("--cloudtrail", help="CloudTrail JSON file, .json.gz, or directory.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only access evidence from this ISO time on.")
    ] = None,
    ignore_identity: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore-identity",
            help="Drop reads by this identity (e.g. the token LeakGuard lists the store with).",
        ),
    ] = None,
    no_findings: Annotated[
        bool, typer.Option("--no-findings", help="Do not read credentials from the findings store.")
    ] = False,
    database: Annotated[
        list[str] | None,
        typer.Option(
            "--database",
            help="postgres://ADMIN@HOST:PORT/DB or mysql://ADMIN@HOST:PORT/ to read sessions from "
            "(read-only; password from $LEAKGUARD_PG_ADMIN_PASSWORD / "
            "$LEAKGUARD_MARIADB_ADMIN_PASSWORD).",
        ),
    ] = None,
    database_log: Annotated[
        Paths,
        typer.Option(
            "--database-log",
            help="The --database PostgreSQL server's log with log_connections lines: consumers "
            "that connected and left.",
        ),
    ] = None,
    fmt: Format = "text",
) -> None:
    """Add evidence to the graph kept in the findings store (incremental: nothing is rebuilt)."""
    from leakguard.graph.build import BuildInputs, build
    from leakguard.graph.databases import with_logs

    _fmt(fmt)
    stores = []
    if vault:
        for mount in vault_mount or ["secret"]:
            stores.append(
                vault_source(vault, token_env=vault_token_env, mount=mount, prefix=vault_prefix)
            )
    if aws_secrets:
        stores.append(aws_source(endpoint=aws_endpoint, region=aws_region, prefix=aws_prefix))
    inputs = BuildInputs(
        inventory=tuple(inventory or ()),
        scan_reports=tuple(scan_report or ()),
        config_dirs=tuple(config_dir or ()),
        stores=tuple(stores),
        vault_audit=tuple(vault_audit or ()),
        cloudtrail=tuple(cloudtrail or ()),
        findings_store=not no_findings,
        since=since,
        ignore_identities=tuple(ignore_identity or ()),
        databases=with_logs(
            tuple(database_source(d) for d in database or ()), tuple(database_log or ())
        ),
    )
    summary = build(resolve_db_path(db), inputs)
    if fmt == "json":
        _json(summary.to_dict())
        return
    for source, n in summary.added.items():
        typer.echo(f"{source:<18} {n}")
    typer.echo(f"written: {summary.written_nodes} nodes, {summary.written_edges} edges changed")
    typer.echo(_counts_line(summary.counts))
    for warning in summary.warnings:
        typer.echo(f"warning: {warning}", err=True)


def _counts_line(counts: dict[str, int]) -> str:
    kinds = ", ".join(f"{counts.get(str(k), 0)} {k}" for k in NodeKind)
    edges = sum(v for k, v in counts.items() if k.startswith("edges:"))
    return f"graph: {kinds}; {edges} edges"


def _consumer_line(c: ConsumerInfo) -> str:
    target = export.shown_reload(c.reload)
    reload = c.reload.kind if target is None else f"{c.reload.kind} {target}"
    parts = [f"{c.name} ({c.kind})", f"reload: {reload}"]
    if c.environment:
        parts.append(f"env: {c.environment}")
    if c.identities:
        parts.append("as " + ", ".join(c.identities))
    return "  ".join(parts)


@graph_app.command("show")
def show_cmd(db: Db = None, fmt: Format = "text") -> None:
    """Summarise the graph: each credential with its leaks, stores and consumers."""
    _fmt(fmt)
    with _view(db) as graph:
        summary = export.summary(graph)
    if fmt == "json":
        _json(summary)
        return
    typer.echo(_counts_line(summary["counts"]))
    for r in summary["credentials"]:
        consumers = ", ".join(r["consumers"]) or "UNKNOWN: close this gap before rotating"
        typer.echo(
            f"{str(r['fingerprint'])[:19]}  {r['provider'] or '?':<10} {r['redacted'] or '':<22} "
            f"leaks {r['leaks']:<3} stores {len(r['stores']):<2} consumers: {consumers}"
        )


@graph_app.command("blast-radius")
def blast_radius_cmd(
    credential: Annotated[str, typer.Argument(help="A fingerprint or a unique prefix of it.")],
    db: Db = None,
    fmt: Format = "text",
) -> None:
    """Everything that depends on a credential: consumers, stores, identities, environments."""
    _fmt(fmt)
    with _view(db) as graph:
        radius = graph.blast_radius(credential)
        info = export.radius_dict(graph, radius)
    if fmt == "json":
        _json(info)
        return
    typer.echo(f"credential {radius.credential}  {info['provider']} {info['redacted']}")
    typer.echo(f"leaked at ({len(radius.leaks)}):")
    for leak in radius.leaks:
        typer.echo(f"  {leak.removeprefix('leak:')}")
    typer.echo(f"stored in ({len(radius.stores)}):")
    for store in radius.stores:
        typer.echo(f"  {store.id.removeprefix('store:')}")
    typer.echo(f"consumers ({len(radius.consumers)}):")
    for c in radius.consumers:
        typer.echo(f"  {_consumer_line(c)}")
    for key, read in info["reads"].items():
        versions = ", ".join(sorted(v or "?" for v in read["versions"]))
        typer.echo(f"  last read {key}: {read['last_read']} (versions {versions})")
    typer.echo("identities: " + (", ".join(radius.identities) or "-"))
    typer.echo("environments: " + (", ".join(radius.environments) or "-"))
    if radius.unknown_consumers:
        typer.echo("WARNING: no known consumer: find who uses this key before rotating it")


@graph_app.command("stale")
def stale_cmd(
    store: Annotated[str, typer.Argument(help="vault:MOUNT/PATH or aws:SECRET_NAME")],
    since: Annotated[str, typer.Option("--since", help="ISO 8601 time, e.g. the promotion.")],
    version: Annotated[
        str | None, typer.Option("--version", help="The version they must read.")
    ] = None,
    db: Db = None,
    fmt: Format = "text",
) -> None:
    """Consumers of a store entry that have not read it (that version) since a time."""
    _fmt(fmt)
    with _view(db) as graph:
        stale = graph.stale_consumers(parse_store(store), since, version)
    if fmt == "json":
        _json([export.consumer_dict(c) for c in stale])
        return
    for c in stale:
        typer.echo(_consumer_line(c))
    if not stale:
        typer.echo("every known consumer has read it since then")


@graph_app.command("rotation-order")
def rotation_order_cmd(
    credentials: Annotated[list[str], typer.Argument(help="Fingerprints (or prefixes).")],
    db: Db = None,
    fmt: Format = "text",
) -> None:
    """A safe order: stores before the consumers that reload from them; shared keys grouped."""
    _fmt(fmt)
    with _view(db) as graph:
        order = graph.rotation_order(credentials)
    if fmt == "json":
        _json(dataclasses.asdict(order))
        return
    for i, group in enumerate(order.groups, 1):
        typer.echo(f"group {i}: {', '.join(fp[:19] for fp in group)}")
    for i, step in enumerate(order.steps, 1):
        typer.echo(f"{i:>3}. {step}")
    for cycle in order.cycles:
        typer.echo("CYCLE: " + " -> ".join(cycle) + " (break it by hand: see docs/graph.md)")
    for warning in order.warnings:
        typer.echo(f"WARNING: {warning}", err=True)


@graph_app.command("export")
def export_cmd(
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="json (node-link), dot, mermaid or html.")
    ] = "json",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (default: stdout).")
    ] = None,
    credential: Annotated[
        str | None, typer.Option("--credential", help="Only this credential's blast radius.")
    ] = None,
    db: Db = None,
) -> None:
    """Export the graph (or one credential's neighbourhood)."""
    _fmt(fmt, export.FORMATS)
    if credential is None:
        graph = _existing(db)
        text = export.render(graph, fmt, export.neighbourhood(graph, None))
    else:
        with _view(db) as view:  # only the credential's neighbourhood is read
            keep = export.radius_nodes(view, credential)
            text = export.render(view.subgraph(keep), fmt, keep)
    if output is None:
        typer.echo(text, nl=False)
    else:
        from leakguard.reports import write_private

        write_private(output, text)  # a one-line error when it cannot be written
        typer.echo(f"wrote {output}", err=True)


def register(app: typer.Typer) -> None:
    """Adds the `graph` command group."""
    app.add_typer(graph_app)
