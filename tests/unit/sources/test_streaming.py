"""Chunking keeps line and column right (200 KB minified lines) and finds a secret on a read
boundary exactly once, in plain and gzipped files."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

from leakguard.model import Location
from leakguard.sources.streaming import stream_chunks
from tests.support.keys import stripe_key
from tests.unit.sources.helpers import engine, scan_file

KEY = stripe_key(7)


def test_minified_200kb_line_reports_the_column(tmp_path: Path) -> None:
    prefix = "var a=1;" * 25_000  # 200,000 bytes on one line
    path = tmp_path / "app.min.js"
    path.write_text(f"/* bundle */\n{prefix}const k='{KEY}';{prefix}\n")
    for chunk_bytes in (8 * 1024 * 1024, 4096, 777):
        [finding] = scan_file(path, chunk_bytes=chunk_bytes)[0]
        assert (finding.location.line, finding.location.column) == (2, 200_000 + 10), chunk_bytes


@pytest.mark.parametrize("gzipped", [False, True])
def test_secret_straddling_every_boundary_is_found_once(tmp_path: Path, gzipped: bool) -> None:
    chunk = 512
    lines = []
    for i in range(60):  # keys placed at shifting offsets, many crossing a chunk boundary
        lines.append("x" * (i * 13 % 97) + f" key={stripe_key(i)} tail")
    text = "\n".join(lines) + "\n"
    path = tmp_path / ("straddle.log.gz" if gzipped else "straddle.log")
    path.write_bytes(gzip.compress(text.encode()) if gzipped else text.encode())
    findings, _ = scan_file(path, chunk_bytes=chunk)
    assert sorted(f.secret or "" for f in findings) == sorted(stripe_key(i) for i in range(60))
    for i, finding in enumerate(sorted(findings, key=lambda f: f.location.line)):
        assert finding.location.line == i + 1
        assert finding.location.column == i * 13 % 97 + 6


def test_one_boundary_exactly_inside_the_key() -> None:
    body = b"a" * 999 + b"=" + KEY.encode() + b"\n"  # a key starts after a separator
    for cut in range(980, 1040, 3):
        chunks = list(
            stream_chunks(
                io.BytesIO(body), Location("f", 1, 1), "file", chunk_bytes=cut, overlap=100
            )
        )
        assert len(chunks) >= 2
        found = [f for c in chunks for f in engine().scan(c)]
        assert [(f.location.line, f.location.column) for f in found] == [(1, 1001)], cut


def test_encoded_secrets_on_read_boundaries_are_found_once(tmp_path: Path) -> None:
    import base64
    from urllib.parse import quote

    lines, planted = [], []
    for i in range(45):
        secret = stripe_key(500 + i)
        planted.append(secret)
        pad = "x" * (i * 17 % 113)
        if i % 3 == 0:
            token = base64.b64encode(f"user:{secret}".encode()).decode()
            lines.append(f"{pad} Authorization: Basic {token} end")
        elif i % 3 == 1:
            lines.append(f"{pad} GET /?api_key={quote(secret).replace('_', '%5F')} end")
        else:
            escaped = secret.replace("_", "\\u005f")
            lines.append(f'{pad} {{"k":"{escaped}"}} end')
    path = tmp_path / "encoded.log"
    path.write_text("\n".join(lines) + "\n")
    for chunk_bytes in (512, 700, 1 << 20):
        findings, _ = scan_file(path, chunk_bytes=chunk_bytes)
        assert sorted(f.secret or "" for f in findings) == sorted(planted), chunk_bytes
        assert [f.location.line for f in sorted(findings, key=lambda f: f.location.line)] == list(
            range(1, 46)
        )
