"""Indented JSON, the text ``json.dumps(value, indent=2)`` gives, several times faster.

With ``indent`` the standard library encodes in Python generators (one resumption per token):
a SARIF report of 7,000 findings took longer to write than to scan. Here each container is one
loop, strings are escaped by the C function the standard encoder uses, and the other scalars
as it writes them, so the output is the same text byte for byte (``tests/unit/reports``
compares the two on random documents).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from json.encoder import encode_basestring_ascii

_Emit = Callable[[object, list[str], str], None]

#: an array's text is joined into one string each time it has this many more pieces, so a
#: report of many findings holds its text, not a small string per token (60,000 findings: a
#: JSON report's pieces took 280 MB for 39 MB of text)
FLUSH_PIECES = 8192


class Items:
    """A JSON array given as an iterable, its items made as they are written: a report's
    findings become one dictionary at a time, never all at once."""

    __slots__ = ("iterable",)

    def __init__(self, iterable: Iterable[object]) -> None:
        self.iterable = iterable


# what json.dumps writes for the non-finite floats (allow_nan, its default)
_FLOATS = {float("inf"): "Infinity", float("-inf"): "-Infinity"}


def dumps(value: object, indent: int = 2) -> str:
    """``json.dumps(value, indent=indent)`` for documents of dicts (string keys), lists,
    tuples, strings, ints, floats, booleans and None (and :class:`Items`, written as the list
    of its items); anything else raises ``TypeError``."""
    out: list[str] = []
    step = " " * indent
    _value(value, out, "\n", step)
    return "".join(out)


def _scalar(value: object) -> str | None:
    """The JSON text of a scalar, or None when ``value`` is a container."""
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if value != value:
            return "NaN"
        return _FLOATS.get(value) or float.__repr__(value)
    if isinstance(value, dict | list | tuple | Items):
        return None
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _value(value: object, out: list[str], newline: str, step: str) -> None:
    text = _scalar(value)
    if text is not None:
        out.append(text)
    elif isinstance(value, dict):
        _object(value, out, newline, step)
    else:
        _array(value, out, newline, step)  # type: ignore[arg-type]


def _object(value: dict[object, object], out: list[str], newline: str, step: str) -> None:
    if not value:
        out.append("{}")
        return
    inner = newline + step
    separator = "{" + inner
    following = "," + inner
    append = out.append
    for key, item in value.items():
        name = encode_basestring_ascii(key) if type(key) is str else _key(key)
        append(separator + name + ": ")
        separator = following
        kind = type(item)  # the common kinds without a call
        if kind is str:
            append(encode_basestring_ascii(item))  # type: ignore[arg-type]
        elif kind is dict:
            _object(item, out, inner, step)  # type: ignore[arg-type]
        elif kind is list:
            _array(item, out, inner, step)  # type: ignore[arg-type]
        else:
            _value(item, out, inner, step)
    append(newline + "}")


def _array(
    value: list[object] | tuple[object, ...] | Items, out: list[str], newline: str, step: str
) -> None:
    inner = newline + step
    first = "[" + inner
    separator = first
    mark = len(out)  # the pieces from here on are this array's
    for item in value.iterable if isinstance(value, Items) else value:
        out.append(separator)
        separator = "," + inner
        _value(item, out, inner, step)
        if len(out) - mark > FLUSH_PIECES:
            out[mark:] = ["".join(out[mark:])]
            mark = len(out)
    out.append("[]" if separator is first else newline + "]")


def _key(key: object) -> str:
    """A key as json.dumps writes it: strings escaped, other scalars as their JSON text."""
    if isinstance(key, str):
        return encode_basestring_ascii(key)
    if isinstance(key, bool | int | float) or key is None:
        return encode_basestring_ascii(json.dumps(key))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
