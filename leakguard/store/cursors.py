"""Per-repository commit cursors kept in the findings store (the git source's incremental state).

:class:`StoreCommitCursor` implements the git source's ``CommitCursor`` protocol
(``seen(repo_key)`` / ``record(repo_key, commits)``). Used by a plain ``leakguard scan --db``,
``record`` writes through at once. Inside a sweep, the worker scans a target within
:func:`deferred_state`: ``record`` then only buffers, and the sweep's parent writes those
commits in the same transaction as the target's findings, so a sweep killed between the two can
never mark commits as scanned whose findings were not stored.

The same goes for each repository's state signature (``repo_signatures``, see
:mod:`leakguard.sources.git_signature`): deferred in a sweep, written with the findings.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from leakguard.store.db import Database

COMPONENT = "cursors"
MIGRATIONS: list[str] = [
    "CREATE TABLE repo_cursors ("
    " repo_key TEXT NOT NULL, commit_id TEXT NOT NULL,"
    " recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),"
    " PRIMARY KEY (repo_key, commit_id)) WITHOUT ROWID",
    "CREATE TABLE repo_signatures ("
    " repo_key TEXT PRIMARY KEY, signature TEXT NOT NULL,"
    " recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))",
]

CursorDelta = dict[str, set[str]]
SignatureDelta = dict[str, str]


@dataclass(slots=True)
class DeferredState:
    """What a deferred scan recorded: repo_key -> commits, and repo_key -> state signature."""

    commits: CursorDelta = field(default_factory=dict)
    signatures: SignatureDelta = field(default_factory=dict)


# The deferral is per thread: a Dask worker may run several targets at once in one process.
_deferral = threading.local()


@contextmanager
def deferred_state() -> Iterator[DeferredState]:
    """Within this block, cursors created on this thread buffer ``record`` and
    ``record_signature`` into the yielded state instead of writing them."""
    state = DeferredState()
    previous = getattr(_deferral, "state", None)
    _deferral.state = state
    try:
        yield state
    finally:
        _deferral.state = previous


def current_deferral() -> DeferredState | None:
    """The deferral active on this thread (see :func:`deferred_state`), if any."""
    state: DeferredState | None = getattr(_deferral, "state", None)
    return state


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


def stored_signature(conn: sqlite3.Connection, repo_key: str) -> str | None:
    row = conn.execute(
        "SELECT signature FROM repo_signatures WHERE repo_key = ?", (repo_key,)
    ).fetchone()
    return None if row is None else str(row[0])


def write_signature(conn: sqlite3.Connection, repo_key: str, signature: str) -> None:
    """Replace the repository's signature (caller owns the transaction)."""
    conn.execute(
        "INSERT INTO repo_signatures (repo_key, signature) VALUES (?, ?)"
        " ON CONFLICT (repo_key) DO UPDATE SET signature = excluded.signature,"
        " recorded_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
        (repo_key, signature),
    )


class StoreCommitCursor:
    """Commits already scanned, per repository, in the SQLite findings store at ``db_path``."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        self._deferred: DeferredState | None = getattr(_deferral, "state", None)

    def seen(self, repo_key: str) -> set[str]:
        with Database.open(self.db_path) as db:
            migrate(db)
            commits = seen_commits(db.conn, repo_key)
        if self._deferred is not None:
            commits |= self._deferred.commits.get(repo_key, set())
        return commits

    def record(self, repo_key: str, commits: Iterable[str]) -> None:
        if self._deferred is not None:
            self._deferred.commits.setdefault(repo_key, set()).update(commits)
            return
        with Database.open(self.db_path) as db:
            migrate(db)
            with db.transaction() as conn:
                write_commits(conn, repo_key, commits)

    def signature(self, repo_key: str) -> str | None:
        if self._deferred is not None and repo_key in self._deferred.signatures:
            return self._deferred.signatures[repo_key]
        if not self.db_path.exists():
            return None
        with Database.open(self.db_path) as db:
            migrate(db)
            return stored_signature(db.conn, repo_key)

    def record_signature(self, repo_key: str, signature: str) -> None:
        if self._deferred is not None:
            self._deferred.signatures[repo_key] = signature
            return
        with Database.open(self.db_path) as db:
            migrate(db)
            with db.transaction() as conn:
                write_signature(conn, repo_key, signature)
