"""Regexes over word lists, shaped for ``re``."""

from __future__ import annotations

import re

#: what every ``sourceMappingURL`` comment holds (a text without it names no source map): a
#: literal the engine's keyword pass reports (:meth:`leakguard.engine.matcher.Engine.probe`)
SOURCE_MAP_NAME = b"sourceMappingURL="


def trie(words: list[bytes]) -> bytes:
    """A regex matching any of ``words`` (each 1+ bytes), branching one byte at a time so
    ``re`` tries a handful of alternatives at each position, not every word."""
    by_first: dict[bytes, list[bytes]] = {}
    for word in words:
        by_first.setdefault(word[:1], []).append(word[1:])
    branches = []
    optional = False
    for first, rests in sorted(by_first.items()):
        if not first:
            optional = True  # a word ends here
            continue
        branches.append(re.escape(first) + trie(rests))
    if not branches:
        return b""
    body = b"(?:" + b"|".join(branches) + b")"
    return body + b"?" if optional else body


_ESCAPES = tuple(b"\\x%02x" % c for c in range(256))


def escaped(literal: bytes) -> bytes:
    """``literal`` as a Hyperscan expression of ``\\xNN`` escapes, one per byte (a table
    lookup in C per byte: an engine escapes ~5,000 keyword bytes when it is built)."""
    return b"".join(map(_ESCAPES.__getitem__, literal))
