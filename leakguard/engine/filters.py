"""Rule-independent filters: placeholders and documentation values are never findings.

The documentation values are data (``public_examples.yaml`` beside this module), loaded once
when the module is imported: an immutable allowlist, not state."""

from __future__ import annotations

import math
import re
from importlib import resources

import yaml

# Text that marks a value as a template or placeholder rather than a credential.
_PLACEHOLDER_MARKERS = (
    b"example",
    b"placeholder",
    b"your_",
    b"your-",
    b"yourkey",
    b"<your",
    b"redacted",
    b"changeme",
    b"dummy",
    b"${",
    b"{{",
    b"%(",
    b"xxxx",
    b"****",
    b"....",
    b"____",
    b"0000000000",
    b"1234567890",
    b"abcdefghij",
)
# One pass over a value for all the markers (instead of one ``in`` per marker).
_PLACEHOLDER_MARKER = re.compile(b"|".join(re.escape(marker) for marker in _PLACEHOLDER_MARKERS))
_SAME_CHAR_RUN = re.compile(rb"(.)\1{7,}")


def _public_examples() -> tuple[frozenset[bytes], tuple[bytes, ...]]:
    """The shipped allowlist (``public_examples.yaml``): exact values, and parts that mark any
    secret holding them (the jwt.io demo claims)."""
    text = resources.files("leakguard.engine").joinpath("public_examples.yaml").read_text("utf-8")
    doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: 20x
    values = frozenset(str(entry["value"]).encode() for entry in doc["values"])
    parts = tuple(str(entry["part"]).encode() for entry in doc["contains"])
    return values, parts


# Values published in providers' documentation, copied into countless READMEs and tests.
DOCUMENTATION_VALUES, DOCUMENTATION_PARTS = _public_examples()


def is_public_example(secret: bytes) -> bool:
    return secret in DOCUMENTATION_VALUES or any(part in secret for part in DOCUMENTATION_PARTS)


def shannon_entropy(value: bytes) -> float:
    if not value:
        return 0.0
    n = len(value)
    log2 = math.log2
    # each distinct byte's count, in order of first appearance (as a Counter would give them)
    return -sum(c / n * log2(c / n) for c in map(value.count, dict.fromkeys(value)))


def is_placeholder(secret: bytes, prefix_len: int = 0) -> bool:
    """True when ``secret`` (after an optional vendor prefix) is obviously not real."""
    if is_public_example(secret):
        return True
    body = secret[prefix_len:].lower()
    if not body:
        return True
    if _PLACEHOLDER_MARKER.search(body) is not None:
        return True
    if _SAME_CHAR_RUN.search(body):
        return True
    return len(set(body)) <= 3 and len(body) >= 8
