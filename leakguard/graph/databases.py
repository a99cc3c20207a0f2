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

A PostgreSQL connection log (``log_connections = on``; the server's own stderr log with the
default ``log_line_prefix = '%m [%p] '``) adds the consumers that connected and left: each
``connection authorized: user=… database=… application_name=…`` line, its time from the
prefix and its client address from the ``connection received: host=…`` line of the same
process id. The log is hostile input: lines longer than :data:`MAX_LOG_LINE` are skipped, no
regular expression can backtrack, and names are cut to printable characters.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from leakguard.errors import GraphError, UsageError
from leakguard.graph import ids
from leakguard.graph.interface import ConsumerInfo, EdgeKind, Evidence, NodeKind
from leakguard.graph.queries import Graph
from leakguard.graph.timefmt import canonical_time

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
    logs: tuple[Path, ...] = ()  # PostgreSQL connection logs of this server


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


def session_detail(role: str, group: Sequence[Session]) -> str:
    """What a consumer's sessions show: how many, from where, its application name, since."""
    addrs = sorted({s.client_addr for s in group if s.client_addr})
    starts = sorted(s.backend_start for s in group if s.backend_start)
    since = f"oldest backend start {starts[0]}" if starts else f"first connection id {group[0].pid}"
    where = f" from {', '.join(addrs)}" if addrs else ""
    app = _clean(group[0].application_name)
    named = f"; application_name {app}" if app else ""
    return f"{len(group)} session(s) as {role}{where}{named}; {since}"


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
        evidence = Evidence(target.label, observed_at, session_detail(role, group))
        consumer = consumer_node(graph, name, identity, evidence)
        for cred in linked.get(role, ()):
            graph.add_edge(consumer, cred, EdgeKind.USES, evidence)
        recorded += 1
    return recorded


def with_logs(
    sources: tuple[DatabaseSource, ...], logs: tuple[Path, ...]
) -> tuple[DatabaseSource, ...]:
    """The connection logs given to the one PostgreSQL server they belong to."""
    if not logs:
        return sources
    if len(sources) != 1 or sources[0].target.engine != POSTGRES:
        raise UsageError(
            "--database-log needs exactly one --database, a postgres:// one",
            hint="run graph build once per server, each with its own log",
        )
    source = sources[0]
    return (DatabaseSource(source.target, source.server, source.logs + logs),)


def add_database(graph: Graph, source: DatabaseSource) -> int:
    """Read the server's sessions once and record them (see :func:`record_sessions`), then the
    connections its logs show (see :func:`record_logged`); how many consumers were recorded."""
    now = _now()
    logged = [(log.name, read_connection_log(log)) for log in source.logs]  # a bad file first
    seen = record_sessions(graph, source.target, source.server.sessions(None), now)
    for name, connections in logged:
        seen += record_logged(graph, source.target, connections, name, now)
    return seen


# --- PostgreSQL connection logs ------------------------------------------------------------------

MAX_LOG_LINE = 8192  # longer lines are skipped: no connection line comes near it
MAX_NAME = 200  # role, database and application names are cut to this
_MAX_PENDING = 10_000  # "connection received" lines waiting for their "authorized" line
_RECEIVED = "connection received: "
_AUTHORIZED = "connection authorized: "
_LOG, _SEVERITY_END = "LOG", ":  "
# %m / %t at the start of the prefix: bounded, anchored, no nested repetition
_LOG_TIME = re.compile(
    r"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d{1,6})?) ?(UTC|GMT|[+-]\d\d(?::?\d\d)?)?"
)
_LOG_PID = re.compile(r"\[(\d{1,10})\]")


@dataclass(frozen=True, slots=True)
class LoggedConnection:
    """One ``connection authorized`` line: who logged in, from where, when (UTC, or "")."""

    role: str
    database: str
    application_name: str
    client_addr: str
    at: str

    @property
    def consumer(self) -> str:
        """Named as a live session of it would be: its application name, else its address."""
        return self.application_name or self.client_addr or "unnamed client"


def _clean(value: str) -> str:
    return "".join(c for c in value[: MAX_NAME * 2] if c.isprintable()).strip()[:MAX_NAME]


def _log_time(prefix: str) -> str:
    found = _LOG_TIME.match(prefix)
    if found is None:
        return ""
    day, clock, zone = found.groups()
    if zone is None:
        return ""  # a time without its zone (or a named local zone) is not a UTC time
    offset = "+00:00" if zone in ("UTC", "GMT") else zone
    if len(offset) == 3:
        offset += ":00"
    elif ":" not in offset:
        offset = f"{offset[:3]}:{offset[3:]}"
    try:
        return canonical_time(f"{day}T{clock}{offset}")
    except ValueError:
        return ""


def _authorized(message: str) -> tuple[str, str, str] | None:
    """``user=U database=D application_name=A [SSL enabled (…)] [GSS (…)]`` -> (U, D, A),
    cut from the right with plain string search (names may hold spaces)."""
    for tail in (" SSL enabled", " GSS ("):
        cut = message.find(tail)
        if cut >= 0:
            message = message[:cut]
    app = db = ""
    cut = message.find(" application_name=")
    if cut >= 0:
        message, app = message[:cut], message[cut + len(" application_name=") :]
    cut = message.find(" database=")
    if cut >= 0:
        message, db = message[:cut], message[cut + len(" database=") :]
    if not message.startswith("user="):
        return None
    return _clean(message[len("user=") :]), _clean(db), _clean(app)


def _lines(handle: Any) -> Iterator[str]:
    """The log's lines, each at most :data:`MAX_LOG_LINE` bytes (longer ones are skipped)."""
    while True:
        raw = handle.readline(MAX_LOG_LINE + 1)
        if not raw:
            return
        if len(raw) > MAX_LOG_LINE and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # the rest of the long line, in pieces
                raw = handle.readline(MAX_LOG_LINE + 1)
            continue
        yield raw.decode("utf-8", "replace").rstrip("\r\n")


def _connection(line: str, received: dict[str, str]) -> LoggedConnection | None:
    """The line's message is what follows its first ``SEVERITY:  ``; only a ``LOG`` message
    counts (a STATEMENT or DETAIL line may quote anything)."""
    cut = line.find(_SEVERITY_END)
    if cut < 0 or not line[:cut].endswith(_LOG):
        return None
    prefix, message = line[: cut - len(_LOG)], line[cut + len(_SEVERITY_END) :]
    pid = _LOG_PID.search(prefix)
    if message.startswith(_RECEIVED):
        host = message[len(_RECEIVED) :].split(" ", 1)[0]
        if pid is not None and host.startswith("host="):
            if len(received) >= _MAX_PENDING:
                received.pop(next(iter(received)))
            received[pid.group(1)] = _clean(host[len("host=") :])
        return None
    if not message.startswith(_AUTHORIZED):
        return None
    fields = _authorized(message[len(_AUTHORIZED) :])
    if fields is None or not fields[0]:
        return None
    addr = received.pop(pid.group(1), "") if pid is not None else ""
    return LoggedConnection(*fields, addr, _log_time(prefix))


def read_connection_log(path: Path) -> list[LoggedConnection]:
    """Every ``connection authorized`` line of a PostgreSQL log (see the module docstring)."""
    try:
        with path.open("rb") as handle:
            received: dict[str, str] = {}
            found = [c for c in (_connection(ln, received) for ln in _lines(handle)) if c]
    except OSError as exc:
        raise GraphError(
            f"the connection log {path} cannot be read: {exc.strerror or type(exc).__name__}",
            hint="give the server's log file (log_connections = on)",
        ) from None
    return found


def _logged_detail(role: str, group: list[LoggedConnection], log_name: str) -> str:
    addrs = sorted({c.client_addr for c in group if c.client_addr})
    times = sorted(c.at for c in group if c.at)
    where = f" from {', '.join(addrs)}" if addrs else ""
    app = group[0].application_name
    named = f"; application_name {app}" if app else ""
    last = f"; last at {times[-1]}" if times else ""
    return f"{len(group)} connection(s) authorized as {role}{where}{named}{last} ({log_name})"


def group_logged(
    connections: Sequence[LoggedConnection], role: str | None = None
) -> dict[tuple[str, str], list[LoggedConnection]]:
    """(role, consumer) -> its logged connections; LeakGuard's own are left out."""
    groups: dict[tuple[str, str], list[LoggedConnection]] = {}
    for c in connections:
        if c.application_name == OWN_APPLICATION or (role is not None and c.role != role):
            continue
        groups.setdefault((c.role, c.consumer), []).append(c)
    return groups


def logged_evidence(
    target: DatabaseTarget, role: str, group: list[LoggedConnection], log_name: str, now: str
) -> Evidence:
    """Evidence of a consumer from the log: observed at its last logged connection."""
    times = sorted(c.at for c in group if c.at)
    label = f"log_connections:{target.host}:{target.port}"
    return Evidence(label, times[-1] if times else now, _logged_detail(role, group, log_name))


def record_logged(
    graph: Graph,
    target: DatabaseTarget,
    connections: Sequence[LoggedConnection],
    log_name: str,
    observed_at: str,
) -> int:
    """Each (role, application) the log shows connecting, as a consumer that authenticates as
    the role and ``uses`` its leaked credentials; how many consumers were recorded."""
    linked = link_credentials(graph, target, observed_at)
    recorded = 0
    for (role, name), group in sorted(group_logged(connections).items()):
        identity = role_identity(target.engine, target.host, target.port, role)
        evidence = logged_evidence(target, role, group, log_name, observed_at)
        consumer = consumer_node(graph, name, identity, evidence)
        for cred in linked.get(role, ()):
            graph.add_edge(consumer, cred, EdgeKind.USES, evidence)
        recorded += 1
    return recorded
