"""The base64_structure validator, on literal known answers (never re-encoded in the test)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from leakguard.engine.interface import Candidate
from leakguard.engine.structure import decode_segment
from leakguard.engine.validators import SPECS, prepare_params

# base64 of "123456789012345678": the first segment of a Discord bot token with that user id
DISCORD_ID_SEGMENT = b"MTIzNDU2Nzg5MDEyMzQ1Njc4"
# base64url of {"u":"acme-maps","a":"clx1y2z3"}: the middle of a Mapbox token
MAPBOX_CLAIMS = b"eyJ1IjoiYWNtZS1tYXBzIiwiYSI6ImNseDF5MnozIn0"
# "ABSK" + base64 of "BedrockAPIKey-ab12-at-123456789012:c2VjcmV0"
BEDROCK = b"ABSKQmVkcm9ja0FQSUtleS1hYjEyLWF0LTEyMzQ1Njc4OTAxMjpjMlZqY21WMA=="


def _check(secret: bytes, **params: Any) -> tuple[bool, Mapping[str, str]]:
    prepared = prepare_params("base64_structure", params)
    verdict = SPECS["base64_structure"].check(
        Candidate("r", secret, 0, len(secret), secret, {}), prepared
    )
    return verdict.accept, dict(verdict.attributes)


def test_decodes_standard_and_url_safe_segments_without_padding() -> None:
    assert decode_segment(DISCORD_ID_SEGMENT + b".GhJkLm.sig", 0, 0) == b"123456789012345678"
    assert (
        decode_segment(b"sk." + MAPBOX_CLAIMS + b".x", 1, 0) == b'{"u":"acme-maps","a":"clx1y2z3"}'
    )
    assert decode_segment(b"a", 0, 0) is None and decode_segment(b"abc", 3, 0) is None


def test_discord_user_id_becomes_an_attribute() -> None:
    ok, attrs = _check(
        DISCORD_ID_SEGMENT + b".GhJkLm.AbCdEfGhIjKlMnOpQrStUvWxYz0123456",
        match=r"(?P<id>[0-9]{17,20})$",
        attributes={"bot_user_id": "id"},
    )
    assert ok and attrs == {"bot_user_id": "123456789012345678"}


def test_bedrock_account_id_is_decoded() -> None:
    ok, attrs = _check(
        BEDROCK,
        skip=4,
        match=r"BedrockAPIKey-[A-Za-z0-9]{1,32}-at-(?P<account>[0-9]{12}):",
        attributes={"account_id": "account"},
    )
    assert ok and attrs == {"account_id": "123456789012"}


@pytest.mark.parametrize(
    "secret",
    [
        b"QWxsIHlvdXIgYmFzZQ.GhJkLm.sig",  # base64 of "All your base": not a user id
        b"!!!notbase64!!!.x.y",
        b"",
    ],
)
def test_look_alikes_are_rejected(secret: bytes) -> None:
    ok, _ = _check(secret, match=r"[0-9]{17,20}$")
    assert not ok


def test_parameters_are_checked_at_load() -> None:
    with pytest.raises(ValueError, match="no group"):
        prepare_params("base64_structure", {"match": "x", "attributes": {"a": "missing"}})
    with pytest.raises(ValueError, match="unknown parameter"):
        prepare_params("base64_structure", {"match": "x", "bogus": 1})
