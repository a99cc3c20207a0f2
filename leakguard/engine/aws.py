"""AWS access keys: pair a key id with the secret access key near it; decode the account id.

A key id (``AKIA…``, ``ASIA…``) alone cannot sign requests; with its 40-character secret it is a
working credential. The pair is one credential: its fingerprint covers ``id:secret`` and its
preview shows the end of both; each half is also a part (``aws_access_key_id``,
``aws_secret_access_key``), since stores, configs and CloudTrail hold the halves separately.
An id with no secret nearby is still reported, at the severity the rule gives for that case.
Documentation values (``…EXAMPLE``, ``…EXAMPLEKEY``) never pair.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from leakguard.engine import params as p
from leakguard.engine.filters import is_placeholder, shannon_entropy
from leakguard.engine.interface import Candidate, Verdict
from leakguard.engine.pairing import nearest
from leakguard.model import ValidationStatus, extras

KEY_ID_PART = "aws_access_key_id"
SECRET_PART = "aws_secret_access_key"

KEY_ID = re.compile(rb"(?<![A-Z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Z0-9])")
SECRET_KEY = re.compile(rb"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_MIN_SECRET_ENTROPY = 3.5

PARAMS = {
    "side": "'id' (the rule matches key ids and pairs them) or 'secret' (the rule matches a "
    "secret access key and defers to the id rule when a key id is nearby)",
    "lines": "how many lines before and after to search for the other half (default 5)",
    "unpaired_severity": "severity of a key id with no secret nearby (default: the rule's)",
}


def prepare(params: Mapping[str, Any]) -> Mapping[str, Any]:
    p.only(params, PARAMS)
    side = params.get("side", "id")
    if side not in ("id", "secret"):
        raise ValueError("side must be 'id' or 'secret'")
    return {
        "side": side,
        "lines": p.integer(params, "lines", 5, 0, 50),
        "unpaired_severity": p.severity(params, "unpaired_severity"),
    }


def account_id(key_id: str) -> str | None:
    """The 12-digit AWS account id encoded in a key id, or None for ids that predate the
    encoding. Characters 5 onwards are base32; bits 1..40 of the first six decoded bytes, shifted
    right by 7, are the account number."""
    if len(key_id) != 20 or key_id[4] in "IJ":
        return None
    try:
        raw = base64.b32decode(key_id[4:])
    except (binascii.Error, ValueError):
        return None
    number = (int.from_bytes(raw[:6], "big") & 0x7FFFFFFFFF80) >> 7
    return f"{number:012d}"


def plausible_secret(value: bytes) -> bool:
    """A random 40-character base64 string, not a git hash, a path or a placeholder."""
    if is_placeholder(value) or b"example" in value.lower():
        return False
    if re.fullmatch(rb"[0-9a-f]{40}|[0-9A-F]{40}", value):
        return False
    if not (re.search(rb"[a-z]", value) and re.search(rb"[A-Z]", value)):
        return False
    return shannon_entropy(value) >= _MIN_SECRET_ENTROPY


def pairing_context(candidate: Candidate, params: Mapping[str, Any]) -> bytes:
    """What :func:`aws_pairing` decides by besides the secret itself and the rule: the other
    half it would pair with (the secret's value, for a key id; whether a key id is near, for a
    secret). A key id on every line of a log with no secret near is judged once."""
    lines = int(params.get("lines", 5))
    data, start, end = candidate.data, candidate.start, candidate.end
    if params.get("side") == "secret":
        return b"" if nearest(KEY_ID, data, start, end, lines, _plausible_id) is None else b"id"
    secret = nearest(SECRET_KEY, data, start, end, lines, plausible_secret)
    return b"" if secret is None else b"=" + secret.group()


def aws_pairing(candidate: Candidate, params: Mapping[str, Any]) -> Verdict:
    lines = int(params.get("lines", 5))
    if params.get("side") == "secret":
        if not plausible_secret(candidate.secret):
            return Verdict.reject("not a plausible secret access key")
        key = nearest(KEY_ID, candidate.data, candidate.start, candidate.end, lines, _plausible_id)
        if key is not None:
            return Verdict.reject("paired with a key id nearby: reported with that id")
        return Verdict(
            accept=True,
            status=ValidationStatus.UNVERIFIABLE,
            detail="no key id nearby",
            parts=((SECRET_PART, candidate.secret),),
        )

    key_id = candidate.secret.decode("ascii", "replace")
    account = account_id(key_id)
    secret = nearest(
        SECRET_KEY, candidate.data, candidate.start, candidate.end, lines, plausible_secret
    )
    if secret is None:
        return Verdict(
            accept=True,
            status=ValidationStatus.UNVERIFIABLE,
            detail="key id without a secret access key nearby",
            severity=params.get("unpaired_severity"),
            attributes=extras(account_id=account, paired=False),
            redacted=f"{key_id[:4]}…{key_id[-4:]}",
            parts=((KEY_ID_PART, candidate.secret),),
        )
    value = secret.group()
    return Verdict(
        accept=True,
        detail="key id paired with its secret access key",
        attributes=extras(account_id=account, paired=True),
        secret=candidate.secret + b":" + value,
        redacted=f"{key_id[:4]}…{key_id[-4:]}:…{value[-4:].decode('ascii')}",
        parts=((KEY_ID_PART, candidate.secret), (SECRET_PART, value)),
    )


def _plausible_id(value: bytes) -> bool:
    return not is_placeholder(value) and b"EXAMPLE" not in value
