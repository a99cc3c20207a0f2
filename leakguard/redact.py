"""Fingerprints and redacted previews: the only forms of a secret that leave the engine."""

from __future__ import annotations

import hashlib

_PREFIX_SEPARATORS = "_-."


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
    cut = max(head.rfind(c) for c in _PREFIX_SEPARATORS)
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
