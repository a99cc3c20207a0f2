"""Single-stream compressors (.gz, .bz2, .xz) read as a stream of decompressed bytes.

Decompression is driven by hand (not ``gzip.GzipFile``) so that a truncated stream ends with a
flag instead of an exception that would lose what was already decompressed, output is bounded
per call (a bomb never inflates in memory), and concatenated members (``cat a.gz b.gz``) are
read through, across NUL padding between them. Gzip is inflated by ISA-L (``isal``, several
times faster than zlib and zcat) where it is installed, else by zlib. For big inputs a reader
thread decompresses ahead of the matcher (the decompressors release the GIL), so decompression
and matching overlap.
"""

from __future__ import annotations

import bz2
import collections
import lzma
import queue
import threading
import zlib
from collections.abc import Callable
from typing import Any, Protocol, cast

from leakguard.sources.limits import Readable

isal_zlib: Any
try:
    from isal import isal_zlib
except ImportError:  # not on every platform: zlib is the fallback
    isal_zlib = None

_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error, lzma.LZMAError)
if isal_zlib is not None:
    _ERRORS = (*_ERRORS, cast(type[BaseException], isal_zlib.error))

IN_BYTES = 256 * 1024
OUT_BYTES = 4 * 1024 * 1024
MAX_READ = 64 * 1024 * 1024


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int = ...) -> bytes: ...


def _gzip() -> _Decompressor:
    # ISA-L's inflate is several times faster than zlib's (and than zcat); same stream format
    module: Any = isal_zlib if isal_zlib is not None else zlib
    return _ZlibAdapter(module.decompressobj(wbits=31))


def _bzip2() -> _Decompressor:
    return bz2.BZ2Decompressor()


def _xz() -> _Decompressor:
    return lzma.LZMADecompressor()


FORMATS: dict[str, Callable[[], _Decompressor]] = {"gzip": _gzip, "bzip2": _bzip2, "xz": _xz}

_MAGIC = {"gzip": b"\x1f\x8b", "bzip2": b"BZh", "xz": b"\xfd7zXZ\x00"}


class _ZlibAdapter:
    """zlib keeps input it could not use in ``unconsumed_tail``; give it the bz2/lzma shape."""

    def __init__(self, obj: Any) -> None:
        self._obj = obj

    @property
    def eof(self) -> bool:
        return bool(self._obj.eof)

    @property
    def unused_data(self) -> bytes:
        return bytes(self._obj.unused_data)

    @property
    def needs_input(self) -> bool:
        return not self._obj.unconsumed_tail

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        data = self._obj.unconsumed_tail + data
        return bytes(self._obj.decompress(data, max(0, max_length)))


class DecompressingReader:
    """``read(n)`` of the decompressed bytes. At the end, ``truncated`` says whether the input
    stopped before the compressor's end-of-stream marker."""

    def __init__(self, raw: Readable, fmt: str) -> None:
        self._raw = raw
        self._fmt = fmt
        self._factory = FORMATS[fmt]
        self._obj = self._factory()
        self._buffer = _Pieces()
        self._done = False
        self.truncated = False
        self.error: str | None = None
        #: bytes after the last member that are neither padding nor another member
        self.trailing_garbage = False

    def _fill(self, want: int) -> None:
        while len(self._buffer) < want and not self._done:
            obj = self._obj
            needs_input = getattr(obj, "needs_input", True)
            chunk = self._raw.read(IN_BYTES) if needs_input else b""
            if needs_input and not chunk:
                if not obj.eof:
                    self.truncated = True
                self._done = True
                return
            try:
                out = obj.decompress(chunk, OUT_BYTES)
            except _ERRORS as exc:
                self.error = str(exc) or type(exc).__name__
                self._done = True
                return
            self._buffer.append(out)
            if obj.eof:
                self._next_member(obj.unused_data)

    def _next_member(self, rest: bytes) -> None:
        """After one member ends, continue with a concatenated one, across NUL padding (tape
        blocks, xz stream padding); stop at anything else, flagged in ``trailing_garbage``."""
        while not rest.lstrip(b"\0"):
            rest = self._raw.read(IN_BYTES)
            if not rest:
                self._done = True
                return
        rest = rest.lstrip(b"\0")
        if not rest.startswith(_MAGIC[self._fmt][:2]):
            self.trailing_garbage = True
            self._done = True
            return
        self._obj = self._factory()
        self._buffer.append(self._obj.decompress(rest, OUT_BYTES))
        if self._obj.eof:
            self._next_member(self._obj.unused_data)

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = 1 << 62
        self._fill(min(n, MAX_READ))
        return self._buffer.take(n)


class _Pieces:
    """Bytes in arrival order; ``take(n)`` copies once (or not at all when a piece fits)."""

    def __init__(self) -> None:
        self._parts: collections.deque[bytes] = collections.deque()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, data: bytes) -> None:
        if data:
            self._parts.append(data)
            self._size += len(data)

    def take(self, n: int) -> bytes:
        parts = self._parts
        if not parts:
            return b""
        first = parts[0]
        if len(first) >= n:
            if len(first) == n:
                parts.popleft()
            else:
                parts[0] = first[n:]
                first = first[:n]
            self._size -= len(first)
            return first
        out = []
        need = n
        while need and parts:
            piece = parts.popleft()
            if len(piece) > need:
                parts.appendleft(piece[need:])
                piece = piece[:need]
            out.append(piece)
            need -= len(piece)
        self._size -= n - need
        return b"".join(out)


class PrefetchReader:
    """Reads ``inner`` in a background thread, a bounded queue of blocks ahead of the consumer,
    so decompression runs on one core while matching runs on another. Errors (limits) raised by
    ``inner.read`` are re-raised in the consumer."""

    def __init__(self, inner: Readable, *, block: int = 8 * 1024 * 1024, depth: int = 3) -> None:
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(depth)
        self._buffer = _Pieces()
        self._eof = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(inner, block), daemon=True)
        self._thread.start()

    def _run(self, inner: Readable, block: int) -> None:
        try:
            while not self._stop.is_set():
                data = inner.read(block)
                self._put(data)
                if not data:
                    return
        except BaseException as exc:  # handed to the consumer thread
            self._put(exc)

    def _put(self, item: bytes | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = 1 << 62
        while len(self._buffer) < n and not self._eof:
            item = self._queue.get()
            if isinstance(item, BaseException):
                self._eof = True
                raise item
            if not item:
                self._eof = True
                break
            self._buffer.append(item)
        return self._buffer.take(n)

    def close(self) -> None:
        self._stop.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout=5)
