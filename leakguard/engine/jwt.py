"""JSON Web Tokens: decode offline, classify by claims, recognise Supabase keys.

No signature is checked (the key is not ours to have); the header and payload say what the token
is: ``alg: none`` means unsigned, an ``exp`` in the past means expired, ``iss: supabase`` with a
``role`` claim is a Supabase API key whose ``ref`` names the project.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from leakguard.engine import params as p
from leakguard.engine.interface import Candidate, Verdict
from leakguard.engine.lastanswer import last_answer
from leakguard.model import Scalar, extras

PARAMS = {
    "match": "claims that must have these exact values (e.g. {iss: supabase, role: anon})",
    "require_claims": "claims that must be present",
    "ignore_issuers": "issuers whose tokens are public by design (documentation, local demos)",
    "attributes": "finding attributes copied from claims ({attribute: claim})",
    "expired_severity": "severity when the token has expired",
    "unsigned_severity": "severity when the token is unsigned (alg: none)",
}


@dataclass(frozen=True, slots=True)
class Jwt:
    header: Mapping[str, Any]
    claims: Mapping[str, Any]
    signed: bool

    @property
    def alg(self) -> str:
        return str(self.header.get("alg", ""))

    def expired(self, now: float) -> bool | None:
        exp = self.claims.get("exp")
        if isinstance(exp, bool) or not isinstance(exp, (int, float)):
            return None
        return exp < now

    def claim(self, name: str) -> Scalar:
        value = self.claims.get(name)
        return value if isinstance(value, (str, int, float, bool)) else None


def _b64url_json(part: bytes) -> Any:
    raw = base64.urlsafe_b64decode(part + b"=" * (-len(part) % 4))
    return json.loads(raw)


@last_answer  # the rules that judge JWTs (generic, Supabase's...) decode each token in turn
def decode(token: bytes) -> Jwt | None:
    """Header and claims of a compact JWS, or None when ``token`` is not one."""
    parts = token.split(b".")
    if len(parts) != 3:
        return None
    try:
        header = _b64url_json(parts[0])
        claims = _b64url_json(parts[1])
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict) or "alg" not in header:
        return None
    signed = str(header.get("alg", "")).lower() != "none" and bool(parts[2])
    return Jwt(header, claims, signed)


def prepare(params: Mapping[str, Any]) -> Mapping[str, Any]:
    p.only(params, PARAMS)
    return {
        "match": p.string_map(params, "match"),
        "require_claims": p.strings(params, "require_claims"),
        "ignore_issuers": p.strings(params, "ignore_issuers"),
        "attributes": p.string_map(params, "attributes"),
        "expired_severity": p.severity(params, "expired_severity"),
        "unsigned_severity": p.severity(params, "unsigned_severity"),
    }


def _as_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def token_context(_candidate: Candidate, _params: Mapping[str, Any]) -> bytes:
    """:func:`jwt_claims` decides by the token and the rule alone, and the clock for ``exp``:
    the same token on every line of a log is judged once per rule while the engine keeps its
    verdict (a long sweep's engine may report a token that expired since at the severity of
    an unexpired one: the safe way to be wrong)."""
    return b""


def jwt_claims(candidate: Candidate, params: Mapping[str, Any]) -> Verdict:
    token = decode(candidate.secret)
    if token is None:
        return Verdict.reject("not a decodable JWT")
    for claim, expected in params.get("match", {}).items():
        if claim not in token.claims or _as_text(token.claims[claim]) != expected:
            return Verdict.reject(f"claim {claim!r} does not match")
    for claim in params.get("require_claims", ()):
        if token.claim(claim) is None:
            return Verdict.reject(f"claim {claim!r} missing")
    if str(token.claims.get("iss", "")) in params.get("ignore_issuers", ()):
        return Verdict.reject("issuer publishes its tokens (documentation or local demo)")

    expired = token.expired(time.time())
    if not token.signed:
        kind, severity = "unsigned", params.get("unsigned_severity")
    elif expired:
        kind, severity = "expired", params.get("expired_severity")
    else:
        kind, severity = "signed", None
    copied = {attr: token.claim(claim) for attr, claim in params.get("attributes", {}).items()}
    return Verdict(
        accept=True,
        detail=f"JWT decoded: {kind}, alg {token.alg or '?'}",
        severity=severity,
        attributes=extras(copied, jwt_class=kind, jwt_alg=token.alg, jwt_expired=expired),
        redacted="eyJ…" + candidate.secret[-4:].decode("ascii", "replace"),
    )
