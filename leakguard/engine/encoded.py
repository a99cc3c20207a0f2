"""Validators for credentials whose structure is hidden under base64: keys of a fixed size
(Azure storage and Service Bus keys, Laravel APP_KEY), tokens carrying a JSON payload (Grafana
Cloud, Sentry org tokens, 1Password service accounts), ``user:password`` pairs (Docker
``auths``, npm ``_auth``), base64 PKCS#12 files, and Kubernetes ``Secret`` manifests."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_to_bytes

from leakguard.engine import params as p
from leakguard.engine.filters import is_placeholder, shannon_entropy
from leakguard.engine.interface import Candidate, ValidatorSpec, Verdict


def b64decode(value: bytes) -> bytes | None:
    """Standard or URL-safe base64, padding optional; None when it is not base64."""
    value = value.strip()
    if not value:
        return None
    if b"-" in value or b"_" in value:
        value = value.replace(b"-", b"+").replace(b"_", b"/")
    value += b"=" * (-len(value) % 4)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _group(candidate: Candidate, name: str) -> bytes:
    if name == "secret":
        return candidate.secret
    return candidate.groups.get(name) or b""


# -- base64_bytes ------------------------------------------------------------------------------

BYTES_PARAMS = {
    "group": "the named group holding the base64 (default: the secret)",
    "lengths": "accepted decoded lengths in bytes",
    "percent": "percent-decode first (a value inside a URL query, such as a SAS signature)",
}


def prepare_bytes(params: Mapping[str, Any]) -> Mapping[str, Any]:
    p.only(params, BYTES_PARAMS)
    lengths = params.get("lengths")
    if (
        not isinstance(lengths, list)
        or not lengths
        or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in lengths)
    ):
        raise ValueError("lengths must be a non-empty list of byte counts")
    group = params.get("group", "secret")
    if not isinstance(group, str):
        raise ValueError("group must be a group name")
    return {"group": group, "lengths": tuple(lengths), "percent": p.flag(params, "percent", False)}


def base64_bytes(candidate: Candidate, params: Mapping[str, Any]) -> Verdict:
    value = _group(candidate, str(params.get("group", "secret")))
    if params.get("percent"):
        value = unquote_to_bytes(value)
    decoded = b64decode(value)
    if decoded is None:
        return Verdict.reject("not base64")
    if len(decoded) not in params["lengths"]:
        return Verdict.reject(f"decodes to {len(decoded)} bytes, not a key of this kind")
    if len(set(decoded)) < min(len(decoded) // 2, 16):
        return Verdict.reject("decoded bytes are not random")
    return Verdict(accept=True, detail=f"base64 of {len(decoded)} random bytes")


# -- base64_json -------------------------------------------------------------------------------

JSON_PARAMS = {
    "group": "the named group holding the base64 JSON (default: the secret)",
    "keys": "keys the decoded JSON object must have (default: none)",
    "attributes": "{attribute: key} copied from the JSON to the finding (non-secret fields)",
}


def prepare_json(params: Mapping[str, Any]) -> Mapping[str, Any]:
    p.only(params, JSON_PARAMS)
    keys = p.strings(params, "keys")
    group = params.get("group", "secret")
    if not isinstance(group, str):
        raise ValueError("group must be a group name")
    return {"group": group, "keys": keys, "attributes": p.string_map(params, "attributes")}


def base64_json(candidate: Candidate, params: Mapping[str, Any]) -> Verdict:
    decoded = b64decode(_group(candidate, str(params.get("group", "secret"))))
    try:
        doc = json.loads(decoded) if decoded is not None else None
    except (ValueError, UnicodeDecodeError):
        doc = None
    if not isinstance(doc, dict):
        return Verdict.reject("payload is not base64 of a JSON object")
    missing = [k for k in params.get("keys", ()) if k not in doc]
    if missing:
        return Verdict.reject(f"payload lacks {missing[0]!r}")
    attributes = tuple(
        (name, str(doc[key]))
        for name, key in dict(params.get("attributes", {})).items()
        if isinstance(doc.get(key), str | int)
    )
    return Verdict(accept=True, detail="payload is a well-formed token", attributes=attributes)


# -- basic_auth_base64 -------------------------------------------------------------------------

AUTH_PARAMS = {"min_password": "shortest password accepted (default 6)"}


def prepare_auth(params: Mapping[str, Any]) -> Mapping[str, Any]:
    p.only(params, AUTH_PARAMS)
    return {"min_password": p.integer(params, "min_password", 6, 1, 256)}


def basic_auth_base64(candidate: Candidate, params: Mapping[str, Any]) -> Verdict:
    decoded = b64decode(candidate.secret)
    if decoded is None or b":" not in decoded:
        return Verdict.reject("not base64 of user:password")
    user, _, password = decoded.partition(b":")
    printable = all(32 < c < 127 for c in user + password)
    if not user or not printable or len(password) < int(params.get("min_password", 6)):
        return Verdict.reject("not base64 of user:password")
    if is_placeholder(password) or password.lower() in _WORDS:
        return Verdict.reject("placeholder password")
    user_text = user.decode("ascii")
    return Verdict(accept=True, detail="base64 user:password", attributes=(("user", user_text),))


_WORDS = frozenset({b"password", b"passwd", b"secret", b"changeme", b"pass", b"token"})


# -- pkcs12_base64 -----------------------------------------------------------------------------

_PKCS7_DATA = bytes.fromhex("06092a864886f70d010701")


def _der_length(data: bytes, pos: int) -> tuple[int, int] | None:
    if pos >= len(data):
        return None
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if not 1 <= count <= 4 or pos + 1 + count > len(data):
        return None
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def is_pkcs12(der: bytes) -> bool:
    """PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo (pkcs7-data), ... }."""
    if len(der) < 32 or der[0] != 0x30:
        return False
    outer = _der_length(der, 1)  # the whole length is not checked: only the header is decoded
    if outer is None or outer[0] < 64:
        return False
    pos = outer[1]
    if der[pos : pos + 3] != b"\x02\x01\x03" or der[pos + 3] != 0x30:
        return False
    inner = _der_length(der, pos + 4)
    return inner is not None and der[inner[1] : inner[1] + len(_PKCS7_DATA)] == _PKCS7_DATA


PKCS12_PARAMS: Mapping[str, str] = {}


def pkcs12_base64(candidate: Candidate, params: Mapping[str, Any]) -> Verdict:
    head = re.sub(rb"\\[rn]|\s", b"", candidate.secret)[:64]  # the PFX header is enough
    decoded = b64decode(head[: len(head) - len(head) % 4])
    if decoded is None or not is_pkcs12(decoded):
        return Verdict.reject("not a base64 PKCS#12 (PFX) structure")
    return Verdict(accept=True, detail=f"PKCS#12 PFX, {len(decoded)} bytes")


# -- kubernetes_secret -------------------------------------------------------------------------

_ENTRY = re.compile(rb"^[ \t]+([\w.-]+):[ \t]*(?:[\"']?)([^\s\"'#]*)", re.M)
_KIND = re.compile(rb"^kind:[ \t]*[\"']?Secret[\"']?[ \t]*\r?$", re.M)
_DOC_BREAK = re.compile(rb"^---", re.M)
# Keys that name public settings, unless the name also says it is a credential.
_PUBLIC_NAME = re.compile(
    rb"user|name|host|port|url|uri|mail|account|region|database|endpoint|namespace|path|bucket|"
    rb"\.crt|cert|issuer|audience|(?:^|[_.-])id$",
    re.I,
)
_SECRET_NAME = re.compile(rb"pass|secret|token|key|pwd|cred|auth", re.I)
KUBERNETES_PARAMS = {
    "min_entropy": "bits per character a value needs to count (default 3.0)",
    "min_length": "characters a decoded value needs to count (default 8)",
    "provider_values": "regex of values a provider rule reports (through the base64 decoder)",
}


def prepare_kubernetes(params: Mapping[str, Any]) -> Mapping[str, Any]:
    p.only(params, KUBERNETES_PARAMS)
    return {
        "min_entropy": p.number(params, "min_entropy", 3.0),
        "min_length": p.integer(params, "min_length", 8, 1, 1024),
        "provider_values": p.pattern(params, "provider_values")
        if "provider_values" in params
        else None,
    }


def _same_document(data: bytes, start: int) -> bool:
    """Is there a ``kind: Secret`` line in the YAML document holding ``start``?"""
    breaks = [m.start() for m in _DOC_BREAK.finditer(data)]
    lo = max((b for b in breaks if b <= start), default=0)
    hi = min((b for b in breaks if b > start), default=len(data))
    return _KIND.search(data, lo, hi) is not None


def kubernetes_secret(candidate: Candidate, params: Mapping[str, Any]) -> Verdict:
    if not _same_document(candidate.data, candidate.start):
        return Verdict.reject("not in a Secret manifest")
    encoded = (candidate.groups.get("field") or b"data") == b"data"
    counted: list[str] = []
    for name, raw in _ENTRY.findall(candidate.secret):
        value = b64decode(raw) if encoded else raw
        public = _PUBLIC_NAME.search(name) and not _SECRET_NAME.search(name)
        if value is None or public or b"-----BEGIN CERTIFICATE" in value:
            continue
        value = value.strip()
        if len(value) < int(params.get("min_length", 8)) or is_placeholder(value):
            continue
        known = params.get("provider_values")
        if known is not None and known.search(value):
            continue  # the decoded value is reported by its provider's rule
        if shannon_entropy(value) < float(params.get("min_entropy", 3.0)):
            continue
        counted.append(name.decode("ascii", "replace"))
    if not counted:
        return Verdict.reject("no value in the manifest looks like a secret")
    keys = ",".join(counted[:10])
    return Verdict(
        accept=True, detail=f"{len(counted)} secret value(s)", attributes=(("keys", keys),)
    )


BYTES_SPEC = ValidatorSpec(
    base64_bytes, "base64 of a key of a given size", BYTES_PARAMS, prepare_bytes
)
JSON_SPEC = ValidatorSpec(
    base64_json, "base64 of a JSON token payload with given keys", JSON_PARAMS, prepare_json
)
AUTH_SPEC = ValidatorSpec(basic_auth_base64, "base64 of user:password", AUTH_PARAMS, prepare_auth)
PKCS12_SPEC = ValidatorSpec(
    pkcs12_base64, "base64 PKCS#12 (PFX) structure", PKCS12_PARAMS, lambda params: {}
)
KUBERNETES_SPEC = ValidatorSpec(
    kubernetes_secret,
    "Kubernetes Secret data or stringData with random values",
    KUBERNETES_PARAMS,
    prepare_kubernetes,
)
