"""Bounds on what a container may make us read: total bytes, ratio, entries, depth, names.

One :class:`Budget` is shared by everything read out of one top-level file, however deeply
nested. A stream that exceeds a limit ends early (what was already read is still scanned) and
records a :class:`LimitExceeded`; the reader that owns the member turns it into a warning and
skips the rest of that member. Entry counts raise at once. Nothing is ever written to disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from leakguard.options import ArchiveLimits

#: below this many output bytes a high compression ratio is harmless (tiny files compress well)
RATIO_FLOOR = 1024 * 1024

_DRIVE = re.compile(r"^[A-Za-z]:")


class Readable(Protocol):
    """What readers need of a stream: ``read(n)``, empty at the end."""

    def read(self, n: int = -1, /) -> bytes: ...


class LimitExceeded(Exception):
    """A container limit was hit; ``reason`` says which, for a person."""

    def __init__(self, reason: str, *, stop_container: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.stop_container = stop_container


@dataclass
class Budget:
    """What is left to read from one top-level file."""

    limits: ArchiveLimits
    total_bytes: int = 0
    entries: int = 0

    def take_bytes(self, n: int) -> None:
        self.total_bytes += n
        if self.total_bytes > self.limits.max_total_bytes:
            raise LimitExceeded(
                f"total uncompressed size over the limit ({self.limits.max_total_bytes} bytes)",
                stop_container=True,
            )

    def take_entry(self) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise LimitExceeded(
                f"more than {self.limits.max_entries} archive entries", stop_container=True
            )


def unsafe_member_name(name: str) -> str | None:
    """Why a member name is unsafe (absolute, drive letter, ``..``, NUL), or None."""
    if "\0" in name:
        return "member name contains a NUL byte"
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "absolute member name"
    if any(part == ".." for part in re.split(r"[\\/]", name)):
        return "member name escapes the archive (path traversal)"
    return None


class LimitedReader:
    """Counts what is read from a decompressed member and enforces the member, total and ratio
    limits as bytes arrive (headers can lie about sizes). A compressed file given directly (a
    multi-gigabyte ``app.log.2.gz``) is bounded by its ratio only: ``enforce_size=False``."""

    def __init__(
        self,
        inner: Readable,
        budget: Budget,
        *,
        compressed_size: int | None = None,
        compressed_counter: CountingReader | None = None,
        enforce_size: bool = True,
    ) -> None:
        self._inner = inner
        self._budget = budget
        self._compressed_size = compressed_size
        self._counter = compressed_counter
        self._enforce_size = enforce_size
        self.read_bytes = 0
        #: the limit that ended the stream early, if any
        self.stopped: LimitExceeded | None = None

    def read(self, n: int = -1) -> bytes:
        if self.stopped is not None:
            return b""
        limits = self._budget.limits
        if n is None or n < 0:
            n = limits.max_member_bytes + 1
        data = self._inner.read(n)
        if not data:
            return data
        self.read_bytes += len(data)
        try:
            self._check(len(data))
        except LimitExceeded as exc:
            # what was read is still scanned; the stream ends here and the owner warns
            self.stopped = exc
        return data

    def _check(self, n: int) -> None:
        limits = self._budget.limits
        if self._enforce_size:
            if self.read_bytes > limits.max_member_bytes:
                raise LimitExceeded(f"member over the size limit ({limits.max_member_bytes} bytes)")
            self._budget.take_bytes(n)
        if self.read_bytes > RATIO_FLOOR:
            compressed = self._counter.count if self._counter is not None else self._compressed_size
            if compressed is not None and self.read_bytes > limits.max_ratio * max(compressed, 1):
                raise LimitExceeded(f"compression ratio over {limits.max_ratio:g} (zip bomb?)")


class CountingReader:
    """Counts the bytes read through it (what a decompressor pulled from its input; stdin)."""

    def __init__(self, inner: Readable) -> None:
        self._inner = inner
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self._inner.read(n)
        self.count += len(data)
        return data
