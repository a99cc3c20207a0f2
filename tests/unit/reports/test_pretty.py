"""The fast indented encoder writes exactly what ``json.dumps(value, indent=2)`` writes."""

from __future__ import annotations

import json
import random
import tracemalloc
from enum import IntEnum, StrEnum

import pytest

from leakguard.reports.pretty import FLUSH_PIECES, Items, dumps


class _Level(StrEnum):
    HIGH = "high"


class _Rank(IntEnum):
    ONE = 1


_STRINGS = ["", "a", 'quote " and \\ slash', "line\nbreak\ttab", "é ü 漢 😀", "\x00\x1f", "/"]
_SCALARS: list[object] = [
    *_STRINGS,
    *(0, -1, 2**70, 3.5, -0.0, 1e-300, float("inf"), float("-inf"), True, False, None),
    *(_Level.HIGH, _Rank.ONE),
]


def _document(rng: random.Random, depth: int) -> object:
    if depth == 0 or rng.random() < 0.3:
        return rng.choice(_SCALARS)
    if rng.random() < 0.5:
        keys = [rng.choice(_STRINGS) + str(i) for i in range(rng.randint(0, 5))]
        return {k: _document(rng, depth - 1) for k in keys}
    items = [_document(rng, depth - 1) for _ in range(rng.randint(0, 5))]
    return items if rng.random() < 0.8 else tuple(items)


def test_random_documents_are_written_as_the_standard_library_writes_them() -> None:
    rng = random.Random(5)
    for _ in range(2000):
        doc = _document(rng, 5)
        assert dumps(doc) == json.dumps(doc, indent=2), doc


@pytest.mark.parametrize("indent", [0, 1, 4])
def test_other_indents_and_non_string_keys(indent: int) -> None:
    doc = {1: [True, None], 2.5: {}, False: [], None: {"a": [1, {"b": ()}]}, "z": float("nan")}
    assert dumps(doc, indent) == json.dumps(doc, indent=indent)


def test_an_unknown_type_is_refused_as_json_refuses_it() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps({"when": object()})
    with pytest.raises(TypeError):
        json.dumps({"when": object()}, indent=2)


def _lazy(value: object, rng: random.Random) -> object:
    """``value`` with some of its arrays given as :class:`Items` of generators."""
    if isinstance(value, dict):
        return {k: _lazy(v, rng) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [_lazy(v, rng) for v in value]
        return Items(v for v in items) if rng.random() < 0.5 else items
    return value


@pytest.mark.parametrize("seed", range(3))
def test_arrays_given_as_items_are_written_as_their_lists(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(300):
        value = _document(rng, 4)
        assert dumps(_lazy(value, rng)) == json.dumps(value, indent=2)
    assert dumps({"empty": Items(iter(()))}) == json.dumps({"empty": []}, indent=2)


def test_a_long_array_is_joined_as_it_goes_with_the_same_text() -> None:
    """Arrays longer than FLUSH_PIECES pieces, nested and not, lazy and not: a report's text
    is held, not a string per token (tracemalloc: under three times the text at its peak,
    where a string per token took seven)."""
    rows = [{"id": i, "name": f"n{i}", "tags": ["a", "b"], "at": {"line": i}} for i in range(6000)]
    document = {"findings": rows, "nested": [rows[:3000], []]}
    expected = json.dumps(document, indent=2)
    assert dumps(document) == expected
    lazy = {"findings": Items(iter(rows)), "nested": Items(iter([Items(iter(rows[:3000])), []]))}
    tracemalloc.start()
    try:
        text = dumps(lazy)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert text == expected
    assert len(rows) * 8 > FLUSH_PIECES
    assert peak < 3 * len(text)
