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


def encode_mappings(lines: list[list[tuple[int, int, int, int]]]) -> str:
    """A ``mappings`` string from absolute segments: per generated line, (generated column,
    source, original line, original column), all 0-based, as the format writes them (the
    generated column relative within a line, the rest relative across lines)."""
    out = []
    source = line = column = 0
    for segments in lines:
        fields = []
        generated = 0
        for gen, src, orig_line, orig_column in segments:
            fields.append(
                vlq(gen - generated, src - source, orig_line - line, orig_column - column)
            )
            generated, source, line, column = gen, src, orig_line, orig_column
        out.append(",".join(fields))
    return ";".join(out)
