"""A large plain file cut into byte ranges of whole blocks (``FileSource.split``) is scanned to
the same findings as its one stream: the same chunks, the same places (line, column, decoded
layers), the same dedup, baseline and inline allow markers; a file that is not plain streamed
text, or a small one, is not cut; a file that vanishes or shrinks reads as its one stream
would. Small blocks (16 KiB) put many block and range boundaries in a file of a few hundred KB;
the ranges run on a real process pool of two workers."""

from __future__ import annotations

import base64
import functools
import gzip
import json
import random
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from leakguard.baseline import Baseline
from leakguard.engine.rules import RuleSet
from leakguard.model import Finding, ScanStats
from leakguard.options import ScanOptions
from leakguard.reports import json_report
from leakguard.scanner import (
    Pieces,
    ScanPlan,
    engine_for,
    execute_scan,
    finish_scan,
    split_sources,
)
from leakguard.sources.filesystem import FileRange, FileSource
from leakguard.sources.readers import file_chunks
from leakguard.sources.streaming import overlap_for
from tests.support.keys import stripe_key

BLOCK = 16 * 1024  # the smallest block the reader's grid allows (its 8 KiB head fits)
OVERLAP = overlap_for(BLOCK)
NEVER = 1 << 62  # a split threshold no test file reaches
# where a planted value starts, relative to a block boundary: on it, just around it, around the
# owned-part boundary OVERLAP before it, and a PEM block or a long line across both
PLACES = (0, -1, 1, -7, 3, -OVERLAP, -OVERLAP - 1, -OVERLAP + 1, -OVERLAP - 20, -300, -600)
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@functools.cache
def _pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


@functools.cache
def _ruleset() -> RuleSet:
    return RuleSet.load()


def _filler(rng: random.Random) -> bytes:
    """A line of log-like text: JSON lines, access lines, CRLF lines, now and then one of
    tens of KB with no newline for blocks (a minified payload)."""
    kind = rng.randrange(10)
    words = " ".join(
        rng.choice(("GET", "POST", "user", "id=42", "ok", "ms", "/api/v1"))
        for _ in range(rng.randrange(3, 30))
    )
    if kind == 0:
        return ("x" * rng.randrange(20_000, 60_000)).encode() + b" " + words.encode() + b"\n"
    if kind < 4:
        return json.dumps({"level": "info", "msg": words, "n": rng.random()}).encode() + b"\n"
    if kind < 7:
        return words.encode() + b"\r\n"
    return f'10.0.0.{rng.randrange(255)} - - "{words}" 200\n'.encode()


def _secret(rng: random.Random, n: int) -> tuple[bytes, str]:
    """A line holding one secret, and what a finding of it shows (its start)."""
    kind = n % 6
    key = stripe_key(f"{rng.random()}")
    if kind == 0:
        return f"token={key} end\n".encode(), key[:12]
    if kind == 1:
        return _pem(), "-----BEGIN R"
    if kind == 2:
        return b"cfg=" + base64.b64encode(b"stripe: " + key.encode()) + b"\r\n", key[:12]
    if kind == 3:
        escaped = "\\u0073" + key[1:]
        return f'{{"msg":"charge with {escaped}"}}\n'.encode(), key[:12]
    if kind == 4:
        return f"y token={key}  # leakguard:allow\n".encode(), ""  # allowed: no finding
    key_id = "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
    secret = "".join(rng.choice(_ALNUM + "+/") for _ in range(40))
    text = f"AWS_ACCESS_KEY_ID={key_id}\r\nAWS_SECRET_ACCESS_KEY={secret}\n"
    return text.encode(), ""


def _big_file(path: Path, size: int, seed: int) -> tuple[list[str], list[int]]:
    """Write about ``size`` bytes, a secret planted at (or across) every block boundary and
    on a line of its own now and then. Returns the starts of the secrets a scan must find and
    the offsets where each secret line starts."""
    rng = random.Random(seed)
    out = bytearray()
    expected: list[str] = []
    offsets: list[int] = []
    boundary, n = BLOCK, 0
    while len(out) < size:
        line, shown = _secret(rng, n)
        target = boundary + PLACES[n % len(PLACES)] - line.find(b"=") - 1
        if target >= len(out):
            line_to = _filler(rng)
            if len(out) + len(line_to) > target:  # cut the filler so the secret lands there
                out += line_to[: target - len(out)].replace(b"\n", b" ")
                offsets.append(len(out))
                out += line
                if shown:
                    expected.append(shown)
                n += 1
                boundary += BLOCK
            else:
                out += line_to
        else:
            boundary += BLOCK
    path.write_bytes(bytes(out))
    return expected, offsets


def _scan(
    path: Path, *, jobs: int = 2, split_at: int = 0, baseline: Path | None = None
) -> tuple[dict[str, object], Pieces]:
    """The JSON report of a scan of ``path`` as ``big.log``, and the pieces it was cut into."""
    options = ScanOptions(jobs=jobs, baseline=baseline, show_secrets=True)
    source = FileSource(path, "big.log", chunk_bytes=BLOCK, split_min_bytes=split_at)
    known = Baseline.load(baseline) if baseline is not None else None
    plan = ScanPlan(("big.log",), options, _ruleset(), known, (source,), ())
    pieces = split_sources(plan)
    done = execute_scan(plan, pieces, engine_for(plan.ruleset, options))
    document = json.loads(json_report.render(finish_scan(plan, pieces, done), show_secrets=True))
    stats = document["stats"]
    stats.pop("seconds")
    return document, pieces


@pytest.mark.parametrize(
    ("size", "seed"),
    [(600_000, 1), (40 * BLOCK, 2), (40 * BLOCK + 1, 3), (900_000, 4)],
)
def test_ranges_report_what_the_whole_stream_reports(tmp_path: Path, size: int, seed: int) -> None:
    path = tmp_path / "big.log"
    expected, offsets = _big_file(path, size, seed)
    whole, one = _scan(path, split_at=NEVER)
    split, cut = _scan(path)
    assert one.parallel == () and len(cut.parallel) >= 4  # really cut, and run on the pool
    assert split["findings"] == whole["findings"]
    assert split["stats"] == whole["stats"]
    findings = whole["findings"]
    assert isinstance(findings, list)
    shown = sorted(
        str(f["secret"])[:12] for f in findings if not str(f["rule_id"]).startswith("aws")
    )
    assert shown == sorted(expected)  # every planted secret found once; the allowed one not
    assert {"base64", "json-escape"} <= {f["location"].get("encoding") for f in findings}
    # the file puts a secret after a range start on that range's first line (a column to
    # move) and one on a later line of a range
    starts = [p.first * BLOCK - OVERLAP for p in cut.parallel if isinstance(p, FileRange)][1:]
    data = path.read_bytes()
    assert any(s < o < data.find(b"\n", s) for s in starts for o in offsets)
    assert any(data.find(b"\n", s) < o for s in starts for o in offsets)


def test_every_place_of_a_finding_is_moved(tmp_path: Path) -> None:
    """Lines and columns of the findings themselves, checked against the file's text: the
    column counts bytes from the line's start, CRLF lines and long lines included."""
    path = tmp_path / "big.log"
    _big_file(path, 500_000, 5)
    data = path.read_bytes()
    split, _ = _scan(path)
    findings = split["findings"]
    assert isinstance(findings, list)
    line_starts = [0] + [i + 1 for i, b in enumerate(data) if b == 10]
    for f in findings:
        loc = f["location"]
        offset = line_starts[loc["line"] - 1] + loc["column"] - 1
        if loc.get("encoding") is None:
            assert data[offset:].startswith(f["secret"][:8].encode()), loc
        else:  # a decoded layer is located where its encoded run starts
            assert data[offset - 1 : offset] in (b"=", b" ", b'"'), loc


def test_baseline_and_jobs_1_give_the_same_report(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    _big_file(path, 500_000, 6)
    whole, _ = _scan(path, split_at=NEVER)
    findings = whole["findings"]
    assert isinstance(findings, list) and len(findings) > 4
    baselined = tmp_path / "baseline.json"
    Baseline.write(baselined, [_finding_of(f) for f in findings[::3]])
    with_baseline, _ = _scan(path, split_at=NEVER, baseline=baselined)
    split_baseline, cut = _scan(path, baseline=baselined)
    assert len(cut.parallel) >= 4
    assert split_baseline == with_baseline
    assert len(with_baseline["findings"]) < len(findings)  # type: ignore[arg-type]
    local, pieces = _scan(path, jobs=1)
    assert pieces.parallel == () and len(pieces.local) == 1  # one worker: not cut
    assert local == whole


def _finding_of(raw: dict[str, object]) -> Finding:
    """The finding a baseline entry is made from (fingerprint, rule, place)."""
    from leakguard.model import Location, Severity

    loc = raw["location"]
    assert isinstance(loc, dict)
    return Finding(
        str(raw["rule_id"]),
        str(raw["provider"]),
        str(raw["title"]),
        Severity.parse(str(raw["severity"])),
        str(raw["fingerprint"]),
        str(raw["redacted"]),
        str(raw["source_kind"]),
        Location(str(loc["path"]), int(loc["line"]), int(loc["column"])),
    )


def test_chunks_of_the_ranges_are_the_whole_streams(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    _big_file(path, 300_000, 7)
    options = ScanOptions(jobs=2)
    whole = list(file_chunks(path, "big.log", options, ScanStats(), chunk_bytes=BLOCK))
    ranges = FileSource(path, "big.log", chunk_bytes=BLOCK, split_min_bytes=0).split(options)
    assert len(ranges) >= 4
    pieces = [list(r.iter_chunks(options, ScanStats())) for r in ranges]
    assert [(c.data, c.report_until, c.source_kind) for p in pieces for c in p] == [
        (c.data, c.report_until, c.source_kind) for c in whole
    ]


def test_what_is_not_plain_text_or_small_is_not_cut(tmp_path: Path) -> None:
    options = ScanOptions(jobs=2)
    text = b"GET /index.html 200\n" * 20_000
    cases = {
        "app.log.gz": gzip.compress(text),
        "bundle.js": text,
        "mapped.log": text + b"//# sourceMappingURL=mapped.log.map\n",
        "utf16.log": text.decode().encode("utf-16"),
        "app.map": b'{"version": 3, "sources": [], "mappings": ""}' + b" " * len(text),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        source = FileSource(tmp_path / name, name, chunk_bytes=BLOCK, split_min_bytes=0)
        assert source.split(options) == [source], name
    (tmp_path / "plain.log").write_bytes(text)
    plain = FileSource(tmp_path / "plain.log", "plain.log", chunk_bytes=BLOCK, split_min_bytes=0)
    assert len(plain.split(options)) > 1
    assert plain.split(ScanOptions(jobs=1)) == [plain]
    small = FileSource(tmp_path / "plain.log", "plain.log", chunk_bytes=BLOCK)  # the default
    assert small.split(options) == [small]
    # over --max-file-size: a log is streamed (and cut), any other file skipped (not cut)
    limited = ScanOptions(jobs=2, max_file_bytes=len(text) // 2)
    assert len(plain.split(limited)) > 1
    (tmp_path / "plain.txt").write_bytes(text)
    other = FileSource(tmp_path / "plain.txt", "plain.txt", chunk_bytes=BLOCK, split_min_bytes=0)
    assert len(other.split(options)) > 1 and other.split(limited) == [other]


def test_a_file_that_vanishes_is_skipped_once(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    _big_file(path, 300_000, 8)
    options = ScanOptions(jobs=2)
    source = FileSource(path, "big.log", chunk_bytes=BLOCK, split_min_bytes=0)
    plan = ScanPlan(("big.log",), options, _ruleset(), None, (source,), ())
    pieces = split_sources(plan)
    assert len(pieces.parallel) >= 4
    path.unlink()
    result = finish_scan(plan, pieces, execute_scan(plan, pieces, engine_for(_ruleset(), options)))
    assert result.findings == ()
    assert [(s.path, s.reason) for s in result.stats.skipped] == [
        ("big.log", "vanished during the scan")
    ]
    assert result.stats.files == 0


def test_a_file_that_shrinks_reads_as_its_stream_would(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    _big_file(path, 600_000, 9)
    options = ScanOptions(jobs=2, show_secrets=True)
    source = FileSource(path, "big.log", chunk_bytes=BLOCK, split_min_bytes=0)
    plan = ScanPlan(("big.log",), options, _ruleset(), None, (source,), ())
    pieces = split_sources(plan)
    assert len(pieces.parallel) >= 4
    with path.open("r+b") as fh:
        fh.truncate(250_000)
    shrunk = finish_scan(plan, pieces, execute_scan(plan, pieces, engine_for(_ruleset(), options)))
    whole, _ = _scan(path, split_at=NEVER)
    found = [f.to_dict(show_secrets=True) for f in shrunk.findings]
    assert found == whole["findings"] and found
    assert shrunk.stats.skipped == []
