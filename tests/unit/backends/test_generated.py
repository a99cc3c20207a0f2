from __future__ import annotations

import pytest

from leakguard.backends.generated import GeneratedIssuer, GeneratedSpec
from leakguard.backends.interface import KeyIssuer
from leakguard.errors import UsageError


def test_generates_with_params() -> None:
    issuer = GeneratedIssuer(GeneratedSpec(length=32, alphabet="hex", prefix="whsec_"))
    assert isinstance(issuer, KeyIssuer)
    key = issuer.issue("webhook", "run:issue")
    value = key.secret["value"]
    assert value.startswith("whsec_") and len(value) == 6 + 32
    assert set(value[6:]) <= set("0123456789abcdef")
    assert issuer.works(key)
    assert value not in repr(key) and value not in key.key_id


def test_idempotent_per_token_and_fresh_per_run() -> None:
    issuer = GeneratedIssuer()
    first = issuer.issue("db", "run1:issue")
    assert issuer.issue("db", "run1:issue") == first
    assert issuer.issue("db", "run2:issue").secret != first.secret


def test_custom_alphabet_and_field() -> None:
    spec = GeneratedSpec.from_params(
        {"length": "20", "alphabet": "ABCDEFGHIJKLMNOP", "field": "hmac"}
    )
    key = GeneratedIssuer(spec).issue("svc", "t")
    assert set(key.secret["hmac"]) <= set("ABCDEFGHIJKLMNOP")
    assert not GeneratedIssuer(spec).works({"hmac": "short"})


@pytest.mark.parametrize(
    "params",
    [{"length": 8}, {"alphabet": "ab"}, {"length": "many"}, {"colour": "red"}],
)
def test_weak_or_unknown_params_are_refused(params: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        GeneratedSpec.from_params(params)


def test_revocation_is_recorded() -> None:
    issuer = GeneratedIssuer()
    key = issuer.issue("db", "t")
    issuer.deactivate("db", key.key_id)
    assert issuer.list_keys("db") == []
    issuer.activate("db", key.key_id)
    assert [k.key_id for k in issuer.list_keys("db")] == [key.key_id]
