from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet
from leakguard.model import Chunk, Location

RULES = """
provider: demo
rules:
  - id: demo-token
    title: Demo token
    severity: high
    keywords: [dmo_]
    pattern: '(?P<secret>dmo_[0-9A-Za-z]{20})(?![0-9A-Za-z])'
    examples: ['t = dmo_Ab3dE5gH7jK9mN1pQ3sT']
"""


@pytest.fixture()
def ruleset(tmp_path: Path) -> RuleSet:
    (tmp_path / "demo.yaml").write_text(RULES)
    return RuleSet.load([tmp_path], builtin=False)


@pytest.mark.parametrize("kind", ["hyperscan", "re"])
def test_line_and_column_are_one_based(ruleset: RuleSet, kind: str) -> None:
    engine = Engine(ruleset, kind)
    [f] = engine.scan_text("first line\n  x = dmo_Ab3dE5gH7jK9mN1pQ3sT\n")
    assert (f.location.line, f.location.column) == (2, 7)
    assert f.redacted == "dmo_…Q3sT"
    assert f.secret is None


@pytest.mark.parametrize("kind", ["hyperscan", "re"])
def test_report_range_owns_matches_by_start(ruleset: RuleSet, kind: str) -> None:
    engine = Engine(ruleset, kind)
    data = b"dmo_Ab3dE5gH7jK9mN1pQ3sT dmo_Zb3dE5gH7jK9mN1pQ3sT"
    owned_first = Chunk(data, Location("f", 1, 1), report_until=10)
    owned_second = Chunk(data, Location("f", 1, 1), report_from=10)
    assert len(engine.scan(owned_first)) == 1
    assert len(engine.scan(owned_second)) == 1


def test_allow_marker_suppresses_only_its_line(ruleset: RuleSet) -> None:
    engine = Engine(ruleset, "re")
    text = "a = dmo_Ab3dE5gH7jK9mN1pQ3sT  # leakguard:allow\nb = dmo_Zb3dE5gH7jK9mN1pQ3sT\n"
    [f] = engine.scan_text(text)
    assert f.location.line == 2
