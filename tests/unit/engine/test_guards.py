from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from leakguard.engine.guards import GuardError, compile_guard, hyperscan_source, parse_guard
from leakguard.engine.matcher import Engine
from leakguard.engine.rulecache import RuleCache
from leakguard.engine.rules import RuleSet
from leakguard.engine.ruletest import available_engines
from leakguard.errors import RuleError

# (guard, a text it matches)
SUPPORTED = [
    ("[=>]?[ \\t]{0,8}[\"'`]?[A-Za-z0-9+/=_.~!#%^*?-]{12}", "> 'Ab3dE5gH7jK9m"),
    ("[B-Z][A-Za-z0-9]{90}", "Q" + "aZ09" * 23),
    ("(?::=|=>|[:=])[ \\t\\n]*AQE", ":= AQE"),
    ("[^;\"' {}`]{3}", "x/z"),
    ("a+b*c?(x|yy){2,}", "aabcxyy"),
    ("\\{?\\x00[\\]\\-]", "{\x00]"),
    ("(?:ab)+?q", "ababq"),
    ("[a-z]{3,5}(?:[^a-z0]|\\Z)", "abcd"),  # a value may end the data
]


@pytest.mark.parametrize(
    "guard",
    [
        "\\s*=",
        "\\w{3}",
        ".{3}",
        "^=",
        "=$",
        "a\\b",
        "\\Aa",
        "(?=x)",
        "(?<=x)y",
        "(a)\\1",
        "(?i:a)",
        "é",
        "[\\d]",
    ],
)
def test_a_guard_outside_the_subset_is_refused(guard: str) -> None:
    with pytest.raises(GuardError):
        parse_guard(guard)


def test_a_long_or_broken_guard_is_refused() -> None:
    with pytest.raises(GuardError, match="longer"):
        parse_guard("a" * 201)
    with pytest.raises(GuardError, match="invalid"):
        parse_guard("[a-")


@pytest.mark.skipif("hyperscan" not in available_engines(), reason="hyperscan is not importable")
@pytest.mark.parametrize(("guard", "sample"), SUPPORTED)
@pytest.mark.parametrize("exact", [True, False])
def test_hyperscan_reads_a_guard_as_python_does(guard: str, sample: str, exact: bool) -> None:
    """Hyperscan finds ``|`` + guard exactly where ``re`` matches the guard after the ``|``."""
    import hyperscan

    flags = hyperscan.HS_FLAG_SOM_LEFTMOST | (0 if exact else hyperscan.HS_FLAG_CASELESS)
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=[b"\\x7c" + hyperscan_source(guard)], ids=[0], elements=1, flags=flags)
    python = re.compile(guard.encode(), 0 if exact else re.I)
    alphabet = b"=> \t\"'`aAbBcCqQxXyYzZ0129+/._-:;{}[]\\\x00EeAQE" + bytes(range(97, 123))
    rng = random.Random(guard)
    agreed = set()
    for _ in range(300):
        left = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        right = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 110)))
        if rng.random() < 0.6:  # the sample with a few bytes changed, case flipped
            edited = bytearray(sample.swapcase() if rng.random() < 0.3 else sample, "ascii")
            for _ in range(rng.randint(0, 2)):
                edited[rng.randrange(len(edited))] = rng.choice(alphabet)
            right = bytes(edited) + right[: rng.randint(0, 5)]
        starts: list[int] = []
        db.scan(left + b"|" + right, match_event_handler=_collect, context=starts)
        starts = sorted(set(starts))
        expected = python.match(right) is not None
        assert starts == ([len(left)] if expected else []), right
        agreed.add(expected)
    assert agreed == {True, False}  # both outcomes were tried


def _collect(_id: int, start: int, _end: int, _flags: int, starts: list[int]) -> None:
    starts.append(start)


@pytest.mark.parametrize("exact", [True, False])
def test_a_guard_has_its_rules_case(exact: bool) -> None:
    guard = compile_guard("AQE", exact)
    assert guard.match(b"AQE") and (guard.match(b"aqe") is None) == exact


RULE = """
provider: demo
rules:
  - id: demo-token
    title: Demo token
    severity: high
    keywords: [dmo_key=]
    pattern: 'dmo_key=(?P<secret>[0-9A-Za-z]{20})(?![0-9A-Za-z])'
    keyword_guard: GUARD
    examples: ['dmo_key=Ab3dE5gH7jK9mN1pQ3sT']
"""


def test_a_rule_with_a_bad_guard_fails_to_load_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "demo.yaml").write_text(RULE.replace("GUARD", "'\\s*x'"))
    with pytest.raises(RuleError, match=r"demo.yaml:9: rule 'demo-token': keyword_guard"):
        RuleSet.load([tmp_path], builtin=False)


@pytest.mark.parametrize("kind", available_engines())
def test_a_guard_decides_which_hits_count(tmp_path: Path, kind: str) -> None:
    (tmp_path / "demo.yaml").write_text(RULE.replace("GUARD", "'[0-9A-Za-z]{20}'"))
    engine = Engine(RuleSet.load([tmp_path], builtin=False), kind)
    assert [f.rule_id for f in engine.scan_text("DMO_KEY=Ab3dE5gH7jK9mN1pQ3sT")] == []  # case
    assert [f.rule_id for f in engine.scan_text("dmo_key=Ab3dE5gH7jK9mN1pQ3sT")] == ["demo-token"]
    # a guard the pattern does not imply drops a finding: it is a filter, not a hint
    (tmp_path / "demo.yaml").write_text(RULE.replace("GUARD", "'[0-9A-Za-z]{21}'"))
    engine = Engine(RuleSet.load([tmp_path], builtin=False), kind)
    assert engine.scan_text("dmo_key=Ab3dE5gH7jK9mN1pQ3sT") == []


@pytest.mark.skipif("hyperscan" not in available_engines(), reason="hyperscan is not importable")
def test_a_changed_guard_compiles_a_new_cached_database(tmp_path: Path) -> None:
    cache = RuleCache(tmp_path / "cache")
    (tmp_path / "rules").mkdir()
    for guard in ("'[0-9A-Za-z]{20}'", "'[0-9A-Za-z]{21}'"):
        (tmp_path / "rules" / "demo.yaml").write_text(RULE.replace("GUARD", guard))
        Engine(RuleSet.load([tmp_path / "rules"], builtin=False), "hyperscan", rule_cache=cache)
    assert len(list(cache.directory.glob("*.hsdb"))) == 2
    engine = Engine(
        RuleSet.load([tmp_path / "rules"], builtin=False), "hyperscan", rule_cache=cache
    )
    assert engine.scan_text("dmo_key=Ab3dE5gH7jK9mN1pQ3sT") == []  # the {21} one, from the cache


@pytest.mark.parametrize("guard", ["'[0-9A-Za-z]+'", "'(?:x|[^=]){2,}'", "'[ ]*[D]*'"])
def test_an_unbounded_run_that_can_hold_a_keyword_is_refused(tmp_path: Path, guard: str) -> None:
    """``dmo_key=dmo_key=...``: a guard reading such a run to its end at every hit of the run
    would cost quadratic time (a caseless keyword's bytes count in both cases)."""
    (tmp_path / "demo.yaml").write_text(RULE.replace("GUARD", guard))
    with pytest.raises(RuleError, match="without bound a class that holds a keyword byte"):
        RuleSet.load([tmp_path], builtin=False)


def test_an_unbounded_run_of_other_bytes_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "demo.yaml").write_text(RULE.replace("GUARD", "'[ \\t]*[0-9A-Za-z]{0,20}'"))
    [rule] = RuleSet.load([tmp_path], builtin=False).rules
    assert rule.keyword_guard == "[ \\t]*[0-9A-Za-z]{0,20}"
