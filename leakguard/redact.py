"""Fingerprints and redacted previews: the only forms of a secret that leave the engine."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable


def fingerprint(secret: bytes | str) -> str:
    raw = secret.encode("utf-8", "surrogateescape") if isinstance(secret, str) else secret
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def redact(secret: bytes | str) -> str:
    """Show a recognisable prefix and the last four characters: ``sk_live_…9f2c``.

    The prefix is the vendor marker up to and including the last separator within the first 16
    characters (at most half the secret), so random material is never shown beyond 4 characters.
    """
    text = secret.decode("utf-8", "replace") if isinstance(secret, bytes) else secret
    if len(text) <= 8:
        return "…" + text[-2:] if len(text) > 4 else "…"
    head = text[: min(16, len(text) // 2)]
    cut = max(head.rfind("_"), head.rfind("-"), head.rfind("."))  # the prefix separators
    prefix = head[: cut + 1] if cut >= 1 else head[:2]
    return f"{prefix}…{text[-4:]}"


def redact_bare(secret: bytes | str) -> str:
    """A value with no vendor marker (a password): no leading characters, and at most the last
    four of a long value (two of a shorter one, none of a very short one): ``…rd9x``."""
    text = secret.decode("utf-8", "replace") if isinstance(secret, bytes) else secret
    if len(text) >= 16:
        return "…" + text[-4:]
    if len(text) >= 8:
        return "…" + text[-2:]
    return "…"


def redact_url(url: str) -> str:
    """A URL without credentials, path or query (``https://hooks.example.com/…``): a webhook's
    path or query often holds its token."""
    import urllib.parse

    try:
        parts = urllib.parse.urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "…"
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}{port}/…" if parts.scheme else "…"


# C0, DEL, C1, the bidirectional overrides that reorder what a terminal shows, and the lone
# surrogates a non-UTF-8 file name decodes to: none reaches a terminal raw.
_UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\udc80-\udcff]"
)
_UNSAFE_WITH_NEWLINE = re.compile(_UNSAFE.pattern.replace("\x0b", "\x0a\x0b", 1))
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@?#]+@")
_VENDOR_PREFIX = re.compile(
    r"^(?:(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{12,}|[sr]k_(?:live|test)_|gh[pousr]_|github_pat_"
    r"|glpat-|xox[abposr]-|AIza[0-9A-Za-z_\-]{20,}|eyJ[0-9A-Za-z_\-]{10,}\.|-----BEGIN|SG\.|npm_"
    r"|hf_|sk-[A-Za-z0-9_\-]{20,}|shpat_|dop_v1_|pypi-)"
)
_FINGERPRINT_LIKE = re.compile(r"^(?:sha256:)?[0-9a-f]{1,64}$")
_TOKEN = re.compile(r"[A-Za-z0-9+/=_\-.~:]+")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a non-UTF-8 name (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_terminal(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` made safe to print: control characters (ESC, BEL, CR, other C0 and C1, DEL),
    bidirectional overrides and undecodable bytes become visible escapes (``\\x1b``). The one
    helper every text output uses for file names, paths, labels and values."""
    pattern = _UNSAFE if keep_newlines else _UNSAFE_WITH_NEWLINE
    return pattern.sub(_escape_char, text)


def hide_url_credentials(text: str) -> str:
    """Every ``scheme://user:password@`` in ``text`` written ``scheme://…@``."""
    return _URL_USERINFO.sub(r"\1…@", text)


def terminal_safe(text: str, *, keep_newlines: bool = False) -> str:
    """A message for a person: URL credentials hidden, control characters escaped."""
    return escape_terminal(hide_url_credentials(text), keep_newlines=keep_newlines)


def _entropy(text: str) -> float:
    counts: dict[str, int] = {}
    for ch in text:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def looks_like_credential(value: str) -> bool:
    """A vendor-prefixed key, or a long random token (letters and digits, high entropy) that is
    not a fingerprint or a path: what a person pasted by mistake where a name was expected."""
    value = value.strip()
    if len(value) < 16 or _FINGERPRINT_LIKE.match(value):
        return False
    if _VENDOR_PREFIX.match(value):
        return True
    if len(value) < 20 or not _TOKEN.fullmatch(value) or value.startswith(("/", ".", "~")):
        return False
    words = [w for w in re.split(r"[/\-_.:~]+", value) if w]
    if all(w.isalpha() or w.isdigit() for w in words):  # a branch, a name: feature/login-2024
        return False
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    return has_digit and has_alpha and _entropy(value) >= 3.7


def credential_placeholder(value: str) -> str:
    """What an error says instead of a value that looks like a credential."""
    return f"<a value that looks like a credential, {fingerprint(value)}>"


def scrub_credentials(text: str, candidates: Iterable[str] = ()) -> str:
    """``text`` with every candidate (command-line values) that looks like a credential, and
    every vendor-prefixed token, replaced by its fingerprint."""
    for value in sorted(set(candidates), key=len, reverse=True):
        if value and value in text and looks_like_credential(value):
            text = text.replace(value, credential_placeholder(value))

    def replace(match: re.Match[str]) -> str:
        token = match.group()
        return credential_placeholder(token) if _VENDOR_PREFIX.match(token) else token

    return _TOKEN.sub(replace, text)
