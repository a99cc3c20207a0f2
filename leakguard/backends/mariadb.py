"""MariaDB / MySQL users: who is connected, passwords and real login checks. The one module that
imports pymysql.

A new password never reaches the server in clear: LeakGuard computes its
``mysql_native_password`` hash (``*`` + SHA1(SHA1(password)), upper-case hex) and sends
``ALTER USER … IDENTIFIED WITH mysql_native_password AS '*…'``, which the server stores as
given, so the general log and the processlist never show it. Errors are :class:`BackendError`
without the password.

MariaDB keeps no connection start time: a session's age is its connection id (ids only grow), so
"connected after the password change" means an id above the one the change was made from.

MySQL 8.0.14 and later keep two passwords per account (``RETAIN CURRENT PASSWORD`` /
``DISCARD OLD PASSWORD``): detected from the server's version, used when present. MariaDB has no
such thing; there a password change replaces the password at once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from leakguard.errors import BackendError

ACCESS_DENIED = 1045  # ER_ACCESS_DENIED_ERROR: a refused login
ACCOUNT_LOCKED = (4151, 3118)  # MariaDB's and MySQL's "this account is locked"
REFUSED = (ACCESS_DENIED, *ACCOUNT_LOCKED)


def native_password_hash(password: str) -> str:
    """The ``mysql_native_password`` form of ``password`` (what ``PASSWORD()`` returns)."""
    inner = hashlib.sha1(password.encode("utf-8")).digest()  # the server's format, not ours
    return "*" + hashlib.sha1(inner).hexdigest().upper()


# MariaDB and MySQL 8 both accept this form (MariaDB also takes IDENTIFIED BY PASSWORD, which
# MySQL 8 removed); the server stores the hash as given
_IDENTIFIED = "IDENTIFIED WITH mysql_native_password AS %s"


def supports_dual_passwords(version: str) -> bool:
    """Does a server reporting ``version`` (``SELECT VERSION()``) keep two passwords per account?
    MySQL from 8.0.14 does; no MariaDB release does."""
    if "mariadb" in version.lower():
        return False
    found = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    if found is None:
        return False
    major, minor, patch = (int(g) for g in found.groups())
    return (major, minor, patch) >= (8, 0, 14)


def quote_account(user: str, host: str) -> str:
    """```user```@```host``` as SHOW GRANTS prints an account (backticks doubled inside)."""
    return "`" + user.replace("`", "``") + "`@`" + host.replace("`", "``") + "`"


# how an account's own login is shown in SHOW GRANTS (MariaDB prints the password hash there)
_GRANT_LOGIN = re.compile(r" IDENTIFIED (?:BY PASSWORD|VIA|WITH) .*?(?= REQUIRE | WITH |$)")


def grants_for(lines: list[str], source: str, target: str) -> list[str]:
    """The statements that give account ``target`` what SHOW GRANTS lists for ``source`` (both
    in :func:`quote_account` form): the grantee replaced, the source's own password left out.
    A line that does not name ``source`` as its grantee is an error (a form not understood)."""
    out = []
    for line in lines:
        if line.startswith("GRANT ") and f" TO {source}" in line:
            statement = line.replace(f" TO {source}", f" TO {target}", 1)
            out.append(_GRANT_LOGIN.sub("", statement))
        elif line.startswith("SET DEFAULT ROLE ") and line.endswith(f" FOR {source}"):
            out.append(line[: -len(source)] + target)
        else:
            raise BackendError(
                "SHOW GRANTS printed a line LeakGuard cannot copy to the new user",
                hint="grant the new user the same privileges by hand, then resume",
            )
    return out


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
        if exc.args and exc.args[0] in REFUSED:
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

    def sessions(self, user: str | None = None) -> list[Session]:
        """Every connection of ``user`` (of every user when None, server threads left out)
        other than LeakGuard's own, oldest first. Read-only: one SELECT on the processlist."""
        with self._cursor() as cur:
            cur.execute(
                "SELECT ID, USER, COALESCE(DB, ''), HOST FROM information_schema.PROCESSLIST"
                " WHERE (%s IS NULL OR USER = %s) AND ID <> CONNECTION_ID()"
                " AND COMMAND <> 'Daemon' AND HOST <> '' AND USER NOT IN ('system user', '')"
                " ORDER BY ID",
                (user, user),
            )
            rows = cur.fetchall()
        return [Session(int(r[0]), r[1], r[2], str(r[3]).rsplit(":", 1)[0]) for r in rows]

    def _hosts(self, cur: Any, user: str) -> list[str]:
        cur.execute("SELECT Host FROM mysql.user WHERE User = %s", (user,))
        hosts = [str(r[0]) for r in cur.fetchall()]
        if not hosts:
            raise BackendError(f"MariaDB user {user!r} does not exist")
        return hosts

    def dual_passwords(self) -> bool:
        """Does this server keep a retained second password (MySQL 8.0.14+)?"""
        with self._cursor() as cur:
            cur.execute("SELECT VERSION()")
            row = cur.fetchone()
        return supports_dual_passwords(str(row[0]))

    def set_password(self, user: str, password: str, *, retain: bool = False) -> int:
        """Set ``user``'s password (its hash; the value never reaches the server) on every host
        entry of the user; with ``retain`` (MySQL 8 only) the current password keeps working
        until :meth:`discard_old_password`. Returns the connection id it was done from:
        sessions with a larger id began after the change."""
        keep = " RETAIN CURRENT PASSWORD" if retain else ""
        with self._cursor() as cur:
            for host in self._hosts(cur, user):
                cur.execute(
                    f"ALTER USER %s@%s {_IDENTIFIED}{keep}",
                    (user, host, native_password_hash(password)),
                )
            cur.execute("SELECT CONNECTION_ID()")
            row = cur.fetchone()
        return int(row[0])

    def discard_old_password(self, user: str) -> bool:
        """Drop a retained second password (MySQL 8); False when the server keeps none."""
        if not self.dual_passwords():
            return False
        with self._cursor() as cur:
            for host in self._hosts(cur, user):
                cur.execute("ALTER USER %s@%s DISCARD OLD PASSWORD", (user, host))
        return True

    def clone_role(self, source: str, target: str, password: str) -> None:
        """Alternating users: ``target`` at every host entry of ``source``, holding what SHOW
        GRANTS lists for it (its password left out), then given ``password`` and unlocked. The
        password comes last, so a login that works proves the grants are in place. An existing
        ``target`` is updated instead (idempotent; switching back to the first user)."""
        with self._cursor() as cur:
            for host in self._hosts(cur, source):
                cur.execute("SHOW GRANTS FOR %s@%s", (source, host))
                lines = [str(r[0]) for r in cur.fetchall()]
                cur.execute("CREATE USER IF NOT EXISTS %s@%s ACCOUNT LOCK", (target, host))
                for statement in grants_for(
                    lines, quote_account(source, host), quote_account(target, host)
                ):
                    cur.execute(statement)  # no arguments: "%" is not a placeholder
                cur.execute(
                    f"ALTER USER %s@%s {_IDENTIFIED} ACCOUNT UNLOCK",
                    (target, host, native_password_hash(password)),
                )

    def can_login(self, user: str) -> bool:
        """False when every host entry of ``user`` is locked (ACCOUNT LOCK)."""
        with self._cursor() as cur:
            locked = []
            for host in self._hosts(cur, user):
                cur.execute("SHOW CREATE USER %s@%s", (user, host))
                row = cur.fetchone()
                locked.append(" ACCOUNT LOCK" in str(row[0]))
        return not all(locked)

    def set_login(self, user: str, enabled: bool) -> None:
        """ACCOUNT UNLOCK / ACCOUNT LOCK on every host entry: a locked user's new logins are
        refused; its open connections are not closed."""
        word = "UNLOCK" if enabled else "LOCK"
        with self._cursor() as cur:
            for host in self._hosts(cur, user):
                cur.execute(f"ALTER USER %s@%s ACCOUNT {word}", (user, host))

    def marker(self) -> int:
        """A connection id now: every session opened later has a larger one."""
        with self._cursor() as cur:
            cur.execute("SELECT CONNECTION_ID()")
            row = cur.fetchone()
        return int(row[0])
