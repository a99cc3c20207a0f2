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
import stat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from leakguard.errors import StoreError

Migration = str | Callable[[sqlite3.Connection], None]

DB_ENV = "LEAKGUARD_DB"


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/leakguard`` (``~/.local/state/leakguard``): LeakGuard's state. It is
    made private (0700) here, whoever writes into it next (the findings store, the git
    cursors): created so when missing, tightened when an older version left it open."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    directory = Path(state) / "leakguard"
    with contextlib.suppress(OSError, StoreError):
        _make_parents(directory)  # a failure here is reported by whatever writes there
        _tighten(directory, 0o700)
    return directory


def default_db_path() -> Path:
    """``--db`` wins, then ``LEAKGUARD_DB``, then ``$XDG_STATE_HOME/leakguard/leakguard.db``."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env)
    return default_state_dir() / "leakguard.db"


def resolve_db_path(explicit: Path | None) -> Path:
    return explicit if explicit is not None else default_db_path()


_NOT_OURS_HINT = "pass --db PATH naming a new file or an existing LeakGuard store"


def _refuse(path: Path, why: str) -> StoreError:
    from leakguard.redact import terminal_safe

    return StoreError(f"refusing --db {terminal_safe(str(path))}: {why}", hint=_NOT_OURS_HINT)


def _make_parents(directory: Path) -> None:
    """Create the missing directories above the store, each 0700 (it is LeakGuard state)."""
    missing: list[Path] = []
    current = directory
    while not current.exists():
        if current.is_symlink():
            raise _refuse(directory, f"{current} is a dangling symbolic link")
        missing.append(current)
        current = current.parent
    if not current.is_dir():
        raise _refuse(directory, f"{current} is not a directory")
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, 0o700)


def _tighten(path: Path, mode: int) -> None:
    """chmod ``path`` to ``mode`` only if it is ours (owned by us, not a link)."""
    try:
        st = os.lstat(path)
        if (
            st.st_uid == os.geteuid()
            and not stat.S_ISLNK(st.st_mode)
            and st.st_mode & 0o777 != mode
        ):
            os.chmod(path, mode)
    except OSError:
        pass


def _claim(path: Path) -> bool:
    """Check that ``path`` may hold the store; create it (0600) when missing. True when the
    file is new or empty (nothing to verify), False for an existing store to verify. Never
    changes the mode of a file LeakGuard did not create."""
    while True:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            except FileExistsError:
                continue  # another process created it first: check what it is
            os.close(fd)
            return True
        target = st
        if stat.S_ISLNK(st.st_mode):
            try:
                target = os.stat(path)
            except FileNotFoundError:
                raise _refuse(path, "it is a symbolic link to nothing") from None
        if stat.S_ISDIR(target.st_mode):
            raise _refuse(path, "it is a directory")
        if not stat.S_ISREG(target.st_mode):
            raise _refuse(path, "it is not a regular file (a device, socket or pipe)")
        if target.st_size == 0 and not stat.S_ISLNK(st.st_mode):
            _tighten(path, 0o600)  # an empty file of ours (mktemp, touch): nothing to protect
            return True
        # whether it is SQLite at all is asked of SQLite itself: opening the file here and
        # closing it would drop the POSIX locks of this process's open connections to it
        return False


def _is_leakguard(conn: sqlite3.Connection) -> bool:
    """A LeakGuard store has ``schema_migrations``; a database without any table (a store whose
    first run was interrupted) holds nothing to protect."""
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return not names or "schema_migrations" in names


class Database:
    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn

    @classmethod
    def open(cls, path: Path | None = None) -> Database:
        """Open (or create) the store. ``path`` must be a new file, an empty file, or an existing
        LeakGuard store: a symbolic link to another file, a directory, a device or any other
        SQLite database is refused, and its mode is never touched."""
        path = resolve_db_path(path)
        try:
            _make_parents(path.parent)
            new = _claim(path)
            conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open the findings store at {path}: {exc}",
                hint="pass --db PATH or set LEAKGUARD_DB to a writable location",
            ) from None
        try:
            if not new and not _is_leakguard(conn):
                raise _refuse(path, "it is an SQLite database, but not a LeakGuard store")
        except sqlite3.DatabaseError:
            conn.close()
            raise _refuse(
                path, "it is not a LeakGuard findings store (not an SQLite file)"
            ) from None
        except StoreError:
            conn.close()
            raise
        try:
            if not new:
                _tighten(path, 0o600)
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
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(
                f"cannot open the findings store at {path}: {exc}",
                hint="pass --db PATH or set LEAKGUARD_DB to a writable location",
            ) from None
        for suffix in ("-wal", "-shm"):
            _tighten(Path(str(path) + suffix), 0o600)
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
