"""Where the incremental state lives between scans: commits already scanned and state
signatures, per repository key (see :class:`leakguard.model.ScanState`).

Two homes, both a :class:`~leakguard.sources.interface.StateReader` with a ``write``: the
findings store (:class:`StoreState`, ``--db``) and small private files under the state directory
(:class:`FileState`, ``--state-dir``, default ``$XDG_STATE_HOME/leakguard``). Only callers (the
CLI, a sweep) use them: the scan core reads through the reader it is given, and returns what a
scan saw in its result; the caller writes that only once the result is safely delivered, so a
scan that failed or was interrupted never marks commits as scanned whose findings were lost. A
sweep writes a target's state in the same transaction as its findings (``write_commits``,
``write_signature``).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Collection, Iterable
from pathlib import Path

from leakguard.errors import InputError
from leakguard.model import ScanState
from leakguard.options import ScanOptions
from leakguard.store.db import Database, default_state_dir

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

HEADER = b"# leakguard git commits v1 "


def state_store_for(options: ScanOptions) -> StoreState | FileState:
    """The findings store when ``options.db`` is set, else the state directory's files."""
    if options.db is not None:
        return StoreState(options.db)
    return FileState(options.state_dir or default_state_dir())


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


class StoreState:
    """The incremental state in the SQLite findings store at ``db_path``."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)

    def read(self, keys: Collection[str]) -> ScanState:
        if not keys:
            return ScanState()
        with Database.open(self.db_path) as db:
            migrate(db)
            commits = {k: frozenset(seen_commits(db.conn, k)) for k in keys}
            signatures = {k: s for k in keys if (s := stored_signature(db.conn, k)) is not None}
        return ScanState({k: c for k, c in commits.items() if c}, signatures)

    def write(self, state: ScanState) -> None:
        """Commits and signatures in one transaction."""
        if state.empty:
            return
        with Database.open(self.db_path) as db:
            migrate(db)
            with db.transaction() as conn:
                for key, commits in state.commits.items():
                    write_commits(conn, key, sorted(commits))
                for key, signature in state.signatures.items():
                    write_signature(conn, key, signature)


class FileState:
    """One file of commit ids per repository, each id once
    (``<state_dir>/git/<key hash>.commits``), and its signature beside it (``.signature``),
    each created 0600 in a 0700 directory."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = Path(state_dir) / "git"

    def path_for(self, repo_key: str, suffix: str = ".commits") -> Path:
        return self.dir / (hashlib.sha256(repo_key.encode()).hexdigest()[:32] + suffix)

    def read(self, keys: Collection[str]) -> ScanState:
        commits = {k: frozenset(c) for k in keys if (c := self._commits(k))}
        signatures = {k: s for k in keys if (s := self._signature(k)) is not None}
        return ScanState(commits, signatures)

    def write(self, state: ScanState) -> None:
        """Commits first: a signature promises that its commits were scanned."""
        for key, commits in state.commits.items():
            self._append(key, commits)
        for key, signature in state.signatures.items():
            self._replace_signature(key, signature)

    def _signature(self, repo_key: str) -> str | None:
        try:
            text = self.path_for(repo_key, ".signature").read_text("ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None  # absent or unreadable: scan
        return text or None

    def _commits(self, repo_key: str) -> set[str]:
        try:
            data = self.path_for(repo_key).read_bytes()
        except FileNotFoundError:
            return set()
        except OSError as exc:
            raise InputError(
                f"cannot read the incremental state {self.path_for(repo_key)}: {exc.strerror}",
                hint="check the permissions of --state-dir, or delete the file for a full scan",
            ) from None
        if not data.startswith(HEADER):
            return set()  # not our format: scan everything
        return _ids(_recorded(data.partition(b"\n")[2]))

    def _append(self, repo_key: str, commits: Iterable[str]) -> None:
        """Add the commits the file does not hold yet (a full scan hands over every commit it
        walked, on every run). A file that holds a commit twice (earlier versions appended each
        full scan's commits whole) or is not in this format is rewritten at once: a crash
        leaves the old file or the new one."""
        path = self.path_for(repo_key)
        try:
            _private_dirs(self.dir)
            try:
                data: bytes | None = path.read_bytes()
            except FileNotFoundError:
                data = None
            if data is None or not data.startswith(HEADER):
                label = repo_key.replace("\n", " ").encode("utf-8", "replace")
                _write_private(path, HEADER + label + b"\n" + _lines(sorted(commits)))
                return
            head, _, rest = data.partition(b"\n")
            recorded = _recorded(rest)
            known = _ids(recorded)
            # sorted once filtered: a full scan hands over every commit, new ones are few
            new = sorted(c for c in commits if c not in known)
            if len(known) != len(recorded):  # duplicates: keep each commit once
                kept = list(dict.fromkeys(recorded))
                _write_private(path, head + b"\n" + b"".join(c + b"\n" for c in kept) + _lines(new))
            elif new:
                fd = os.open(path, os.O_WRONLY | os.O_APPEND)
                try:
                    os.write(fd, _lines(new))
                finally:
                    os.close(fd)
        except OSError as exc:
            raise _unwritable(path, exc) from None

    def _replace_signature(self, repo_key: str, signature: str) -> None:
        """Atomically: a crash leaves the old signature or the new one."""
        path = self.path_for(repo_key, ".signature")
        try:
            _private_dirs(self.dir)
            _write_private(path, signature.encode("ascii") + b"\n")
        except OSError as exc:
            raise _unwritable(path, exc) from None


def _recorded(rest: bytes) -> list[bytes]:
    """The commit lines of a state file after its header (blank and comment lines left out)."""
    return [line for line in rest.split(b"\n") if line and not line.startswith(b"#")]


def _ids(recorded: list[bytes]) -> set[str]:
    """The commit ids of ``recorded`` lines (an id is ASCII hex: a damaged line, read with
    replacement characters, is an id no commit has, not an error)."""
    return {line.decode("ascii", "replace") for line in recorded}


def _lines(commits: Iterable[str]) -> bytes:
    return "".join(f"{c}\n" for c in commits).encode("ascii")


def _write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` (0600) through a temporary file beside it."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _unwritable(path: Path, exc: OSError) -> InputError:
    return InputError(
        f"cannot write the incremental state {path}: {exc.strerror}",
        hint="check the permissions of --state-dir",
    )


def _private_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents 0700 (not with the umask's mode)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for p in reversed(missing):
        p.mkdir(mode=0o700, exist_ok=True)
