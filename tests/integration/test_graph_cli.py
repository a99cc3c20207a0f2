"""`leakguard graph` through CliRunner on local inputs (scan report, inventory, configuration,
audit log, CloudTrail), and the exports, the HTML one in headless Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from leakguard.options import ScanOptions
from leakguard.redact import fingerprint
from leakguard.reports.json_report import render
from leakguard.scanner import run_scan
from tests.support.browser import CHROMIUM, dump_dom
from tests.support.cli import run_cli
from tests.unit.graph.configs import write_configs

pytestmark = pytest.mark.integration

SECRET = "sk_live_" + "7hQ2LyjWDarjtT1zdp7dc9f2cAb"
FP = fingerprint(SECRET)
DATA = Path(__file__).parents[1] / "unit" / "graph" / "data"

INVENTORY = """\
services:
  - name: payments-api
    environment: prod
    identities: [vault-approle:payments]
    reload: {restart: systemctl restart payments-api}
    reads:
      - vault: secret/payments/stripe
  - name: ledger
    kind: job
    identities: ["aws:arn:aws:iam::123456789012:role/ledger"]
    reads:
      - aws: prod/payments/stripe
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("graphcli")
    app = root / "app"
    app.mkdir()
    (app / "settings.py").write_text(f"STRIPE = '{SECRET}'\n")
    report = root / "report.json"
    report.write_text(render(run_scan([str(app)], ScanOptions(jobs=1))))
    (root / "leakguard.yaml").write_text(INVENTORY)
    write_configs(root / "shop", SECRET)
    trail = root / "trail.json"
    trail.write_text(
        json.dumps(
            {
                "Records": [
                    {
                        "eventSource": "secretsmanager.amazonaws.com",
                        "eventName": "GetSecretValue",
                        "eventTime": "2026-06-01T00:00:00Z",
                        "userIdentity": {
                            "arn": "arn:aws:sts::123456789012:assumed-role/ledger/run-1"
                        },
                        "requestParameters": {"secretId": "prod/payments/stripe"},
                    }
                ]
            }
        )
    )
    db = root / "lg.db"
    code, out = run_cli(
        [
            "graph",
            "build",
            "--db",
            str(db),
            "--scan-report",
            str(report),
            "--inventory",
            str(root / "leakguard.yaml"),
            "--config-dir",
            str(root / "shop"),
            "--cloudtrail",
            str(trail),
        ]
    )
    assert code == 0, out
    assert "scan-report" in out and "graph:" in out
    return db


def test_build_is_incremental_and_json(built: Path) -> None:
    code, out = run_cli(
        [
            "graph",
            "build",
            "--db",
            str(built),
            "--vault-audit",
            str(DATA / "openbao-audit-read.jsonl"),
            "-f",
            "json",
        ]
    )
    assert code == 0, out
    doc = json.loads(out)
    assert doc["added"]["vault-reads"] == 1
    assert doc["written"]["nodes"] == 0 and doc["written"]["edges"] == 1  # one reads edge
    code, out = run_cli(
        [
            "graph",
            "build",
            "--db",
            str(built),
            "--vault-audit",
            str(DATA / "openbao-audit-read.jsonl"),
            "-f",
            "json",
        ]
    )
    assert json.loads(out)["written"] == {"nodes": 0, "edges": 0}


def test_blast_radius_text_and_json(built: Path) -> None:
    code, out = run_cli(["graph", "blast-radius", FP[:20], "--db", str(built)])
    assert code == 0, out
    assert "payments-api" in out and "ledger" in out and "report:settings.py:1" in out
    assert "vault-kv2:secret/payments/stripe" not in out  # not proven stored there (no store)
    assert SECRET not in out
    code, out = run_cli(["graph", "blast-radius", FP, "--db", str(built), "-f", "json"])
    doc = json.loads(out)
    names = {c["name"] for c in doc["consumers"]}
    # Terraform holds the key in prod/payments/stripe; ledger reads it (inventory + CloudTrail)
    assert {"ledger", "web", "payments-api"} <= names
    assert doc["stores"] == [
        {"backend": "aws-secretsmanager", "path": "prod/payments/stripe", "mount": None}
    ]
    assert (
        doc["reads"]["ledger -> store:aws-secretsmanager:prod/payments/stripe"]["last_read"]
        == "2026-06-01T00:00:00.000000Z"
    )
    assert doc["unknown_consumers"] is False


def test_show_stale_rotation_order(built: Path) -> None:
    code, out = run_cli(["graph", "show", "--db", str(built)])
    assert code == 0 and FP[:19] in out and "ledger" in out
    code, out = run_cli(["graph", "show", "--db", str(built), "-f", "json"])
    assert json.loads(out)["credentials"][0]["fingerprint"] == FP
    code, out = run_cli(
        [
            "graph",
            "stale",
            "aws:prod/payments/stripe",
            "--since",
            "2026-05-01T00:00:00Z",
            "--db",
            str(built),
            "-f",
            "json",
        ]
    )
    assert code == 0, out
    # ledger read it on 2026-06-01; scripts/fetch.sh names it, but no read of it is on record
    assert [c["name"] for c in json.loads(out)] == ["scripts"]
    code, out = run_cli(
        [
            "graph",
            "stale",
            "aws:prod/payments/stripe",
            "--since",
            "2026-07-01T00:00:00Z",
            "--db",
            str(built),
        ]
    )
    assert "ledger" in out
    code, out = run_cli(["graph", "rotation-order", FP[:16], "--db", str(built), "-f", "json"])
    steps = json.loads(out)["steps"]
    assert steps.index("store:aws-secretsmanager:prod/payments/stripe") < steps.index(
        "consumer:ledger"
    )


def test_user_errors_exit_2_with_one_line(built: Path, tmp_path: Path) -> None:
    code, out = run_cli(["graph", "blast-radius", "sha256:ffff", "--db", str(built)])
    assert code == 2 and "no credential" in out and "Traceback" not in out
    bad = tmp_path / "leakguard.yaml"
    bad.write_text("services:\n  - name: a\n    kind: robot\n")
    code, out = run_cli(["graph", "build", "--db", str(built), "--inventory", str(bad)])
    assert code == 2 and f"{bad}:3: kind must be one of" in out
    code, out = run_cli(["graph", "show", "--db", str(tmp_path / "none.db")])
    assert code == 2 and "no findings store" in out
    code, out = run_cli(["graph", "export", "--db", str(built), "-f", "png"])
    assert code == 2 and "unknown format" in out
    code, out = run_cli(["graph", "export", "--db", str(built), "-o", str(tmp_path / "no" / "x")])
    assert code == 2 and "cannot write" in out and "Traceback" not in out
    code, out = run_cli(
        [
            "graph",
            "build",
            "--db",
            str(built),
            "--vault",
            "http://127.0.0.1:1",
            "--vault-token-env",
            "LG_TEST_NO_SUCH_VAR",
        ]
    )
    assert code == 2 and "no Vault token" in out


def test_exports(built: Path, tmp_path: Path) -> None:
    code, out = run_cli(["graph", "export", "--db", str(built), "-f", "json"])
    doc = json.loads(out)
    ids = {n["id"] for n in doc["nodes"]}
    assert f"credential:{FP}" in ids
    assert all(link["evidence"] for link in doc["links"])
    code, out = run_cli(["graph", "export", "--db", str(built), "-f", "dot"])
    assert out.startswith("digraph leakguard {") and f'"credential:{FP}"' in out
    assert out.count("->") == len(doc["links"])
    code, out = run_cli(
        ["graph", "export", "--db", str(built), "-f", "mermaid", "--credential", FP[:20]]
    )
    assert code == 0, out
    assert out.startswith("flowchart LR") and "-->|stored_in|" in out
    assert "gitlab" not in out  # only the credential's neighbourhood
    for text in (json.dumps(doc), out):
        assert SECRET not in text


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_html_export_renders_offline_in_headless_chromium(built: Path, tmp_path: Path) -> None:
    page = tmp_path / "graph.html"
    code, _ = run_cli(["graph", "export", "--db", str(built), "-f", "html", "-o", str(page)])
    assert code == 0
    html = page.read_text()
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)  # nothing fetched
    assert SECRET not in html
    doc = json.loads(run_cli(["graph", "export", "--db", str(built)])[1])
    dom = dump_dom(page.as_uri() + "#select=" + f"credential:{FP}", tmp_path / "profile")
    assert f"{len(doc['nodes'])} nodes, {len(doc['links'])} edges" in dom
    assert dom.count('class="node') == len(doc["nodes"])
    # the deep link opened the credential's panel with its edges and their evidence
    assert "stored_in" in dom and "config:shop/infra/main.tf" in dom


def test_build_reads_the_findings_store_in_the_same_db(tmp_path: Path) -> None:
    from leakguard.store.findings import FindingsStore

    app = tmp_path / "svc"
    app.mkdir()
    (app / "config.py").write_text(f"KEY = '{SECRET}'\n")
    db = tmp_path / "sweep.db"
    with FindingsStore.open(db) as store:
        store.record_scan("git@example.com:shop/svc.git", run_scan([str(app)], ScanOptions(jobs=1)))
    code, out = run_cli(["graph", "build", "--db", str(db), "-f", "json"])
    assert code == 0, out
    assert json.loads(out)["added"]["findings-store"] == 1
    code, out = run_cli(["graph", "blast-radius", FP[:24], "--db", str(db), "-f", "json"])
    assert json.loads(out)["leaks"] == ["leak:git@example.com:shop/svc.git:config.py:1"]
    assert json.loads(out)["unknown_consumers"] is True
    code, out = run_cli(["graph", "build", "--db", str(db), "--no-findings", "-f", "json"])
    assert "findings-store" not in json.loads(out)["added"]


def test_blind_spots_are_warned_about_on_the_command_line(tmp_path: Path) -> None:
    other = "sk_live_" + "Zq81LyjWDarjtT1zdp7dc9f2cXy"
    app = tmp_path / "app"
    app.mkdir()
    (app / "settings.py").write_text(f"STRIPE = '{other}'\n")
    report = tmp_path / "report.json"
    report.write_text(render(run_scan([str(app)], ScanOptions(jobs=1))))
    trails = tmp_path / "trails"
    trails.mkdir()
    (trails / "cut.json").write_text('{"Records": [{"eventName": "GetSec')
    logs = tmp_path / "bao"
    logs.mkdir()
    (logs / "audit.log.1").write_text('{"type": "response", "request": {"operation": "re\n')
    db = tmp_path / "lg.db"
    args = ["graph", "build", "--db", str(db), "--scan-report", str(report)]
    code, out = run_cli([*args, "--cloudtrail", str(trails), "--vault-audit", str(logs)])
    assert code == 0, out
    assert f"warning: skipped evidence file {trails / 'cut.json'}" in out
    assert f"warning: {logs / 'audit.log.1'}: skipped 1 line that is not JSON" in out
    assert "Traceback" not in out
    code, out = run_cli(["graph", "rotation-order", fingerprint(other), "--db", str(db)])
    assert code == 0
    assert "WARNING: " in out and "no known store holds it" in out
    assert "no known consumer" in out
    code, out = run_cli([*args, "--cloudtrail", str(tmp_path / "no-such-trail.json")])
    assert code == 2 and "does not exist" in out and "Traceback" not in out
