"""MariaDB / MySQL users: who is connected, passwords and real login checks. The one module that
imports pymysql.

A new password never reaches the server in clear: LeakGuard computes its
``mysql_native_password`` hash (``*`` + SHA1(SHA1(password)), upper-case hex) and sends
``ALTER USER … IDENTIFIED BY PASSWORD '*…'``, which the server stores as given, so the general
log and the processlist never show it. Errors are :class:`BackendError` without the password.

MariaDB keeps no connection start time: a session's age is its connection id (ids only grow), so
"connected after the password change" means an id above the one the change was made from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from leakguard.errors import BackendError

ACCESS_DENIED = 1045  # ER_ACCESS_DENIED_ERROR: a refused login


def native_password_hash(password: str) -> str:
    """The ``mysql_native_password`` form of ``password`` (what ``PASSWORD()`` returns)."""
    inner = hashlib.sha1(password.encode("utf-8")).digest()  # the server's format, not ours
    return "*" + hashlib.sha1(inner).hexdigest().upper()


@dataclass(frozen=True, slots=True)
class Session:
    """One connection of a user, from the processlist."""

    pid: int  # the connection id: a later connection has a larger one
    role: str
    database: str
    client_addr: str
    application_name: str = ""  # MariaDB does not show it without performance_schema
    backend_start: str = ""

    @property
    def consumer(self) -> str:
        return self.client_addr or f"connection {self.pid}"


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int
    database: str


def _connect(endpoint: Endpoint, user: str, password: str, timeout: float) -> Any:
    import pymysql

    return pymysql.connect(
        host=endpoint.host,
        port=endpoint.port,
        user=user,
        password=password,
        connect_timeout=max(1, int(timeout)),
        autocommit=True,
        program_name="leakguard",
    )


def login_works(endpoint: Endpoint, user: str, password: str, timeout: float = 10.0) -> bool:
    """A real login attempt: True when the server accepts ``user``/``password``; a refusal
    (access denied) is False; an unreachable server is an error (nothing was proven)."""
    import pymysql

    try:
        conn = _connect(endpoint, user, password, timeout)
    except pymysql.err.OperationalError as exc:
        if exc.args and exc.args[0] == ACCESS_DENIED:
            return False
        raise BackendError(
            f"cannot reach MariaDB at {endpoint.host}:{endpoint.port} to test a login",
            transient=True,
        ) from None
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
    finally:
        conn.close()
    return True


class MariaDBAdmin:
    """User administration as a user with CREATE USER (or ALL PRIVILEGES)."""

    def __init__(self, endpoint: Endpoint, user: str, password: str, timeout: float = 10.0):
        self.endpoint = endpoint
        self._user = user
        self._password = password
        self._timeout = timeout

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        import pymysql

        try:
            conn = _connect(self.endpoint, self._user, self._password, self._timeout)
            try:
                with conn.cursor() as cur:
                    yield cur
            finally:
                conn.close()
        except pymysql.err.MySQLError as exc:
            code = exc.args[0] if exc.args else "connection"
            raise BackendError(
                f"MariaDB at {self.endpoint.host}:{self.endpoint.port} refused an "
                f"administration step ({code}: {type(exc).__name__})",
                hint="the administrator needs CREATE USER (or ALL PRIVILEGES) and a reachable "
                "server",
                transient=isinstance(exc, pymysql.err.OperationalError) and code != ACCESS_DENIED,
            ) from None

    def sessions(self, user: str) -> list[Session]:
        """Every connection of ``user`` (other than LeakGuard's own), oldest first."""
        with self._cursor() as cur:
            cur.execute(
                "SELECT ID, USER, COALESCE(DB, ''), HOST FROM information_schema.PROCESSLIST"
                " WHERE USER = %s AND ID <> CONNECTION_ID() ORDER BY ID",
                (user,),
            )
            rows = cur.fetchall()
        return [Session(int(r[0]), r[1], r[2], str(r[3]).rsplit(":", 1)[0]) for r in rows]

    def _hosts(self, cur: Any, user: str) -> list[str]:
        cur.execute("SELECT Host FROM mysql.user WHERE User = %s", (user,))
        hosts = [str(r[0]) for r in cur.fetchall()]
        if not hosts:
            raise BackendError(f"MariaDB user {user!r} does not exist")
        return hosts

    def set_password(self, user: str, password: str) -> int:
        """Set ``user``'s password (its hash; the value never reaches the server) on every host
        entry of the user. Returns the connection id it was done from: sessions with a larger id
        began after the change."""
        with self._cursor() as cur:
            for host in self._hosts(cur, user):
                cur.execute(
                    "ALTER USER %s@%s IDENTIFIED BY PASSWORD %s",
                    (user, host, native_password_hash(password)),
                )
            cur.execute("SELECT CONNECTION_ID()")
            row = cur.fetchone()
        return int(row[0])

    def marker(self) -> int:
        """A connection id now: every session opened later has a larger one."""
        with self._cursor() as cur:
            cur.execute("SELECT CONNECTION_ID()")
            row = cur.fetchone()
        return int(row[0])
