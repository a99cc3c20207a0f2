"""Literals as expressions: a keyword escaped for Hyperscan is the same bytes, whatever they are."""

from __future__ import annotations

import re

from leakguard.engine.literals import escaped, trie


def test_every_byte_is_escaped_as_two_hex_digits() -> None:
    assert escaped(b"") == b""
    assert escaped(b"sk_") == rb"\x73\x6b\x5f"
    assert escaped(b"\x00\xff.*") == rb"\x00\xff\x2e\x2a"


def test_an_escaped_literal_matches_itself_only() -> None:
    every_byte = bytes(range(256))
    pattern = re.compile(escaped(every_byte), re.DOTALL)
    assert pattern.fullmatch(every_byte) is not None
    assert pattern.fullmatch(every_byte[:-1] + b"x") is None


def test_a_trie_matches_each_word_and_no_other() -> None:
    words = [b"ab", b"abc", b"b.d"]
    pattern = re.compile(trie(words))
    assert all(pattern.fullmatch(w) for w in words)
    assert pattern.fullmatch(b"bxd") is None and pattern.fullmatch(b"a") is None
