"""Zip members read in order from their local headers, without the central directory.

``zipfile`` needs the central directory at the end of the archive: a truncated zip has none,
and one that lists millions of entries is parsed whole into memory before the first member is
read. This reader walks the local file headers from the start instead, one member at a time,
so a cut archive yields every member (and every byte of the cut member) before the cut, and an
entry limit stops it after that many headers. Stored and deflated members are read; other
methods and encrypted members are reported and skipped when their size is known.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from leakguard.sources.limits import Readable

LOCAL_HEADER = b"PK\x03\x04"
_DESCRIPTOR = b"PK\x07\x08"
_HEADER = struct.Struct("<4sHHHHHIIIHH")  # signature .. extra length: 30 bytes
_IN_BYTES = 64 * 1024
_DRAIN_BYTES = 64 * 1024 * 1024  # inflated to find the end of a member no one read in full
_ZIP64_EXTRA = 0x0001


class _Pushback:
    """A stream that can take back bytes read too far (a deflate stream's end)."""

    def __init__(self, inner: Readable) -> None:
        self._inner = inner
        self._back = b""

    def read(self, n: int) -> bytes:
        if self._back:
            data, self._back = self._back[:n], self._back[n:]
            if len(data) < n:
                data += self._inner.read(n - len(data))
            return data
        return self._inner.read(n)

    def unread(self, data: bytes) -> None:
        self._back = data + self._back


class MemberReader:
    """The decompressed bytes of one member. ``truncated`` is set when its data ends early;
    ``corrupt`` when the deflate stream is damaged (what came before is still returned)."""

    def __init__(self, src: _Pushback, method: int, compressed_size: int | None) -> None:
        self._src = src
        self._left = compressed_size
        self._inflate = zlib.decompressobj(-15) if method == 8 else None
        self._pending = b""
        self.truncated = False
        self.corrupt = False

    def _raw(self, n: int) -> bytes:
        want = n if self._left is None else min(n, self._left)
        if want <= 0:
            return b""
        data = self._src.read(want)
        if self._left is not None:
            self._left -= len(data)
            if len(data) < want:
                self.truncated = True
                self._left = 0
        return data

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = 1 << 20
        inflate = self._inflate
        if inflate is None:  # stored: only with a known size (else its end is unknown)
            return self._raw(n) if self._left is not None else b""
        out = b""
        while not out and not inflate.eof and not self.corrupt:
            chunk, self._pending = self._pending, b""
            if not chunk:
                chunk = self._raw(_IN_BYTES)
                if not chunk:
                    self.truncated = True
                    break
            try:
                out = inflate.decompress(chunk, n)
            except zlib.error:
                self.corrupt = True
                break
            self._pending = inflate.unconsumed_tail
            if inflate.eof and inflate.unused_data and self._left is None:
                self._src.unread(inflate.unused_data)
        return out

    def finish(self) -> bool:
        """Move past the member's data; False when its end cannot be found (a member with a
        data descriptor is inflated to its end, but at most ``_DRAIN_BYTES``: the archive
        stops there rather than inflate a bomb to throw it away)."""
        if self._left is not None:
            while self._left > 0 and not self.truncated:
                self._raw(_IN_BYTES)
            return not self.truncated
        if self._inflate is None:
            return False
        drained = 0
        while not self._inflate.eof and drained <= _DRAIN_BYTES:
            block = self.read(_IN_BYTES)
            if not block and (self.truncated or self.corrupt):
                return False
            drained += len(block)
        return bool(self._inflate.eof)


@dataclass
class LocalEntry:
    name: str
    is_dir: bool
    problem: str | None  # why its content is not read (encrypted, unknown method)
    reader: MemberReader
    compressed_size: int | None


class LocalZipReader:
    """Entries of a zip stream in order (positioned at its first byte). After the loop,
    ``truncated`` says whether the stream ended inside an entry."""

    def __init__(self, stream: Readable) -> None:
        self._src = _Pushback(stream)
        self.truncated = False
        #: the end of an unread member with a data descriptor could not be found
        self.stopped = False

    def entries(self) -> Iterator[LocalEntry]:
        while True:
            header = self._src.read(_HEADER.size)
            if len(header) < _HEADER.size or not header.startswith(LOCAL_HEADER):
                # the central directory, the end, or a header cut short
                self.truncated = 0 < len(header) < _HEADER.size and header.startswith(b"PK")
                return
            _sig, _ver, flags, method, _t, _d, _crc, csize, _usize, nlen, xlen = _HEADER.unpack(
                header
            )
            raw_name = self._src.read(nlen)
            extra = self._src.read(xlen)
            if len(raw_name) < nlen or len(extra) < xlen:
                self.truncated = True
                return
            zip64 = _zip64_sizes(extra)
            if zip64 is not None and csize == 0xFFFFFFFF:
                csize = zip64
            descriptor = bool(flags & 0x08)
            name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
            # sizes are 0 in the header when a descriptor follows, but a stored directory
            # entry has no data at all
            unknown = descriptor and csize == 0 and not (method == 0 and name.endswith("/"))
            known = None if unknown else csize
            problem = None
            if flags & 0x1:
                problem = "encrypted member"
            elif method not in (0, 8):
                problem = f"compression method {method} is not supported"
            elif method == 0 and known is None:
                problem = "stored member of unknown size"
            reader = MemberReader(self._src, method, known)
            yield LocalEntry(name, name.endswith("/"), problem, reader, known)
            if reader.truncated or not reader.finish():
                self.truncated = reader.truncated
                self.stopped = not reader.truncated
                return
            if descriptor:
                self._skip_descriptor(zip64 is not None)

    def _skip_descriptor(self, zip64: bool) -> None:
        first = self._src.read(4)
        if first != _DESCRIPTOR:
            self._src.unread(first)
        self._src.read(4 + (16 if zip64 else 8))  # crc, compressed and uncompressed sizes


def _zip64_sizes(extra: bytes) -> int | None:
    """The compressed size from a ZIP64 extra field, if there is one."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + size]
        if tag == _ZIP64_EXTRA and len(body) >= 16:
            return int(struct.unpack_from("<Q", body, 8)[0])
        pos += 4 + size
    return None


def central_entries(stream: Readable) -> int | None:
    """How many entries the end-of-central-directory record lists (ZIP64 too), read from the
    end of a seekable ``stream``; None when there is no such record."""
    seek = getattr(stream, "seek", None)
    if seek is None:
        return None
    size = seek(0, 2)
    tail_start = max(0, size - (22 + 65535))
    seek(tail_start)
    tail = stream.read(size - tail_start)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None
    total = int(struct.unpack_from("<H", tail, at + 10)[0])
    locator = at - 20
    if total == 0xFFFF and locator >= 0 and tail[locator : locator + 4] == b"PK\x06\x07":
        record_at = int(struct.unpack_from("<Q", tail, locator + 8)[0])
        seek(record_at)
        record = stream.read(56)
        if record[:4] == b"PK\x06\x06" and len(record) == 56:
            total = int(struct.unpack_from("<Q", record, 32)[0])
    return total
