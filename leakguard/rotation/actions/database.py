"""Database actions (PostgreSQL, MariaDB/MySQL): who is connected as a role, a new password,
the store entry rewritten around it, the role's password set, and the checks that prove the
rotation happened.

The database is reached as an administrator named by the step (``admin_user``) whose password
comes from an environment variable (``admin_password_env``) or a 0600 file
(``admin_password_file``), never from a parameter value: parameters are journaled. Where the
server is comes from the store entry's URL (its host, port and database), unless the step names
them. Passwords live only in secret handles and in memory; outputs carry role names, session
metadata and fingerprints.
"""

from __future__ import annotations

import functools
import os
import re
import stat
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leakguard.backends.interface import SecretData
from leakguard.errors import BackendError, LeakguardError, PlaybookError
from leakguard.graph.interface import EdgeKind, Evidence
from leakguard.redact import fingerprint
from leakguard.rotation.actions import connstrings
from leakguard.rotation.actions._common import iso, optional, parse_time, secret, strings, text
from leakguard.rotation.interface import Action, ActionContext, ActionSpec, NotYet, Outputs, Param

DEFAULT_ADMIN_ENV = "LEAKGUARD_PG_ADMIN_PASSWORD"
MARIADB_ADMIN_ENV = "LEAKGUARD_MARIADB_ADMIN_PASSWORD"
OWN_APPLICATION = "leakguard"  # the application_name of LeakGuard's own connections

_URL = re.compile(  # postgres://, mysql://, mariadb://, and with a driver (postgresql+psycopg2://)
    r"(?P<scheme>(?<![A-Za-z0-9+.-])(?:postgres(?:ql)?|mysql|mariadb)(?:\+[A-Za-z0-9_]+)?://)"
    r"(?P<user>[^:@/\s'\"`]*):(?P<password>[^@/\s'\"`]*)@"
)
_DSN_PASSWORD = re.compile(
    r"(?P<key>\bpassword\s*=\s*)(?P<q>['\"]?)(?P<value>[^\s;'\"]*)(?P=q)", re.I
)
_DSN_USER = re.compile(
    r"(?P<key>\b(?:user|username|user id)\s*=\s*)(?P<q>['\"]?)(?P<value>[^\s;'\"]*)(?P=q)", re.I
)
_USER_FIELDS = ("user", "username", "PGUSER", "DB_USER", "POSTGRES_USER", "MYSQL_USER")
_PASSWORD_FIELDS = (
    "password", "PGPASSWORD", "DB_PASSWORD", "POSTGRES_PASSWORD", "MYSQL_PASSWORD"
)  # fmt: skip


# --- where the role lives, and its password inside a store entry ------------------------------


@dataclass(frozen=True)
class RoleTarget:
    """The role a store entry logs in as, and the server: read from its postgres:// URL (or
    mysql://, a driver's postgresql+psycopg2://, a JDBC URL, an ODBC / ADO.NET string)."""

    role: str
    host: str
    port: int
    database: str


def _urls(data: Mapping[str, str]) -> list[tuple[str, urllib.parse.SplitResult]]:
    found = []
    for name, value in sorted(data.items()):
        for match in _URL.finditer(value):
            start = match.start()
            tail = re.match(r"[^\s'\"`]+", value[start:])
            if tail is not None:
                found.append((name, urllib.parse.urlsplit(tail.group(0))))
        found += [(name, urllib.parse.urlsplit(url)) for url in connstrings.as_urls(value)]
    return found


def role_target(data: Mapping[str, str], params: Mapping[str, Any]) -> RoleTarget:
    """The role and server of the entry's first postgres:// URL; step parameters win."""
    urls = _urls(data)
    role = optional(params, "role")
    parts = next((u for _, u in urls if role is None or _unquote(u.username) == role), None)
    if parts is None and urls:
        parts = urls[0][1]
    if role is None:
        role = _unquote(parts.username) if parts is not None else _field(data, _USER_FIELDS)
    host = optional(params, "host") or (parts.hostname if parts is not None else None)
    if not role or not host:
        raise PlaybookError(
            "the store entry holds no database URL (postgres://, mysql://) naming the role and "
            "the server",
            hint="give the step role:, host: (and port:, database:) explicitly",
        )
    try:
        kind = parts.scheme.split("+")[0] if parts is not None else ""
        default = 3306 if kind in ("mysql", "mariadb") else 5432
        port = int(
            optional(params, "port") or (parts.port if parts is not None else None) or default
        )
    except ValueError:
        raise PlaybookError("port must be a number") from None
    database = optional(params, "database") or (
        parts.path.lstrip("/") if parts is not None and parts.path.lstrip("/") else "postgres"
    )
    return RoleTarget(role, host, port, database)


def _unquote(value: str | None) -> str:
    return urllib.parse.unquote(value or "")


def _field(data: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    return next((data[n] for n in names if data.get(n)), None)


def password_of(data: Mapping[str, str], role: str) -> str:
    """The password ``role`` logs in with according to the entry: its URL's, else a password
    field. Never shown: callers keep it in memory only."""
    for _, parts in _urls(data):
        if _unquote(parts.username) == role and parts.password is not None:
            return _unquote(parts.password)
    for value in data.values():
        users = [m.group("value") for m in _DSN_USER.finditer(value)]
        passwords = [m.group("value") for m in _DSN_PASSWORD.finditer(value)]
        if passwords and role in users:
            return passwords[0]
    found = _field(data, _PASSWORD_FIELDS)
    if found is None:
        raise PlaybookError(
            f"the store entry holds no password for role {role}",
            hint="the entry needs a postgres:// URL with a password, or a password field",
        )
    return found


def holds(value: str, password: str) -> bool:
    """Does ``value`` hold ``password``, as such or percent-encoded?"""
    return password in value or urllib.parse.quote(password, safe="") in value


def rewrite(
    data: Mapping[str, str], role: str, old: str, new: str, new_role: str | None
) -> SecretData:
    """Every field of the entry with ``old`` (role ``role``'s password) replaced by ``new``:
    whole fields, URL passwords and ``password=`` pairs of DSNs; with ``new_role``, the user
    name too. A field still holding ``old`` afterwards is an error (a form not understood)."""
    target = new_role or role

    def url(match: re.Match[str]) -> str:
        if _unquote(match.group("user")) != role or _unquote(match.group("password")) != old:
            return match.group(0)
        return f"{match.group('scheme')}{urllib.parse.quote(target, safe='')}:{new}@"

    def dsn_password(match: re.Match[str]) -> str:
        if _unquote(match.group("value")) != old:
            return match.group(0)
        return f"{match.group('key')}{match.group('q')}{new}{match.group('q')}"

    def dsn_user(match: re.Match[str]) -> str:
        if match.group("value") != role:
            return match.group(0)
        return f"{match.group('key')}{match.group('q')}{target}{match.group('q')}"

    out: SecretData = {}
    for name, value in data.items():
        if value == old:
            out[name] = new
        elif new_role and name in _USER_FIELDS and value == role:
            out[name] = new_role
        else:
            changed = _URL.sub(url, value)
            changed = connstrings.rewrite(changed, role, lambda p: p == old, new, target)
            if _DSN_PASSWORD.search(changed) and holds(changed, old):
                changed = _DSN_PASSWORD.sub(dsn_password, changed)
                if new_role:
                    changed = _DSN_USER.sub(dsn_user, changed)
            out[name] = changed
        if holds(out[name], old):
            raise PlaybookError(
                f"field {name} of the store entry holds the old password in a form LeakGuard "
                "cannot rewrite",
                hint="rewrite that field by hand (a new version), then resume",
            )
    return out


# --- the administrator's connection ------------------------------------------------------------


def admin_password(params: Mapping[str, Any], default_env: str = DEFAULT_ADMIN_ENV) -> str:
    """From the 0600 file ``admin_password_file`` names, else the environment variable
    ``admin_password_env`` names (default LEAKGUARD_PG_ADMIN_PASSWORD)."""
    path = optional(params, "admin_password_file")
    if path:
        try:
            info = os.stat(path)
        except OSError as exc:
            raise PlaybookError(f"cannot read admin_password_file {path}: {exc.strerror}") from None
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise PlaybookError(
                f"admin_password_file {path} is readable by others",
                hint=f"chmod 600 {path}",
            )
        value = Path(path).read_text(encoding="utf-8").strip()
    else:
        var = optional(params, "admin_password_env") or default_env
        value = os.environ.get(var, "")
        if not value:
            raise PlaybookError(
                f"the administrator's password is not set: ${var} is empty",
                hint=f"export {var}, or pass -i admin_password_file=PATH (a 0600 file)",
            )
    return value


@dataclass(frozen=True)
class Engine:
    """Which server the actions talk to, through its backend module."""

    name: str  # postgres | mariadb
    default_admin: str
    admin_env: str

    def admin(self, params: Mapping[str, Any], target: RoleTarget) -> Any:
        user = text(params, "admin_user", self.default_admin)
        password = admin_password(params, self.admin_env)
        if self.name == "mariadb":
            from leakguard.backends import mariadb

            return mariadb.MariaDBAdmin(self._endpoint(target), user, password)
        from leakguard.backends.postgres import PostgresAdmin

        return PostgresAdmin(self._endpoint(target), user, password)

    def _endpoint(self, target: RoleTarget) -> Any:
        if self.name == "mariadb":
            from leakguard.backends import mariadb

            return mariadb.Endpoint(target.host, target.port, target.database)
        from leakguard.backends.postgres import Endpoint

        return Endpoint(target.host, target.port, target.database)

    def login_works(self, target: RoleTarget, role: str, password: str) -> bool:
        """A real login as ``role`` at ``target``'s server."""
        if self.name == "mariadb":
            from leakguard.backends import mariadb

            return mariadb.login_works(self._endpoint(target), role, password)
        from leakguard.backends.postgres import login_works

        return login_works(self._endpoint(target), role, password)


POSTGRES = Engine("postgres", "postgres", DEFAULT_ADMIN_ENV)
MARIADB = Engine("mariadb", "root", MARIADB_ADMIN_ENV)


def _admin(params: Mapping[str, Any], target: RoleTarget, engine: Engine = POSTGRES) -> Any:
    return engine.admin(params, target)


def _entry(ctx: ActionContext, params: Mapping[str, Any], version: str | None = None) -> SecretData:
    store = ctx.store(text(params, "store"))
    name = text(params, "name")
    if version:
        return store.read_version(name, version)
    return store.read_current(name)[1]


# --- actions -------------------------------------------------------------------------------------


def sessions(ctx: ActionContext, params: Mapping[str, Any], engine: Engine = POSTGRES) -> Outputs:
    """The role's connections from pg_stat_activity, grouped into consumers (application name
    and client address), plus (``connection_log``) those a PostgreSQL connection log shows that
    are not connected now; recorded in the graph as ``uses`` edges when one is loaded."""
    from leakguard.graph import databases as dbgraph

    data = _entry(ctx, params)
    target = role_target(data, params)
    try:  # what the entry logs in with: proves which credential the role's is, by fingerprint
        password_fp: str | None = fingerprint(password_of(data, target.role))
    except PlaybookError:
        password_fp = None
    del data
    log = optional(params, "connection_log")  # read first: a bad file stops before the server
    logged = (
        dbgraph.group_logged(dbgraph.read_connection_log(Path(log)), target.role) if log else {}
    )
    found = [
        s
        for s in _admin(params, target, engine).sessions(target.role)
        if s.application_name != OWN_APPLICATION
    ]
    groups: dict[str, list[Any]] = {}
    for s in found:
        groups.setdefault(s.consumer, []).append(s)
    listed = [_consumer_json(name, groups[name]) for name in sorted(groups)]
    logged_only = {name: group for (_, name), group in sorted(logged.items()) if name not in groups}
    kind = dbgraph.POSTGRES if engine is POSTGRES else dbgraph.MYSQL
    server = dbgraph.DatabaseTarget(kind, target.host, target.port, target.database, "")
    now = iso(ctx.now())
    evidence = {
        name: Evidence(server.label, now, dbgraph.session_detail(target.role, group))
        for name, group in groups.items()
    }
    for name, group in logged_only.items():
        evidence[name] = dbgraph.logged_evidence(
            server, target.role, group, Path(log or "").name, now
        )
    recorded = _record(ctx, params, target, evidence, engine, password_fp)
    ctx.log(
        f"{len(found)} session(s) of role {target.role} at {target.host}:{target.port}: "
        f"{', '.join(c['name'] for c in listed) or 'none'}"
        + (f"; only in the connection log: {', '.join(logged_only)}" if log else "")
    )
    return {
        "role": target.role,
        "host": target.host,
        "port": target.port,
        "database": target.database,
        "sessions": [
            {
                "pid": s.pid,
                "database": s.database,
                "application_name": s.application_name,
                "client_addr": s.client_addr,
                "backend_start": s.backend_start,
            }
            for s in found
        ],
        "consumers": listed,
        "names": [c["name"] for c in listed],
        "count": len(listed),
        "logged_only": [_logged_json(name, group) for name, group in logged_only.items()],
        "recorded_in_graph": recorded,
    }


def _consumer_json(name: str, group: list[Any]) -> dict[str, Any]:
    addrs = list(dict.fromkeys(s.client_addr for s in group if s.client_addr))
    return {
        "name": name,
        "application_name": group[0].application_name,
        "client_addrs": addrs,
        "sessions": len(group),
        "oldest_backend_start": min(
            (s.backend_start for s in group if s.backend_start), default=""
        ),
    }


def _logged_json(name: str, group: list[Any]) -> dict[str, Any]:
    """A consumer only the connection log shows (it connected, and is gone now)."""
    return {
        "name": name,
        "application_name": group[0].application_name,
        "client_addrs": sorted({c.client_addr for c in group if c.client_addr}),
        "connections": len(group),
        "last_connection": max((c.at for c in group), default=""),
    }


def _record(
    ctx: ActionContext,
    params: Mapping[str, Any],
    target: RoleTarget,
    evidence: Mapping[str, Evidence],
    engine: Engine,
    password_fp: str | None,
) -> bool:
    """Consumers seen on the server (or in its connection log), as observed consumers that
    authenticate as the role and use the credential, each with its own evidence (the run's
    graph, which the runner saves to the run's database); the credential linked to the role
    when the store entry's password has its fingerprint (the whole credential's or its
    ``password`` part's)."""
    from leakguard.graph import databases as dbgraph

    credential = optional(params, "credential")
    graph: Any = ctx.graph
    if not credential or graph is None or not callable(getattr(graph, "add_consumer", None)):
        return False
    try:
        node = graph.blast_radius(credential).credential
        resolve = getattr(graph, "resolve_credential", None)
        cred = resolve(node) if callable(resolve) else node
    except (LeakguardError, KeyError):  # an unknown credential: nothing to link to
        return False
    kind = dbgraph.POSTGRES if engine is POSTGRES else dbgraph.MYSQL
    identity = dbgraph.role_identity(kind, target.host, target.port, target.role)
    label = dbgraph.DatabaseTarget(kind, target.host, target.port, target.database, "").label
    data = graph.node(cred)
    if password_fp is not None and password_fp in (
        data.get("fingerprint"),
        (data.get("parts") or {}).get("password"),
    ):
        proof = Evidence(label, iso(ctx.now()), "the store entry's password fingerprint")
        graph.add_edge(cred, graph.identity_node(identity), EdgeKind.AUTHENTICATES_AS, proof)
    for name, seen in sorted(evidence.items()):
        added = dbgraph.consumer_node(graph, name, identity, seen)
        graph.add_edge(added, cred, EdgeKind.USES, seen)
    return True


def new_password(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    from leakguard.backends.postgres import PASSWORD_LENGTH
    from leakguard.backends.postgres import new_password as make

    length = int(params.get("length") or PASSWORD_LENGTH)
    if length < 16:
        raise PlaybookError("length: a database password needs at least 16 characters")
    value = make(length)
    return {"secret": ctx.secrets.put({"password": value}), "fingerprint": fingerprint(value)}


def rewrite_entry(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    """The current store entry with the role's password (and, for alternating users, its name)
    replaced in every field: a handle for ``store.put_pending`` with ``merge: false``."""
    data = _entry(ctx, params)
    target = role_target(data, params)
    new = secret(ctx, params.get("value"))
    value = new.get("password") or next(iter(new.values()))
    new_role = optional(params, "new_role")
    old = password_of(data, target.role)
    rewritten = rewrite(data, target.role, old, value, new_role)
    changed = sorted(k for k in data if data[k] != rewritten[k])
    if not changed:
        raise PlaybookError(f"no field of the store entry holds role {target.role}'s password")
    del data, old
    ctx.log(f"rewrote field(s) {', '.join(changed)} for role {new_role or target.role}")
    return {
        "secret": ctx.secrets.put(rewritten),
        "fields": changed,
        "role": target.role,
        "new_role": new_role or target.role,
        "fingerprint": fingerprint(value),
    }


def _new_login(ctx: ActionContext, params: Mapping[str, Any]) -> tuple[RoleTarget, str]:
    """The role (``new_role`` or the URL's) and the password the staged entry gives it."""
    staged = secret(ctx, params.get("value"))
    target = role_target(staged, params)
    role = optional(params, "new_role") or target.role
    return RoleTarget(role, target.host, target.port, target.database), password_of(staged, role)


def set_password(
    ctx: ActionContext, params: Mapping[str, Any], engine: Engine = POSTGRES
) -> Outputs:
    """ALTER ROLE / ALTER USER with the password the staged entry holds. Checks first: a login
    that already works with it means an earlier attempt of this step did it (nothing is done
    twice). ``marker`` (MariaDB): a connection id from after the change; sessions with a larger
    id began after it."""
    target, password = _new_login(ctx, params)
    admin = _admin(params, target, engine)
    out: Outputs = {"role": target.role, "changed": False, "at": iso(ctx.now())}
    retain = engine is MARIADB and admin.dual_passwords()
    if engine is MARIADB:  # MySQL 8 keeps the old password until mariadb.discard_old_password
        out["dual_passwords"] = retain
    if engine.login_works(target, target.role, password):
        ctx.log(f"role {target.role} already logs in with the new password")
    else:
        done = (
            admin.set_password(target.role, password, retain=True)
            if retain
            else admin.set_password(target.role, password)
        )
        if not engine.login_works(target, target.role, password):
            raise NotYet(f"role {target.role} does not log in with the new password yet")
        ctx.log(f"set the password of role {target.role}")
        out["changed"] = True
        if isinstance(done, int):
            out["marker"] = done
    if engine is MARIADB and "marker" not in out:
        out["marker"] = admin.marker()
    if engine is POSTGRES:  # sessions that began after this used the new password
        out["server_time"] = admin.server_time()
    return out


def restore_password(
    ctx: ActionContext, params: Mapping[str, Any], engine: Engine = POSTGRES
) -> Outputs:
    """Undo :func:`set_password`: the role gets the password of the entry's old version back
    (rollback restores that version as current, so consumers and role agree again)."""
    old_data = _entry(ctx, params, text(params, "old_version"))
    target = role_target(old_data, params)
    password = password_of(old_data, target.role)
    del old_data
    admin = _admin(params, target, engine)
    if not engine.login_works(target, target.role, password):
        admin.set_password(target.role, password)
    if engine is MARIADB:  # a retained (MySQL 8) new password must not outlive the rollback
        admin.discard_old_password(target.role)
    ctx.log(
        f"role {target.role} logs in with the password of version {params.get('old_version')} again"
    )
    return {"role": target.role, "restored": True}


def discard_old_password(
    ctx: ActionContext, params: Mapping[str, Any], engine: Engine = MARIADB
) -> Outputs:
    """MySQL 8: drop the password ``set_password`` retained (DISCARD OLD PASSWORD), once every
    consumer is on the new one. A server without dual passwords (MariaDB) had nothing to keep."""
    target = _role_only(params, engine)
    dropped = _admin(params, target, engine).discard_old_password(target.role)
    ctx.log(
        f"the retained old password of {target.role} is discarded"
        if dropped
        else "the server keeps no second password: nothing to discard"
    )
    return {"role": target.role, "dual_passwords": dropped}


def clone_role(ctx: ActionContext, params: Mapping[str, Any], engine: Engine = POSTGRES) -> Outputs:
    """Alternating users: ``new_role`` made (or updated) to log in with the staged entry's
    password and to hold every privilege of the entry's current role. ``server_time``
    (PostgreSQL): the server's clock after it; ``marker`` (MariaDB): a connection id after it.
    Sessions of ``new_role`` that began later use the new password."""
    target, password = _new_login(ctx, params)
    source = text(params, "source")
    admin = _admin(params, target, engine)
    changed = not engine.login_works(target, target.role, password)
    if changed:
        admin.clone_role(source, target.role, password)
        ctx.log(f"role {target.role} logs in with a new password and holds {source}'s privileges")
    else:
        ctx.log(f"role {target.role} already logs in with the new password")
    out: Outputs = {"role": target.role, "source": source, "changed": changed}
    if engine is MARIADB:
        out["marker"] = admin.marker()
    else:
        out["server_time"] = admin.server_time()
    return out


def _role_only(params: Mapping[str, Any], engine: Engine = POSTGRES) -> RoleTarget:
    default_port, default_db = ("3306", "mysql") if engine is MARIADB else ("5432", "postgres")
    return RoleTarget(
        text(params, "role"),
        text(params, "host"),
        int(text(params, "port", default_port)),
        text(params, "database", default_db),
    )


def set_login(ctx: ActionContext, params: Mapping[str, Any], engine: Engine = POSTGRES) -> Outputs:
    """PostgreSQL: LOGIN / NOLOGIN; MariaDB/MySQL: ACCOUNT UNLOCK / ACCOUNT LOCK."""
    target = _role_only(params, engine)
    enabled = str(params.get("enabled", False)).lower() in ("1", "true", "yes")
    admin = _admin(params, target, engine)
    if admin.can_login(target.role) != enabled:
        admin.set_login(target.role, enabled)
    ctx.log(f"role {target.role} {'may' if enabled else 'may no longer'} log in")
    return {"role": target.role, "login": enabled, "at": iso(ctx.now())}


def no_sessions(
    ctx: ActionContext, params: Mapping[str, Any], engine: Engine = POSTGRES
) -> Outputs:
    """No session of the role is left (the consumers moved to the other role)."""
    target = _role_only(params, engine)
    left = [
        s
        for s in _admin(params, target, engine).sessions(target.role)
        if s.application_name != OWN_APPLICATION
    ]
    if left:
        names = sorted({s.consumer for s in left})
        raise NotYet(
            f"{len(left)} session(s) of role {target.role} remain: {', '.join(names)}",
            hint="reload those consumers (they still use the previous role), then resume",
            details={"stale": names},
        )
    return {"role": target.role, "sessions": 0}


def sessions_newer(
    ctx: ActionContext, params: Mapping[str, Any], engine: Engine = POSTGRES
) -> Outputs:
    """Every session of the role began after the rotation and every consumer in ``expect``
    (the names the map stage saw) has one: NotYet until so. PostgreSQL: backend start at or
    after ``since`` (the promotion); MariaDB: a connection id above ``since_session`` (the
    password change's ``marker``)."""
    data = _entry(ctx, params)
    target = role_target(data, params)
    role = optional(params, "new_role") or target.role
    del data
    marker = optional(params, "since_session")
    since = parse_time(text(params, "since"), "since") if marker is None else None
    found = [
        s
        for s in _admin(params, target, engine).sessions(role)
        if s.application_name != OWN_APPLICATION
    ]

    def newer(s: Any) -> bool:
        if marker is not None:
            return int(s.pid) > int(marker)
        assert since is not None
        return parse_time(s.backend_start) >= since

    stale = sorted({s.consumer for s in found if not newer(s)})
    connected = {s.consumer for s in found if newer(s)}
    missing = sorted(set(strings(params, "expect")) - connected)
    if stale or missing:
        parts = []
        if stale:
            parts.append(f"still on sessions older than the rotation: {', '.join(stale)}")
        if missing:
            parts.append(f"not connected since the rotation: {', '.join(missing)}")
        raise NotYet(
            f"role {role}: " + "; ".join(parts),
            hint="reload those consumers so they read the store again and reconnect",
            details={"stale": stale, "missing": missing},
        )
    out: Outputs = {"role": role, "moved": sorted(connected), "sessions": len(found)}
    out["since"] = iso(since) if since is not None else f"connection {marker}"
    return out


def old_password_refused(
    ctx: ActionContext, params: Mapping[str, Any], engine: Engine = POSTGRES
) -> Outputs:
    """The proof the rotation happened: no field of the current version holds the old
    password; a real login with the old password (old version's role) is refused; a real login
    with the current version's password is accepted."""
    old_data = _entry(ctx, params, text(params, "old_version"))
    current = _entry(ctx, params)
    old_target = role_target(old_data, {k: v for k, v in params.items() if k != "role"})
    old = password_of(old_data, old_target.role)
    promoted = optional(params, "new_version")
    newest = _entry(ctx, params, promoted) if promoted else current
    new_target = role_target(newest, {k: v for k, v in params.items() if k != "role"})
    new = password_of(newest, new_target.role)
    del newest
    still = sorted(k for k, v in current.items() if holds(v, old))
    del old_data, current
    if still:
        raise BackendError(
            f"field(s) {', '.join(still)} of the current version still hold the old password",
            hint="the rotation did not replace it; roll the run back and rotate again",
        )
    if engine.login_works(old_target, old_target.role, old):
        raise BackendError(
            f"role {old_target.role} still logs in with the old password",
            hint="the password change did not reach the server; inspect the role, then resume",
        )
    if not engine.login_works(new_target, new_target.role, new):
        raise NotYet(f"role {new_target.role} does not log in with the current version yet")
    ctx.log(f"the old password of {old_target.role} is refused; {new_target.role} logs in")
    return {
        "old_refused": True,
        "new_accepted": True,
        "old_role": old_target.role,
        "role": new_target.role,
    }


# --- specs ---------------------------------------------------------------------------------------

_ADMIN = {
    "admin_user": Param("string", False, "a role with CREATEROLE (default postgres)"),
    "admin_password_env": Param(
        "string", False, f"variable holding its password ({DEFAULT_ADMIN_ENV})"
    ),
    "admin_password_file": Param("string", False, "or a 0600 file holding it"),
}
_SERVER = {
    "host": Param("string", False, "default: the URL's host"),
    "port": Param("any", False, "default: the URL's port"),
    "database": Param("string", False, "default: the URL's database"),
}
_ENTRY = {
    "store": Param("string", help="the store backend holding the URL"),
    "name": Param("string", help="the store entry"),
    "role": Param("string", False, "default: the URL's user"),
    **_SERVER,
    **_ADMIN,
}
_ROLE = {"role": Param("string"), **_SERVER, **_ADMIN}
_VALUE = Param("string", help="the staged entry's handle (postgres.rewrite_entry)")


POSTGRES_ACTIONS = (
    Action(
        ActionSpec(
            "postgres.sessions",
            "The role's connections from pg_stat_activity, as consumers (application name, "
            "client address, backend start)",
            mutating=False,
            params={
                **_ENTRY,
                "credential": Param("string", False, "link consumers to it in the graph"),
                "connection_log": Param(
                    "string", False, "a PostgreSQL log with log_connections lines to add"
                ),
            },
        ),
        sessions,
    ),
    Action(
        ActionSpec(
            "postgres.new_password",
            "A new random password (URL-safe letters and digits) as a handle",
            mutating=False,
            params={"length": Param("int", False, "default 32")},
            produces_secret=True,
        ),
        new_password,
    ),
    Action(
        ActionSpec(
            "postgres.rewrite_entry",
            "The current store entry with the role's password replaced in every field (URLs, "
            "DSNs, password fields); with new_role the user name too; as a handle",
            mutating=False,
            params={
                **_ENTRY,
                "value": Param("string", help="the new password's handle"),
                "new_role": Param("string", False, "alternating users: the role to switch to"),
            },
            produces_secret=True,
        ),
        rewrite_entry,
    ),
    Action(
        ActionSpec(
            "postgres.set_password",
            "ALTER ROLE … PASSWORD (a SCRAM verifier) with the staged entry's password; "
            "skipped when the role already logs in with it",
            mutating=True,
            params={**_ENTRY, "value": _VALUE, "new_role": Param("string", False)},
            compensation="postgres.restore_password",
        ),
        set_password,
        lambda p: f"set the password of the role in {p.get('name')} (ALTER ROLE)",
    ),
    Action(
        ActionSpec(
            "postgres.restore_password",
            "Give the role the password of the entry's old version back (rollback)",
            mutating=True,
            params={**_ENTRY, "old_version": Param("string")},
        ),
        restore_password,
        lambda p: f"restore the role's password from version {p.get('old_version')}",
    ),
    Action(
        ActionSpec(
            "postgres.clone_role",
            "Alternating users: new_role logs in with the staged password and holds source's "
            "privileges (created or updated)",
            mutating=True,
            params={
                **_ENTRY,
                "value": _VALUE,
                "new_role": Param("string"),
                "source": Param("string"),
            },
        ),
        clone_role,
        lambda p: f"clone role {p.get('source')} as {p.get('new_role')}",
    ),
    Action(
        ActionSpec(
            "postgres.set_login",
            "ALTER ROLE … LOGIN / NOLOGIN",
            mutating=True,
            params={**_ROLE, "enabled": Param("bool", False, "default false: NOLOGIN")},
        ),
        set_login,
        lambda p: f"{'allow' if p.get('enabled') else 'disable'} logins of role {p.get('role')}",
    ),
    Action(
        ActionSpec(
            "postgres.no_sessions",
            "No session of the role is left in pg_stat_activity (NotYet until so)",
            mutating=False,
            params=_ROLE,
        ),
        no_sessions,
    ),
    Action(
        ActionSpec(
            "postgres.sessions_newer",
            "Every session of the role began after the promotion and every expected consumer "
            "has one (NotYet until so)",
            mutating=False,
            params={
                **_ENTRY,
                "since": Param("string", help="server_time of postgres.set_password or clone_role"),
                "expect": Param("list", False, "consumer names that must be connected"),
                "new_role": Param("string", False),
            },
        ),
        sessions_newer,
    ),
    Action(
        ActionSpec(
            "postgres.old_password_refused",
            "No field of the current version holds the old password, a real login with it is "
            "refused, and the current version's login is accepted",
            mutating=False,
            params={
                **_ENTRY,
                "old_version": Param("string", help="the version that leaked"),
                "new_version": Param("string", False, "the promoted version (default: current)"),
            },
        ),
        old_password_refused,
    ),
)


def _mariadb(name: str, summary: str, params: Mapping[str, Param], run: Any, mutating: bool,
             **extra: Any) -> Action:  # fmt: skip
    admin = {
        **params,
        "admin_user": Param("string", False, "a user with CREATE USER (default root)"),
        "admin_password_env": Param(
            "string", False, f"variable holding its password ({MARIADB_ADMIN_ENV})"
        ),
    }
    return Action(
        ActionSpec(f"mariadb.{name}", summary, mutating=mutating, params=admin, **extra),
        functools.partial(run, engine=MARIADB),
        (lambda p: f"mariadb.{name}: {summary.split(' (')[0]} ({p.get('name') or p.get('role')})")
        if mutating
        else None,
    )


MARIADB_ACTIONS = (
    _mariadb(
        "sessions",
        "The user's connections from the processlist, as consumers (client address)",
        {**_ENTRY, "credential": Param("string", False, "link consumers to it in the graph")},
        sessions,
        False,
    ),
    Action(
        ActionSpec(
            "mariadb.new_password",
            "A new random password (URL-safe letters and digits) as a handle",
            mutating=False,
            params={"length": Param("int", False, "default 32")},
            produces_secret=True,
        ),
        new_password,
    ),
    Action(
        ActionSpec(
            "mariadb.rewrite_entry",
            "The current store entry with the user's password replaced in every field (URLs, "
            "DSNs, password fields), as a handle",
            mutating=False,
            params={
                **_ENTRY,
                "value": Param("string", help="the new password's handle"),
                "new_role": Param("string", False, "alternating users: the user to switch to"),
            },
            produces_secret=True,
        ),
        rewrite_entry,
    ),
    _mariadb(
        "set_password",
        "ALTER USER … IDENTIFIED WITH mysql_native_password AS the hash of the staged entry's "
        "password, on every host entry of the user (MySQL 8: RETAIN CURRENT PASSWORD); "
        "skipped when the user already logs in with it",
        {**_ENTRY, "value": _VALUE},
        set_password,
        True,
        compensation="mariadb.restore_password",
    ),
    _mariadb(
        "restore_password",
        "Give the user the password of the entry's old version back (rollback)",
        {**_ENTRY, "old_version": Param("string")},
        restore_password,
        True,
    ),
    _mariadb(
        "sessions_newer",
        "Every session of the user began after the password change and every expected "
        "consumer has one (NotYet until so)",
        {
            **_ENTRY,
            "since_session": Param("any", help="marker of mariadb.set_password or clone_role"),
            "expect": Param("list", False, "consumer names that must be connected"),
            "new_role": Param("string", False, "alternating users: the user switched to"),
        },
        sessions_newer,
        False,
    ),
    _mariadb(
        "discard_old_password",
        "MySQL 8: DISCARD OLD PASSWORD, ending the password set_password retained; nothing "
        "on a server without dual passwords (MariaDB)",
        _ROLE,
        discard_old_password,
        True,
    ),
    _mariadb(
        "clone_role",
        "Alternating users: new_role at every host entry of source, with what SHOW GRANTS "
        "lists for source, then the staged password and ACCOUNT UNLOCK (created or updated)",
        {**_ENTRY, "value": _VALUE, "new_role": Param("string"), "source": Param("string")},
        clone_role,
        True,
    ),
    _mariadb(
        "set_login",
        "ALTER USER … ACCOUNT LOCK / ACCOUNT UNLOCK on every host entry of the user",
        {**_ROLE, "enabled": Param("bool", False, "default false: ACCOUNT LOCK")},
        set_login,
        True,
    ),
    _mariadb(
        "no_sessions",
        "No connection of the user is left in the processlist (NotYet until so)",
        _ROLE,
        no_sessions,
        False,
    ),
    _mariadb(
        "old_password_refused",
        "No field of the current version holds the old password, a real login with it is "
        "refused, and the current version's login is accepted",
        {
            **_ENTRY,
            "old_version": Param("string", help="the version that leaked"),
            "new_version": Param("string", False, "the promoted version (default: current)"),
        },
        old_password_refused,
        False,
    ),
)

ACTIONS = POSTGRES_ACTIONS + MARIADB_ACTIONS
