"""Which commits of a repository were already scanned: the incremental state.

A :class:`CommitCursor` answers ``seen(repo_key)`` and takes ``record(repo_key, commits)``; it
also keeps each repository's state signature (:mod:`leakguard.sources.git_signature`), which
lets an incremental scan skip a repository where nothing changed.
Without a findings store it is a small file per repository under the state directory
(``--state-dir``, default ``$XDG_STATE_HOME/leakguard``), created 0600 and appended to; with
``--db`` it is :class:`leakguard.store.cursors.StoreCommitCursor`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from leakguard.errors import InputError
from leakguard.options import ScanOptions
from leakguard.store.db import default_state_dir

if TYPE_CHECKING:
    from leakguard.store.cursors import DeferredState

HEADER = b"# leakguard git commits v1 "


def private_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents 0700 (``mkdir(parents=True)`` would create the
    parents with the umask's mode: a state directory readable by every user)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for p in reversed(missing):
        p.mkdir(mode=0o700, exist_ok=True)


class CommitCursor(Protocol):
    def seen(self, repo_key: str) -> set[str]: ...

    def record(self, repo_key: str, commits: Iterable[str]) -> None: ...

    def signature(self, repo_key: str) -> str | None: ...

    def record_signature(self, repo_key: str, signature: str) -> None: ...


class FileCommitCursor:
    """One append-only file of commit ids per repository: ``<state_dir>/git/<key hash>``."""

    def __init__(self, state_dir: Path) -> None:
        from leakguard.store.cursors import current_deferral

        self.dir = Path(state_dir) / "git"
        self._deferred = current_deferral()

    def path_for(self, repo_key: str, suffix: str = ".commits") -> Path:
        return self.dir / (hashlib.sha256(repo_key.encode()).hexdigest()[:32] + suffix)

    def signature(self, repo_key: str) -> str | None:
        if self._deferred is not None and repo_key in self._deferred.signatures:
            return self._deferred.signatures[repo_key]
        try:
            text = self.path_for(repo_key, ".signature").read_text("ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None  # absent or unreadable: scan
        return text or None

    def record_signature(self, repo_key: str, signature: str) -> None:
        """Replace the signature atomically (a crash leaves the old one or the new one)."""
        if self._deferred is not None:
            self._deferred.signatures[repo_key] = signature
            return
        path = self.path_for(repo_key, ".signature")
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        try:
            private_dirs(self.dir)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, signature.encode("ascii") + b"\n")
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except OSError as exc:
            raise InputError(
                f"cannot write the incremental state {path}: {exc.strerror}",
                hint="check the permissions of --state-dir",
            ) from None

    def seen(self, repo_key: str) -> set[str]:
        deferred = self._deferred.commits.get(repo_key, set()) if self._deferred else set()
        return self._recorded(repo_key) | deferred

    def _recorded(self, repo_key: str) -> set[str]:
        try:
            data = self.path_for(repo_key).read_bytes()
        except FileNotFoundError:
            return set()
        except OSError as exc:
            raise InputError(
                f"cannot read the incremental state {self.path_for(repo_key)}: {exc.strerror}",
                hint="check the permissions of --state-dir, or delete the file for a full scan",
            ) from None
        lines = data.split(b"\n")
        if not lines or not lines[0].startswith(HEADER):
            return set()
        return {line.decode("ascii") for line in lines[1:] if line and not line.startswith(b"#")}

    def record(self, repo_key: str, commits: Iterable[str]) -> None:
        if self._deferred is not None:
            self._deferred.commits.setdefault(repo_key, set()).update(commits)
            return
        body = "".join(f"{c}\n" for c in commits).encode("ascii")
        path = self.path_for(repo_key)
        try:
            private_dirs(self.dir)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                if os.fstat(fd).st_size == 0:
                    label = repo_key.replace("\n", " ").encode("utf-8", "replace")
                    os.write(fd, HEADER + label + b"\n")
                os.write(fd, body)
            finally:
                os.close(fd)
        except OSError as exc:
            raise InputError(
                f"cannot write the incremental state {path}: {exc.strerror}",
                hint="check the permissions of --state-dir",
            ) from None


def cursor_for(options: ScanOptions) -> CommitCursor:
    if options.db is not None:
        from leakguard.store.cursors import StoreCommitCursor

        return StoreCommitCursor(options.db)
    return FileCommitCursor(options.state_dir or default_state_dir())


def write_deferred(state: DeferredState, options: ScanOptions) -> None:
    """Write what a deferred scan recorded (commits first: a signature promises them)."""
    cursor = cursor_for(options)  # made outside the deferral: it writes through
    for repo_key, commits in state.commits.items():
        cursor.record(repo_key, sorted(commits))
    for repo_key, signature in state.signatures.items():
        cursor.record_signature(repo_key, signature)
