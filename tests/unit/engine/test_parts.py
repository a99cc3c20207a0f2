"""Credentials with parts: the engine fingerprints each half of a paired credential (never its
value), so stores and logs holding one half link to the whole."""

from __future__ import annotations

import hashlib
import json

import pytest

from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet
from leakguard.model import Credential

ALL = RuleSet.load()
KEY_ID = "AKIABZPUZDIKJGNRMUJO"
SECRET = "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"


def sha(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(ALL, "re")


def test_an_aws_pair_carries_a_fingerprint_per_half(engine: Engine) -> None:
    [f] = engine.scan_text(f"aws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n")
    assert f.fingerprint == sha(f"{KEY_ID}:{SECRET}")
    assert dict(f.parts) == {
        "aws_access_key_id": sha(KEY_ID),
        "aws_secret_access_key": sha(SECRET),
    }
    doc = f.to_dict()
    assert doc["parts"] == dict(f.parts)
    text = json.dumps(doc) + repr(f)
    assert SECRET not in text and SECRET[:-4] not in text


def test_an_unpaired_key_id_and_secret_are_parts_of_themselves(engine: Engine) -> None:
    far = f"id = {KEY_ID}\n" + "x = 1\n" * 8 + f"aws_secret_access_key = {SECRET}\n"
    found = {f.rule_id: f for f in engine.scan_text(far)}
    assert dict(found["aws-access-key"].parts) == {"aws_access_key_id": sha(KEY_ID)}
    assert dict(found["aws-secret-access-key"].parts) == {"aws_secret_access_key": sha(SECRET)}


def test_twilio_pairs_name_their_parts(engine: Engine) -> None:
    sid, tok = "AC" + "3f" * 16, "9be1c07d" * 4
    [f] = engine.scan_text(f"TWILIO_ACCOUNT_SID={sid}\nTWILIO_AUTH_TOKEN={tok}\n")
    assert dict(f.parts) == {"account_sid": sha(sid), "secret": sha(tok)}
    key, secret = "SK50b0220d1ede6b3dde2edb61d3325271", "jfXckoRTLIQiV55o2x8PaHX4iUYlNMOG"
    [f] = engine.scan_text(f"TWILIO_API_KEY={key}\nTWILIO_API_SECRET={secret}\n")
    assert dict(f.parts) == {"match": sha(key), "partner": sha(secret)}


def test_a_url_password_and_user_are_parts(engine: Engine) -> None:
    [f] = engine.scan_text("DATABASE_URL=postgres://app_rw:Xk29vLq81ZbTw0Rm@db.internal/app")
    assert f.fingerprint == sha("Xk29vLq81ZbTw0Rm")
    assert dict(f.parts) == {"password": sha("Xk29vLq81ZbTw0Rm"), "user": sha("app_rw")}


def test_rules_without_parts_carry_none(engine: Engine) -> None:
    [f] = engine.scan_text("STRIPE_SECRET_KEY=sk_live_" + "a1B2c3D4e5F6g7H8i9J0k1L2")
    assert f.parts == () and "parts" not in f.to_dict()


def test_a_credential_collects_the_parts_of_its_findings(engine: Engine) -> None:
    text = f"aws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
    findings = engine.scan_text(text, "a.env") + engine.scan_text(text, "b.env")
    [cred] = Credential.group(findings)
    assert dict(cred.parts)["aws_access_key_id"] == sha(KEY_ID) and len(cred.parts) == 2
