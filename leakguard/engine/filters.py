"""Rule-independent filters: placeholders and documentation values are never findings.

The documentation values are data (``public_examples.yaml`` beside this module), read once per
process on first use (from the rule cache when an engine has one): an immutable allowlist, not
state."""

from __future__ import annotations

import functools
import json
import math
import re
from collections import Counter
from importlib import resources
from typing import TYPE_CHECKING

from leakguard.engine.lastanswer import last_answer
from leakguard.engine.rulecache import database_key

if TYPE_CHECKING:
    from leakguard.engine.rulecache import RuleCache

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
    b"****",
    b"....",
    b"0000000000",
    b"1234567890",
    b"abcdefghij",
)
# One pass over a value for all the markers (instead of one ``in`` per marker).
_PLACEHOLDER_MARKER = re.compile(b"|".join(re.escape(marker) for marker in _PLACEHOLDER_MARKERS))
_SAME_CHAR_RUN = re.compile(rb"(.)\1{7,}")
# Four x's or underscores mark a value written out by hand ("xoxb-xxxx-xxxx", "key_xxxx",
# "secret____") when they start or end the value or (the x's, in one case) a part of it.
# Anywhere else they are chance in random base64url: a 43-character JWT signature holds a run
# of x's in some mix of cases about once in 26,000 tokens, four underscores once in 400,000,
# and every one of those tokens was dropped as a placeholder.
_EDGE_RUN = re.compile(rb"(?<![0-9A-Za-z])(?:xxxx|XXXX)|(?:xxxx|XXXX)(?![0-9A-Za-z])|\A____|____\Z")


_EXAMPLES_FILE = "public_examples.yaml"
_CACHE_SUFFIX = ".examples.json"

# (exact values, parts): the shipped allowlist, read on first use (see documentation())
_documentation: tuple[frozenset[bytes], tuple[bytes, ...]] | None = None


def _examples_text() -> str:
    return resources.files("leakguard.engine").joinpath(_EXAMPLES_FILE).read_text("utf-8")


def _parsed(text: str) -> tuple[list[str], list[str]]:
    import yaml  # only when no cache holds the parsed file: yaml costs 15 ms to import

    doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: 20x
    values = [str(entry["value"]) for entry in doc["values"]]
    parts = [str(entry["part"]) for entry in doc["contains"]]
    return values, parts


def _use(values: list[str], parts: list[str]) -> tuple[frozenset[bytes], tuple[bytes, ...]]:
    global _documentation
    _documentation = (frozenset(v.encode() for v in values), tuple(p.encode() for p in parts))
    return _documentation


def documentation(cache: RuleCache | None = None) -> tuple[frozenset[bytes], tuple[bytes, ...]]:
    """The shipped allowlist (``public_examples.yaml``): exact values, and parts that mark any
    secret holding them (the jwt.io demo claims). Parsed once per process; with ``cache`` (an
    engine's rule cache) the parsed form is kept there, keyed by the file's text, so a later
    run reads JSON instead of importing a YAML parser."""
    if _documentation is not None:
        return _documentation
    text = _examples_text()
    if cache is None:
        return _use(*_parsed(text))
    key = database_key([b"public-examples", text.encode("utf-8")])
    payload = cache.load(key, _CACHE_SUFFIX)
    if payload is not None:
        try:
            stored = json.loads(payload)
            return _use([str(v) for v in stored["values"]], [str(p) for p in stored["parts"]])
        except (ValueError, KeyError, TypeError):
            pass  # a damaged entry: parsed again and stored over
    values, parts = _parsed(text)
    cache.store(key, json.dumps({"values": values, "parts": parts}).encode(), _CACHE_SUFFIX)
    return _use(values, parts)


def is_public_example(secret: bytes) -> bool:
    values, parts = _documentation if _documentation is not None else documentation()
    return secret in values or any(part in secret for part in parts)


def shannon_entropy(value: bytes) -> float:
    if not value:
        return 0.0
    n = len(value)
    # each distinct byte's count, in order of first appearance (counted in one pass)
    counts = Counter(value).values()
    if n <= _TERMS_UP_TO:
        return -sum(map(_entropy_terms(n).__getitem__, counts))
    log2 = math.log2
    return -sum(c / n * log2(c / n) for c in counts)


_TERMS_UP_TO = 256  # values up to this long (most secrets) take their terms from a table


@functools.lru_cache(maxsize=_TERMS_UP_TO)
def _entropy_terms(n: int) -> tuple[float, ...]:
    """``c / n * log2(c / n)`` for each count ``c`` of a byte in ``n`` bytes (index ``c``),
    the same floats the sum adds in the same order: a table per length instead of a
    logarithm per distinct byte per value."""
    log2 = math.log2
    return (0.0, *(c / n * log2(c / n) for c in range(1, n + 1)))


def is_placeholder(secret: bytes, prefix_len: int = 0) -> bool:
    """True when ``secret`` (after an optional vendor prefix) is obviously not real."""
    return _placeholder_again(secret, prefix_len)


def _placeholder(secret: bytes, prefix_len: int) -> bool:
    if is_public_example(secret):
        return True
    written = secret[prefix_len:]
    body = written.lower()
    if not body:
        return True
    if _PLACEHOLDER_MARKER.search(body) is not None:
        return True
    # three memchr-fast searches first: the regex costs ~7 us on a JWT, which holds no run
    if (b"xxxx" in written or b"XXXX" in written or b"____" in written) and _EDGE_RUN.search(
        written
    ):
        return True
    if _SAME_CHAR_RUN.search(body):
        return True
    return len(set(body)) <= 3 and len(body) >= 8


# the rules that match one value (the JWT rules, a token on every line of a log) ask in turn
_placeholder_again = last_answer(_placeholder)
