"""OpenPGP ASCII armor (RFC 4880 section 6): a private key block is real when its base64 body
carries the armor's CRC-24 and starts with a secret-key packet (tag 5)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from leakguard.engine import params as p
from leakguard.engine.interface import Candidate, ValidatorSpec, Verdict
from leakguard.model import Severity

_CRC24_INIT = 0xB704CE
_CRC24_POLY = 0x1864CFB
_SECRET_KEY_TAG = 5
_LINE_BREAK = re.compile(rb"\\r\\n|\\n|\r\n|\r|\n")


def crc24(data: bytes) -> int:
    crc = _CRC24_INIT
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= _CRC24_POLY
    return crc & 0xFFFFFF


def _body(block: bytes) -> tuple[bytes, bytes | None] | None:
    """The armored body's base64 and its ``=XXXX`` checksum line (if any)."""
    lines = [line.strip() for line in _LINE_BREAK.split(block)]
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith(b"-----BEGIN"))
    except StopIteration:
        return None
    body: list[bytes] = []
    checksum: bytes | None = None
    in_headers = True
    for line in lines[start + 1 :]:
        if line.startswith(b"-----END"):
            break
        if in_headers:  # "Version: ..." and similar, up to the first empty line
            if b": " in line:
                continue
            in_headers = False
            if not line:
                continue
        if line.startswith(b"=") and len(line) == 5:
            checksum = line[1:]
            continue
        body.append(line)
    return b"".join(body), checksum


def _first_tag(packet: bytes) -> int | None:
    if not packet or not packet[0] & 0x80:
        return None
    head = packet[0]
    return head & 0x3F if head & 0x40 else (head >> 2) & 0x0F


PARAMS = {"encrypted_severity": "severity of a block whose secret key is passphrase-protected"}


def prepare(params: Mapping[str, Any]) -> Mapping[str, Any]:
    p.only(params, PARAMS)
    return {"encrypted_severity": p.severity(params, "encrypted_severity")}


_KEY_MPIS = {1: 2, 2: 2, 3: 2, 16: 3, 17: 4}  # RSA, Elgamal, DSA: public MPIs
_ECC = (18, 19, 22)  # ECDH, ECDSA, EdDSA: curve OID, then the public point


def _protected(packet: bytes) -> bool:
    """Is a v4 secret-key packet's key material encrypted (its S2K usage octet non-zero)?"""
    head = packet[0]
    if head & 0x40:  # new format: one-, two- or five-octet length
        first = packet[1]
        offset = 2 if first < 192 else 3 if first < 224 else 6
    else:
        offset = 1 + (1, 2, 4, 0)[head & 0x03]
    body = packet[offset:]
    if len(body) < 7 or body[0] != 4:
        return False
    algorithm, pos = body[5], 6
    if algorithm in _ECC:
        pos += 1 + body[pos]
        mpis = 1
    elif algorithm in _KEY_MPIS:
        mpis = _KEY_MPIS[algorithm]
    else:
        return False
    for _ in range(mpis):
        if len(body) < pos + 2:
            return False
        pos += 2 + (int.from_bytes(body[pos : pos + 2], "big") + 7) // 8
    if algorithm == 18 and len(body) > pos:  # ECDH: KDF parameters
        pos += 1 + body[pos]
    return len(body) > pos and body[pos] != 0


def pgp_private_key(candidate: Candidate, params: Mapping[str, Any]) -> Verdict:
    parts = _body(candidate.secret)
    if parts is None:
        return Verdict.reject("no armor header")
    text, checksum = parts
    try:
        packet = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return Verdict.reject("armor body is not base64")
    if _first_tag(packet) != _SECRET_KEY_TAG or len(packet) < 16:
        return Verdict.reject("armor body does not start with a secret-key packet")
    if checksum is not None:
        try:
            expected = int.from_bytes(base64.b64decode(checksum, validate=True), "big")
        except (binascii.Error, ValueError):
            return Verdict.reject("armor checksum line is not base64")
        if crc24(packet) != expected:
            return Verdict.reject("armor CRC-24 does not match")
    severity: Severity | None = None
    detail = "OpenPGP secret-key packet" + (", CRC-24 verified" if checksum else "")
    if _protected(packet):
        severity = params.get("encrypted_severity")
        detail += ", passphrase-protected"
    return Verdict(accept=True, detail=detail, severity=severity)


SPEC = ValidatorSpec(
    pgp_private_key, "OpenPGP armored secret key (CRC-24, packet tag)", PARAMS, prepare
)
