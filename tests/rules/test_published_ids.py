"""Published rule ids are forever: baselines and suppressions name them."""

from __future__ import annotations

from pathlib import Path

from leakguard.engine.rules import RuleSet

SNAPSHOT = Path(__file__).with_name("published_rule_ids.txt")


def _published() -> set[str]:
    lines = SNAPSHOT.read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def test_no_published_rule_id_is_removed_or_renamed() -> None:
    shipped = {rule.id for rule in RuleSet.load().rules}
    missing = sorted(_published() - shipped)
    assert not missing, f"published rule ids no longer shipped (never rename or remove): {missing}"


def test_every_shipped_rule_id_is_recorded_as_published() -> None:
    shipped = {rule.id for rule in RuleSet.load().rules}
    new = sorted(shipped - _published())
    assert not new, f"append these new rule ids to {SNAPSHOT.name}: {new}"
