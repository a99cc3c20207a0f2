"""Bech32 (BIP-173) strings: the checksum that age secret keys carry.

An age identity is ``AGE-SECRET-KEY-1`` + 58 upper-case bech32 characters: 32 bytes of key and
a 6-character checksum over the human-readable part ``age-secret-key-``. Age does not apply
BIP-173's 90-character limit, and neither does this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leakguard.engine import params as p
from leakguard.engine.interface import Candidate, ValidatorSpec, Verdict

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_VALUES = {c: i for i, c in enumerate(CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: list[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i, g in enumerate(_GENERATOR):
            if (top >> i) & 1:
                chk ^= g
    return chk


def _expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def decode(text: str) -> tuple[str, list[int]] | None:
    """``(hrp, 5-bit data without the checksum)`` of a valid bech32 string, else None."""
    if text.lower() != text and text.upper() != text:
        return None  # mixed case is invalid
    text = text.lower()
    sep = text.rfind("1")
    if sep < 1 or sep + 7 > len(text) or any(not 33 <= ord(c) <= 126 for c in text):
        return None
    hrp, rest = text[:sep], text[sep + 1 :]
    if any(c not in _VALUES for c in rest):
        return None
    data = [_VALUES[c] for c in rest]
    if _polymod(_expand(hrp) + data) != 1:
        return None
    return hrp, data[:-6]


def to_bytes(data: list[int]) -> bytes | None:
    """5-bit groups to bytes; None when the padding is not zero bits."""
    acc = bits = 0
    out = bytearray()
    for value in data:
        acc = (acc << 5) | value
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if bits >= 5 or (acc & ((1 << bits) - 1)):
        return None
    return bytes(out)


PARAMS = {
    "hrp": "the human-readable part the string must carry (lower case)",
    "bytes": "the payload length in bytes (0: any)",
}


def prepare(params: Mapping[str, Any]) -> Mapping[str, Any]:
    p.only(params, PARAMS)
    hrp = params.get("hrp")
    if not isinstance(hrp, str) or not hrp or hrp.lower() != hrp:
        raise ValueError("hrp must be a lower-case string")
    return {"hrp": hrp, "bytes": p.integer(params, "bytes", 0, 0, 1024)}


def bech32_checksum(candidate: Candidate, params: Mapping[str, Any]) -> Verdict:
    decoded = decode(candidate.secret.decode("ascii", "replace"))
    if decoded is None:
        return Verdict.reject("not a valid bech32 string (checksum)")
    hrp, data = decoded
    if hrp != params["hrp"]:
        return Verdict.reject("unexpected bech32 prefix")
    payload = to_bytes(data)
    want = int(params.get("bytes", 0))
    if payload is None or (want and len(payload) != want):
        return Verdict.reject("bech32 payload of the wrong length")
    return Verdict(accept=True, detail="bech32 checksum verified")


SPEC = ValidatorSpec(bech32_checksum, "BIP-173 bech32 checksum (age keys)", PARAMS, prepare)
