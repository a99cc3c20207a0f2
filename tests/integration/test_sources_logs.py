"""Logs scanned through the real scan pipeline: plain, rotated, gzipped, JSON lines, access logs,
CloudTrail, and a directory whose files are picked by content."""

from __future__ import annotations

import base64
import gzip
import io
import json
import random
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest

from leakguard.model import Finding
from leakguard.options import ScanOptions
from leakguard.scanner import run_scan
from tests.support.keys import stripe_key as key

pytestmark = pytest.mark.integration

_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _scan(*targets: Path) -> tuple[list[Finding], list[str]]:
    result = run_scan([str(t) for t in targets], ScanOptions(jobs=1, show_secrets=True))
    return list(result.findings), list(result.stats.warnings)


def _by_secret(findings: list[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        out.setdefault(f.secret or "", []).append(f)
    return out


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("logs")
    (root / "app.log").write_text(f"2026-01-01 INFO boot\n2026-01-01 WARN key={key(1)}\n")
    (root / "app.log.1").write_text(f"2026-01-02 INFO rotated\nstripe {key(2)}\n")
    (root / "app.log.2.gz").write_bytes(gzip.compress(f"old\nold\n{key(3)}\n".encode()))
    escaped = "".join(f"\\u{ord(c):04x}" if c in "_l" else c for c in key(4))
    (root / "events.jsonl").write_text(
        '{"level":"info","path":"\\/health"}\n'
        + '{"level":"error","msg":"charge failed","url":"https:\\/\\/api.stripe.com\\/v1",'
        + f'"auth":"{escaped}"}}\n'
    )
    basic = base64.b64encode(f"shop:{key(5)}".encode()).decode()
    percent = quote(key(7), safe="").replace("_", "%5F")
    (root / "access.log").write_text(
        '10.0.0.1 - - [01/Jan/2026:00:00:01 +0000] "GET /health HTTP/1.1" 200 2 "-" "curl"\n'
        f'10.0.0.2 - - [01/Jan/2026:00:00:02 +0000] "POST /v1/charges HTTP/1.1" 200 9 '
        f'"Authorization: Bearer {key(6)}"\n'
        f'10.0.0.3 - - [01/Jan/2026:00:00:03 +0000] "GET /admin HTTP/1.1" 401 0 '
        f'"Authorization: Basic {basic}"\n'
        f'10.0.0.4 - - [01/Jan/2026:00:00:04 +0000] "GET /v1/x?api_key={key(8)}&a=1 HTTP/1.1" 200\n'
        f'10.0.0.5 - - [01/Jan/2026:00:00:05 +0000] "GET /v1/y?token={percent} HTTP/1.1" 200\n'
    )
    trail = {
        "Records": [
            {
                "eventSource": "lambda.amazonaws.com",
                "eventName": "UpdateFunctionConfiguration20150331v2",
                "requestParameters": {
                    "functionName": "checkout",
                    "environment": {"variables": {"STRIPE_KEY": key(9)}},
                },
            }
        ]
    }
    (root / "cloudtrail.json.gz").write_bytes(gzip.compress(json.dumps(trail).encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("logs/deploy.log", f"deploying with {key(10)}\n")
    (root / "support-bundle").write_bytes(buffer.getvalue())  # no extension: sniffed
    return root


def test_every_log_secret_found_once_with_its_place(log_dir: Path) -> None:
    findings, warnings = _scan(log_dir)
    found = _by_secret(findings)
    assert sorted(found) == sorted(key(i) for i in range(1, 11))
    assert all(len(v) == 1 for v in found.values()), {k[:12]: len(v) for k, v in found.items()}
    where = {
        s: (f[0].location.path, f[0].location.line, f[0].location.get("encoding"))
        for s, f in found.items()
    }
    assert where[key(1)] == ("app.log", 2, None)
    assert where[key(2)] == ("app.log.1", 2, None)
    assert where[key(3)] == ("app.log.2.gz", 3, None)
    assert where[key(4)] == ("events.jsonl", 2, "json-escape")
    assert where[key(5)] == ("access.log", 3, "base64")
    assert where[key(6)] == ("access.log", 2, None)
    assert where[key(7)] == ("access.log", 5, "percent")
    assert where[key(8)] == ("access.log", 4, None)
    assert where[key(9)] == ("cloudtrail.json.gz", 1, None)
    assert where[key(10)] == ("support-bundle!logs/deploy.log", 1, None)
    assert warnings == []


def test_json_escape_finding_points_at_the_escaped_text(log_dir: Path) -> None:
    findings, _ = _scan(log_dir / "events.jsonl")
    [finding] = findings
    line = (log_dir / "events.jsonl").read_text().splitlines()[1]
    assert finding.location.column == line.index('"auth":"') + len('"auth":"') + 1


def test_big_log_with_small_chunks_finds_each_key_once(tmp_path: Path) -> None:
    """A gzipped log through the whole pipeline (reader thread, decompression, matching): every
    planted key once. Tiny read boundaries are driven in tests/unit/sources/test_streaming.py."""
    rng = random.Random(5)
    lines = []
    planted = []
    for i in range(40_000):
        if i % 997 == 0:
            planted.append(key(1000 + i))
            lines.append(f"2026-01-01T00:00:00Z req={rng.getrandbits(64):x} key={planted[-1]}")
        else:
            lines.append(f"2026-01-01T00:00:00Z req={rng.getrandbits(64):x} path=/v1/{i} ok")
    path = tmp_path / "big.log.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    findings, warnings = _scan(path)
    assert sorted(f.secret or "" for f in findings) == sorted(planted)
    assert warnings == []


def test_cli_access_log_with_a_test_rule_for_bearer_tokens(tmp_path: Path) -> None:
    """`leakguard scan access.log --rules DIR`: a rule passed on the command line sees bearer
    tokens in headers, next to the built-in rules on Basic and api_key values."""
    from typer.testing import CliRunner

    from tests.support.cli import leakguard_app

    rng = random.Random(3)
    token = "tok." + "".join(rng.choice(_ALPHABET) for _ in range(40))
    basic = base64.b64encode(f"ops:{key(21)}".encode()).decode()
    log = tmp_path / "access.log"
    log.write_text(
        f'1.2.3.4 - - [01/Jan/2026] "GET /a HTTP/1.1" 200 "Authorization: Bearer {token}"\n'
        f'1.2.3.5 - - [01/Jan/2026] "GET /b HTTP/1.1" 200 "Authorization: Basic {basic}"\n'
        f'1.2.3.6 - - [01/Jan/2026] "GET /c?api_key={key(22)} HTTP/1.1" 200\n'
    )
    rules = Path(__file__).parent / "data" / "rules"
    result = CliRunner().invoke(
        leakguard_app(), ["scan", str(log), "--rules", str(rules), "-f", "json"]
    )
    assert result.exit_code == 1, result.output
    findings = json.loads(result.stdout)["findings"]
    got = sorted(
        (f["rule_id"], f["location"]["line"], f["location"].get("encoding")) for f in findings
    )
    assert got == [
        ("stripe-live-secret-key", 2, "base64"),
        ("stripe-live-secret-key", 3, None),
        ("test-authorization-bearer", 1, None),
    ]
    assert token not in result.output and key(21) not in result.output
