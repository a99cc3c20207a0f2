"""NUL padding is not binary content: a log a crashed writer padded with NULs is still read."""

from __future__ import annotations

import gzip
from pathlib import Path

from leakguard.options import ScanOptions
from leakguard.scanner import run_scan
from leakguard.sources.readers import looks_binary

KEY = "sk_live_" + "51Hx9QeWJKY40uvSwMFLZDe1f8rESQedUStPKR0CsTy4Q"


def test_padding_runs_are_not_binary_but_scattered_nuls_are() -> None:
    assert not looks_binary(b"GET / 200\n" + b"\0" * 4096)
    assert not looks_binary(b"\0" * 512 + b"text after a preallocated block\n")
    assert looks_binary(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0>\0\x01\0\0\0")
    assert looks_binary(b"h\0e\0l\0l\0o\0")  # UTF-16 and the like stay binary
    assert not looks_binary(b"plain text")


def test_a_key_before_nul_padding_is_found(tmp_path: Path) -> None:
    padded = tmp_path / "app.log"
    padded.write_bytes(f"STRIPE_SECRET_KEY={KEY}\n".encode() + b"\0" * 65536)
    compressed = tmp_path / "app.log.1.gz"
    compressed.write_bytes(gzip.compress(padded.read_bytes()))
    for target in (padded, compressed):
        result = run_scan([str(target)], ScanOptions(jobs=1))
        assert [f.rule_id for f in result.findings] == ["stripe-live-secret-key"], target


def _heads() -> list[bytes]:
    """Real starts of every kind sniff tells apart, and text that comes close to each."""
    import bz2
    import io
    import lzma
    import tarfile
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.txt", "x")
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as t:
        info = tarfile.TarInfo("a.txt")
        t.addfile(info, io.BytesIO(b""))
    ustar_text = b"x" * 257 + b"ustar" + b" text, no NUL" * 10  # sniff's tar check needs no NUL
    return [
        archive.getvalue(),
        tar.getvalue(),
        gzip.compress(b"x"),
        bz2.compress(b"x"),
        lzma.compress(b"x"),
        ustar_text,
        b'{"version":3,"sources":[],"mappings":""}',
        b'  \n\t{"version": 3, "file": "a.js"}',
        b')]}\'\n{"version":3}',
        b'{"mappings": "AAAA", "sources": ["a.js"]}',
        b"{not a map}",
        b"Plain text that starts with P",
        b"Bzh and BZh9 are not bzip2 without the magic",
        b"ELF\0\x01\x02 binary",
        b"text then padding" + b"\0" * 64,
        b"text" + b"\0" * 3 + b"scattered",
        b"x" * 9000 + b"\0",  # a NUL past the sniffed head
        b"\x1f not gzip",
        b"\xfd7z not xz",
        b"x",
        b"",
        "ünïcode text".encode(),
    ]


def test_is_text_agrees_with_sniff() -> None:
    from leakguard.sources.readers import SNIFF_BYTES, Kind, is_text, sniff

    for head in _heads():
        for data in (head, head + b"\nmore text\n" * 3):
            assert is_text(data) is (sniff(data[:SNIFF_BYTES]) is Kind.TEXT), data[:40]


def test_is_text_head_agrees_with_is_text_whatever_follows_in_the_buffer() -> None:
    """A blob read into a reused buffer: only its own bytes count, not what an earlier, longer
    blob left after them (a NUL, a tar header's ``ustar``)."""
    from leakguard.sources.readers import is_text, is_text_head

    stale = bytearray(b"\0" * 300)
    stale[257:262] = b"ustar"
    for head in _heads():
        for data in (head, head + b"\nmore text\n" * 3, head[:258], head[:260], b"y" * 257):
            for tail in (b"", bytes(stale), b"\0", b"text", b"ustar"):
                assert is_text_head(data + tail, len(data)) is is_text(data), (data[:40], tail)
                assert is_text_head(bytearray(data + tail), len(data)) is is_text(data)
