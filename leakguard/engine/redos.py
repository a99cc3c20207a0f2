"""Find rule patterns that can backtrack for exponential time: a repetition nested in another
unbounded repetition with nothing mandatory between them, such as ``(a+)+``, ``(\\w+\\s?)*`` or
``(?:x*|y)+``. Python's ``re`` would try every way of splitting a run between the two loops, so
one 100 KB line can keep it busy for hours.

The check walks the parsed pattern (``re._parser``, the tree ``re.compile`` itself uses). A loop
body with a mandatory element besides the inner loop (``(?:-[a-z]+)+``: each turn needs a ``-``)
is accepted, as are possessive repeats and atomic groups (they never backtrack). It is a
heuristic: what it misses (``(a|aa)+``) is caught by the matching time budget instead.
"""

from __future__ import annotations

import re
from re import _constants as _c  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any

#: a bounded repetition this long backtracks like an unbounded one
LARGE_REPEAT = 256

_REPEATS = (_c.MAX_REPEAT, _c.MIN_REPEAT)
_ZERO_WIDTH = (_c.AT, _c.ASSERT, _c.ASSERT_NOT)


# A group followed by a quantifier (or verbose mode, where blanks may separate them): without
# one, no repetition can hold another.
_REPEATED_GROUP = re.compile(r"\)[*+?{]|\(\?[a-zA-Z-]*x")


def nested_repetition(pattern: str | bytes) -> str | None:
    """A short description of the first catastrophic nesting in ``pattern``, or None."""
    text = pattern if isinstance(pattern, str) else pattern.decode("latin-1")
    if _REPEATED_GROUP.search(text) is None:
        return None  # most rule patterns: no need to parse them a second time
    try:
        tree = _parser.parse(text)
    except re.error:
        return None  # re.compile reports it
    return _scan(list(tree))


def _large(maximum: int) -> bool:
    return maximum == _c.MAXREPEAT or maximum >= LARGE_REPEAT


def _scan(seq: list[Any]) -> str | None:
    for op, av in seq:
        inner: list[list[Any]] = []
        if op in _REPEATS:
            _low, high, body = av
            if _large(high) and _loops_alone(list(body)):
                return "a repetition inside an unbounded repetition"
            inner = [list(body)]
        elif op == _c.POSSESSIVE_REPEAT:
            inner = [list(av[2])]
        elif op == _c.SUBPATTERN:
            inner = [list(av[3])]
        elif op == _c.ATOMIC_GROUP:
            inner = [list(av)]
        elif op == _c.BRANCH:
            inner = [list(alt) for alt in av[1]]
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            inner = [list(av[1])]
        elif op == _c.GROUPREF_EXISTS:
            inner = [list(b) for b in av[1:] if b is not None]
        for part in inner:
            found = _scan(part)
            if found is not None:
                return found
    return None


def _loops_alone(seq: list[Any]) -> bool:
    """Whether ``seq`` holds a repetition of variable length (``a+``, ``a{1,5}``, ``a?``) and
    nothing else it must match: an outer loop could then split a run in many ways."""
    looped = False
    for op, av in seq:
        if _is_loop(op, av):
            looped = True
        elif not _can_be_empty(op, av):
            return False
    return looped


def _is_loop(op: Any, av: Any) -> bool:
    if op in _REPEATS:
        return bool(av[1] > av[0]) or _loops_alone(list(av[2]))
    if op == _c.SUBPATTERN:
        return _loops_alone(list(av[3]))
    if op == _c.BRANCH:
        return any(_loops_alone(list(alt)) for alt in av[1])
    return False


def _can_be_empty(op: Any, av: Any) -> bool:
    if op in _ZERO_WIDTH:
        return True
    if op in _REPEATS or op == _c.POSSESSIVE_REPEAT:
        return bool(av[0] == 0) or all(_can_be_empty(o, a) for o, a in av[2])
    if op == _c.SUBPATTERN:
        return all(_can_be_empty(o, a) for o, a in av[3])
    if op == _c.BRANCH:
        return any(all(_can_be_empty(o, a) for o, a in alt) for alt in av[1])
    return False
