"""The provider step of template-built playbooks: present exactly when one verifier checks every
credential kind the playbook rotates, absent (never a step that passes unchecked) otherwise."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from leakguard.backends.manual import ProviderSteps, StepsCatalog
from leakguard.engine.rules import RuleSet
from leakguard.model import Finding, Location, Severity
from leakguard.rotation.actions import REGISTRY
from leakguard.rotation.providers import (
    provider_playbook,
    provider_playbook_text,
    provider_playbooks,
    template_path,
)
from leakguard.rotation.schema import Playbook, load_playbook
from leakguard.verify.coverage import NOT_CHECKABLE, common_verifier, verifier_for_rule
from leakguard.verify.runner import VerifyOptions, verifier_for

ROOT = Path(__file__).resolve().parents[3]
ACTION = "verify.provider_rejects_old"
CATALOG = StepsCatalog.load()
RULES = RuleSet.load()
PLAYBOOKS = {p.id: p for p in provider_playbooks(REGISTRY, CATALOG)}

#: reviewed by hand against detectors/ and the verifier table (docs/verify.md lists the same)
WITH_STEP = {
    "anthropic-admin-key": "anthropic",
    "anthropic-api-key": "anthropic",
    "cohere-api-key": "cohere",
    "datadog-api-key": "datadog",
    "discord-bot-token": "discord",
    "figma-token": "figma",
    "gitlab-token": "gitlab",
    "google-api-key": "google",
    "groq-api-key": "groq",
    "heroku-api-key": "heroku",
    "huggingface-access-token": "huggingface",
    "huggingface-org-api-token": "huggingface",
    "linear-api-key": "linear",
    "mailgun-api-key": "mailgun",
    "mistral-api-key": "mistral",
    "netlify-access-token": "netlify",
    "notion-integration-token": "notion",
    "npm-token": "npm",
    "openai-admin-key": "openai",
    "openai-api-key": "openai",
    "pagerduty-api-key": "pagerduty",
    "postman-api-key": "postman",
    "pulumi-access-token": "pulumi",
    "pypi-token": "pypi",
    "replicate-api-token": "replicate",
    "sendgrid-api-key": "sendgrid",
    "sentry-token": "sentry",
    "shopify-app-credential": "shopify",
    "slack-app-level-token": "slack",
    "slack-configuration-token": "slack",
    "snyk-api-token": "snyk",
    "telegram-bot-token": "telegram",
    "terraform-cloud-token": "terraform",
}


def _step_verifier(playbook: Playbook) -> str | None:
    steps = [s for s in playbook.steps if s.uses == ACTION]
    assert len(steps) <= 1, playbook.id
    return str(steps[0].with_["verifier"]) if steps else None


def _scan_verifier(provider: str, rule_id: str) -> str | None:
    """What ``scan --verify`` asks about a finding of ``rule_id`` (its own dispatch)."""
    finding = Finding(rule_id, provider, "", Severity.HIGH, "", "", "test", Location(""))
    verifier = verifier_for(finding, VerifyOptions())
    return verifier.name if verifier is not None else None


def test_the_playbooks_with_the_step_are_the_reviewed_ones() -> None:
    found = {pid: _step_verifier(p) for pid, p in PLAYBOOKS.items()}
    assert {pid: v for pid, v in found.items() if v is not None} == WITH_STEP


@pytest.mark.parametrize("playbook_id", sorted(PLAYBOOKS))
def test_the_step_is_there_exactly_when_one_verifier_checks_every_rotated_rule(
    playbook_id: str,
) -> None:
    entry = CATALOG.entries[playbook_id]
    rotated = {r.id for r in RULES.rules if r.rotation == playbook_id} | set(entry.rules)
    scan = {_scan_verifier(entry.provider, rule_id) for rule_id in rotated}
    checkable = (
        len(scan) == 1
        and None not in scan
        and not (scan & set(NOT_CHECKABLE))
        and not (rotated & set(NOT_CHECKABLE))
    )
    playbook = PLAYBOOKS[playbook_id]
    verifier = _step_verifier(playbook)
    if not checkable:
        assert verifier is None, (playbook_id, scan)
        assert "provider_old" not in playbook.outputs
        assert "provider_check" not in playbook.inputs
        return
    assert verifier == next(iter(scan))
    step = next(s for s in playbook.steps if s.uses == ACTION)
    # skipped in rehearsals, like the files; turned off only by an explicit, journaled input
    assert step.when == "${run.mode != 'rehearse' and inputs.provider_check}"
    assert playbook.inputs["provider_check"].default is True
    assert step.retry is not None and step.retry.attempts > 1
    ids = [s.id for s in playbook.steps]
    assert ids.index("revoke-old") < ids.index(step.id)  # asked only after the revocation
    assert set(playbook.outputs) >= {"provider_old", "provider_new"}


def test_coverage_answers() -> None:
    assert verifier_for_rule("openai", "openai-project-key") == "openai"
    assert verifier_for_rule("slack", "slack-webhook-url") is None  # no verifier checks it
    assert verifier_for_rule("twilio", "twilio-auth-token") is None  # needs the SID pair
    assert verifier_for_rule("github", "github-oauth-client-secret") is None
    assert verifier_for_rule("acme", "acme-key") is None
    assert verifier_for_rule("vercel", "vercel-access-token") is None  # undocumented revoked
    assert verifier_for_rule("sentry", "sentry-auth-token-legacy") == "sentry"
    assert verifier_for_rule("shopify", "shopify-private-app-token") == "shopify"
    assert verifier_for_rule("shopify", "shopify-shared-secret") is None
    assert (
        common_verifier("newrelic", ["newrelic-user-api-key", "newrelic-insights-insert-key"])
        is None
    )
    assert common_verifier("slack", ["slack-bot-token", "slack-refresh-token"]) is None
    assert common_verifier("slack", ["slack-bot-token", "slack-user-token"]) == "slack"
    assert common_verifier("openai", []) is None


def test_only_the_shopify_playbook_asks_for_a_shop_and_passes_it_to_its_step() -> None:
    for pid, playbook in PLAYBOOKS.items():
        step = next((s for s in playbook.steps if s.uses == ACTION), None)
        if pid == "shopify-app-credential":
            assert playbook.inputs["shop"].required
            assert step is not None and step.with_["shopify_shop"] == "${inputs.shop}"
        else:
            assert "shop" not in playbook.inputs, pid
            assert step is None or "shopify_shop" not in step.with_, pid
        assert "__SHOPIFY_SHOP__" not in playbook.text, pid


def test_an_entry_without_a_verifier_has_no_step_and_no_marker_left() -> None:
    entry = ProviderSteps("acme", "ACME key", ("Roll.",), ("Revoke.",), playbook="acme-key")
    playbook = provider_playbook(entry, REGISTRY, rules=RULES)
    assert ACTION not in [s.uses for s in playbook.steps]
    assert "__" not in playbook.text and "provider-rejects-old" not in playbook.text


def test_the_journaled_text_alone_reloads_with_the_step(tmp_path: Path) -> None:
    text = provider_playbook_text(
        CATALOG.entries["gitlab-token"], template_path().read_text(), RULES
    )
    assert "__" not in text
    again = load_playbook(tmp_path / "gone.yaml", REGISTRY, text=text)
    assert _step_verifier(again) == "gitlab"


def test_docs_list_the_playbooks_with_the_step() -> None:
    doc = (ROOT / "docs" / "verify.md").read_text(encoding="utf-8")
    section = doc[doc.index("### Template-built playbooks") :]
    section = section[: section.index("\n#", 1)] if "\n#" in section[1:] else section
    listed = dict(re.findall(r"^\| `([a-z0-9-]+)` \| `?([a-z]+)`? \|", section, re.M))
    assert listed == WITH_STEP
