"""Catastrophic patterns: rejected at load (nested repetitions), or stopped by the time budget
a user rule runs under (what the load-time check cannot see)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from leakguard.engine.matcher import Engine
from leakguard.engine.redos import nested_repetition
from leakguard.engine.rules import RuleSet
from leakguard.errors import RuleError


@pytest.mark.parametrize(
    "pattern",
    [
        r"(a+)+b",
        r"(a*)*b",
        r"(?:\w+\s?)+$",
        r"(?:x+|y)+z",
        r"((a+){2})+",
        r"(?:a{1,5})*b",
        r"(?:a{1,300})*",
        r"k=(?P<secret>(?:[0-9a-f]+)+)",
    ],
)
def test_nested_repetitions_are_found(pattern: str) -> None:
    assert nested_repetition(pattern) == "a repetition inside an unbounded repetition"


@pytest.mark.parametrize(
    "pattern",
    [
        r"sk_live_[0-9A-Za-z]{24,247}",
        r"(?:-[a-z]+)+",  # each turn needs a '-' the inner loop cannot take
        r"(?:[0-9a-f]{2})+",  # fixed length inside
        r"(?:ab?)+",
        r"(?>a+)+",  # atomic: never backtracks
        r"(?:a++)+",  # possessive
        r"(?:\d{1,3}\.){3}\d{1,3}",  # the outer repetition is small
    ],
)
def test_safe_shapes_are_accepted(pattern: str) -> None:
    assert nested_repetition(pattern) is None


def test_every_shipped_rule_passes_the_check() -> None:
    rules = RuleSet.load().rules
    assert rules and all(nested_repetition(r.pattern.pattern) is None for r in rules)
    assert not any(r.user_supplied for r in rules)


RULE = """\
provider: custom
rules:
  - id: custom-ok
    title: fine
    severity: low
    keywords: [tok_]
    pattern: 'tok_[0-9]{{8}}'
    examples: ['tok_12345678']
  - id: custom-slow
    title: Slow
    severity: high
    keywords: [aa]
    pattern: '{pattern}'
    examples: ['aab']
"""


def test_a_nested_repetition_is_a_load_error_naming_rule_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "custom.yaml").write_text(RULE.format(pattern="(a+)+b"))
    with pytest.raises(RuleError) as info:
        RuleSet.load([tmp_path])
    message = info.value.diagnostics()
    assert f"{tmp_path / 'custom.yaml'}:13: rule 'custom-slow': pattern has a repetition" in message
    assert "possessive" in message


def test_a_backtracking_user_rule_is_stopped_by_its_budget_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "custom.yaml").write_text(RULE.format(pattern="(?:a|aa)+b"))
    ruleset = RuleSet.load([tmp_path])
    assert {r.id for r in ruleset.rules if r.user_supplied} == {"custom-ok", "custom-slow"}
    engine = Engine(ruleset, "re", rule_budget_seconds=0.5)
    text = "a" * 20_000 + "\ntok_12345678\n"
    started = time.monotonic()
    first = engine.scan_text(text)
    assert time.monotonic() - started < 30  # hours without the budget
    (notice,) = engine.take_notices()
    assert notice.startswith("rule 'custom-slow' (") and "took over 0.5s" in notice
    assert engine.take_notices() == []
    # skipped from now on, at no cost; the other rules still match
    started = time.monotonic()
    again = engine.scan_text(text)
    assert time.monotonic() - started < 5
    assert [f.rule_id for f in first] == [f.rule_id for f in again] == ["custom-ok"]


@pytest.mark.parametrize("pattern", [r"(?x) (a+) +", r"(?ix)(?: \w+ \s? ) *", r"(?x)(a*) {2,}"])
def test_verbose_patterns_are_still_checked(pattern: str) -> None:
    """Patterns without a quantified group skip the parse; verbose mode (blanks between a
    group and its quantifier) never does."""
    assert nested_repetition(pattern) is not None
