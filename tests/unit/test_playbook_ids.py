"""Every detector rule names a playbook in ``rotation:`` (a shipped file or a provider-steps
entry), every playbook loads (validated against the real action registry), and no provider's
key is rotated by the generic playbook that would replace it with a random string."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.backends.manual import StepsCatalog
from leakguard.engine.rules import RuleSet
from leakguard.rotation.actions import REGISTRY
from leakguard.rotation.providers import playbook_ids, resolve_playbook
from leakguard.rotation.schema import Playbook, load_playbook
from tests.support.playbooks import SHIPPED_PLAYBOOK_IDS

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
FILES = sorted(p.stem for p in PLAYBOOKS.glob("*.yaml"))
CATALOG = StepsCatalog.load()
ALL_IDS = sorted(playbook_ids(CATALOG))
# Playbooks that replace the value by one they generate: only for secrets the team owns.
GENERATED = {"generic-app-secret", "vault-kv-secret", "aws-secretsmanager-secret"}


def _load(playbook_id: str) -> Playbook:
    return resolve_playbook(playbook_id, REGISTRY, CATALOG)


def test_the_seven_playbooks_are_shipped() -> None:
    assert set(FILES) >= SHIPPED_PLAYBOOK_IDS


def test_every_rule_names_a_playbook() -> None:
    rules = RuleSet.load().rules
    assert rules, "no detector rules loaded"
    missing = sorted(
        f"{rule.id} -> {rule.rotation!r}"
        for rule in rules
        if not rule.rotation or rule.rotation not in ALL_IDS
    )
    assert not missing, f"rules whose rotation names no playbook: {missing}"


def test_provider_keys_are_not_rotated_by_a_generated_value() -> None:
    generic = sorted(r.id for r in RuleSet.load().rules if r.rotation in GENERATED)
    assert not generic, f"rules rotated by a generic playbook: {generic}"


def test_provider_steps_match_the_rules() -> None:
    """Each entry's provider has rules, the rules it names exist and belong to it, and a rule
    that names an entry is of that entry's provider."""
    rules = RuleSet.load().rules
    provider_of = {r.id: r.provider for r in rules}
    for entry in CATALOG.entries.values():
        assert entry.provider in provider_of.values(), f"{entry.source}: no rule of the provider"
        for rule_id in entry.rules:
            assert provider_of.get(rule_id) == entry.provider, f"{entry.source}: {rule_id}"
    for rule in rules:
        entry = CATALOG.entries.get(rule.rotation or "")
        if entry is not None:
            assert entry.provider == rule.provider, f"{rule.id} -> {rule.rotation}"


def test_every_provider_playbook_shows_its_steps() -> None:
    from leakguard.backends.manual import ManualIssuer

    for entry in CATALOG.entries.values():
        issuer = ManualIssuer(entry.provider, credential=entry.playbook, catalog=CATALOG)
        assert issuer.steps().startswith(f"Roll the {entry.title}:\n  1. "), entry.playbook
        assert issuer.steps(revoke=True).startswith("Revoke the old"), entry.playbook


@pytest.mark.parametrize("playbook_id", FILES)
def test_shipped_playbook_file_loads(playbook_id: str) -> None:
    playbook = load_playbook(PLAYBOOKS / f"{playbook_id}.yaml", REGISTRY)
    assert playbook.id == playbook_id


@pytest.mark.parametrize("playbook_id", ALL_IDS)
def test_playbook_loads(playbook_id: str) -> None:
    playbook = _load(playbook_id)
    assert playbook.id == playbook_id
    assert playbook.stages["verify"], "verify stage is mandatory"
    for stage in ("map", "rotate"):
        assert playbook.stages[stage], f"{playbook_id} has an empty {stage} stage"


@pytest.mark.parametrize("playbook_id", ALL_IDS)
def test_irreversible_steps_follow_an_approval(playbook_id: str) -> None:
    playbook = _load(playbook_id)
    steps = list(playbook.steps)
    for index, step in enumerate(steps):
        spec = REGISTRY[step.uses].spec
        if spec.irreversible:
            assert step.irreversible, f"{step.id} uses {step.uses} but is not marked irreversible"
            assert any(s.uses == "approval" for s in steps[:index]), f"no approval before {step.id}"
        if spec.mutating and spec.compensation and step.compensate is not None:
            assert step.compensate.uses in REGISTRY


@pytest.mark.parametrize("playbook_id", ALL_IDS)
def test_secret_values_only_travel_as_handles(playbook_id: str) -> None:
    """A step parameter named value/secret is always a reference to an earlier step's handle."""
    playbook = _load(playbook_id)
    for step in playbook.steps:
        for key in ("value", "secret"):
            if key in step.with_:
                assert str(step.with_[key]).startswith("${steps."), (step.id, key)
