"""Private keys: PEM and OpenSSH blocks, and Google Cloud service-account JSON.

The check is structural and offline: the block's body must be base64 that decodes to a DER
sequence (PEM) or an ``openssh-key-v1`` container, so a block of dots, ``...`` or
``<your key here>`` is not a key. The fingerprint is taken over the canonical block (real line
breaks, no indentation), so one key is one credential whether it sits in a ``.pem`` file, in a
JSON string with ``\\n`` escapes, or in an environment variable.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any, TypeGuard

from leakguard.engine import params as p
from leakguard.engine.interface import Candidate, Verdict
from leakguard.model import extras

_BLOCK = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----(.*?)-----END \1-----", re.DOTALL
)
_ESCAPED_NEWLINE = re.compile(rb"\\r|\\n")
_HEADER_LINE = re.compile(rb"^[A-Za-z-]+:.*$", re.MULTILINE)
_OPENSSH_MAGIC = b"openssh-key-v1\0"
_MIN_DER_BYTES = 32

PEM_PARAMS = {"encrypted_severity": "severity of a passphrase-protected key (default: the rule's)"}
GCP_PARAMS: dict[str, str] = {}


def prepare_pem(params: Mapping[str, Any]) -> Mapping[str, Any]:
    p.only(params, PEM_PARAMS)
    return {"encrypted_severity": p.severity(params, "encrypted_severity")}


def prepare_gcp(params: Mapping[str, Any]) -> Mapping[str, Any]:
    p.only(params, GCP_PARAMS)
    return {}


def _openssh_cipher(blob: bytes) -> bytes | None:
    rest = blob[len(_OPENSSH_MAGIC) :]
    if len(rest) < 4:
        return None
    size = int.from_bytes(rest[:4], "big")
    if size > 64 or len(rest) < 4 + size:
        return None
    return rest[4 : 4 + size]


def inspect_block(text: bytes) -> tuple[str, bool, bytes, bytes] | None:
    """(label, encrypted, canonical block, base64 body) of a private-key block, or None."""
    block = _BLOCK.search(_ESCAPED_NEWLINE.sub(b"\n", text))
    if block is None:
        return None
    label, inner = block.group(1), block.group(2)
    encrypted = b"ENCRYPTED" in label or b"Proc-Type: 4,ENCRYPTED" in inner
    body = b"".join(_HEADER_LINE.sub(b"", inner).split())
    body = body.replace(b'"', b"").replace(b"'", b"")
    try:
        blob = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return None
    if label == b"OPENSSH PRIVATE KEY":
        if not blob.startswith(_OPENSSH_MAGIC):
            return None
        cipher = _openssh_cipher(blob)
        if cipher is None:
            return None
        encrypted = cipher != b"none"
    elif len(blob) < _MIN_DER_BYTES or blob[0] != 0x30:
        return None
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    canonical = b"\n".join(
        [b"-----BEGIN " + label + b"-----", *lines, b"-----END " + label + b"-----"]
    )
    return label.decode("ascii"), encrypted, canonical, body


def private_key(candidate: Candidate, params: Mapping[str, Any]) -> Verdict:
    found = inspect_block(candidate.secret)
    if found is None:
        return Verdict.reject("not a well-formed private key block")
    label, encrypted, canonical, body = found
    return Verdict(
        accept=True,
        detail=f"{label}{' (encrypted)' if encrypted else ''}: structure checked",
        severity=params.get("encrypted_severity") if encrypted else None,
        attributes=extras(key_type=label, encrypted=encrypted),
        secret=canonical,
        redacted=f"-----BEGIN {label}-----…{body[-4:].decode('ascii')}",
    )


def _printable(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and value.isprintable() and len(value) <= 256


def gcp_service_account(candidate: Candidate, params: Mapping[str, Any]) -> Verdict:
    try:
        doc = json.loads(candidate.secret)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return Verdict.reject("not a JSON object")
    if not isinstance(doc, dict) or doc.get("type") != "service_account":
        return Verdict.reject("not a service-account key file")
    key, email = doc.get("private_key"), doc.get("client_email")
    if not isinstance(key, str) or not _printable(email) or "@" not in email:
        return Verdict.reject("no private_key and client_email")
    found = inspect_block(key.encode("utf-8", "surrogatepass"))
    if found is None:
        return Verdict.reject("private_key is not a well-formed key")
    _, _, canonical, body = found
    project = doc.get("project_id") if _printable(doc.get("project_id")) else None
    key_id = doc.get("private_key_id") if _printable(doc.get("private_key_id")) else None
    return Verdict(
        accept=True,
        detail="service-account key: private key structure checked",
        attributes=extras(client_email=email, project_id=project, private_key_id=key_id),
        secret=canonical,
        redacted=f"service_account {email.split('@')[0]}…{body[-4:].decode('ascii')}",
    )
