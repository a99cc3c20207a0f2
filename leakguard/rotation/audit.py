"""The audit trail of a run: an append-only JSON-lines file, each entry chained to the one before.

Every entry carries ``prev``, the SHA-256 of the previous line's bytes (64 zeros for the first),
and ``n``, its 1-based position. Changing an entry breaks the next entry's ``prev``; removing one
breaks ``n`` (and the chain). The chain alone cannot tell a trail rewritten from the edit onwards,
cut short or extended: the run journal (outside the trail file) keeps the count and the hash of
the last entry it wrote, and :func:`verify` with ``expected`` compares them. Entries hold the
same facts as the journal (step ids, states, handles, fingerprints, error messages): never a
secret value.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leakguard.errors import PlaybookError

GENESIS = "0" * 64


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditHead:
    count: int
    head: str  # the SHA-256 of the last line (GENESIS when empty)


def last_entry(path: Path) -> tuple[bytes, dict[str, Any]] | None:
    """The last line of a trail and its parsed entry (None when empty or missing)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            chunk = 65536
            while True:
                start = max(0, size - chunk)
                handle.seek(start)
                lines = [line for line in handle.read().splitlines() if line.strip()]
                if not lines:
                    return None
                if len(lines) > 1 or start == 0:
                    break
                chunk *= 4  # one line longer than the chunk: read more
    except FileNotFoundError:
        return None
    raw = lines[-1]
    try:
        entry = json.loads(raw)
    except ValueError:
        entry = {}
    return raw, entry if isinstance(entry, dict) else {}


class AuditLog:
    """Appends chained entries to ``path`` (created 0600, its folder 0700).

    Writers in several processes (a run, and ``playbook approve`` from another terminal) are
    serialised by :meth:`locked`; each append reads the current last entry, so the chain holds
    whoever wrote it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def head(self) -> AuditHead:
        last = last_entry(self.path)
        if last is None:
            return AuditHead(0, GENESIS)
        raw, entry = last
        return AuditHead(int(entry.get("n", 0)), line_hash(raw))

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def append(self, entry: Mapping[str, Any]) -> AuditHead:
        """Append one entry (call it inside :meth:`locked` when others may write)."""
        head = self.head
        record = {"n": head.count + 1, **entry, "prev": head.head}
        line = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        data = line.encode("utf-8") + b"\n"
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        return AuditHead(record["n"], line_hash(data))


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    entries: int
    problems: tuple[str, ...]
    head: str


def verify(path: Path, expected: AuditHead | None = None) -> Verification:
    """Check the chain of ``path``; with ``expected`` (from the journal) also its length."""
    try:
        raw_lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise PlaybookError(f"cannot read audit trail {path}: {exc.strerror}") from None
    problems: list[str] = []
    prev = GENESIS
    count = 0
    heads: dict[int, str] = {}  # entry position -> the hash of its line
    for number, raw in enumerate(raw_lines, start=1):
        if not raw.strip():
            continue
        count += 1
        heads[count] = line_hash(raw)
        try:
            entry = json.loads(raw)
        except ValueError:
            problems.append(f"line {number}: not a JSON entry")
            prev = line_hash(raw)
            continue
        if not isinstance(entry, dict):
            problems.append(f"line {number}: not a JSON object")
        elif entry.get("prev") != prev:
            problems.append(
                f"line {number}: entry {entry.get('n')} does not follow the entry before it "
                "(changed, removed or reordered entries)"
            )
        elif entry.get("n") != count:
            problems.append(f"line {number}: entry number {entry.get('n')}, expected {count}")
        prev = line_hash(raw)
    if expected is not None:
        if count < expected.count:
            problems.append(
                f"the journal recorded {expected.count} entries, the file has {count} "
                "(entries removed at the end)"
            )
        elif count > expected.count:
            problems.append(
                f"the journal recorded {expected.count} entries, the file has {count} "
                "(entries appended that the run never wrote)"
            )
        if count >= expected.count and heads.get(expected.count, GENESIS) != expected.head:
            problems.append(
                f"entry {expected.count} differs from the one the journal recorded "
                "(entries changed and the chain rewritten)"
            )
    return Verification(not problems, count, tuple(problems), prev)
