"""Members of zip-family archives (zip, jar, war, apk, aab, ipa, whl) and tar streams.

Each member is read as a stream (never extracted) behind a :class:`LimitedReader` and handed back
to the reader dispatch, so a member is sniffed by content like any file and nested containers
work to ``ArchiveLimits.max_depth``. Findings name the member ``outer!inner``. A member that hits
a limit or has an unsafe name is skipped with a warning; the rest of the archive is still read.
"""

from __future__ import annotations

import io
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import IO, cast

from leakguard.model import Chunk, ScanStats
from leakguard.sources import zipstream
from leakguard.sources.limits import (
    Budget,
    LimitedReader,
    LimitExceeded,
    Readable,
    unsafe_member_name,
)

#: a zip nested in another container must be opened from memory (zip needs seeking); cap it
NESTED_ZIP_BYTES = 64 * 1024 * 1024

SNIFF_BYTES = 8192

# what reading a damaged member can raise (zipfile passes decompressor errors through)
_MEMBER_ERRORS = (zipfile.BadZipFile, OSError, EOFError, zlib.error, lzma.LZMAError, ValueError)

# (stream, head, display, depth) -> chunks; the reader dispatch, passed in to avoid a cycle
Recurse = Callable[[Readable, bytes, str, int], Iterator[Chunk]]


def _skip(stats: ScanStats, display: str, reason: str) -> None:
    stats.warn(f"{display}: {reason}; skipped")
    stats.skip(display, reason)


def member_chunks(
    reader: LimitedReader, display: str, depth: int, stats: ScanStats, recurse: Recurse
) -> Iterator[Chunk]:
    """Sniff and scan one member. A limit hit inside it skips the rest of the member only,
    unless it exhausts the whole container's budget (raised to stop the container)."""
    head = reader.read(SNIFF_BYTES)
    stats.count("archive_members")
    yield from recurse(reader, head, display, depth)
    if reader.stopped is not None:
        _skip(stats, display, reader.stopped.reason)
        if reader.stopped.stop_container:
            raise reader.stopped


def open_zip(
    stream: Readable, head: bytes, display: str, budget: Budget, stats: ScanStats
) -> IO[bytes] | None:
    """``stream`` as a seekable file (``head`` already read from it); a stream that cannot
    seek (a member of another container) is read into memory, bounded."""
    seekable = getattr(stream, "seekable", None)
    if not (callable(seekable) and seekable()):
        cap = min(NESTED_ZIP_BYTES, budget.limits.max_member_bytes)
        data = head + stream.read(max(0, cap + 1 - len(head)))
        if len(data) > cap:
            _skip(
                stats,
                display,
                f"zip over {cap} bytes in a stream that cannot seek (nothing is extracted to disk)",
            )
            return None
        stream = io.BytesIO(data)
    return cast(IO[bytes], stream)


def zip_chunks(
    stream: Readable,
    head: bytes,
    display: str,
    depth: int,
    budget: Budget,
    stats: ScanStats,
    recurse: Recurse,
) -> Iterator[Chunk]:
    """Members by the central directory; in order from the local headers when the directory
    is unreadable (a truncated zip) or lists more than ``max_entries`` (``zipfile`` would
    parse all of it into memory first)."""
    fh = open_zip(stream, head, display, budget, stats)
    if fh is None:
        return
    limits = budget.limits
    try:
        listed = zipstream.central_entries(fh)
        if listed is not None and listed > limits.max_entries:
            stats.warn(
                f"{display}: the central directory lists {listed} entries (over "
                f"{limits.max_entries}); members are read in order up to the limit"
            )
            fh.seek(0)
            yield from _zip_in_order(fh, display, depth, budget, stats, recurse)
            return
        fh.seek(0)
        archive = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        stats.warn(f"{display}: no readable central directory ({exc}); members are read in order")
        fh.seek(0)
        yield from _zip_in_order(fh, display, depth, budget, stats, recurse)
        return
    with archive:
        try:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                budget.take_entry()
                name = f"{display}!{info.filename}"
                reason = _zip_member_problem(info, limits.max_member_bytes, limits.max_ratio)
                if reason is not None:
                    _skip(stats, name, reason)
                    continue
                try:
                    member = archive.open(info)
                except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as exc:
                    _skip(stats, name, f"unreadable member ({exc})")
                    continue
                with member:
                    limited = LimitedReader(
                        member,
                        budget,
                        compressed_size=info.compress_size,
                    )
                    try:
                        yield from member_chunks(
                            limited,
                            name,
                            depth,
                            stats,
                            recurse,
                        )
                    except _MEMBER_ERRORS as exc:
                        _skip(stats, name, f"corrupt member ({exc})")
        except LimitExceeded as exc:
            stats.warn(f"{display}: {exc.reason}; the rest of the archive is skipped")


def _zip_in_order(
    fh: IO[bytes],
    display: str,
    depth: int,
    budget: Budget,
    stats: ScanStats,
    recurse: Recurse,
) -> Iterator[Chunk]:
    reader = zipstream.LocalZipReader(fh)
    try:
        for entry in reader.entries():
            budget.take_entry()
            name = f"{display}!{entry.name}"
            if entry.is_dir:
                continue
            problem = unsafe_member_name(entry.name) or entry.problem
            if problem is not None:
                _skip(stats, name, problem)
                continue
            limited = LimitedReader(entry.reader, budget, compressed_size=entry.compressed_size)
            try:
                yield from member_chunks(limited, name, depth, stats, recurse)
            except _MEMBER_ERRORS as exc:
                _skip(stats, name, f"corrupt member ({exc})")
            if entry.reader.truncated:
                stats.warn(f"{name}: truncated zip member; scanned the readable part")
                stats.count("truncated_streams")
                return
            elif entry.reader.corrupt:
                stats.warn(f"{name}: corrupt deflate data; scanned the readable part")
    except LimitExceeded as exc:
        stats.warn(f"{display}: {exc.reason}; the rest of the archive is skipped")
        return
    if reader.stopped:
        stats.warn(f"{display}: a member's end could not be found; the rest is skipped")
    elif reader.truncated:
        stats.warn(f"{display}: truncated zip archive; scanned the readable part")


def _zip_member_problem(info: zipfile.ZipInfo, max_member: int, max_ratio: float) -> str | None:
    unsafe = unsafe_member_name(info.filename)
    if unsafe is not None:
        return unsafe
    if info.flag_bits & 0x1:
        return "encrypted member"
    if info.file_size > max_member:
        return f"member over the size limit ({info.file_size} > {max_member} bytes)"
    if info.file_size > 1024 * 1024 and info.file_size > max_ratio * max(info.compress_size, 1):
        return f"compression ratio over {max_ratio:g} (zip bomb?)"
    return None


def tar_chunks(
    stream: Readable, display: str, depth: int, budget: Budget, stats: ScanStats, recurse: Recurse
) -> Iterator[Chunk]:
    """Members of a tar stream, in order, without seeking (works behind a decompressor).

    Every header counts against ``max_entries`` (directories too: a tar of millions of
    directory entries is cut off, not read for minutes), and headers are not kept. A member
    cut short by the end of the stream yields every byte before the cut, with a warning."""
    limits = budget.limits
    try:
        with tarfile.open(fileobj=cast(IO[bytes], stream), mode="r|") as archive:
            while (info := archive.next()) is not None:
                archive.members.clear()  # type: ignore[attr-defined]  # else it keeps every header
                budget.take_entry()
                if not info.isfile():
                    continue
                name = f"{display}!{info.name}"
                unsafe = unsafe_member_name(info.name)
                if unsafe is not None:
                    _skip(stats, name, unsafe)
                    continue
                if info.size > limits.max_member_bytes:
                    _skip(stats, name, f"member over the size limit ({info.size} bytes)")
                    continue
                member = _TarMember(archive, info)
                limited = LimitedReader(member, budget)
                yield from member_chunks(limited, name, depth, stats, recurse)
                if member.truncated:
                    stats.warn(f"{name}: truncated tar member; scanned the readable part")
                    stats.count("truncated_streams")
                    return
    except LimitExceeded as exc:
        stats.warn(f"{display}: {exc.reason}; the rest of the archive is skipped")
    except (tarfile.TarError, EOFError, OSError) as exc:
        stats.warn(f"{display}: damaged tar archive ({exc}); scanned what was readable")


class _TarMember:
    """A member's bytes read straight from the tar stream: at a premature end it returns what
    there was (``tarfile``'s own reader raises and drops the partial read) and sets
    ``truncated``. Sparse members go through ``tarfile``."""

    def __init__(self, archive: tarfile.TarFile, info: tarfile.TarInfo) -> None:
        self._archive = archive
        self._inner: IO[bytes] | None = None
        self._raw = archive.fileobj
        self._left = info.size
        self._start: int | None = info.offset_data
        self.truncated = False
        if info.sparse is not None:
            self._inner = archive.extractfile(info)

    def read(self, n: int = -1) -> bytes:
        if self._inner is not None:
            return self._inner.read(n)
        if self._left <= 0:
            return b""
        if self._start is not None:
            assert self._raw is not None
            self._raw.seek(self._start)  # forward only: skips what the previous member left
            self._start = None
        want = self._left if n is None or n < 0 else min(n, self._left)
        assert self._raw is not None
        data = self._raw.read(want)
        self._left -= len(data)
        if len(data) < want:
            self.truncated = True
            self._left = 0
        return data
