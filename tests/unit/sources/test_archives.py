"""Archives and compressed files built for real: members named outer!inner, limits, safe names."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zipfile
from pathlib import Path

import pytest

from leakguard.options import ArchiveLimits, ScanOptions
from leakguard.sources.readers import Kind, sniff
from tests.support.keys import stripe_key
from tests.unit.sources.helpers import scan_file, secrets

KEY_A, KEY_B, KEY_C = stripe_key(1), stripe_key(2), stripe_key(3)


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _tar(members: dict[str, bytes], mode: str = "w") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_zip_holding_a_jar_names_the_nested_member(tmp_path: Path) -> None:
    jar = _zip(
        {
            "META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\n",
            "x.properties": f"a=1\nstripe.key={KEY_A}\n".encode(),
        }
    )
    path = tmp_path / "a.zip"
    path.write_bytes(_zip({"inner.jar": jar, "README": b"nothing here\n"}))
    findings, stats = scan_file(path)
    [finding] = findings
    assert finding.location.path == "a.zip!inner.jar!x.properties"
    assert (finding.location.line, finding.location.column) == (2, 12)
    assert finding.secret == KEY_A
    assert finding.source_kind == "archive"
    assert stats.counters["archive_members"] == 4


def test_apk_member_and_content_sniffing_ignores_the_extension(tmp_path: Path) -> None:
    path = tmp_path / "app.apk"
    path.write_bytes(
        _zip(
            {
                "assets/config.json": f'{{"key": "{KEY_A}"}}'.encode(),
                "classes.dex": b"dex\n035\0\0\0",
            }
        )
    )
    disguised = tmp_path / "download.bin"
    disguised.write_bytes(path.read_bytes())
    [apk] = scan_file(path)[0]
    assert apk.location.path == "app.apk!assets/config.json"
    [bin_] = scan_file(disguised)[0]
    assert bin_.location.path == "download.bin!assets/config.json"


def test_tar_gz_tar_bz2_and_tar_xz_members(tmp_path: Path) -> None:
    for suffix, mode in (("tgz", "w:gz"), ("tar.bz2", "w:bz2"), ("tar.xz", "w:xz"), ("tar", "w")):
        path = tmp_path / f"release.{suffix}"
        path.write_bytes(_tar({"app/.env": f"# env\nSTRIPE={KEY_B}\n".encode()}, mode))
        [finding] = scan_file(path)[0]
        assert finding.location.path == f"release.{suffix}!app/.env", suffix
        assert (finding.location.line, finding.location.column) == (2, 8)


def test_single_compressed_files_keep_their_name(tmp_path: Path) -> None:
    text = f"one\ntwo {KEY_C}\n".encode()
    for name, data in (
        ("app.log.2.gz", gzip.compress(text)),
        ("dump.sql.bz2", bz2.compress(text)),
        ("notes.xz", lzma.compress(text)),
        ("misnamed.txt", gzip.compress(text)),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        [finding] = scan_file(path)[0]
        loc = finding.location
        assert (loc.path, loc.line, loc.column) == (name, 2, 5)
        assert finding.source_kind == "file"  # a compressed file is not an archive member


def test_concatenated_gzip_members_are_read_through(tmp_path: Path) -> None:
    path = tmp_path / "app.log.gz"
    path.write_bytes(
        gzip.compress(f"a {KEY_A}\n".encode()) + gzip.compress(f"b {KEY_B}\n".encode())
    )
    findings, _ = scan_file(path)
    assert secrets(findings) == sorted([KEY_A, KEY_B])
    assert sorted(f.location.line for f in findings) == [1, 2]


def test_truncated_gzip_warns_and_scans_the_readable_part(tmp_path: Path) -> None:
    head = "".join(f"line {i} ok\n" for i in range(2000))
    tail = "".join(f"{stripe_key(100 + i)}\n" for i in range(3000))
    data = gzip.compress(f"{head}early {KEY_A}\n{tail}".encode())
    path = tmp_path / "app.log.3.gz"
    path.write_bytes(data[: len(data) // 2])
    findings, stats = scan_file(path)
    assert KEY_A in secrets(findings)
    assert 1 < len(findings) < 3001
    assert any("truncated gzip" in w for w in stats.warnings)


def test_zip_bomb_member_is_skipped_and_the_rest_scanned(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    path.write_bytes(
        _zip({"zeros.txt": b"\0" * (16 * 1024 * 1024), "ok.env": f"K={KEY_A}\n".encode()})
    )
    assert path.stat().st_size < 100_000
    findings, stats = scan_file(path)
    assert [f.secret for f in findings] == [KEY_A]
    assert any("bomb.zip!zeros.txt" in w and "ratio" in w for w in stats.warnings)


def test_gzip_bomb_stops_at_the_ratio_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.log.gz"
    path.write_bytes(gzip.compress(f"{KEY_A}\n".encode() + b"A" * (64 * 1024 * 1024), 9))
    findings, stats = scan_file(path)
    assert [f.secret for f in findings] == [KEY_A]  # what was read before the limit is scanned
    assert any("ratio" in w for w in stats.warnings)
    assert stats.skipped and stats.skipped[0].path == "huge.log.gz"


def test_lying_zip_header_is_caught_while_reading(tmp_path: Path) -> None:
    """A member whose header understates its size is still bounded by what is actually read."""
    data = bytearray(_zip({"big.txt": b"B" * (8 * 1024 * 1024)}))
    # shrink the declared uncompressed size in the central directory (offset 24 of the entry)
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (100).to_bytes(4, "little")
    path = tmp_path / "liar.zip"
    path.write_bytes(bytes(data))
    findings, stats = scan_file(path)
    assert findings == []
    assert any(w.startswith("liar.zip!big.txt: ") for w in stats.warnings)  # never a crash


def test_total_and_entry_limits(tmp_path: Path) -> None:
    members = {
        f"f{i}.txt": f"{i} {stripe_key(200 + i)}\n".encode() + b"x" * 4000 for i in range(10)
    }
    path = tmp_path / "many.zip"
    path.write_bytes(_zip(members))
    few = ScanOptions(archives=ArchiveLimits(max_entries=3))
    findings, stats = scan_file(path, options=few)
    assert len(findings) == 3
    assert any("more than 3 archive entries" in w for w in stats.warnings)
    small = ScanOptions(archives=ArchiveLimits(max_total_bytes=10_000))
    findings, stats = scan_file(path, options=small)
    assert 1 <= len(findings) < 10
    assert any("total uncompressed size" in w for w in stats.warnings)


def test_depth_limit(tmp_path: Path) -> None:
    inner = _zip({"x.properties": f"k={KEY_A}\n".encode()})
    path = tmp_path / "outer.zip"
    path.write_bytes(_zip({"inner.jar": inner, "top.env": f"k={KEY_B}\n".encode()}))
    findings, stats = scan_file(path, options=ScanOptions(archives=ArchiveLimits(max_depth=1)))
    assert [f.secret for f in findings] == [KEY_B]
    assert any("outer.zip!inner.jar" in w and "nested deeper" in w for w in stats.warnings)


def test_unsafe_member_names_are_skipped(tmp_path: Path) -> None:
    members = {
        "../../etc/cron.d/evil": f"k={KEY_A}\n".encode(),
        "/abs/path.env": f"k={KEY_A}\n".encode(),
        "C:\\windows\\x.ini": f"k={KEY_A}\n".encode(),
        "safe/dir/.env": f"k={KEY_B}\n".encode(),
    }
    path = tmp_path / "traversal.zip"
    path.write_bytes(_zip(members))
    findings, stats = scan_file(path)
    assert [f.location.path for f in findings] == ["traversal.zip!safe/dir/.env"]
    assert len([s for s in stats.skipped if "traversal.zip!" in s.path]) == 3
    tar_path = tmp_path / "traversal.tar"
    tar_path.write_bytes(
        _tar({"../up.env": f"k={KEY_A}\n".encode(), "ok.env": f"k={KEY_B}\n".encode()})
    )
    findings, stats = scan_file(tar_path)
    assert [f.location.path for f in findings] == ["traversal.tar!ok.env"]
    assert any("path traversal" in s.reason for s in stats.skipped)


def test_corrupt_zip_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "broken.zip"
    path.write_bytes(b"PK\x03\x04" + b"garbage" * 100)
    findings, stats = scan_file(path)
    assert findings == []
    assert any("broken.zip" in w for w in stats.warnings)


def test_sniff_by_magic_bytes() -> None:
    assert sniff(b"PK\x03\x04rest") is Kind.ZIP
    assert sniff(gzip.compress(b"x")) is Kind.GZIP
    assert sniff(bz2.compress(b"x")) is Kind.BZIP2
    assert sniff(lzma.compress(b"x")) is Kind.XZ
    assert sniff(_tar({"a": b"b"})[:8192]) is Kind.TAR
    assert sniff(b'{"version":3,"sources":["a.ts"],"mappings":"AAAA"}') is Kind.SOURCE_MAP
    assert sniff(b"\x7fELF\0\0") is Kind.BINARY
    assert sniff(b"plain text\n") is Kind.TEXT


def test_damaged_member_is_skipped_and_the_next_one_read(tmp_path: Path) -> None:
    data = bytearray(
        _zip({"a.txt": f"hello {KEY_A}\n".encode() * 2000, "b.txt": f"k={KEY_B}\n".encode()})
    )
    data[200:260] = b"\xff" * 60  # inside a.txt's deflate stream
    path = tmp_path / "damaged.zip"
    path.write_bytes(bytes(data))
    findings, stats = scan_file(path)
    assert KEY_B in secrets(findings)
    assert any(w.startswith("damaged.zip!a.txt: ") for w in stats.warnings)


def test_zip_from_a_stream_that_cannot_seek() -> None:
    from leakguard.model import ScanStats
    from leakguard.sources.readers import stream_chunks_for
    from tests.unit.sources.helpers import engine

    class Pipe:
        def __init__(self, data: bytes) -> None:
            self._inner = io.BytesIO(data)

        def read(self, n: int = -1) -> bytes:
            return self._inner.read(n)

    data = _zip({"conf/.env": f"K={KEY_A}\n".encode()})
    stats = ScanStats()
    pipe = Pipe(data)
    head = pipe.read(8192)
    chunks = list(stream_chunks_for(pipe, head, "-", ScanOptions(), stats))  # type: ignore[arg-type]
    found = [f for c in chunks for f in engine().scan(c)]
    assert [(f.location.path, f.secret) for f in found] == [("-!conf/.env", KEY_A)]
    small = ScanOptions(archives=ArchiveLimits(max_member_bytes=10))
    stats = ScanStats()
    pipe = Pipe(data)
    assert list(stream_chunks_for(pipe, pipe.read(8192), "-", small, stats)) == []  # type: ignore[arg-type]
    assert any("cannot seek" in w for w in stats.warnings)


def test_unexpected_error_in_a_container_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import struct

    def broken(self: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
        raise struct.error("unpack requires a buffer of 46 bytes")  # a mangled central directory

    monkeypatch.setattr(zipfile.ZipFile, "infolist", broken)
    path = tmp_path / "mangled.zip"
    path.write_bytes(_zip({"a.env": f"K={KEY_A}\n".encode()}))
    findings, stats = scan_file(path)
    assert findings == []
    assert stats.warnings == ["mangled.zip: unreadable content (error); skipped the rest"]
