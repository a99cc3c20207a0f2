"""Open the SQLite store safely and apply each component's migrations.

Each component (findings, graph, journal...) owns its tables and a list of migration steps;
``Database.migrate(component, steps)`` applies the ones not yet applied, in order, each in its
own transaction, and records them in ``schema_migrations``. The file is created 0600 and never
holds a secret value.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from leakguard.errors import StoreError

Migration = str | Callable[[sqlite3.Connection], None]

DB_ENV = "LEAKGUARD_DB"


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/leakguard`` (``~/.local/state/leakguard``): LeakGuard's state."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(state) / "leakguard"


def default_db_path() -> Path:
    """``--db`` wins, then ``LEAKGUARD_DB``, then ``$XDG_STATE_HOME/leakguard/leakguard.db``."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env)
    return default_state_dir() / "leakguard.db"


def resolve_db_path(explicit: Path | None) -> Path:
    return explicit if explicit is not None else default_db_path()


class Database:
    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn

    @classmethod
    def open(cls, path: Path | None = None) -> Database:
        path = resolve_db_path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not path.exists():
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                os.close(fd)
            os.chmod(path, 0o600)
            conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " component TEXT NOT NULL, version INTEGER NOT NULL,"
                " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),"
                " PRIMARY KEY (component, version))"
            )
        except FileExistsError:
            return cls.open(path)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open the findings store at {path}: {exc}",
                hint="pass --db PATH or set LEAKGUARD_DB to a writable location",
            ) from None
        for suffix in ("-wal", "-shm"):
            side = Path(str(path) + suffix)
            if side.exists():
                os.chmod(side, 0o600)
        return cls(path, conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; rolled back on any exception."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def schema_version(self, component: str) -> int:
        row = self.conn.execute(
            "SELECT MAX(version) FROM schema_migrations WHERE component = ?", (component,)
        ).fetchone()
        return int(row[0] or 0)

    def migrate(self, component: str, steps: Sequence[Migration]) -> None:
        current = self.schema_version(component)
        if current > len(steps):
            raise StoreError(
                f"the store at {self.path} has {component} schema v{current}, newer than this "
                f"LeakGuard knows (v{len(steps)})",
                hint="upgrade LeakGuard, or point --db at another file",
            )
        for version, step in enumerate(steps[current:], start=current + 1):
            try:
                with self.transaction() as conn:
                    if isinstance(step, str):
                        for statement in step.split(";"):
                            if statement.strip():
                                conn.execute(statement)
                    else:
                        step(conn)
                    conn.execute(
                        "INSERT INTO schema_migrations (component, version) VALUES (?, ?)",
                        (component, version),
                    )
            except sqlite3.Error as exc:
                raise StoreError(f"migrating {component} to v{version} failed: {exc}") from None
