"""Zip members read in order from their local headers (no central directory)."""

from __future__ import annotations

import io
import zipfile

import pytest

from leakguard.sources.zipstream import LocalZipReader, central_entries


class _Unseekable(io.RawIOBase):
    """A write-only sink that cannot seek: zipfile then writes data descriptors."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.data += b
        return len(b)


MEMBERS = {"a.txt": b"alpha\n" * 1000, "dir/": b"", "b.bin": bytes(range(256)) * 40}


def _zip(*, streamed: bool, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    sink: io.RawIOBase | io.BytesIO = _Unseekable() if streamed else io.BytesIO()
    with zipfile.ZipFile(sink, "w", method) as archive:  # type: ignore[arg-type]
        for name, data in MEMBERS.items():
            archive.writestr(name, data)
    return bytes(sink.data) if isinstance(sink, _Unseekable) else sink.getvalue()


def _read(raw: bytes) -> tuple[dict[str, bytes], LocalZipReader]:
    reader = LocalZipReader(io.BytesIO(raw))
    out = {}
    for entry in reader.entries():
        out[entry.name] = b"" if entry.is_dir else _drain(entry.reader)
    return out, reader


def _drain(member: object) -> bytes:
    parts = []
    while block := member.read(1000):  # type: ignore[attr-defined]
        parts.append(block)
    return b"".join(parts)


@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_every_member_in_order_without_the_central_directory(streamed: bool, method: int) -> None:
    raw = _zip(streamed=streamed, method=method)
    members, reader = _read(raw)
    if streamed and method == zipfile.ZIP_STORED:
        # a stored member with a data descriptor has no length to find its end by
        assert members == {"a.txt": b""} and reader.stopped and not reader.truncated
        return
    assert members == MEMBERS
    assert not reader.truncated and not reader.stopped
    assert central_entries(io.BytesIO(raw)) == 3


def test_a_cut_member_returns_its_bytes_before_the_cut() -> None:
    raw = _zip(streamed=False, method=zipfile.ZIP_STORED)
    cut = raw.index(b"alpha") + 600
    members, reader = _read(raw[:cut])
    assert members == {"a.txt": b"alpha\n" * 100}
    assert reader.truncated
    assert central_entries(io.BytesIO(raw[:cut])) is None
