"""Inline allow markers: LeakGuard's own and those of gitleaks, trufflehog and detect-secrets."""

from __future__ import annotations

import pytest

from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet
from leakguard.engine.ruletest import available_engines

KEY = "sk_live_4eC39HqLyjWDarjtT1zdp7dc9f2c"
RULES = RuleSet.load()


@pytest.mark.parametrize("kind", available_engines())
@pytest.mark.parametrize(
    "text",
    [
        f'key = "{KEY}"  # leakguard:allow',
        f'key = "{KEY}"  # gitleaks:allow',
        f'key = "{KEY}"  // trufflehog:ignore',
        f'key = "{KEY}"  # pragma: allowlist secret',
        f'# pragma: allowlist nextline secret\nkey = "{KEY}"',
    ],
)
def test_a_marked_line_is_not_reported(kind: str, text: str) -> None:
    assert Engine(RULES, kind).scan_text(text) == []


@pytest.mark.parametrize("kind", available_engines())
@pytest.mark.parametrize(
    "text",
    [
        f'key = "{KEY}"',
        f'# gitleaks:allow\nkey = "{KEY}"',  # a same-line marker covers its own line only
        f'# pragma: allowlist nextline secret\nother = 1\nkey = "{KEY}"',  # only the next line
        f'key = "{KEY}"\n# pragma: allowlist secret',
    ],
)
def test_a_marker_elsewhere_does_not_hide_it(kind: str, text: str) -> None:
    assert [f.rule_id for f in Engine(RULES, kind).scan_text(text)] == ["stripe-live-secret-key"]


@pytest.mark.parametrize("kind", available_engines())
def test_markers_are_looked_for_beside_the_match_not_across_a_huge_line(kind: str) -> None:
    """A minified bundle is one long line: a marker far from a key on it does not hide the key
    (and the search around each match stays bounded)."""
    line = f'a="{KEY}";' + "x" * 5000 + "// gitleaks:allow"
    assert [f.rule_id for f in Engine(RULES, kind).scan_text(line)] == ["stripe-live-secret-key"]
    near = f'a="{KEY}"; // gitleaks:allow ' + "x" * 5000
    assert Engine(RULES, kind).scan_text(near) == []


@pytest.mark.parametrize("kind", available_engines())
def test_a_marker_covers_a_key_built_from_concatenated_literals(kind: str) -> None:
    half = len(KEY) // 2
    built = f'KEY = "{KEY[:half]}" + "{KEY[half:]}"'
    assert [f.rule_id for f in Engine(RULES, kind).scan(_chunk(built), 2)] == [
        "stripe-live-secret-key"
    ]
    assert Engine(RULES, kind).scan(_chunk(built + "  # leakguard:allow"), 2) == []


def _chunk(text: str):  # type: ignore[no-untyped-def]
    from leakguard.model import Chunk, Location

    return Chunk(text.encode(), Location("x.py", 1, 1))


@pytest.mark.parametrize("kind", available_engines())
@pytest.mark.parametrize("filler", [0, 120_000])
def test_a_marker_hides_its_line_among_many_matches(kind: str, filler: int) -> None:
    """The keyword pass notes that a chunk holds a marker; each match's line is then checked."""
    lines = [f'key{i} = "{KEY}"' for i in range(6)]
    lines[3] += "  # gitleaks:allow"
    text = "\n".join(lines) + "\n" + "# " + "x" * filler + "\n"
    lines_found = [f.location.line for f in Engine(RULES, kind).scan_text(text)]
    assert lines_found == [1, 2, 3, 5, 6]
