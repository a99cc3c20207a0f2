"""Per-repository commit cursors kept in the findings store (the git source's incremental state).

:class:`StoreCommitCursor` implements the git source's ``CommitCursor`` protocol
(``seen(repo_key)`` / ``record(repo_key, commits)``). Used by a plain ``leakguard scan --db``,
``record`` writes through at once. Inside a sweep, the worker scans a target within
:func:`deferred_cursors`: ``record`` then only buffers, and the sweep's parent writes those
commits in the same transaction as the target's findings, so a sweep killed between the two can
never mark commits as scanned whose findings were not stored.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from leakguard.store.db import Database

COMPONENT = "cursors"
MIGRATIONS: list[str] = [
    "CREATE TABLE repo_cursors ("
    " repo_key TEXT NOT NULL, commit_id TEXT NOT NULL,"
    " recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),"
    " PRIMARY KEY (repo_key, commit_id)) WITHOUT ROWID",
]

CursorDelta = dict[str, set[str]]

# The deferral is per thread: a Dask worker may run several targets at once in one process.
_deferral = threading.local()


@contextmanager
def deferred_cursors() -> Iterator[CursorDelta]:
    """Within this block, cursors created on this thread buffer ``record`` into the yielded
    mapping (repo_key -> commits) instead of writing it."""
    delta: CursorDelta = {}
    previous = getattr(_deferral, "delta", None)
    _deferral.delta = delta
    try:
        yield delta
    finally:
        _deferral.delta = previous


def migrate(db: Database) -> None:
    db.migrate(COMPONENT, MIGRATIONS)


def seen_commits(conn: sqlite3.Connection, repo_key: str) -> set[str]:
    rows = conn.execute("SELECT commit_id FROM repo_cursors WHERE repo_key = ?", (repo_key,))
    return {r[0] for r in rows}


def write_commits(conn: sqlite3.Connection, repo_key: str, commits: Iterable[str]) -> int:
    """Insert commits (caller owns the transaction); returns how many rows were given."""
    rows = [(repo_key, c) for c in commits]
    conn.executemany("INSERT OR IGNORE INTO repo_cursors (repo_key, commit_id) VALUES (?, ?)", rows)
    return len(rows)


class StoreCommitCursor:
    """Commits already scanned, per repository, in the SQLite findings store at ``db_path``."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        self._delta: CursorDelta | None = getattr(_deferral, "delta", None)

    def seen(self, repo_key: str) -> set[str]:
        with Database.open(self.db_path) as db:
            migrate(db)
            commits = seen_commits(db.conn, repo_key)
        if self._delta is not None:
            commits |= self._delta.get(repo_key, set())
        return commits

    def record(self, repo_key: str, commits: Iterable[str]) -> None:
        if self._delta is not None:
            self._delta.setdefault(repo_key, set()).update(commits)
            return
        with Database.open(self.db_path) as db:
            migrate(db)
            with db.transaction() as conn:
                write_commits(conn, repo_key, commits)
