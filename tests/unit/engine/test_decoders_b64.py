"""The base64 layer's decoder is ``base64.b64decode(..., altchars, validate=True)`` with
optional padding, called without its wrapper: checked against the standard library on random
runs (both alphabets, padding or none, bytes outside the alphabet, binary and text payloads).
A chunk's Basic headers are decoded as the header pattern, searched line by line, finds them:
checked against that search, written here the slow and obvious way, on random logs."""

from __future__ import annotations

import base64
import binascii
import random
import re

import pytest

from leakguard.engine import decoders
from leakguard.engine.decoders import _b64, _basic_credentials
from leakguard.model import Chunk, Location, SourceKind

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


# the header, as the layer documents it: "basic" in any case, blanks, a base64 run that ends
# where the alphabet does; decoded only on a line that holds "Basic " or "basic " before a
# base64 letter (how clients write the scheme)
HEADER = re.compile(rb"(?i:basic)[ \t]+([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])")
TRIGGER = re.compile(rb"[Bb]asic [A-Za-z0-9+/]")
CONTROL_AS_SPACE = bytes(0x20 if (b < 0x20 or b == 0x7F) else b for b in range(256))


def _basic_reference(
    chunk: Chunk, max_run: int, max_decoded: int
) -> tuple[bytes | None, set[int], bool]:
    """Line by line: each header on a line with a trigger, in order, decoded (by the standard
    library) in place of its run on a copy of the chunk blanked but for its newlines, when the
    chunk owns where it starts and it does not start inside the text decoded before it; no
    more lines once more than ``max_decoded`` bytes were decoded."""
    data = chunk.data
    lo, hi = chunk.owned()
    out = bytearray(0x0A if b == 0x0A else 0x20 for b in data)
    runs: set[int] = set()
    done = produced = line_start = 0
    for line in data.split(b"\n"):
        line_end = line_start + len(line)
        if TRIGGER.search(line):
            for m in HEADER.finditer(data, line_start, line_end):
                start, end = m.span(1)
                owned = lo <= start < hi or (start == hi and data[hi - 1 : hi] != b"\n")
                if end - start > max_run or start < done or not owned:
                    continue
                decoded = _reference(m.group(1))
                if decoded is None or len(decoded) < decoders.MIN_DECODED:
                    continue
                runs.add(start)
                out[start : start + len(decoded)] = decoded.translate(CONTROL_AS_SPACE)
                done = start + len(decoded)
                produced += len(decoded)
            if produced > max_decoded:
                return bytes(out), runs, line_end < len(data)
        line_start = line_end + 1
    return (bytes(out) if runs else None), runs, False


BASIC_TOKENS = (
    b"Basic ",
    b"basic ",
    b"basic\t",
    b"BASIC  ",
    b"bAsIc ",
    b"basicbasic ",
    b"Basic",
    b"asic ",
    b"B",
    b"dXNlcjpwYXNzd29yZA==",
    b"YmFzaWMgYmFzaWM6cHc=",
    b"abcdbasicXYZ0123+/",
    b"=",
    b"==",
    b"x",
    b" ",
    b"\t",
    b"\n",
    b"\n",
    b'"',
    b"Authorization: ",
)


def _credential(rng: random.Random) -> bytes:
    """The base64 of ``user:password``, padded or not."""
    text = f"user{rng.randrange(10**6)}:{rng.randbytes(rng.randrange(4, 20)).hex()}"
    encoded = base64.b64encode(text.encode())
    return encoded.rstrip(b"=") if rng.random() < 0.3 else encoded


@pytest.mark.parametrize("limits", ["default", "small"])
def test_basic_headers_are_decoded_as_the_line_by_line_search_finds_them(
    limits: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random logs of header-like tokens and encoded runs (text, control characters, binary,
    both alphabets, bad padding), cut into chunks that own part of their bytes; with small
    limits, long runs are skipped and decoding stops after the line that passes the budget."""
    max_run, max_decoded = decoders.MAX_RUN_BYTES, decoders.MAX_DECODED_BYTES
    if limits == "small":
        max_run, max_decoded = 36, 16
        monkeypatch.setattr(decoders, "MAX_RUN_BYTES", max_run)
        monkeypatch.setattr(decoders, "MAX_DECODED_BYTES", max_decoded)
    rng = random.Random(20261204)
    decoded_chunks = stopped = 0
    for _ in range(4_000):
        tokens = [rng.choice(BASIC_TOKENS) for _ in range(rng.randrange(1, 40))]
        tokens += [_run(rng) for _ in range(rng.randrange(0, 4))]
        tokens += [rng.choice(BASIC_TOKENS[:6]) + _run(rng) for _ in range(rng.randrange(0, 4))]
        tokens += [b"Basic " + _credential(rng) for _ in range(rng.randrange(0, 4))]
        rng.shuffle(tokens)
        data = b"".join(tokens)
        lo = rng.randrange(len(data) + 1) if rng.random() < 0.3 else 0
        hi = rng.randrange(lo, len(data) + 1) if rng.random() < 0.3 else None
        chunk = Chunk(data, Location("log", 1, 1), SourceKind.FILE, lo, hi)
        runs: set[int] = set()
        made = list(_basic_credentials(chunk, runs))
        expected, expected_runs, stopped_early = _basic_reference(chunk, max_run, max_decoded)
        assert [c.data for c in made] == ([] if expected is None else [expected]), data
        assert runs == expected_runs, data
        decoded_chunks += bool(made)
        stopped += stopped_early
    assert decoded_chunks > 400  # headers were decoded, not only refused
    if limits == "small":
        assert stopped > 50  # and the budget stopped some chunks before their end


def test_a_line_is_searched_for_a_trigger_once_whatever_its_headers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Headers that are no trigger themselves ("BASIC ...") make their line be searched for
    one: once per line, not once per header (a long line of them would cost its length times
    its headers)."""
    searches: list[tuple[int, int]] = []

    class Counting:
        def search(self, data: bytes, start: int, end: int) -> re.Match[bytes] | None:
            searches.append((start, end))
            return TRIGGER.search(data, start, end)

    monkeypatch.setattr(decoders, "_BASIC_TRIGGER", Counting())
    header = b"BASIC " + _credential(random.Random(3)) + b" "
    lines = [header * 500, b"basic\t" + header * 300 + b"Basic dXNlcjpwYXNzd29yZA==", header]
    data = b"\n".join(lines) + b"\n"
    chunk = Chunk(data, Location("log", 1, 1), SourceKind.FILE)
    runs: set[int] = set()
    made = list(_basic_credentials(chunk, runs))
    assert len(searches) == len(lines)
    expected, expected_runs, _ = _basic_reference(chunk, decoders.MAX_RUN_BYTES, 1 << 30)
    assert [c.data for c in made] == [expected] and runs == expected_runs
    assert len(runs) == 301  # the second line's 300 headers (it holds a trigger) and its trigger


def _prefix_runs_reference(data: bytes) -> list[tuple[int, int]]:
    """Where the runs holding an encoded credential prefix start and end, as a person would
    find them: from each prefix back to the last byte outside the alphabet (at most a run's
    length), forward while the alphabet lasts (two '=' at most); markers inside a run found
    already are part of it; a data: URL's run is left to its reader."""
    runs: list[tuple[int, int]] = []
    end = -1
    alphabet = set(ALPHABET + b"+/_-")
    for pos in sorted(decoders._find_prefixes(data)):
        if pos < end:
            continue
        start = pos
        while start > max(0, pos - decoders.MAX_RUN_BYTES) and data[start - 1] in alphabet:
            start -= 1
        end = pos
        while end < len(data) and data[end] in alphabet:
            end += 1
        end += len(data[end : end + 2]) - len(data[end : end + 2].lstrip(b"="))
        if end - start >= 16 and not data[max(0, start - 7) : start].endswith(b"base64,"):
            runs.append((start, end))
    return runs


@pytest.mark.parametrize("seed", range(6))
def test_prefix_runs_start_where_the_alphabet_stops(seed: int) -> None:
    """Checked on random text of encoded prefixes, alphabet runs longer than a run may be,
    line breaks, padding and data: URLs (the chunk's one translation against the walk)."""
    rng = random.Random(seed)
    prefixes = [base64.b64encode(p.encode()) for p in ("AKIA", "ghp_", "sk_live_", "xoxb-")]
    parts = [b"\n", b" ", b"==", b"=", b";base64,", b"data:x;base64,", b'"', b"\xff"]
    pieces = []
    for _ in range(rng.randrange(50, 400)):
        kind = rng.randrange(4)
        if kind == 0:
            pieces.append(rng.choice(prefixes))
        elif kind == 1:
            pieces.append(rng.choice(parts))
        elif kind == 2:
            pieces.append(bytes(rng.choice(ALPHABET) for _ in range(rng.randrange(1, 30))))
        else:
            pieces.append(b"A" * rng.choice([10, 200, decoders.MAX_RUN_BYTES // 2 + 7]))
    data = b"".join(pieces)
    got = list(decoders._encoded_prefix_runs(data, decoders._find_prefixes))
    assert got == _prefix_runs_reference(data)
