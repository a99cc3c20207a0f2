"""PostgreSQL roles: who is connected, passwords, clones and logins. The one module that imports
psycopg.

A new password never reaches the server in clear: LeakGuard computes its SCRAM-SHA-256 verifier
(RFC 5802 / RFC 7677) and sends ``ALTER ROLE … PASSWORD 'SCRAM-SHA-256$…'``, which PostgreSQL
stores as given, so statement logs and ``pg_stat_activity`` never show it. Identifiers are quoted
by psycopg. Errors are :class:`BackendError` without the password or the connection string.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import string
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from leakguard.errors import BackendError

SCRAM_ITERATIONS = 4096
PASSWORD_ALPHABET = string.ascii_letters + string.digits  # URL-safe without escaping
PASSWORD_LENGTH = 32


def new_password(length: int = PASSWORD_LENGTH) -> str:
    """A random password that needs no escaping in a URL, a DSN or a shell."""
    while True:
        value = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))
        if any(c.isdigit() for c in value) and any(c.isupper() for c in value):
            return value


def scram_keys(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes, bytes]:
    """(ClientKey, StoredKey, ServerKey) for ``password`` (RFC 5802 section 3)."""
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return client_key, hashlib.sha256(client_key).digest(), server_key


def scram_verifier(
    password: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS
) -> str:
    """PostgreSQL's stored form: ``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>``."""
    salt = os.urandom(16) if salt is None else salt
    _, stored, server = scram_keys(password, salt, iterations)
    return f"SCRAM-SHA-256${iterations}:{_b64(salt)}${_b64(stored)}:{_b64(server)}"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@dataclass(frozen=True, slots=True)
class Session:
    """One backend connection of a role, from ``pg_stat_activity``."""

    pid: int
    role: str
    database: str
    application_name: str
    client_addr: str
    backend_start: str  # ISO 8601, UTC

    @property
    def consumer(self) -> str:
        """A name for whoever holds the connection: its application name, else its address."""
        return self.application_name or self.client_addr or f"pid {self.pid}"


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int
    database: str

    @classmethod
    def from_url(cls, url: str) -> Endpoint:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
            raise BackendError("not a postgres:// URL (scheme and host are required)")
        return cls(parts.hostname, parts.port or 5432, parts.path.lstrip("/") or "postgres")


def _connect(endpoint: Endpoint, user: str, password: str, timeout: float) -> Any:
    import psycopg

    return psycopg.connect(
        host=endpoint.host,
        port=endpoint.port,
        dbname=endpoint.database,
        user=user,
        password=password,
        connect_timeout=max(1, int(timeout)),
        autocommit=True,
        application_name="leakguard",
    )


# what the server says when it refuses a login (a connection error carries no SQLSTATE)
_REFUSALS = (
    "password authentication failed",
    "is not permitted to log in",  # NOLOGIN
    '" does not exist',  # the role was dropped (not a database: checked below)
)


def login_works(endpoint: Endpoint, user: str, password: str, timeout: float = 10.0) -> bool:
    """A real login attempt: True when the server accepts ``user``/``password``. Only an
    authentication refusal is False; an unreachable server is an error (nothing was proven)."""
    import psycopg

    try:
        with _connect(endpoint, user, password, timeout) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.OperationalError as exc:
        state = getattr(exc, "sqlstate", None) or getattr(
            getattr(exc, "diag", None), "sqlstate", None
        )
        text = str(exc)
        refused = any(r in text for r in _REFUSALS) and 'database "' not in text
        if state in ("28P01", "28000") or refused:
            return False
        raise BackendError(
            f"cannot reach PostgreSQL at {endpoint.host}:{endpoint.port} to test a login",
            transient=True,
        ) from None


class PostgresAdmin:
    """Role administration as a role with CREATEROLE (or a superuser)."""

    def __init__(self, endpoint: Endpoint, user: str, password: str, timeout: float = 10.0):
        self.endpoint = endpoint
        self._user = user
        self._password = password
        self._timeout = timeout

    @contextmanager
    def _conn(self) -> Iterator[Any]:
        import psycopg

        try:
            with _connect(self.endpoint, self._user, self._password, self._timeout) as conn:
                yield conn
        except psycopg.Error as exc:
            state = getattr(exc, "sqlstate", None) or "connection"
            raise BackendError(
                f"PostgreSQL at {self.endpoint.host}:{self.endpoint.port} refused an "
                f"administration step ({state}: {type(exc).__name__})",
                hint="the administrator needs CREATEROLE (or superuser) and a reachable server",
                transient=isinstance(exc, psycopg.OperationalError),
            ) from None

    def sessions(self, role: str | None = None) -> list[Session]:
        """Every connection of ``role`` (of every role when None; client backends only) other
        than LeakGuard's own, oldest first. Read-only: one SELECT on pg_stat_activity."""
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT pid, usename, datname, coalesce(application_name, ''),"
                " coalesce(host(client_addr), ''),"
                " to_char(backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
                " FROM pg_stat_activity WHERE backend_type = 'client backend'"
                " AND (%s::text IS NULL OR usename = %s) AND pid <> pg_backend_pid()"
                " ORDER BY backend_start",
                (role, role),
            ).fetchall()
        return [Session(int(r[0]), r[1], r[2] or "", r[3], r[4], r[5]) for r in rows]

    def server_time(self) -> str:
        """The server's clock now (ISO 8601, UTC): compared with ``backend_start`` without
        trusting LeakGuard's clock to agree with the server's."""
        with self._conn() as conn:
            row = conn.execute(
                "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC',"
                ' \'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\')'
            ).fetchone()
        return str(row[0])

    def role_exists(self, role: str) -> bool:
        with self._conn() as conn:
            row = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        return row is not None

    def can_login(self, role: str) -> bool:
        with self._conn() as conn:
            row = conn.execute(
                "SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (role,)
            ).fetchone()
        if row is None:
            raise BackendError(f"PostgreSQL role {role!r} does not exist")
        return bool(row[0])

    def set_password(self, role: str, password: str, *, valid_until: str | None = None) -> None:
        """Set ``role``'s password (its SCRAM verifier; the value never reaches the server)."""
        from psycopg import sql

        statement = sql.SQL("ALTER ROLE {} PASSWORD {}").format(
            sql.Identifier(role), sql.Literal(scram_verifier(password))
        )
        if valid_until is not None:
            statement = sql.SQL("{} VALID UNTIL {}").format(statement, sql.Literal(valid_until))
        with self._conn() as conn:
            conn.execute(statement)

    def set_login(self, role: str, enabled: bool) -> None:
        from psycopg import sql

        word = sql.SQL("LOGIN" if enabled else "NOLOGIN")
        with self._conn() as conn:
            conn.execute(sql.SQL("ALTER ROLE {} {}").format(sql.Identifier(role), word))

    def clone_role(self, source: str, target: str, password: str) -> None:
        """Create ``target`` able to log in with ``password`` and holding every privilege of
        ``source`` (as a member of it, inheriting), for the alternating-users strategy. A
        ``target`` that already exists is updated instead (idempotent)."""
        from psycopg import sql

        verifier = sql.Literal(scram_verifier(password))
        with self._conn() as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (target,)).fetchone()
            if exists is None:
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN INHERIT PASSWORD {}").format(
                        sql.Identifier(target), verifier
                    )
                )
            else:
                conn.execute(
                    sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(target), verifier
                    )
                )
            related = conn.execute(
                "SELECT pg_has_role(%s, %s, 'MEMBER') OR pg_has_role(%s, %s, 'MEMBER')",
                (target, source, source, target),
            ).fetchone()
            if not (related and related[0]):  # switching back to the first role: no cycle
                conn.execute(
                    sql.SQL("GRANT {} TO {}").format(sql.Identifier(source), sql.Identifier(target))
                )

    def terminate(self, role: str, started_before: str) -> int:
        """End ``role``'s sessions that began before ``started_before`` (ISO time); how many."""
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s"
                " AND backend_start < %s::timestamptz AND pid <> pg_backend_pid()",
                (role, started_before),
            ).fetchall()
        return sum(1 for r in rows if r[0])
