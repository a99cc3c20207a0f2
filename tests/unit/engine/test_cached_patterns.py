"""Rules read from the rule cache keep their patterns uncompiled until a scan uses them: they
find exactly what the parsed rules find, compare, hash and pickle like the patterns they stand
for, and an entry another Python wrote, or one whose pattern entry is malformed, is a miss."""

from __future__ import annotations

import copy
import json
import pickle
import re
import sys
from pathlib import Path

import pytest

from leakguard.engine.matcher import Engine
from leakguard.engine.rulecache import RULES_SUFFIX, CachedPattern, RuleCache
from leakguard.engine.rules import RuleSet
from tests.support.keys import stripe_key

TEXT = f"STRIPE_SECRET_KEY={stripe_key('lazy')}\nDEBUG = True\n"


@pytest.fixture(scope="module")
def parsed() -> RuleSet:
    return RuleSet.load()


def _cached(tmp_path: Path) -> tuple[RuleCache, RuleSet]:
    cache = RuleCache(tmp_path)
    RuleSet.load(cache=cache)  # parses, checks and stores
    return cache, RuleSet.load(cache=cache)  # read back


def _engines() -> list[str]:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return ["re"]
    return ["re", "hyperscan"]


@pytest.mark.parametrize("kind", _engines())
def test_a_scan_compiles_only_the_patterns_it_uses(
    tmp_path: Path, parsed: RuleSet, kind: str
) -> None:
    _, cached = _cached(tmp_path)
    patterns = [rule.pattern for rule in cached.rules if isinstance(rule.pattern, CachedPattern)]
    assert len(patterns) == len(cached.rules)
    engine = Engine(cached, kind)
    assert not any(p.is_compiled for p in patterns)
    found = [(f.rule_id, f.redacted, f.fingerprint) for f in engine.scan_text(TEXT)]
    expected = [
        (f.rule_id, f.redacted, f.fingerprint) for f in Engine(parsed, kind).scan_text(TEXT)
    ]
    assert found == expected and len(found) == 1
    used = sum(p.is_compiled for p in patterns)
    assert 1 <= used < len(patterns) // 10


@pytest.mark.parametrize("kind", _engines())
def test_cached_rules_find_what_parsed_rules_find(
    tmp_path: Path, parsed: RuleSet, kind: str
) -> None:
    """Every rule's examples: the validators' own patterns (pairing partners, token shapes)
    come from the cache uncompiled too."""
    _, cached = _cached(tmp_path)
    params = [v for r in cached.rules for v in r.validator_params.values()]
    assert any(isinstance(v, CachedPattern) for v in params)
    text = "\n\n".join(example for rule in parsed.rules for example in rule.examples)

    def seen(rules: RuleSet) -> list[tuple[str, str, str]]:
        return [
            (f.rule_id, f.fingerprint, f.validation.detail)
            for f in Engine(rules, kind).scan_text(text)
        ]

    expected = seen(parsed)
    assert len(expected) > 200
    assert seen(cached) == expected


def test_a_cached_pattern_is_the_pattern_it_stands_for(tmp_path: Path, parsed: RuleSet) -> None:
    _, cached = _cached(tmp_path)
    for rule, lazy in zip(parsed.rules, (r.pattern for r in cached.rules), strict=True):
        assert isinstance(lazy, CachedPattern)
        real = rule.pattern
        assert (lazy.pattern, lazy.flags) == (real.pattern, real.flags)
        assert lazy == real and real == lazy
        assert not lazy.is_compiled  # comparing needs only the text and flags
        assert hash(lazy) == hash(real)
        assert lazy.groupindex == real.groupindex and lazy.groups == real.groups
        assert lazy.compiled == real
    lazy = cached.rules[0].pattern
    assert lazy != re.compile(b"something else") and lazy != lazy.pattern


def test_a_cached_pattern_pickles_and_copies_uncompiled() -> None:
    lazy = CachedPattern(rb"(?P<secret>sk_live_[0-9A-Za-z]{24,247})", re.IGNORECASE)
    for again in (pickle.loads(pickle.dumps(lazy)), copy.copy(lazy), copy.deepcopy(lazy)):
        assert isinstance(again, CachedPattern) and not again.is_compiled
        assert again == lazy
    assert not lazy.is_compiled
    match = lazy.search(b"key = SK_LIVE_" + b"a1" * 12)
    assert match is not None and lazy.is_compiled
    assert pickle.loads(pickle.dumps(lazy)) == lazy


def test_an_entry_another_python_wrote_is_another_entry(
    tmp_path: Path, parsed: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, _ = _cached(tmp_path)
    monkeypatch.setattr(sys, "version", sys.version + " (another build)")
    assert RuleSet.load(cache=cache) == parsed
    assert len(list(cache.directory.glob(f"*{RULES_SUFFIX}"))) == 2


@pytest.mark.parametrize(
    "entry",
    [
        ["abc"],  # no flags
        ["abc", "0"],
        ["abc", 0, 1],
        [[97, 98, 99], 0],  # not text
        {"pattern": {"bytes": "YWJj"}, "flags": 0},  # the old format's
        "abc",
    ],
)
def test_a_malformed_pattern_entry_is_a_miss(
    tmp_path: Path, parsed: RuleSet, entry: object
) -> None:
    cache, _ = _cached(tmp_path)
    [path] = list(cache.directory.glob(f"*{RULES_SUFFIX}"))
    key = path.name.removesuffix(RULES_SUFFIX)
    entries = json.loads(cache.load(key, RULES_SUFFIX) or b"")
    entries["rules"][3][entries["fields"].index("pattern")] = entry
    assert cache.store(key, json.dumps(entries).encode(), RULES_SUFFIX)
    assert cache.load_rules(key) is None
    assert RuleSet.load(cache=cache) == parsed
