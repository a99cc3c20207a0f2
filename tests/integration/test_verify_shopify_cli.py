"""`scan --verify --shopify-shop …` (and sweep, findings verify) against the local fake of
Shopify's Admin API: the shop comes from the option only, never from the scanned files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakguard.redact import fingerprint
from tests.support.cli import run_cli
from tests.support.provider_fakes import ProviderFake, provider_fake

TOKEN = "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"
GRAPHQL = "/admin/api/2026-07/graphql.json"


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[ProviderFake]:
    monkeypatch.delenv("LEAKGUARD_VERIFY_ENDPOINTS", raising=False)
    monkeypatch.delenv("LEAKGUARD_DB", raising=False)
    with provider_fake() as server:
        yield server


@pytest.fixture()
def shop_app(tmp_path: Path) -> Path:
    """A leaked token next to *another* shop's host, which must never be contacted."""
    app = tmp_path / "shop-app"
    app.mkdir()
    (app / ".env").write_text(
        f"SHOPIFY_SHOP=evil-shop.myshopify.com\nSHOPIFY_ACCESS_TOKEN={TOKEN}\n"
        "SHOPIFY_ADMIN=https://evil-shop.myshopify.com/admin/api/2026-07/graphql.json\n"
    )
    return app


def _scan(app: Path, fake: ProviderFake, *extra: str) -> tuple[int, dict[str, object], str]:
    report = app.parent / "report.json"
    stand_in = f"shopify@acme={fake.url}/shopify.acme"
    args = ["scan", str(app), "--verify", "--verify-endpoint", stand_in, "-f", "json"]
    code, out = run_cli([*args, "-o", str(report), *extra])
    doc = json.loads(report.read_text()) if report.exists() else {}
    return code, doc, out


def _check(doc: dict[str, object]) -> dict[str, object]:
    findings = doc["findings"]
    assert isinstance(findings, list)
    [found] = [f for f in findings if f["rule_id"] == "shopify-admin-api-token"]
    assert found["verification"], found
    return dict(found["verification"], severity=found["severity"])


def test_scan_verify_marks_a_token_of_the_named_shop_live(
    fake: ProviderFake, shop_app: Path
) -> None:
    fake.live.add(TOKEN)
    fake.regions[TOKEN] = "acme"
    code, doc, out = _scan(shop_app, fake, "--shopify-shop", "acme.myshopify.com")
    assert code == 1, out
    check = _check(doc)
    assert check["status"] == "live" and check["http_status"] == 200
    assert check["endpoint"] == f"POST https://acme.myshopify.com{GRAPHQL}"
    assert check["identity"]["domain"] == "acme.myshopify.com"  # type: ignore[index]
    assert check["severity"] == "critical"
    assert fake.requests == [("POST", f"/shopify.acme{GRAPHQL}")]  # evil-shop never asked
    assert TOKEN not in out and TOKEN not in json.dumps(doc)


def test_scan_verify_one_shop_refusing_is_revoked(fake: ProviderFake, shop_app: Path) -> None:
    code, doc, out = _scan(shop_app, fake, "--shopify-shop", "acme")
    assert code == 1, out
    check = _check(doc)
    assert check["status"] == "revoked" and check["http_status"] == 401, out
    assert check["severity"] == "low"  # lowered, evidence kept
    assert [path for _, path in fake.requests] == [f"/shopify.acme{GRAPHQL}"]


def test_scan_verify_without_a_shop_is_unknown_and_calls_nothing(
    fake: ProviderFake, shop_app: Path
) -> None:
    code, doc, out = _scan(shop_app, fake)
    assert code == 1, out
    check = _check(doc)
    assert check["status"] == "unknown", out
    assert check["detail"] == "pass --shopify-shop to check Shopify tokens"
    assert fake.requests == []


def test_dry_run_lists_the_call(fake: ProviderFake, shop_app: Path) -> None:
    code, _, out = _scan(shop_app, fake, "--shopify-shop", "acme", "--verify-dry-run")
    assert code == 1
    assert f"would call POST {fake.url}/shopify.acme{GRAPHQL} (test endpoint for acme)" in out
    assert "evil" not in out.split("would call", 1)[1].splitlines()[0]
    assert fake.requests == []


@pytest.mark.parametrize("shop", ["evil.com", "https://acme.myshopify.com", "acme.myshopify.com.x"])
def test_a_bad_shop_is_one_clear_line_for_every_command(
    fake: ProviderFake, shop_app: Path, shop: str
) -> None:
    config = shop_app.parent / "sweep.yaml"
    config.write_text(f"targets:\n  - path: {shop_app}\n")
    db = str(shop_app.parent / "lg.db")
    for args in (
        ["scan", str(shop_app), "--verify"],
        ["sweep", str(config), "--db", db, "--verify"],
        ["findings", "verify", "sha256:00", "--db", db],
    ):
        code, out = run_cli([*args, "--shopify-shop", shop])
        assert code == 2, (args, out)
        assert f"invalid --shopify-shop {shop!r}" in out and "Traceback" not in out
    assert fake.requests == []


def test_sweep_and_findings_verify_take_the_shop(fake: ProviderFake, shop_app: Path) -> None:
    fake.live.add(TOKEN)
    fake.regions[TOKEN] = "beta"
    config = shop_app.parent / "sweep.yaml"
    config.write_text(f"targets:\n  - path: {shop_app}\n")
    db = str(shop_app.parent / "lg.db")
    stand_ins = f"shopify@acme={fake.url}/shopify.acme,shopify@beta={fake.url}/shopify.beta"
    shops = ["--shopify-shop", "acme", "--shopify-shop", "beta", "--verify-endpoint", stand_ins]
    report = shop_app.parent / "sweep.json"
    sweep = ["sweep", str(config), "--db", db, "-j", "1", "--verify", "-f", "json"]
    code, out = run_cli([*sweep, "-o", str(report), *shops])
    assert code == 1, out
    [entry] = json.loads(report.read_text())["new_credentials"]
    assert entry["verification"]["status"] == "live"
    assert entry["verification"]["identity"]["domain"] == "beta.myshopify.com"
    fake.live.clear()  # now refused by both shops: still unknown (another shop's token?)
    code, out = run_cli(["findings", "verify", fingerprint(TOKEN), "--db", db, *shops])
    assert code == 0, out
    assert "unknown" in out and "acme.myshopify.com, beta.myshopify.com" in out
    assert TOKEN not in out
