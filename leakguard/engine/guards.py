"""Keyword guards: what must follow a rule's keyword for its pattern to have a chance.

A rule may declare ``keyword_guard``, a small regular expression that must match right after
each keyword hit (where the keyword ends) for the hit to open a window. The guard is part of
the keyword pass: Hyperscan compiles each guarded keyword together with its guard (so text
where the keyword is not followed by it costs no Python at all), and the ``re`` engine checks
the guard at each hit of that keyword. Both keep exactly the hits whose guard matches, so both
engines give the same findings.

A guard is safe only when it is *implied* by the pattern: every match of the pattern must
start with a keyword followed by text the guard matches (tests/rules check this on every
guarded rule's examples and on random variants of them). A guard that is not implied drops
true findings.

Guards use a small subset of the regex language with the same meaning in Python ``re`` and in
Hyperscan: literals, character classes (ranges, negation), repetition,
groups, alternation and ``\\Z`` (the end of the data: a value may end a file). No ``.``,
``\\s``/``\\w``/``\\d``, other anchors, lookarounds or back references (their meanings
differ between the two, or Hyperscan lacks them). An unbounded repetition (``*``, ``+``,
``{m,}``) may not match a byte of the rule's keywords: the ``re`` engine checks the guard at
every hit, so a run the guard reads to its end must not hold more hits (``token=token=...``
would cost quadratic time). A guard applies with the rule's case sensitivity: caseless
keywords get a caseless guard.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from re import _constants as _c  # type: ignore[attr-defined]
from re import _parser as _p  # type: ignore[attr-defined]
from typing import Any

from leakguard.engine.redos import nested_repetition

#: a guard is a short check, not a second pattern
MAX_GUARD_LENGTH = 200

_REPEATS = (_c.MAX_REPEAT, _c.MIN_REPEAT)
_CLASS_ITEMS = (_c.LITERAL, _c.RANGE, _c.NEGATE)


class GuardError(ValueError):
    """A guard outside the supported subset (the message says what)."""


def parse_guard(text: str) -> list[Any]:
    """The parsed guard, or :class:`GuardError`."""
    return list(_parsed_guard(text))


@functools.cache  # an engine asks for each guard's expression and bytes: parsed once
def _parsed_guard(text: str) -> tuple[Any, ...]:
    if not text.isascii():
        raise GuardError("keyword_guard must be ASCII (write other bytes as \\xNN)")
    if len(text) > MAX_GUARD_LENGTH:
        raise GuardError(f"keyword_guard is longer than {MAX_GUARD_LENGTH} characters")
    try:
        parsed = _p.parse(text.encode("ascii"))
    except re.error as exc:
        raise GuardError(f"invalid keyword_guard: {exc}") from None
    _check(list(parsed))
    nested = nested_repetition(text)
    if nested is not None:
        raise GuardError(f"keyword_guard has {nested}, which can take exponential time")
    return tuple(parsed)


def check_reach(text: str, keywords: Sequence[bytes], case_sensitive: bool) -> None:
    """:class:`GuardError` when an unbounded repetition of the guard can match a keyword byte."""
    used = {b for kw in keywords for b in (kw if case_sensitive else kw.lower() + kw.upper())}
    for body in _unbounded(parse_guard(text)):
        reach = _bytes_of(body)
        if not case_sensitive:
            reach |= {ord(chr(b).swapcase()) for b in reach if chr(b).isascii()} & set(range(128))
        if reach & used:
            raise GuardError(
                f"keyword_guard repeats without bound a class that holds a keyword byte "
                f"({chr(min(reach & used))!r}): bound it ({{0,80}}), so a run of keywords is "
                "not read once per hit"
            )


@functools.cache
def guard_bytes(text: str, case_sensitive: bool) -> frozenset[int]:
    """Every byte a match of the guard can hold (with the other case of each ASCII letter
    for a caseless guard): a superset, for ruling out what a match cannot contain."""
    reach = _bytes_of(parse_guard(text))
    if not case_sensitive:
        reach |= {ord(chr(b).swapcase()) for b in reach if b < 128}
    return frozenset(reach)


def _unbounded(items: list[Any]) -> Iterator[list[Any]]:
    for op, av in items:
        if op in _REPEATS:
            if av[1] == _c.MAXREPEAT:
                yield list(av[2])
            yield from _unbounded(list(av[2]))
        elif op is _c.SUBPATTERN:
            yield from _unbounded(list(av[3]))
        elif op is _c.BRANCH:
            for branch in av[1]:
                yield from _unbounded(list(branch))


def _bytes_of(items: list[Any]) -> set[int]:
    """Every byte ``items`` can match (case aside)."""
    found: set[int] = set()
    for op, av in items:
        if op is _c.LITERAL:
            found.add(av)
        elif op is _c.NOT_LITERAL:
            found |= set(range(256)) - {av}
        elif op is _c.IN:
            chosen: set[int] = set()
            for item_op, item in av:
                if item_op is _c.LITERAL:
                    chosen.add(item)
                elif item_op is _c.RANGE:
                    chosen |= set(range(item[0], item[1] + 1))
            negated = any(item_op is _c.NEGATE for item_op, _ in av)
            found |= set(range(256)) - chosen if negated else chosen
        elif op in _REPEATS:
            found |= _bytes_of(list(av[2]))
        elif op is _c.SUBPATTERN:
            found |= _bytes_of(list(av[3]))
        elif op is _c.BRANCH:
            for branch in av[1]:
                found |= _bytes_of(list(branch))
    return found


@functools.cache  # a guard is shared by all of its rule's keywords: checked once
def compile_guard(text: str, case_sensitive: bool) -> re.Pattern[bytes]:
    """The guard for Python ``re`` (tried with ``match`` where a keyword ends)."""
    parse_guard(text)
    return re.compile(text.encode("ascii"), 0 if case_sensitive else re.IGNORECASE)


@functools.cache
def hyperscan_source(text: str) -> bytes:
    """The guard as a Hyperscan expression with the same meaning (rebuilt from the parse:
    every byte written as ``\\xNN``, so no escape is read two ways)."""
    return _emit(parse_guard(text))


def _check(items: list[Any]) -> None:
    for op, av in items:
        if op in (_c.LITERAL, _c.NOT_LITERAL) or (op is _c.AT and av is _c.AT_END_STRING):
            continue
        if op is _c.IN:
            if any(item_op not in _CLASS_ITEMS for item_op, _ in av):
                raise GuardError(
                    "keyword_guard classes may hold only characters and ranges "
                    "(no \\s, \\w, \\d: spell the characters out)"
                )
        elif op in _REPEATS:
            _check(list(av[2]))
        elif op is _c.SUBPATTERN:
            if av[1] or av[2]:
                raise GuardError("keyword_guard groups may not set flags")
            _check(list(av[3]))
        elif op is _c.BRANCH:
            for branch in av[1]:
                _check(list(branch))
        else:
            raise GuardError(
                f"keyword_guard may use literals, classes, repetition, groups and | only "
                f"(found {str(op).lower()})"
            )


def _byte(value: int) -> bytes:
    return b"\\x%02x" % value


def _emit(items: list[Any]) -> bytes:
    out = []
    for op, av in items:
        if op is _c.LITERAL:
            out.append(_byte(av))
        elif op is _c.NOT_LITERAL:
            out.append(b"[^" + _byte(av) + b"]")
        elif op is _c.IN:
            out.append(_emit_class(av))
        elif op is _c.AT:  # \Z: the end of the data, Hyperscan's \z
            out.append(b"\\z")
        elif op in _REPEATS:
            low, high, body = av
            upper = b"" if high == _c.MAXREPEAT else b"%d" % high
            out.append(b"(?:" + _emit(list(body)) + b"){%d,%s}" % (low, upper))
        elif op is _c.SUBPATTERN:
            out.append(b"(?:" + _emit(list(av[3])) + b")")
        else:  # BRANCH (parse_guard allowed nothing else)
            out.append(b"(?:" + b"|".join(_emit(list(b)) for b in av[1]) + b")")
    return b"".join(out)


def _emit_class(items: list[Any]) -> bytes:
    parts = [b"["]
    for op, av in items:
        if op is _c.NEGATE:
            parts.append(b"^")
        elif op is _c.LITERAL:
            parts.append(_byte(av))
        else:  # RANGE
            parts.append(_byte(av[0]) + b"-" + _byte(av[1]))
    return b"".join(parts) + b"]"
