"""Rule-independent filters: placeholders and documentation values are never findings."""

from __future__ import annotations

import math
import re
from collections import Counter

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
_SAME_CHAR_RUN = re.compile(rb"(.)\1{7,}")

# Values published in providers' documentation, copied into countless READMEs and tests.
DOCUMENTATION_VALUES = frozenset(
    {
        b"sk_test_4eC39HqLyjWDarjtT1zdp7dc",  # Stripe API reference
        b"pk_test_TYooMQauvdEDq54NiTphI7jx",  # Stripe API reference
        b"AKIAIOSFODNN7EXAMPLE",  # AWS documentation
        b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",  # AWS documentation
    }
)


def shannon_entropy(value: bytes) -> float:
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def is_placeholder(secret: bytes, prefix_len: int = 0) -> bool:
    """True when ``secret`` (after an optional vendor prefix) is obviously not real."""
    if secret in DOCUMENTATION_VALUES:
        return True
    body = secret[prefix_len:].lower()
    if not body:
        return True
    if any(marker in body for marker in _PLACEHOLDER_MARKERS):
        return True
    if _SAME_CHAR_RUN.search(body):
        return True
    return len(set(body)) <= 3 and len(body) >= 8
