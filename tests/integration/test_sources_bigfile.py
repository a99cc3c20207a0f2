"""`leakguard scan big.log` on a file over the split threshold, through the command line with
its real defaults (2 MiB blocks): cut into ranges on two workers, it reports what `--jobs 1`
(one stream) reports, in JSON, JSON lines and SARIF, with a baseline and an inline allow
marker. Secrets straddle every 2 MiB block boundary, every owned-part boundary (8 KiB before it)
and sit on CRLF lines; a PEM block and a base64-wrapped key cross the owned-part boundary."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner

from leakguard.options import ScanOptions
from leakguard.sources.filesystem import SPLIT_MIN_BYTES, FileSource
from leakguard.sources.streaming import CHUNK_BYTES, OVERLAP_BYTES
from tests.support.cli import leakguard_app
from tests.support.keys import stripe_key

pytestmark = pytest.mark.integration


def _block() -> bytes:
    """One 2 MiB block; the file is this block over and over, so every block boundary cuts the
    key line that ends one block and starts the next (the first block starts with its tail)."""
    pem = rsa.generate_private_key(public_exponent=65537, key_size=1024).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    across = f"token={stripe_key('across')} end\r\n".encode()
    head, tail = across[:9], across[9:]  # the key starts 3 bytes before the block's end
    wrapped = b"cfg=" + base64.b64encode(b"stripe: " + stripe_key("b64").encode()) + b"\n"
    allowed = f"y token={stripe_key('allowed')}  # leakguard:allow\n".encode()
    middle = f"z token={stripe_key('middle')}\r\n".encode()
    line = b'{"level":"info","msg":"GET /api/v1/users 200 12ms","user":42}\n'
    start = tail + line * 200 + middle + allowed + line * 200
    # the PEM block and the base64 run start before the owned part's end and end after it
    owned_end = CHUNK_BYTES - OVERLAP_BYTES
    filler = owned_end - 300 - len(start)
    body = start + line * (filler // len(line)) + b"x" * (filler % len(line))
    body += pem + wrapped
    body += line * ((CHUNK_BYTES - len(head) - len(body)) // len(line))
    body += b"." * (CHUNK_BYTES - len(head) - len(body) - 1) + b"\n"
    block = body + head
    assert len(block) == CHUNK_BYTES
    return block


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bigfile") / "big.log"
    block = _block()
    with path.open("wb") as out:
        for _ in range(SPLIT_MIN_BYTES // CHUNK_BYTES + 3):
            out.write(block)
        out.write(block[: CHUNK_BYTES // 3])
    return path


def _scan(args: list[str]) -> str:
    result = CliRunner().invoke(leakguard_app(), ["scan", *args])
    assert result.exit_code == 1, result.output  # findings
    return result.stdout


def _without_seconds(report: str) -> dict[str, object]:
    document = json.loads(report)
    document["stats"].pop("seconds")
    return document


def test_the_split_file_reports_what_one_stream_reports(big_log: Path, tmp_path: Path) -> None:
    assert len(FileSource(big_log, "big.log").split(ScanOptions(jobs=2))) >= 4  # it is cut
    one = _without_seconds(_scan([str(big_log), "-f", "json", "--jobs", "1"]))
    split = _without_seconds(_scan([str(big_log), "-f", "json", "--jobs", "2"]))
    assert split == one
    findings = one["findings"]
    assert isinstance(findings, list)
    blocks = big_log.stat().st_size // CHUNK_BYTES + 1
    by_rule: dict[str, int] = {}
    for f in findings:
        by_rule[f["rule_id"]] = by_rule.get(f["rule_id"], 0) + 1
    # per block: the key across its start (not in the first), the middle one, the base64 one;
    # the PEM block in every whole block; the allowed key never
    assert by_rule == {"stripe-live-secret-key": 3 * blocks - 2, "private-key": blocks - 1}
    for name in ("jsonl", "sarif"):
        alone = _scan([str(big_log), "-f", name, "--jobs", "1"])
        assert _scan([str(big_log), "-f", name, "--jobs", "2"]) == alone, name


def test_a_baseline_suppresses_the_same_findings(big_log: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    created = CliRunner().invoke(
        leakguard_app(), ["baseline", "create", str(big_log), "-o", str(baseline)]
    )
    assert created.exit_code == 0, created.output
    one = _without_seconds(_scan([str(big_log), "-f", "json", "--jobs", "1"]))
    args = [str(big_log), "-f", "json", "--baseline", str(baseline)]
    alone = CliRunner().invoke(leakguard_app(), ["scan", *args, "--jobs", "1"])
    split = CliRunner().invoke(leakguard_app(), ["scan", *args, "--jobs", "2"])
    assert alone.exit_code == split.exit_code == 0, alone.output
    assert _without_seconds(split.stdout) == _without_seconds(alone.stdout)
    assert json.loads(alone.stdout)["findings"] == [] and one["findings"]
