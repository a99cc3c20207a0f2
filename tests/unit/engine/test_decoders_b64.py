"""The base64 layer's decoder is ``base64.b64decode(..., altchars, validate=True)`` with
optional padding, called without its wrapper: checked against the standard library on random
runs (both alphabets, padding or none, bytes outside the alphabet, binary and text payloads).
A line's Basic header runs are those the header pattern finds in it, tried at each "basic"."""

from __future__ import annotations

import base64
import binascii
import random

from leakguard.engine.decoders import _BASIC, _b64, _basic_runs

ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _reference(encoded: bytes) -> bytes | None:
    """The decoder as the standard library says it: strip the padding, pad it again, decode
    strictly with the URL-safe letters when there are any; text only."""
    altchars = b"-_" if b"-" in encoded or b"_" in encoded else None
    stripped = encoded.rstrip(b"=")
    try:
        decoded = base64.b64decode(stripped + b"=" * (-len(stripped) % 4), altchars, True)
        line_breaks_and_tabs_as_spaces = decoded.decode("utf-8").translate(_SPACED)
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        return None
    return decoded if line_breaks_and_tabs_as_spaces.isprintable() else None


_SPACED = str.maketrans("\r\n\t", "   ")


def _run(rng: random.Random) -> bytes:
    kind = rng.randrange(6)
    payload = (
        bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
        if kind == 0
        else "".join(
            rng.choice("user:pässwörd-1\t\n🚀\x00") for _ in range(rng.randrange(1, 40))
        ).encode()
    )
    encoded = (base64.urlsafe_b64encode if kind in (1, 2) else base64.b64encode)(payload)
    if kind == 2:  # both alphabets in one run
        encoded = encoded.replace(b"A", b"+", 1)
    if rng.random() < 0.4:
        encoded = encoded.rstrip(b"=")
    if rng.random() < 0.2:
        encoded += b"=" * rng.randrange(1, 4)
    if rng.random() < 0.15:  # a byte outside the alphabet, or one letter too many
        at = rng.randrange(len(encoded) + 1)
        encoded = encoded[:at] + bytes([rng.choice(b"*. \n=!" + ALPHABET)]) + encoded[at:]
    return encoded


def test_the_decoder_agrees_with_the_standard_library() -> None:
    rng = random.Random(20261203)
    runs = [_run(rng) for _ in range(20_000)]
    decoded = [_b64(run) for run in runs]
    assert decoded == [_reference(run) for run in runs]
    assert sum(d is None for d in decoded) > 1_000  # refusals were tried
    assert sum(d is not None for d in decoded) > 4_000  # and text decoded


BASIC_TOKENS = (
    b"Basic ",
    b"basic\t",
    b"BASIC  ",
    b"bAsIc ",
    b"basicbasic ",
    b"Basic",
    b"dXNlcjpwYXNzd29yZA==",
    b"YmFzaWMgYmFzaWM6cHc=",
    b"abcdbasicXYZ0123+/",
    b"=",
    b"==",
    b"x",
    b" ",
    b"\t",
    b'"',
    b"Authorization: ",
)


def test_basic_runs_are_those_the_pattern_finds_in_the_line() -> None:
    rng = random.Random(31)
    for _ in range(5_000):
        data = b"".join(rng.choice(BASIC_TOKENS) for _ in range(rng.randrange(1, 25)))
        start = rng.randrange(len(data) + 1)
        end = rng.randrange(start, len(data) + 1)
        expected = [m.span(1) for m in _BASIC.finditer(data, start, end)]
        assert _basic_runs(data, start, end) == expected, (data, start, end)
