"""CRC32-in-base62 checksums carried by GitHub (``ghp_``…) and npm (``npm_``) tokens.

The token body after the prefix is 30 random characters followed by 6 characters: the zlib
CRC32 of those 30 characters written in base62 (``0-9A-Za-z``), left-padded with ``0``.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

from leakguard.engine import params as p
from leakguard.engine.interface import Candidate, Verdict
from leakguard.model import ValidationStatus

BASE62 = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CHECKSUM_LEN = 6
PAYLOAD_LEN = 30

PARAMS = {
    "allow_longer": "accept bodies longer than 36 characters whose checksum cannot be placed "
    "(GitHub refresh tokens) as 'unverifiable' instead of rejecting them",
}


def base62(number: int, width: int = CHECKSUM_LEN) -> bytes:
    digits = bytearray()
    while number:
        number, rest = divmod(number, 62)
        digits.append(BASE62[rest])
    return bytes(reversed(digits)).rjust(width, b"0")


def crc32_base62(payload: bytes) -> bytes:
    return base62(zlib.crc32(payload) & 0xFFFFFFFF)


def checksum_ok(body: bytes) -> bool:
    """True when the last 6 characters of ``body`` are the base62 CRC32 of the rest."""
    if len(body) <= CHECKSUM_LEN:
        return False
    return crc32_base62(body[:-CHECKSUM_LEN]) == body[-CHECKSUM_LEN:]


def prepare(params: Mapping[str, Any]) -> Mapping[str, Any]:
    p.only(params, PARAMS)
    return {"allow_longer": p.flag(params, "allow_longer", False)}


def crc32_token(candidate: Candidate, params: Mapping[str, Any]) -> Verdict:
    _, sep, body = candidate.secret.partition(b"_")
    if not sep or len(body) < PAYLOAD_LEN + CHECKSUM_LEN:
        return Verdict.reject("too short for a checksummed token")
    if checksum_ok(body):
        return Verdict(accept=True, detail="crc32 checksum matches")
    if len(body) > PAYLOAD_LEN + CHECKSUM_LEN and params.get("allow_longer"):
        return Verdict(
            accept=True,
            status=ValidationStatus.UNVERIFIABLE,
            detail="longer format: no checksum to check",
        )
    return Verdict.reject("crc32 checksum does not match")
