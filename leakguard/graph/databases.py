"""Who is connected to a database, as graph evidence: database roles as identity nodes, the
applications holding connections as consumers that ``authenticates_as`` the role, and the leaked
connection URLs of that role linked to it, so ``blast-radius`` of a leaked database password
lists the applications connected as its role.

The server is named by the user (``leakguard graph build --database DSN``), never by scanned
content, and read only: one SELECT on ``pg_stat_activity`` (PostgreSQL) or the processlist
(MariaDB/MySQL). The caller (the CLI) builds the administrator connection and passes it in as a
:class:`SessionSource`; this module never opens one.

Identities (the scheme strings of :mod:`leakguard.graph.interface`):

* ``postgres-role:<host>:<port>/<role>`` — a PostgreSQL role on one server
* ``mysql-user:<host>:<port>/<user>`` — a MariaDB/MySQL user on one server

A credential is a role's when its finding is a connection URL of the same engine (its rule, or
the playbook its rule names) whose user is the role and whose host is the server's host as the
DSN names it. The credential node is the URL's password (its fingerprint; the user is a part of
it), so the link joins the password that leaked to the role it opens.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from leakguard.errors import UsageError
from leakguard.graph import ids
from leakguard.graph.interface import ConsumerInfo, EdgeKind, Evidence, NodeKind
from leakguard.graph.queries import Graph

POSTGRES = "postgres"
MYSQL = "mysql"
_SCHEMES = {
    "postgres": POSTGRES,
    "postgresql": POSTGRES,
    "mysql": MYSQL,
    "mariadb": MYSQL,
}
_IDENTITY_SCHEME = {POSTGRES: "postgres-role", MYSQL: "mysql-user"}
_DEFAULT_PORT = {POSTGRES: 5432, MYSQL: 3306}
_EVIDENCE = {POSTGRES: "pg_stat_activity", MYSQL: "processlist"}
# the detector rules and playbooks of a connection URL, by engine
_RULES = {POSTGRES: ("postgres-url-password",), MYSQL: ("mysql-url-password",)}
_PLAYBOOKS = {POSTGRES: "postgres-", MYSQL: "mariadb-"}
OWN_APPLICATION = "leakguard"  # LeakGuard's own connections are not consumers
# where the administrator's password is read from (the playbooks' defaults)
ADMIN_PASSWORD_ENV = {
    POSTGRES: "LEAKGUARD_PG_ADMIN_PASSWORD",
    MYSQL: "LEAKGUARD_MARIADB_ADMIN_PASSWORD",
}


def role_identity(engine: str, host: str, port: int, role: str) -> str:
    """The schemed identity of a database role on one server."""
    return f"{_IDENTITY_SCHEME[engine]}:{host.lower()}:{port}/{role}"


def engine_of_scheme(scheme: str) -> str | None:
    return _SCHEMES.get(scheme.lower())


@dataclass(frozen=True, slots=True)
class DatabaseTarget:
    """A server to read, from the DSN the user gave: ``postgres://ADMIN@HOST:PORT/DB`` or
    ``mysql://ADMIN@HOST:PORT/``. The administrator's password never travels in it."""

    engine: str
    host: str
    port: int
    database: str
    user: str

    @classmethod
    def parse(cls, dsn: str) -> DatabaseTarget:
        parts = urllib.parse.urlsplit(dsn)
        engine = engine_of_scheme(parts.scheme)
        if engine is None or not parts.hostname:
            raise UsageError(
                "--database takes postgres://USER@HOST:PORT/DB or mysql://USER@HOST:PORT/",
                hint="the administrator's password comes from the environment, not the DSN",
            )
        if parts.password is not None:
            raise UsageError(
                "--database: the DSN holds a password (it would end up in shell history)",
                hint="give it without one; the password is read from "
                "$LEAKGUARD_PG_ADMIN_PASSWORD or $LEAKGUARD_MARIADB_ADMIN_PASSWORD",
            )
        try:
            port = parts.port or _DEFAULT_PORT[engine]
        except ValueError:
            raise UsageError("--database: the port is not a number") from None
        default_db = "postgres" if engine == POSTGRES else ""
        return cls(
            engine,
            parts.hostname,
            port,
            parts.path.lstrip("/") or default_db,
            urllib.parse.unquote(parts.username or ("postgres" if engine == POSTGRES else "root")),
        )

    @property
    def label(self) -> str:
        return f"{_EVIDENCE[self.engine]}:{self.host}:{self.port}"


class Session(Protocol):
    """One connection, as the backends report it."""

    @property
    def pid(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def client_addr(self) -> str: ...
    @property
    def application_name(self) -> str: ...
    @property
    def backend_start(self) -> str: ...
    @property
    def consumer(self) -> str: ...


class SessionSource(Protocol):
    """The administrator connection of a backend (``PostgresAdmin``, ``MariaDBAdmin``)."""

    def sessions(self, role: str | None = None) -> Sequence[Session]: ...


@dataclass(frozen=True, slots=True)
class DatabaseSource:
    target: DatabaseTarget
    server: SessionSource


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def link_credentials(
    graph: Graph, target: DatabaseTarget, observed_at: str
) -> dict[str, list[str]]:
    """Every credential whose finding is a connection URL of ``target``'s engine at its host,
    linked (``authenticates_as``) to the role its URL names; role -> credential nodes."""
    linked: dict[str, list[str]] = {}
    for node in sorted(graph.nodes_of(NodeKind.CREDENTIAL)):
        data = graph.node(node)
        role = data.get("id_user")
        host = str(data.get("id_host", "")).lower()
        if not role or host != target.host.lower() or not _is_url_of(data, target.engine):
            continue
        ident = graph.identity_node(role_identity(target.engine, target.host, target.port, role))
        detail = f"the leaked URL's user {role} at {target.host}"
        graph.add_edge(
            node, ident, EdgeKind.AUTHENTICATES_AS, Evidence(target.label, observed_at, detail)
        )
        linked.setdefault(str(role), []).append(node)
    return linked


def _is_url_of(data: Mapping[str, Any], engine: str) -> bool:
    rule = str(data.get("rule_id") or "")
    playbook = str(data.get("rotation") or "")
    return rule in _RULES[engine] or playbook.startswith(_PLAYBOOKS[engine])


def _group(sessions: Sequence[Session]) -> dict[tuple[str, str], list[Session]]:
    groups: dict[tuple[str, str], list[Session]] = {}
    for s in sessions:
        if s.application_name == OWN_APPLICATION or not s.role:
            continue
        groups.setdefault((s.role, s.consumer), []).append(s)
    return groups


def _detail(role: str, group: list[Session]) -> str:
    addrs = sorted({s.client_addr for s in group if s.client_addr})
    starts = sorted(s.backend_start for s in group if s.backend_start)
    since = f"oldest backend start {starts[0]}" if starts else f"first connection id {group[0].pid}"
    where = f" from {', '.join(addrs)}" if addrs else ""
    return f"{len(group)} session(s) as {role}{where}; {since}"


def consumer_node(graph: Graph, name: str, identity: str, evidence: Evidence) -> str:
    """The consumer connected as ``identity``: a declared consumer of that name when the graph
    has one (an inventory service whose application name it is), else an observed one."""
    declared = ids.consumer(name)
    if graph.has_node(declared) and graph.kind_of(declared) == NodeKind.CONSUMER:
        graph.add_edge(declared, graph.identity_node(identity), EdgeKind.AUTHENTICATES_AS, evidence)
        return declared
    info = ConsumerInfo(
        ids.consumer(f"{identity}@{name}"), name, kind="observed", identities=(identity,)
    )
    return graph.add_consumer(info, evidence, observed=True)


def record_sessions(
    graph: Graph, target: DatabaseTarget, sessions: Sequence[Session], observed_at: str
) -> int:
    """Add each (role, application) holding connections as a consumer that authenticates as
    the role and ``uses`` the role's leaked credentials; link those credentials to the role.
    Returns how many consumers were recorded."""
    linked = link_credentials(graph, target, observed_at)
    recorded = 0
    for (role, name), group in sorted(_group(sessions).items()):
        identity = role_identity(target.engine, target.host, target.port, role)
        evidence = Evidence(target.label, observed_at, _detail(role, group))
        consumer = consumer_node(graph, name, identity, evidence)
        for cred in linked.get(role, ()):
            graph.add_edge(consumer, cred, EdgeKind.USES, evidence)
        recorded += 1
    return recorded


def add_database(graph: Graph, source: DatabaseSource) -> int:
    """Read the server's sessions once and record them (see :func:`record_sessions`)."""
    return record_sessions(graph, source.target, source.server.sessions(None), _now())
