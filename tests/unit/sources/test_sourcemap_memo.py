"""The memo of decoded ``sourcesContent`` strings gives exactly what the standard library's C
scanner gives (value, end and errors), for strings seen before, strings that only look like
them, and strings never seen; it stays within its budget; and it keeps a string only once
sources are seen to repeat (a build of sources all different holds only their heads)."""

from __future__ import annotations

import json
import random
import sys
from json.decoder import scanstring

import pytest

from leakguard.sources.sourcemap import DecodedStrings

#: what real sources hold, and what escaping makes hard: quotes, backslashes, newlines, tabs,
#: accents, emoji (a surrogate pair when escaped), a lone surrogate, a control character
ALPHABET = ["a", "b", "Z", "0", " ", '"', "\\", "\n", "\t", "/", "é", "🚀", "\ud800", "\x01"]


def _body(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(size))


def _escaped(value: str, rng: random.Random) -> str:
    """``value`` as a JSON string literal, escaped one of the ways JSON writers do."""
    return json.dumps(value, ensure_ascii=rng.random() < 0.5)


def _sighting(literal: str) -> int:
    """What the memo counts for a string it has only sighted (its head, a pair, a slot)."""
    head = literal[1 : 1 + DecodedStrings.HEAD]
    return sys.getsizeof(head) + DecodedStrings.SIGHTING_BYTES


def _walk(text: str, memo: DecodedStrings) -> list[tuple[object, object]]:
    """Each string of the array ``text`` read by the memo and by the C scanner."""
    pairs = []
    pos = 1  # after "["
    while text.startswith('"', pos):
        pairs.append((memo.string_at(text, pos + 1), scanstring(text, pos + 1)))
        pos = pairs[-1][1][1] + 1  # past the comma
    return pairs


def test_strings_seen_again_and_lookalikes_decode_as_the_c_scanner_does() -> None:
    rng = random.Random(20261203)
    memo = DecodedStrings()
    bases = [_body(rng, rng.randrange(520, 3000)) for _ in range(12)]
    values = list(bases)
    for _ in range(300):
        base = rng.choice(bases)
        kind = rng.randrange(5)
        if kind == 0:  # the same source again
            values.append(base)
        elif kind == 1:  # the same head, then something else
            cut = rng.randrange(DecodedStrings.HEAD, len(base))
            values.append(base[:cut] + _body(rng, rng.randrange(1, 600)))
        elif kind == 2:  # a prefix of a source seen
            values.append(base[: rng.randrange(DecodedStrings.HEAD, len(base))])
        elif kind == 3:  # a source seen, and more
            values.append(base + _body(rng, rng.randrange(1, 50)))
        else:  # short or new
            values.append(_body(rng, rng.randrange(0, 900)))
    text = "[" + ",".join(_escaped(v, rng) for v in values) + "]"
    pairs = _walk(text, memo)
    assert len(pairs) == len(values)
    for (got, expected), value in zip(pairs, values, strict=True):
        assert got == expected
        assert got[0] == value
    # strings seen again came from the memo (the same objects), not decoded again
    assert len({id(got[0]) for got, _ in pairs}) < len(pairs) - 20


def test_a_string_cut_short_or_broken_after_a_seen_head_fails_as_the_scanner_does() -> None:
    memo = DecodedStrings()
    body = "x" * 700 + "\\n" + "y" * 100
    assert memo.string_at('"' + body + '"', 1) == scanstring('"' + body + '"', 1)
    broken = (
        body[:-1] + '\x01"',  # a raw control character where the seen string ends
        body + '\x02"',  # one after it
        body,  # no closing quote
        body + "\\",  # an escape cut by the end
        body + '\\q"',  # an escape JSON does not have
    )
    for rest in broken:
        text = '"' + rest
        with pytest.raises(ValueError) as ours:
            memo.string_at(text, 1)
        with pytest.raises(ValueError) as theirs:
            scanstring(text, 1)
        assert str(ours.value) == str(theirs.value)


def test_many_strings_with_one_head_keep_few_and_stay_exact() -> None:
    memo = DecodedStrings()
    head = "h" * DecodedStrings.HEAD
    values = [head + f"{n:04d}" * 200 for n in range(40)]
    text = "[" + ",".join(json.dumps(v) for v in values + values) + "]"
    for got, expected in _walk(text, memo):
        assert got == expected
    per_string = 2 * len(values[0])  # escaped and decoded text of one (all ASCII, no escape)
    # the first was sighted (its head and length), the next ones (the same head and length)
    # kept, up to PER_HEAD
    assert memo.kept == DecodedStrings.PER_HEAD * per_string + _sighting(json.dumps(values[0]))


def test_the_memo_starts_over_past_its_budget() -> None:
    budget = 10_000
    memo = DecodedStrings(budget)
    rng = random.Random(7)
    values = [_body(rng, 1500) for _ in range(30)]
    text = "[" + ",".join(json.dumps(v) for v in values * 2) + "]"
    for got, expected in _walk(text, memo):
        assert got == expected
        assert memo.kept <= budget
    sighted_only = DecodedStrings(5_000)  # sightings count too: strings never seen twice
    for value in (_body(rng, 600) for _ in range(200)):
        assert sighted_only.string_at(json.dumps(value), 1)[0] == value
        assert sighted_only.kept <= 5_000
    too_big = DecodedStrings(100)  # less than a sighting
    for _ in range(3):
        assert too_big.string_at(json.dumps("q" * 600), 1) == ("q" * 600, 602)
        assert too_big.kept == 0


def test_a_string_of_the_memo_is_encoded_once() -> None:
    memo = DecodedStrings()
    value = "é\ud800" + "k" * 600  # a lone surrogate becomes "?"
    memo.string_at(json.dumps(value), 1)  # sighted
    decoded, _ = memo.string_at(json.dumps(value), 1)  # kept
    again, _ = memo.string_at(json.dumps(value), 1)
    assert again is decoded
    first = memo.encoded(decoded)
    assert first == value.encode("utf-8", "replace")
    assert memo.encoded(again) is first
    other = "not in the memo" * 60
    assert memo.encoded(other) == other.encode()
    assert memo.encoded(other) is not memo.encoded(other)


def test_sources_are_kept_once_they_are_seen_to_repeat() -> None:
    """Sources all different (most of a real build) are decoded and dropped: the memo holds
    only a head for each. A source read a second time is kept and the third read takes it from
    the memo. Once one string in REPEATING comes from the memo, a new source is kept the
    first time it is read."""
    rng = random.Random(11)
    memo = DecodedStrings()
    distinct = [_body(rng, 700) for _ in range(200)]
    for value in distinct:
        assert memo.string_at(json.dumps(value), 1)[0] == value
    sightings = sum(_sighting(json.dumps(v)) for v in distinct)
    assert memo.kept == sightings

    first = memo.string_at(json.dumps(distinct[0]), 1)[0]  # the second read keeps it
    assert memo.kept > sightings
    assert memo.string_at(json.dumps(distinct[0]), 1)[0] is first

    repeated = distinct[1 : 1 + len(distinct) // DecodedStrings.REPEATING]
    for value in repeated * 3:  # sighted already: kept, then taken from the memo
        assert memo.string_at(json.dumps(value), 1)[0] == value
    new = _body(rng, 700)
    kept = memo.string_at(json.dumps(new), 1)[0]
    assert memo.string_at(json.dumps(new), 1)[0] is kept


def test_a_source_decoded_again_counts_as_a_repeat() -> None:
    """Sources read a second time (not yet taken from the memo) already show that sources
    repeat: once they are one string in REPEATING, a new source is kept at once."""
    rng = random.Random(12)
    memo = DecodedStrings()
    distinct = [_body(rng, 700) for _ in range(100)]
    for value in distinct:
        memo.string_at(json.dumps(value), 1)
    for value in distinct[:2]:  # 102 strings decoded, 2 of them repeats: 2 * 64 >= 102
        memo.string_at(json.dumps(value), 1)
    new = _body(rng, 700)
    kept = memo.string_at(json.dumps(new), 1)[0]
    assert memo.string_at(json.dumps(new), 1)[0] is kept
