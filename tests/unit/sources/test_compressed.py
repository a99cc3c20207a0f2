"""The hand-driven decompressor: both gzip backends, truncation, concatenation, bounded output,
and the prefetching reader thread."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os

import pytest

from leakguard.sources import compressed
from leakguard.sources.compressed import DecompressingReader, PrefetchReader

TEXT = b"".join(b"line %d %s\n" % (i, os.urandom(8).hex().encode()) for i in range(20_000))
# bzip2 at level 1 uses 100 KB blocks, so a truncated stream still has whole blocks to give
COMPRESSED = {
    "gzip": gzip.compress(TEXT, 1),
    "bzip2": bz2.compress(TEXT, 1),
    "xz": lzma.compress(TEXT, preset=0),
}


def _read_all(reader: DecompressingReader | PrefetchReader, size: int = 65536) -> bytes:
    parts = []
    while block := reader.read(size):
        parts.append(block)
    return b"".join(parts)


@pytest.fixture(params=["isal", "zlib"])
def gzip_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "zlib":
        monkeypatch.setattr(compressed, "isal_zlib", None)
    elif compressed.isal_zlib is None:
        pytest.skip("isal is not installed")
    return str(request.param)


@pytest.mark.parametrize("fmt", ["gzip", "bzip2", "xz"])
def test_round_trip_and_truncation(fmt: str, gzip_backend: str) -> None:
    data = COMPRESSED[fmt]
    whole = DecompressingReader(io.BytesIO(data), fmt)
    assert _read_all(whole) == TEXT
    assert not whole.truncated and whole.error is None
    cut = DecompressingReader(io.BytesIO(data[: len(data) // 2]), fmt)
    part = _read_all(cut)
    assert cut.truncated
    assert 0 < len(part) < len(TEXT) and TEXT.startswith(part)


def test_concatenated_members_and_trailing_garbage(gzip_backend: str) -> None:
    data = gzip.compress(b"first\n") + gzip.compress(b"second\n") + b"\0\0\0\0"
    reader = DecompressingReader(io.BytesIO(data), "gzip")
    assert _read_all(reader) == b"first\nsecond\n"
    assert not reader.truncated


def test_output_per_read_is_bounded() -> None:
    bomb = gzip.compress(b"\0" * (16 * 1024 * 1024), 1)
    reader = DecompressingReader(io.BytesIO(bomb), "gzip")
    assert len(reader.read(10)) == 10
    assert len(reader.read(1 << 40)) <= compressed.MAX_READ


def test_prefetch_reader_delivers_in_order_and_reraises() -> None:
    reader = PrefetchReader(io.BytesIO(TEXT), block=4096, depth=2)  # type: ignore[arg-type]
    assert _read_all(reader, 10_000) == TEXT
    reader.close()

    class Failing:
        def __init__(self) -> None:
            self.calls = 0

        def read(self, n: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 3:
                raise ValueError("boom")
            return b"x" * n

    failing = PrefetchReader(Failing(), block=100, depth=1)
    with pytest.raises(ValueError, match="boom"):
        _read_all(failing, 50)
    failing.close()


def test_prefetch_reader_closes_early_without_hanging() -> None:
    reader = PrefetchReader(io.BytesIO(TEXT), block=1024, depth=1)  # type: ignore[arg-type]
    assert reader.read(10) == TEXT[:10]
    reader.close()


@pytest.mark.parametrize("fmt", ["gzip", "bzip2", "xz"])
def test_members_after_nul_padding_are_read_and_other_trailing_data_is_flagged(fmt: str) -> None:
    one, two = COMPRESSED[fmt], {"gzip": gzip, "bzip2": bz2, "xz": lzma}[fmt].compress(b"two\n")
    padded = DecompressingReader(io.BytesIO(one + b"\0" * 4096 + two), fmt)
    assert _read_all(padded) == TEXT + b"two\n"
    assert not padded.trailing_garbage and not padded.truncated
    garbage = DecompressingReader(io.BytesIO(one + b"\0" * 16 + b"junk" + two), fmt)
    assert _read_all(garbage) == TEXT
    assert garbage.trailing_garbage
