"""Pick how to read one file by its content and yield its chunks.

The directory, file and git sources call :func:`file_chunks` (a path) or
:func:`stream_chunks_for` (an open stream) for each file. The first bytes decide the reader, not
the name: zip family, tar, gzip, bzip2, xz, source map, text (logs, bundles, configuration), or
binary (skipped). Containers hand each member back here, so nesting works to
``ArchiveLimits.max_depth`` and a member is named ``outer!inner``. A text file that ends with a
``sourceMappingURL`` comment has its map scanned too: an inline ``data:`` map at once, a sibling
file by :func:`file_chunks`.
"""

from __future__ import annotations

import enum
import errno
import io
import os
import re
import stat
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import BinaryIO

from leakguard.model import Chunk, Location, ScanStats, SourceKind
from leakguard.options import ScanOptions
from leakguard.sources import archive, sourcemap, webbundle
from leakguard.sources.limits import (
    Budget,
    CountingReader,
    LimitedReader,
    LimitExceeded,
    Readable,
)
from leakguard.sources.streaming import CHUNK_BYTES, Position, overlap_for, stream_chunks

SNIFF_BYTES = 8192
# where a sibling map's ``mappings`` locate findings where they were written (an enrichment only:
# maps are still followed from any text whose content names one)
_BUNDLE_SUFFIXES = frozenset({".js", ".mjs", ".cjs", ".css"})
_LOG_NAME = re.compile(r"\.(?:log|jsonl|ndjson)(?:$|[.\-_])|^(?:syslog|messages)(?:$|[.\-])", re.I)


class Kind(enum.StrEnum):
    ZIP = "zip"
    TAR = "tar"
    GZIP = "gzip"
    BZIP2 = "bzip2"
    XZ = "xz"
    SOURCE_MAP = "source-map"
    TEXT = "text"
    BINARY = "binary"


CONTAINERS = frozenset({Kind.ZIP, Kind.TAR, Kind.GZIP, Kind.BZIP2, Kind.XZ})


def sniff(head: bytes) -> Kind:
    """What a file is, from its first bytes (at least 512 of them for tar)."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return Kind.ZIP
    if head.startswith(b"\x1f\x8b"):
        return Kind.GZIP
    if (
        head.startswith(b"BZh")
        and head[3:4].isdigit()
        and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90")
    ):
        return Kind.BZIP2
    if head.startswith(b"\xfd7zXZ\x00"):
        return Kind.XZ
    if len(head) >= 262 and head[257:262] == b"ustar":
        return Kind.TAR
    if looks_binary(head):
        return Kind.BINARY
    if sourcemap.looks_like_source_map(head):
        return Kind.SOURCE_MAP
    return Kind.TEXT


#: the first bytes after which ``sniff`` may say something other than text: the signatures'
#: (zip, gzip, bzip2, xz) and what a source map starts with (ASCII space, ``{``, ``)]}'``)
_NOT_ONLY_TEXT = frozenset(b"PB\x1f\xfd{) \t\n\r\x0b\x0c")


def is_text(data: bytes) -> bool:
    """``sniff(data[:SNIFF_BYTES]) is Kind.TEXT``, without copying the head of the usual blob
    (one that starts with none of the signatures, holds no NUL and is no tar header)."""
    if not data or data[0] in _NOT_ONLY_TEXT or data.find(b"\0", 0, SNIFF_BYTES) != -1:
        return sniff(data[:SNIFF_BYTES]) is Kind.TEXT
    return data[257:262] != b"ustar"


def is_text_head(buffer: bytes | bytearray, size: int) -> bool:
    """``is_text(buffer[:size])`` without copying: a blob read into a buffer reused for the
    next (the buffer may be longer; what follows ``size`` is not looked at)."""
    if (
        not size
        or buffer[0] in _NOT_ONLY_TEXT
        or buffer.find(b"\0", 0, min(size, SNIFF_BYTES)) != -1
    ):
        return sniff(bytes(buffer[: min(size, SNIFF_BYTES)])) is Kind.TEXT
    return size < 262 or buffer[257:262] != b"ustar"


_NUL_PADDING = re.compile(rb"\0{16,}")


def looks_binary(head: bytes) -> bool:
    """A NUL among the bytes is binary; a run of NULs is padding (a preallocated or crashed log,
    a block-aligned archive member) and says nothing: text before or after it is still text."""
    if b"\0" not in head:
        return False
    return b"\0" in _NUL_PADDING.sub(b"", head)


def file_chunks(
    path: Path,
    display: str,
    options: ScanOptions,
    stats: ScanStats,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    walked: Callable[[Path, str], bool] | None = None,
    maps: webbundle.ReadMaps | None = None,
) -> Iterator[Chunk]:
    """Chunks of the file at ``path``, then of the map it names. ``walked(path, url)``: whether
    the directory walk the file is part of reaches the map ``url`` names (then it is scanned
    there, and not followed too). ``maps``: the walk's record of a map a bundle's findings had
    read, so that map file is not read and decoded again."""
    maps = maps if maps is not None else webbundle.ReadMaps()
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            stats.warn(f"{display}: not a regular file; skipped, not read")
            stats.skip(display, "not a regular file (not read)")
            return
        size = st.st_size
        if size > options.max_file_bytes and not _streamed_log(path):
            stats.skip(display, f"over the size limit ({size} > {options.max_file_bytes} bytes)")
            return
        reader = _Reader(options, stats, chunk_bytes=chunk_bytes, repeated=maps.repeated)
        known = maps.take(webbundle.file_identity(st))
        if known is not None:  # a bundle's findings had this map read: not again
            stats.files += 1
            stats.bytes += size
            yield from reader.read_known(known[0], known[1], display)
            return
        with open_regular(path) as fh:
            head = fh.read(SNIFF_BYTES)
            stats.files += 1
            stats.bytes += size
            reader.file = (fh, size)
            chunks = reader.read_guarded(fh, head, display)
            if path.suffix.lower() in _BUNDLE_SUFFIXES:
                mapping = _bundle_map(fh, head, path, size, options, stats, maps)
                if mapping is not None:
                    chunks = webbundle.mapped_chunks(chunks, mapping)
            yield from chunks
        url = reader.mapping_url
        if url is not None and not (walked is not None and walked(path, url)):
            yield from _sibling_map(path, display, url, options, stats, maps)
    except OSError as exc:
        stats.skip(display, unreadable_reason(exc))


def unreadable_reason(exc: OSError) -> str:
    """Why a file could not be read, as a skip reason."""
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "vanished during the scan"
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    return f"unreadable: {exc.strerror or exc}"


def plain_text_size(path: Path, options: ScanOptions, *, chunk_bytes: int = CHUNK_BYTES) -> int:
    """The size of the file at ``path`` when :func:`file_chunks` would read it (read with
    ``chunk_bytes``) as nothing but text streamed in blocks of ``chunk_bytes`` from its start,
    decided as :func:`file_chunks` decides: not skipped for its size, sniffed as text, not a
    bundle (located through its map), no ``sourceMappingURL`` in its last chunk (a map to
    follow). 0 otherwise, or when in doubt (it cannot be read, it is not a regular file)."""
    overlap = overlap_for(chunk_bytes)
    if chunk_bytes < SNIFF_BYTES or path.suffix.lower() in _BUNDLE_SUFFIXES:
        return 0  # a head longer than a block is a chunk of its own
    try:
        with open_regular(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > options.max_file_bytes and not _streamed_log(path):
                return 0
            if size == 0 or sniff(fh.read(SNIFF_BYTES)) is not Kind.TEXT:
                return 0
            fh.seek(max(0, (size - 1) // chunk_bytes * chunk_bytes - overlap))
            if sourcemap.source_mapping_url(fh.read(chunk_bytes + overlap)) is not None:
                return 0
    except OSError:
        return 0
    return size


def text_range_chunks(
    path: Path, display: str, stats: ScanStats, *, first: int, blocks: int | None, chunk_bytes: int
) -> Generator[Chunk, None, Position | None]:
    """The chunks :func:`file_chunks` yields for blocks ``first`` to ``first + blocks`` (to the
    end when ``blocks`` is None) of a file :func:`plain_text_size` found plain text, located
    from line 1, column 1 at the first chunk's start; returns where the range's owned part ends,
    as :func:`stream_chunks` does. The first range counts the file in ``stats``. Raises
    ``OSError`` when the file cannot be read."""
    overlap = overlap_for(chunk_bytes)
    with open_regular(path) as fh:
        carried = b""
        if first == 0:
            stats.files += 1
            stats.bytes += os.fstat(fh.fileno()).st_size
        else:
            fh.seek(first * chunk_bytes - overlap)
            carried = fh.read(overlap)
            if len(carried) < overlap:
                return None  # the file shrank: its stream ended before this range
        kind = _kind_of(display, SourceKind.FILE)
        return (
            yield from stream_chunks(
                fh,
                Location(display, 1, 1),
                kind,
                chunk_bytes=chunk_bytes,
                overlap=overlap,
                carried=carried,
                blocks=blocks,
            )
        )


class NotRegularFile(OSError):
    """The path was swapped for a FIFO, device or socket between the walk and the open."""


def open_regular(path: Path) -> BinaryIO:
    """Open ``path`` only if it is a regular file, checked on the opened descriptor.
    ``O_NONBLOCK`` makes opening a FIFO return at once instead of waiting for a writer."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(errno.EINVAL, "not a regular file (not read)")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def stream_chunks_for(
    stream: Readable,
    head: bytes,
    display: str,
    options: ScanOptions,
    stats: ScanStats,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    commit: str | None = None,
    source_kind: str = SourceKind.FILE,
) -> Iterator[Chunk]:
    """Chunks of an open stream whose first bytes (``head``) were already read.

    ``commit`` is carried into every location (git blobs); ``source_kind`` labels the chunks of
    the object itself (members of containers are ``archive``)."""
    reader = _Reader(
        options, stats, chunk_bytes=chunk_bytes, commit=commit, source_kind=source_kind
    )
    yield from reader.read_guarded(stream, head, display)


def _streamed_log(path: Path) -> bool:
    """Logs (``app.log``, ``app.log.1``, ``app.log.2.gz``, ``events.jsonl``) are streamed with
    constant memory whatever their size, so ``max_file_bytes`` does not skip them."""
    return _LOG_NAME.search(path.name) is not None


class _Reader:
    """Dispatch for one top-level object: one budget for everything nested inside it."""

    def __init__(
        self,
        options: ScanOptions,
        stats: ScanStats,
        *,
        chunk_bytes: int = CHUNK_BYTES,
        commit: str | None = None,
        source_kind: str = SourceKind.FILE,
        repeated: sourcemap.RepeatedSources | None = None,
    ) -> None:
        """``repeated``: the walk's record of the original sources its maps hold (see
        :class:`~leakguard.sources.sourcemap.RepeatedSources`)."""
        self.options = options
        self.repeated = repeated
        self.stats = stats
        self.budget = Budget(options.archives)
        self.chunk_bytes = chunk_bytes
        self.commit = commit
        self.source_kind = source_kind
        #: the top-level text's ``sourceMappingURL`` when it names another file
        self.mapping_url: str | None = None
        #: the top-level object when it is a file, and its size (see :meth:`_from_start`)
        self.file: tuple[BinaryIO, int] | None = None
        #: the top-level object's bytes and text when it is a map decoded already (see
        #: :meth:`read_known`)
        self._known_map: tuple[bytes, sourcemap.MapText] | None = None

    def read_known(self, data: bytes, text: sourcemap.MapText, display: str) -> Iterator[Chunk]:
        """:meth:`read_guarded` of a file read already: ``data``, decoded as ``text``."""
        head = data[:SNIFF_BYTES]
        self._known_map = (data, text)
        stream = io.BytesIO(data)  # shares ``data`` (a slice would copy it)
        stream.seek(len(head))
        yield from self.read_guarded(stream, head, display)

    def read_guarded(self, stream: Readable, head: bytes, display: str) -> Iterator[Chunk]:
        """:meth:`read` for a top-level object: damaged or hostile content (a malformed archive
        header, a map nested too deep for the JSON parser) ends in a warning, never a crash;
        what was read before is still scanned."""
        try:
            yield from self.read(stream, head, display, 0)
        except LimitExceeded as exc:
            archive._skip(self.stats, display, exc.reason)
        except OSError:
            raise  # unreadable file: the caller reports it
        except Exception as exc:  # untrusted input must not stop the scan
            self.stats.warn(
                f"{display}: unreadable content ({type(exc).__name__}); skipped the rest"
            )
            self.stats.count("unreadable_content")

    def read(self, stream: Readable, head: bytes, display: str, depth: int) -> Iterator[Chunk]:
        kind = sniff(head)
        if kind in CONTAINERS and depth >= self.options.archives.max_depth:
            archive._skip(
                self.stats, display, f"nested deeper than {self.options.archives.max_depth}"
            )
            return
        if kind is Kind.ZIP:
            yield from archive.zip_chunks(
                stream, head, display, depth + 1, self.budget, self.stats, self.read
            )
        elif kind is Kind.TAR:
            yield from archive.tar_chunks(
                _Prepended(head, stream), display, depth + 1, self.budget, self.stats, self.read
            )
        elif kind in (Kind.GZIP, Kind.BZIP2, Kind.XZ):
            yield from self._decompressed(stream, head, display, depth, str(kind))
        elif kind is Kind.SOURCE_MAP:
            yield from self._source_map(stream, head, display, depth)
        elif kind is Kind.BINARY:
            if depth == 0:
                self.stats.skip(display, "binary")
            else:
                self.stats.count("binary_members_skipped")
        elif self.chunk_bytes >= len(head):  # the first chunk is the head and more anyway
            yield from self._text(*self._from_start(stream, head), display, depth)
        else:
            yield from self._text(stream, head, display, depth)

    def _from_start(self, stream: Readable, head: bytes) -> tuple[Readable, bytes]:
        """``stream`` and ``head`` (its first bytes, read already); for the top-level file, that
        file from its start instead, in reads sized to it, and no head: read whole from its
        start, a file is one allocation where its head and the rest would be joined (a copy
        of it all, into fresh memory)."""
        if self.file is None or stream is not self.file[0]:
            return stream, head
        fh, size = self.file
        try:
            fh.seek(0)
        except OSError:
            return stream, head
        return _SizedReads(fh, size), b""

    def _kind(self, display: str) -> str:
        return _kind_of(display, self.source_kind)

    def _decompressed(
        self, stream: Readable, head: bytes, display: str, depth: int, fmt: str
    ) -> Iterator[Chunk]:
        from leakguard.sources.compressed import DecompressingReader, PrefetchReader

        counter = CountingReader(_Prepended(head, stream))
        decompressor = DecompressingReader(counter, fmt)
        limited = LimitedReader(
            decompressor,
            self.budget,
            compressed_counter=counter,
            enforce_size=depth > 0,
        )
        source: Readable = limited
        prefetch = (
            PrefetchReader(source, block=max(self.chunk_bytes, 64 * 1024)) if depth == 0 else None
        )
        if prefetch is not None:
            source = prefetch
        try:
            inner_head = source.read(SNIFF_BYTES)
            # a decompressed tar names its members; a decompressed log keeps the file's name
            yield from self.read(source, inner_head, display, depth + 1)
        finally:
            if prefetch is not None:
                prefetch.close()
        if limited.stopped is not None:
            archive._skip(self.stats, display, limited.stopped.reason)
            if limited.stopped.stop_container and depth > 0:
                raise limited.stopped
        if decompressor.truncated:
            self.stats.warn(f"{display}: truncated {fmt} stream; scanned the readable part")
            self.stats.count("truncated_streams")
        elif decompressor.error is not None:
            self.stats.warn(
                f"{display}: corrupt {fmt} stream ({decompressor.error}); scanned the readable part"
            )
        elif decompressor.trailing_garbage:
            self.stats.warn(f"{display}: data after the last {fmt} member is not {fmt}; ignored")

    def _source_map(
        self, stream: Readable, head: bytes, display: str, depth: int
    ) -> Iterator[Chunk]:
        limit = self.options.max_file_bytes
        known, self._known_map = (self._known_map if depth == 0 else None), None
        if known is not None and len(known[0]) <= limit:
            data = known[0]
        elif self.file is not None and stream is self.file[0]:  # read whole, from its start
            source, first = self._from_start(stream, head)
            rest = sourcemap.read_at_most(source, limit - len(first), self.file[1] - len(first))
            data = first + rest
        else:
            data = head + sourcemap.read_at_most(stream, max(0, limit - len(head)))
        if len(data) > limit:  # too big to parse as one document: stream it as text
            self.stats.warn(f"{display}: source map over {limit} bytes; scanned as text")
            yield from self._text(_Prepended(data[len(head) :], stream), head, display, depth)
            return
        # a source matched in an earlier map counts as produced (its findings are copied here)
        produced = -self.stats.counters.get("repeated_sources", 0)
        for chunk in sourcemap.map_chunks(
            data,
            display,
            self.stats,
            source_kind=SourceKind.WEB,
            commit=self.commit,
            known=known[1] if known is not None else None,
            repeated=self.repeated,
        ):
            produced += 1
            yield chunk
        produced += self.stats.counters.get("repeated_sources", 0)
        if not produced:  # not a map after all, or no sourcesContent: its text is worth a look
            yield from self._text(io.BytesIO(data[len(head) :]), head, display, depth)

    def _text(self, stream: Readable, head: bytes, display: str, depth: int) -> Iterator[Chunk]:
        last: Chunk | None = None
        start = Location(display, 1, 1, self.commit)
        for chunk in stream_chunks(
            stream,
            start,
            self._kind(display),
            chunk_bytes=self.chunk_bytes,
            overlap=overlap_for(self.chunk_bytes),
            first=head,
        ):
            last = chunk
            yield chunk
        if last is None:
            return
        found = sourcemap.source_mapping_url(last.data)
        if found is None:
            return
        url, offset = found
        inline = sourcemap.decode_data_url(url)
        if inline is None:
            if depth == 0:
                self.mapping_url = url
            return
        self.stats.count("inline_source_maps")
        anchor = last.location_at(offset)
        yield from sourcemap.map_chunks(
            inline,
            display,
            self.stats,
            source_kind=SourceKind.WEB,
            anchor=anchor,
            commit=self.commit,
        )


def _sibling_target(path: Path, url: str) -> Path | None:
    """The file a ``sourceMappingURL`` names when it is a plain relative file next to ``path``
    (a regular file, not ``path`` itself by any name)."""
    if "://" in url or url.startswith(("/", "data:")) or "?" in url or "#" in url:
        return None
    target = path.parent / url
    try:  # two stats, where resolving both paths takes one per directory of each
        found = target.stat()
        own = path.stat()
    except (OSError, ValueError):  # ValueError: a NUL in the URL
        return None
    if not stat.S_ISREG(found.st_mode) or (found.st_dev, found.st_ino) == (own.st_dev, own.st_ino):
        return None
    return target


def _sibling_map(
    path: Path,
    display: str,
    url: str,
    options: ScanOptions,
    stats: ScanStats,
    maps: webbundle.ReadMaps,
) -> Iterator[Chunk]:
    """The map a bundle names, when it is a plain relative file next to it (read once: the
    bundle's findings may have had it read already)."""
    target = _sibling_target(path, url)
    if target is None:
        return
    shown = os.path.normpath(os.path.join(os.path.dirname(display), url)).replace(os.sep, "/")
    try:
        st = target.stat()
        if st.st_size > options.max_file_bytes:
            stats.skip(
                shown, f"over the size limit ({st.st_size} > {options.max_file_bytes} bytes)"
            )
            return
        known = maps.take(webbundle.file_identity(st))
        data = known[0] if known is not None else target.read_bytes()
    except OSError as exc:
        stats.skip(shown, f"unreadable source map: {exc.strerror or exc}")
        return
    stats.count("followed_source_maps")
    yield from sourcemap.map_chunks(
        data,
        shown,
        stats,
        source_kind=SourceKind.WEB,
        known=known[1] if known is not None else None,
        repeated=maps.repeated,
    )


def _bundle_map(
    fh: BinaryIO,
    head: bytes,
    path: Path,
    size: int,
    options: ScanOptions,
    stats: ScanStats,
    maps: webbundle.ReadMaps,
) -> webbundle.SiblingMap | None:
    """The sibling map a bundle names (read only when a finding asks, see
    :mod:`leakguard.sources.webbundle`); leaves ``fh`` after ``head``."""
    if sniff(head) is not Kind.TEXT:
        return None
    try:
        if size > len(head):
            fh.seek(max(0, size - 4096))
        found = sourcemap.source_mapping_url(fh.read() if size > len(head) else head)
        target = _sibling_target(path, found[0]) if found is not None else None
    except OSError:
        return None  # the ordinary read reports an unreadable bundle; a map is optional
    finally:
        fh.seek(len(head))
    if target is None:
        return None
    return webbundle.SiblingMap(target, options.max_file_bytes, stats, maps)


def _kind_of(display: str, source_kind: str) -> str:
    """Members of archives are ``archive``; a decompressed file keeps its own kind."""
    return SourceKind.ARCHIVE if "!" in display else source_kind


class _SizedReads:
    """A file's stream whose reads ask for no more than the file holds (and one byte more, to
    see its end): ``read(n)`` allocates ``n`` bytes, fresh memory each time for the chunk size
    of MBs, whatever the file holds. A file that grew since its size was taken is still read
    to its end, in reads of the size asked."""

    def __init__(self, inner: Readable, left: int) -> None:
        self._inner = inner
        self._left = left

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0 or self._left < 0:
            return self._inner.read(n)
        data = self._inner.read(min(n, self._left + 1))
        self._left -= len(data)
        return data


class _Prepended:
    """A stream with bytes already read from it put back in front."""

    def __init__(self, head: bytes, inner: Readable) -> None:
        self._head = head
        self._inner = inner

    def read(self, n: int = -1) -> bytes:
        if not self._head:
            return self._inner.read(n)
        if n is None or n < 0:
            data, self._head = self._head + self._inner.read(), b""
            return data
        if n <= len(self._head):
            data, self._head = self._head[:n], self._head[n:]
            return data
        data, self._head = self._head, b""
        return data + self._inner.read(n - len(data))
