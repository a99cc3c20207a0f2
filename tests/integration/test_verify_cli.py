"""`leakguard scan --verify` on the demo app, against the local provider fake and moto's STS."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.provider_fakes import ProviderFake, provider_fake
from tests.support.servers import Moto

DEMO = Path(__file__).parents[2] / "examples" / "leaky-app"
LIVE_RULES = ("stripe-live-secret-key", "github-personal-access-token", "openai-project-key")


def _demo_values() -> dict[str, str]:
    text = "".join(p.read_text() for p in DEMO.rglob("*") if p.is_file())
    grab = {
        "stripe-live-secret-key": r"sk_live_[0-9A-Za-z]+",
        "github-personal-access-token": r"ghp_[0-9A-Za-z]{36}",
        "openai-project-key": r"sk-proj-[0-9A-Za-z_-]+",
    }
    return {rule: re.search(pattern, text).group(0) for rule, pattern in grab.items()}  # type: ignore[union-attr]


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch, auth_moto: Moto) -> Iterator[ProviderFake]:
    from leakguard.backends.aws_sandbox import bootstrap

    bootstrap(
        auth_moto.url, auth_moto.region
    )  # moto now checks signatures: the demo key is unknown
    with provider_fake() as server:
        names = ["stripe", "github", "openai", "npm", "supabase"]
        endpoints = ",".join(f"{n}={u}" for n, u in server.endpoints(*names).items())
        monkeypatch.setenv("LEAKGUARD_VERIFY_ENDPOINTS", endpoints)
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", auth_moto.url)
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
        monkeypatch.delenv("LEAKGUARD_DB", raising=False)
        yield server


def test_scan_verify_marks_live_and_revoked_with_evidence(
    fake: ProviderFake, tmp_path: Path
) -> None:
    values = _demo_values()
    fake.live.update(values.values())
    report_file = tmp_path / "report.json"
    code, out = run_cli(
        ["scan", str(DEMO), "--verify", "-f", "json", "-j", "1", "-o", str(report_file)]
    )
    assert code == 1, out
    report = json.loads(report_file.read_text())
    by_rule = {f["rule_id"]: f for f in report["findings"]}
    for rule in LIVE_RULES:
        check = by_rule[rule]["verification"]
        assert check["status"] == "live", (rule, check)
        assert check["identity"] and check["http_status"] == 200 and check["checked_at"]
    assert by_rule["stripe-live-secret-key"]["verification"]["identity"]["id"].startswith("acct_")
    assert by_rule["npm-access-token"]["verification"]["status"] == "revoked"
    assert by_rule["supabase-service-role-key"]["verification"]["status"] == "revoked"
    aws = by_rule["aws-access-key"]["verification"]
    assert aws["status"] == "revoked" and "InvalidClientTokenId" in aws["detail"]
    assert by_rule["npm-access-token"]["severity"] == "low"  # revoked: lowered, evidence kept
    for value in values.values():  # verified, never shown without --show-secrets
        assert value not in out and value not in report_file.read_text()


def test_verify_results_are_cached_in_the_store(fake: ProviderFake, tmp_path: Path) -> None:
    fake.live.update(_demo_values().values())
    db = tmp_path / "lg.db"
    args = ["scan", str(DEMO), "--verify", "-f", "json", "-j", "1", "--db", str(db)]
    run_cli([*args, "-o", str(tmp_path / "first.json")])
    calls = len(fake.requests)
    code, _ = run_cli([*args, "-o", str(tmp_path / "second.json")])
    assert code == 1 and len(fake.requests) == calls  # every answer came from the store
    findings = json.loads((tmp_path / "second.json").read_text())["findings"]
    cached = [f["verification"] for f in findings if f.get("verification")]
    assert cached and all(c["cached"] for c in cached if c["status"] != "unknown")
    assert not any(v in db.read_bytes().decode("latin-1") for v in _demo_values().values())


def test_dry_run_lists_calls_and_makes_none(fake: ProviderFake) -> None:
    code, out = run_cli(["scan", str(DEMO), "--verify", "--verify-dry-run", "-j", "1"])
    assert code == 1
    assert "would call GET" in out and "(test endpoint)" in out
    assert fake.requests == []


def test_without_verify_no_connection_is_even_attempted(
    fake: ProviderFake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a scan without --verify opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    report = tmp_path / "report.json"
    code, out = run_cli(["scan", str(DEMO), "-f", "json", "-j", "1", "-o", str(report)])
    assert code == 1, out
    assert all("verification" not in f for f in json.loads(report.read_text())["findings"])
    assert fake.requests == []


def test_an_endpoint_override_must_name_a_verifier(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEAKGUARD_VERIFY_ENDPOINTS", raising=False)
    code, out = run_cli(["scan", str(DEMO), "--verify", "--verify-endpoint", "evil=http://x"])
    assert code == 2 and "invalid --verify-endpoint" in out and "Traceback" not in out


def test_findings_verify_and_list_live(fake: ProviderFake, tmp_path: Path) -> None:
    """Stored credentials verified later: the value is read again from their targets."""
    db = tmp_path / "lg.db"
    code, out = run_cli(["sweep", str(_sweep_config(tmp_path)), "--db", str(db), "-j", "1"])
    assert code in (0, 1), out
    values = _demo_values()
    fake.live.add(values["github-personal-access-token"])
    from leakguard.redact import fingerprint

    github = fingerprint(values["github-personal-access-token"])
    stripe = fingerprint(values["stripe-live-secret-key"])
    code, out = run_cli(["findings", "verify", github, stripe, "--db", str(db)])
    assert code == 1, out  # one is live
    assert "live" in out and "revoked" in out
    assert not any(v in out for v in values.values())
    code, out = run_cli(["findings", "list", "--live", "--db", str(db), "-f", "json"])
    listed = [c["fingerprint"] for c in json.loads(out)["credentials"]]
    assert listed == [github]


def _sweep_config(tmp_path: Path) -> Path:
    config = tmp_path / "sweep.yaml"
    config.write_text(f"targets:\n  - path: {DEMO}\n")
    return config
