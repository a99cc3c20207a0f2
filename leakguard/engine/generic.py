"""The generic secret filter: a keyword-named assignment (``password = "..."``) is a finding only
when the name is a credential's (not ``token_hash`` or ``password_field``) and the value looks
random (not a placeholder, an identifier, a path, a template or a test value)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from leakguard.engine import params as p
from leakguard.engine.filters import is_placeholder, shannon_entropy
from leakguard.engine.interface import Candidate, ValidatorSpec, Verdict
from leakguard.engine.literals import trie

# Parts of a name that make the value something other than a credential.
_NAME_STOPWORDS = re.compile(
    rb"hash|digest|checksum|fingerprint|sha\d|md5|salt|length|_len|min_|max_|type|name|path|"
    rb"file|url|uri|endpoint|env|_var|ref|field|label|prompt|placeholder|header|param|policy|"
    rb"expir|ttl|count|format|pattern|regex|test|mock|fake|dummy|example|sample|public|pub_|"
    rb"_id$|_ids|id_|uuid|tokeniz|_tokens|token_type|prefix|suffix|version|scope|audience|"
    rb"issuer|algorithm|cache|lock|manager|provider|store|class|policy|_mode|encod|decod|"
    rb"timeout|regexp|question|hint|mask|rotation|strength|reset|forgot|confirm|old_|previous|"
    rb"id$|ids$|arn$|aws_secret|aws_access|secretaccesskey|twilio|alibaba|aliyun"  # paired rules
)
# Words that mark a value as made up for documentation or tests.
_VALUE_STOPWORDS = re.compile(
    trie(
        [
            *(b"example", b"sample", b"test", b"dummy", b"fake", b"mock", b"changeme"),
            *(b"change_me", b"replace", b"your", b"secret", b"password", b"passwd", b"token"),
            *(b"placeholder", b"redacted", b"todo", b"fixme", b"default", b"demo", b"insert"),
            *(b"enter", b"lorem", b"null", b"none", b"undefined", b"foobar", b"qwerty"),
            *(b"letmein", b"admin", b"hunter2", b"s3cr3t", b"p4ss", b"pa55", b"notreal"),
            *(b"invalid", b"bogus", b"xxx", b"abcd", b"1234", b"asdf", b"value", b"string"),
            *(b"here", b"config", b"local", b"setting", b"random"),
        ]
    )
)  # searched in the lowercased value (faster than re.I, the same for ASCII bytes); a trie:
# re tries a few branches per position, not every word
# Long words that a made-up value spells once punctuation is dropped and digits read as letters
# (``Old%pa+ss/w0rd``, ``S3cr3t!``): six letters or more, which random values never spell.
_SPELLED_STOPWORDS = re.compile(rb"password|passwd|secret|changeme|example|letmein|qwerty")
_LEET = bytes.maketrans(b"0134578@$", b"oleastbas")
_PUNCTUATION = bytes(c for c in range(256) if not (chr(c).isascii() and chr(c).isalnum()))
_PUNCTUATION = _PUNCTUATION.replace(b"@", b"").replace(b"$", b"")  # read as letters instead
_IDENTIFIER = re.compile(
    rb"[A-Za-z_]+(?:[.:][A-Za-z_]+)+|[a-z_.-]+|[A-Z_.-]+|[a-z]+(?:[A-Z][a-z]+)+|[A-Z][a-z]+(?:[A-Z][a-z]+)+"
)
_PATHLIKE = re.compile(
    rb"^(?:\.{0,2}/|~/|[a-z][a-z0-9_-]*/[a-z0-9_-]+/)|\.(?:json|pem|key|txt|ya?ml|crt|env|p12|pfx|ini|cfg)$"
)
# Formats a provider rule owns, with a checksum: a value that fails it is not a credential.
_OWNED = re.compile(rb"(?:gh[opsur]_|github_pat_|npm_|AKIA|ASIA|AIza|glpat-|xox[abpre]-)")
# The shape of an AWS secret access key: the AWS rules decide, with the key id as context.
_AWS_SECRET_SHAPE = re.compile(rb"[A-Za-z0-9+/]{40}")
# Digests of the empty string (SHA-1, SHA-256, MD5): fixtures, never credentials.
_EMPTY_DIGESTS = (b"da39a3ee5e6b4b0d3255", b"e3b0c44298fc1c149afb", b"d41d8cd98f00b204e980")
_PERCENT_ESCAPE = re.compile(rb"%[0-9A-Fa-f]{2}")  # encoded: the decoder shows what it holds
_VERSION = re.compile(rb"v?\d+(?:\.\d+){1,3}(?:[-+.][0-9A-Za-z.]+)?")

PARAMS = {
    "min_entropy": "Shannon entropy floor of the value in bits per character (default 3.3)",
    "min_length": "shortest value (default 12)",
    "reject_encoded": "reject percent-encoded values, which are scanned decoded (default false)",
}


def prepare(params: Mapping[str, Any]) -> Mapping[str, Any]:
    p.only(params, PARAMS)
    return {
        "min_entropy": p.number(params, "min_entropy", 3.3),
        "min_length": p.integer(params, "min_length", 12, 8, 256),
        "reject_encoded": p.flag(params, "reject_encoded", False),
    }


_LOWER = bytes(range(97, 123))
_UPPER = bytes(range(65, 91))
_DIGITS = bytes(range(48, 58))
_OTHER = bytes(c for c in range(256) if c not in _LOWER + _UPPER + _DIGITS)
# Each byte's character class: a lowercase letter, an uppercase one, a digit, anything else.
_CLASS = bytes.maketrans(
    _LOWER + _UPPER + _DIGITS + _OTHER, b"a" * 26 + b"A" * 26 + b"0" * 10 + b"." * len(_OTHER)
)


def is_patterned(value: bytes) -> bool:
    """Made up by hand: the character classes repeat with a short period (``q3Hk9Vt2Lm8R``,
    ``Ab3dE5gH7jK9``), which random values practically never do."""
    classes = value.translate(_CLASS, _OTHER)  # letters and digits only
    for period in (2, 3, 4):
        pairs = len(classes) - period
        if pairs >= 8:
            # the positions whose class equals the one ``period`` on: zero bytes of the XOR
            differ = int.from_bytes(classes[:pairs]) ^ int.from_bytes(classes[period:])
            if differ.to_bytes(pairs).count(0) >= 0.8 * pairs:
                return True
    return False


def _classes(value: bytes) -> int:
    classes = value.translate(_CLASS)
    return (b"a" in classes) + (b"A" in classes) + (b"0" in classes) + (b"." in classes)


_TEXT_BYTES = bytes([9, 10, 13, *range(32, 127)])  # printable ASCII, tab and line ends


def _base64_text(value: bytes) -> bool:
    """Base64 of printable text: the decoder scans what it holds, with the rules that know it."""
    if len(value) < 16 or len(value) % 4 == 1:
        return False
    try:
        decoded = base64.b64decode(value + b"=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(decoded) >= 12 and not decoded.translate(None, _TEXT_BYTES)


def reason_to_reject(
    name: bytes, value: bytes, params: Mapping[str, Any], *, check_placeholder: bool = True
) -> str | None:
    """Why ``name = value`` is not a credential, or None when it looks like one.
    ``check_placeholder=False``: the caller found ``value`` is no placeholder already."""
    if _NAME_STOPWORDS.search(name.lower()):
        return "the name is not a credential's"
    if len(value) < int(params.get("min_length", 12)):
        return "too short"
    lowered = value.lower()
    if (check_placeholder and is_placeholder(value)) or _VALUE_STOPWORDS.search(lowered):
        return "placeholder or test value"
    if _SPELLED_STOPWORDS.search(lowered.translate(_LEET, _PUNCTUATION)):
        return "placeholder or test value (spelled with digits or punctuation)"
    if params.get("reject_encoded") and (_PERCENT_ESCAPE.search(value) or _base64_text(value)):
        return "encoded text (scanned decoded)"
    aws_shaped = _AWS_SECRET_SHAPE.fullmatch(value) and (b"/" in value or b"+" in value)
    if _OWNED.match(value) or aws_shaped or value.lower().startswith(_EMPTY_DIGESTS):
        return "a provider's format (its own rule decides)"
    if _IDENTIFIER.fullmatch(value) or _PATHLIKE.search(value) or _VERSION.fullmatch(value):
        return "an identifier, path or version"
    if len(set(value)) < min(len(value) // 3, 10) or is_patterned(value):
        return "repetitive or patterned by hand"
    classes = _classes(value)
    if classes < 2 or (classes == 2 and len(value) < 16):
        return "not random enough"
    if shannon_entropy(value) < float(params.get("min_entropy", 3.3)):
        return "entropy below the floor"
    return None


_NAME_CHARS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"


def full_name(candidate: Candidate) -> bytes:
    """The whole name the value is assigned to: the matched keyword and the identifier characters
    just before it (``DB_PASSWORD``, ``aws_secret_access_key``), read from the chunk."""
    return name_at(candidate.data, candidate.start, candidate.groups)


def name_at(data: bytes, start: int, groups: Mapping[str, bytes | None]) -> bytes:
    """:func:`full_name` of the value at ``start`` in ``data`` whose match has ``groups``
    (what the engine asks of every repeated value, before it builds a candidate)."""
    keyword = groups.get("name") or b""
    at = data.rfind(keyword, start - 160 if start > 160 else 0, start)
    if at < 0:
        return keyword
    stop = at - 48 if at > 48 else 0
    before = data[stop:at]
    begin = stop + len(before.rstrip(_NAME_CHARS))  # the identifier characters just before
    return data[begin : at + len(keyword)]


def generic_secret(candidate: Candidate, params: Mapping[str, Any]) -> Verdict:
    name = full_name(candidate)
    reason = reason_to_reject(
        name, candidate.secret, params, check_placeholder=not candidate.placeholder_checked
    )
    if reason is not None:
        return Verdict.reject(reason)
    shown = name.decode("ascii", "replace")[:64]
    return Verdict(accept=True, detail="random value named like a credential",
                   attributes=(("name", shown),))  # fmt: skip


SPEC = ValidatorSpec(
    generic_secret,
    "credential-named assignment of a random value",
    PARAMS,
    prepare,
    memo_context=lambda candidate, _params: full_name(candidate),
)
