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
