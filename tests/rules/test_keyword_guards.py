"""Every ``keyword_guard`` is implied by its rule's pattern: a guard drops keyword hits, and it
must never drop one a match needs.

For each guarded rule, on its examples, negative examples and random variants of them: every
match of the pattern (tried at every offset) that an unguarded keyword hit's window reaches is
reached by a hit whose guard matches. And the whole engine finds the same with and without the
guards, on both matching engines.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from leakguard.engine.guards import compile_guard
from leakguard.engine.matcher import Engine
from leakguard.engine.rules import Rule, RuleSet
from leakguard.engine.ruletest import available_engines
from leakguard.model import Chunk, Location

ALL = RuleSet.load()
GUARDED = [rule for rule in ALL.rules if rule.keyword_guard]
VARIANTS = 300


def test_the_hot_rules_are_guarded() -> None:
    hot = {"generic-secret", "adyen-api-key", "yandex-cloud-iam-token", "nuget-api-key"}
    assert hot <= {rule.id for rule in GUARDED}


def _hits(rule: Rule, text: bytes, guarded: bool) -> list[tuple[int, int]]:
    """(keyword start, keyword end) of every keyword occurrence (whose guard matches)."""
    guard = compile_guard(rule.keyword_guard, rule.case_sensitive)
    haystack = text if rule.case_sensitive else text.lower()
    found = []
    for kw in rule.keywords:
        at = haystack.find(kw)
        while at != -1:
            end = at + len(kw)
            if not guarded or guard.match(text, end) is not None:
                found.append((at, end))
            at = haystack.find(kw, at + 1)
    return found


def _reaches(rule: Rule, hit: tuple[int, int], span: tuple[int, int]) -> bool:
    """The window of ``hit`` holds a match at ``span`` (an anchored rule's starts at it)."""
    (kw_start, kw_end), (start, end) = hit, span
    first = kw_start - rule.before
    if rule.anchored:
        return start == first and end <= kw_end + rule.max_length
    return first <= start and end <= kw_end + rule.max_length


def unreached(rule: Rule, text: bytes) -> tuple[int, list[tuple[int, int]]]:
    """How many matches an unguarded hit reaches, and those no guarded hit reaches."""
    plain, kept = _hits(rule, text, False), _hits(rule, text, True)
    reached, missing = 0, []
    for offset in range(len(text)):
        m = rule.pattern.match(text, offset)
        if m is None or m.end() == m.start():
            continue
        span = m.span()
        if any(_reaches(rule, hit, span) for hit in plain):
            reached += 1
            if not any(_reaches(rule, hit, span) for hit in kept):
                missing.append(span)
    return reached, missing


_PIECES = [" ", "  ", "\t", "\n", "=", ":", ":=", "=>", '"', "'", "`", "]", "-", "_", ".", "x"]


def variants(rule: Rule, rng: random.Random, count: int) -> list[bytes]:
    """Random edits of the rule's examples: separators, quotes and keywords inserted, bytes
    dropped or repeated, case flipped, examples joined."""
    texts = list(rule.examples) + list(rule.negative_examples)
    pieces = _PIECES + [kw.decode("utf-8", "replace") for kw in rule.keywords]
    out = []
    for _ in range(count):
        text = rng.choice(texts)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(text) + 1)
            edit = rng.randrange(6)
            if edit == 0:
                text = text[:at] + rng.choice(pieces) + text[at:]
            elif edit == 1:
                text = text[:at] + text[at + 1 :]
            elif edit == 2:
                text = text[:at] + text[at : at + rng.randint(1, 4)] + text[at:]
            elif edit == 3:
                text = text[:at] + text[at:].swapcase()
            elif edit == 4:
                text = text + rng.choice([" ", "\n", ";"]) + rng.choice(texts)
            else:
                text = rng.choice(pieces) + text
        out.append(text.encode("utf-8"))
    return out


@pytest.mark.parametrize("rule", GUARDED, ids=lambda r: r.id)
def test_every_example_match_follows_a_guarded_hit(rule: Rule) -> None:
    for example in rule.examples + rule.negative_examples:
        missing = unreached(rule, example.encode("utf-8"))[1]
        assert not missing, example[:40]
    assert all(unreached(rule, e.encode())[0] for e in rule.examples)  # the check saw matches


@pytest.mark.parametrize("rule", GUARDED, ids=lambda r: r.id)
def test_every_variant_match_follows_a_guarded_hit(rule: Rule) -> None:
    rng = random.Random(rule.id)
    matched = 0
    for text in variants(rule, rng, VARIANTS):
        reached, missing = unreached(rule, text)
        assert not missing, (rule.id, len(text))
        matched += reached > 0
    assert matched >= VARIANTS // 4  # the variants do exercise the pattern


def test_the_check_catches_a_guard_the_pattern_does_not_imply() -> None:
    rule = ALL.by_id()["generic-secret"]
    wrong = replace(rule, keyword_guard="[ \\t]{0,8}[\"'`]?[A-Za-z0-9]{20}")  # 20 letters only
    missed = [e for e in rule.examples if unreached(wrong, e.encode())[1]]
    assert missed


def _findings(engine: Engine, data: bytes) -> list[tuple[object, ...]]:
    found = engine.scan(Chunk(data, Location("variants", 1, 1)))
    return sorted((f.identity, f.severity, f.redacted, f.validation) for f in found)


@pytest.mark.parametrize("kind", available_engines())
def test_guards_change_no_finding(kind: str) -> None:
    rng = random.Random(11)
    data = b"\n".join(text for rule in GUARDED for text in variants(rule, rng, VARIANTS))
    unguarded = RuleSet(tuple(replace(r, keyword_guard="") for r in ALL.rules), ALL.version)
    with_guards = _findings(Engine(ALL, kind), data)
    assert with_guards == _findings(Engine(unguarded, kind), data)
    assert len({f[0] for f in with_guards}) >= 50
