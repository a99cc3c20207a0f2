"""Real database servers for integration tests: PostgreSQL and MariaDB from the OS packages,
started on a free 127.0.0.1 port in a temporary directory, stopped when the context exits.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as the
``postgres`` user the package creates (``.ci/run`` installs the packages when missing).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.servers import free_port

ADMIN = "lg_admin"
ADMIN_PASSWORD = "admin-" + os.urandom(6).hex()


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return Path(found[-1]).parent if found else None


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    admin: str
    admin_password: str
    datadir: Path

    def dsn(
        self, user: str | None = None, password: str | None = None, db: str = "postgres"
    ) -> str:
        user = user or self.admin
        password = self.admin_password if password is None else password
        return f"host={self.host} port={self.port} dbname={db} user={user} password={password}"

    def url(self, user: str, password: str, db: str = "postgres") -> str:
        return f"postgres://{user}:{password}@{self.host}:{self.port}/{db}"


def _as_postgres_user() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


def _demote(ids: tuple[int, int] | None):  # type: ignore[no-untyped-def]
    if ids is None:
        return None

    def run() -> None:
        os.setgid(ids[1])
        os.setuid(ids[0])

    return run


@contextlib.contextmanager
def postgres_server(workdir: Path, max_connections: int = 200) -> Iterator[Postgres]:
    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError(
            "PostgreSQL is not installed: .ci/run installs it (apt-get install postgresql)"
        )
    ids = _as_postgres_user()
    if ids is not None:  # the postgres user must reach its files: pytest's root tmp is 0700
        workdir = Path(tempfile.mkdtemp(prefix="leakguard-pg-"))
        os.chown(workdir, *ids)
    workdir.mkdir(parents=True, exist_ok=True)
    datadir, sockets = workdir / "pgdata", workdir / "pgsock"
    pwfile = workdir / "pwfile"
    pwfile.write_text(ADMIN_PASSWORD + "\n")
    sockets.mkdir(exist_ok=True)
    if ids is not None:
        for path in (workdir, sockets, pwfile):
            os.chown(path, *ids)
    subprocess.run(
        [
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            ADMIN,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--no-instructions",
        ],
        check=True,
        capture_output=True,
        preexec_fn=_demote(ids),
    )
    port = free_port()
    log = workdir / "postgres.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                str(bindir / "postgres"),
                "-D",
                str(datadir),
                "-p",
                str(port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={sockets}",
                "-c",
                "log_connections=on",
                "-c",
                "log_line_prefix=%m [%p] ",  # PostgreSQL's default, stated: the log is read
                "-c",
                "log_timezone=UTC",
                "-c",
                "fsync=off",
                "-c",
                f"max_connections={max_connections}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_demote(ids),
        )
    server = Postgres("127.0.0.1", port, ADMIN, ADMIN_PASSWORD, datadir)
    try:
        _wait_ready(server, proc, log)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(datadir if ids is None else workdir, ignore_errors=True)


def _wait_ready(server: Postgres, proc: subprocess.Popen[bytes], log: Path) -> None:
    import psycopg

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"postgres exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with psycopg.connect(server.dsn(), connect_timeout=2):
                return
        except psycopg.OperationalError:
            time.sleep(0.2)
    raise RuntimeError("postgres did not accept connections in 60 s")


# --- MariaDB -------------------------------------------------------------------------------------


def mariadb_bin() -> Path | None:
    found = shutil.which("mariadbd") or (
        "/usr/sbin/mariadbd" if Path("/usr/sbin/mariadbd").exists() else None
    )
    return Path(found) if found else None


@dataclass(frozen=True)
class MariaDB:
    host: str
    port: int
    admin: str
    admin_password: str
    workdir: Path

    @property
    def general_log(self) -> Path:
        """Every statement the server received (to prove no password reached it)."""
        return self.workdir / "general.log"

    def url(self, user: str, password: str, db: str = "lgdb") -> str:
        return f"mysql://{user}:{password}@{self.host}:{self.port}/{db}"

    def connect(self, user: str | None = None, password: str | None = None) -> Any:
        import pymysql

        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=user or self.admin,
            password=self.admin_password if password is None else password,
            autocommit=True,
        )


@contextlib.contextmanager
def mariadb_server(workdir: Path, max_connections: int = 300) -> Iterator[MariaDB]:
    """A MariaDB server with an administrator ``lg_admin`` (its password set as a hash, so
    the general log never shows it) and a database ``lgdb``."""
    import pymysql

    from leakguard.backends.mariadb import native_password_hash

    binary = mariadb_bin()
    if binary is None:
        raise RuntimeError("MariaDB is not installed: .ci/run installs it (mariadb-server)")
    as_root = os.geteuid() == 0
    workdir = Path(tempfile.mkdtemp(prefix="leakguard-mariadb-")) if as_root else workdir
    workdir.mkdir(parents=True, exist_ok=True)
    user = ["--user=mysql"] if as_root else []
    if as_root:
        entry = pwd.getpwnam("mysql")
        os.chown(workdir, entry.pw_uid, entry.pw_gid)
    datadir, socket_path = workdir / "data", workdir / "mysqld.sock"
    subprocess.run(
        ["mariadb-install-db", "--no-defaults", f"--datadir={datadir}", *user,
         "--auth-root-authentication-method=normal", "--skip-test-db"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    port = free_port()
    server = MariaDB("127.0.0.1", port, ADMIN, ADMIN_PASSWORD, workdir)
    with open(workdir / "mariadbd.out", "wb") as out:
        proc = subprocess.Popen(
            [str(binary), "--no-defaults", f"--datadir={datadir}", f"--port={port}",
             "--bind-address=127.0.0.1", f"--socket={socket_path}", *user,
             f"--pid-file={workdir / 'mariadbd.pid'}", "--skip-name-resolve",
             "--general-log=1", f"--general-log-file={server.general_log}",
             f"--log-error={workdir / 'error.log'}", "--innodb-buffer-pool-size=32M",
             f"--max-connections={max_connections}"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                log = (workdir / "error.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"mariadbd exited:\n{log}")
            try:
                root = pymysql.connect(unix_socket=str(socket_path), user="root", autocommit=True)
                break
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError("mariadbd did not accept connections in 60 s") from None
                time.sleep(0.2)
        with root.cursor() as cur:
            cur.execute(
                "CREATE USER %s@'%%' IDENTIFIED BY PASSWORD %s",
                (ADMIN, native_password_hash(ADMIN_PASSWORD)),
            )
            cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO `{ADMIN}`@'%' WITH GRANT OPTION")
            cur.execute("CREATE DATABASE lgdb")
        root.close()
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)
