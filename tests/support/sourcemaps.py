"""Writing source maps by hand in tests."""

from __future__ import annotations

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def vlq(*values: int) -> str:
    """Base64 VLQ, as source maps write segments."""
    out = []
    for value in values:
        rest = (-value << 1) | 1 if value < 0 else value << 1
        while True:
            digit, rest = rest & 31, rest >> 5
            out.append(_B64[digit | (32 if rest else 0)])
            if not rest:
                break
    return "".join(out)
