"""Redacted previews never show more than a vendor marker and the last few characters."""

from __future__ import annotations

from leakguard.redact import fingerprint, redact, redact_bare


def test_vendor_prefix_and_last_four() -> None:
    assert redact("sk_live_" + "a1B2c3D4" * 4 + "9f2c") == "sk_live_…9f2c"


def test_passwords_show_no_leading_characters() -> None:
    assert redact_bare("S3cr3tPassw0rd9Zq") == "…d9Zq"
    assert redact_bare("hunter2hunter") == "…er"
    assert redact_bare("abc123") == "…"


def test_connection_url_preview_hides_the_password() -> None:
    from leakguard.engine.matcher import Engine
    from leakguard.engine.rules import RuleSet

    password = "S3cr3tPassw0rd9Zq"
    [finding] = Engine(RuleSet.load(), "re").scan_text(
        f"DATABASE_URL=postgres://app:{password}@db.prod.internal:5432/app\n"
    )
    assert finding.redacted == "postgres://app:…d9Zq@db.prod.internal"
    assert password[:2] not in finding.redacted
    assert finding.fingerprint == fingerprint(password)
