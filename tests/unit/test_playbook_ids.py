"""Every detector rule names a shipped playbook in ``rotation:``, and every shipped playbook
loads (validated against the real action registry)."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.engine.rules import RuleSet
from leakguard.rotation.actions import REGISTRY
from leakguard.rotation.schema import load_playbook
from tests.support.playbooks import SHIPPED_PLAYBOOK_IDS

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
SHIPPED = sorted(p.stem for p in PLAYBOOKS.glob("*.yaml"))


def test_the_seven_playbooks_are_shipped() -> None:
    assert set(SHIPPED) >= SHIPPED_PLAYBOOK_IDS


def test_every_rule_names_a_shipped_playbook() -> None:
    rules = RuleSet.load().rules
    assert rules, "no detector rules loaded"
    missing = sorted(
        f"{rule.id} -> {rule.rotation!r}"
        for rule in rules
        if not rule.rotation or rule.rotation not in SHIPPED
    )
    assert not missing, f"rules whose rotation names no shipped playbook: {missing}"


@pytest.mark.parametrize("playbook_id", SHIPPED)
def test_shipped_playbook_loads(playbook_id: str) -> None:
    playbook = load_playbook(PLAYBOOKS / f"{playbook_id}.yaml", REGISTRY)
    assert playbook.id == playbook_id
    assert playbook.stages["verify"], "verify stage is mandatory"
    for stage in ("map", "rotate"):
        assert playbook.stages[stage], f"{playbook_id} has an empty {stage} stage"


@pytest.mark.parametrize("playbook_id", SHIPPED)
def test_irreversible_steps_follow_an_approval(playbook_id: str) -> None:
    playbook = load_playbook(PLAYBOOKS / f"{playbook_id}.yaml", REGISTRY)
    steps = list(playbook.steps)
    for index, step in enumerate(steps):
        spec = REGISTRY[step.uses].spec
        if spec.irreversible:
            assert step.irreversible, f"{step.id} uses {step.uses} but is not marked irreversible"
            assert any(s.uses == "approval" for s in steps[:index]), f"no approval before {step.id}"
        if spec.mutating and spec.compensation and step.compensate is not None:
            assert step.compensate.uses in REGISTRY


@pytest.mark.parametrize("playbook_id", SHIPPED)
def test_secret_values_only_travel_as_handles(playbook_id: str) -> None:
    """A step parameter named value/secret is always a reference to an earlier step's handle."""
    playbook = load_playbook(PLAYBOOKS / f"{playbook_id}.yaml", REGISTRY)
    for step in playbook.steps:
        for key in ("value", "secret"):
            if key in step.with_:
                assert str(step.with_[key]).startswith("${steps."), (step.id, key)
