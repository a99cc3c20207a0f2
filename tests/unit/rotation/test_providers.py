"""Provider-steps playbooks: one template, filled in per entry; playbook files keep precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.backends.manual import ProviderSteps, StepsCatalog
from leakguard.errors import PlaybookError
from leakguard.rotation.actions import REGISTRY
from leakguard.rotation.providers import (
    playbook_ids,
    provider_playbook,
    provider_playbook_text,
    provider_playbooks,
    resolve_playbook,
    shipped_ids,
    template_path,
)
from leakguard.rotation.schema import load_playbook
from tests.support.cli import run_cli

CATALOG = StepsCatalog.load()


def _entry(title: str = "ACME API key") -> ProviderSteps:
    return ProviderSteps("acme", title, ("Roll it.",), ("Revoke it.",), playbook="acme-api-key")


def test_an_entry_becomes_the_manual_flow_with_its_own_id_and_backend() -> None:
    playbook = provider_playbook(_entry(), REGISTRY)
    assert playbook.id == "acme-api-key"
    assert playbook.title == "Rotate a leaked ACME API key (rolled by an operator)"
    dashboard = playbook.backends["dashboard"]
    assert (dashboard.kind, dict(dashboard.params)) == (
        "manual",
        {"provider": "acme", "credential": "acme-api-key"},
    )
    uses = [s.uses for s in playbook.steps]
    for action in ("issuer.issue", "store.put_pending", "verify.new_credential_works"):
        assert action in uses
    assert uses.index("approval") < uses.index("issuer.revoke")
    assert "__" not in playbook.text


def test_titles_are_escaped_into_the_yaml() -> None:
    title = 'key "prod": #1 \\ {x}'
    text = provider_playbook_text(_entry(title), template_path().read_text())
    playbook = load_playbook(template_path(), REGISTRY, text=text)
    assert playbook.title == f"Rotate a leaked {title} (rolled by an operator)"


def test_a_run_reloads_from_the_journaled_text_alone(tmp_path: Path) -> None:
    playbook = provider_playbook(_entry(), REGISTRY)
    again = load_playbook(tmp_path / "gone.yaml", REGISTRY, text=playbook.text)
    assert again.id == playbook.id and again.sha256 == playbook.sha256


def test_resolution_order() -> None:
    assert resolve_playbook("stripe-key", REGISTRY).path.name == "stripe-key.yaml"
    assert "stripe-key" in CATALOG.entries  # its steps are data, its playbook stays a file
    openai = resolve_playbook("openai-api-key", REGISTRY)
    assert openai.path == template_path() and openai.id == "openai-api-key"
    with pytest.raises(PlaybookError, match="no playbook 'nope'") as info:
        resolve_playbook("nope", REGISTRY)
    assert "shipped playbooks:" in info.value.diagnostics()


def test_every_entry_is_a_playbook_and_files_are_not_duplicated() -> None:
    ids = playbook_ids(CATALOG)
    assert shipped_ids() | set(CATALOG.entries) == ids
    generated = {p.id for p in provider_playbooks(REGISTRY, CATALOG)}
    assert generated == set(CATALOG.entries) - shipped_ids()


def test_cli_lists_and_shows_provider_playbooks() -> None:
    code, out = run_cli(["playbook", "list"])
    assert code == 0 and "openai-api-key" in out and "stripe-key" in out
    code, out = run_cli(["playbook", "show", "openai-api-key"])
    assert code == 0 and "manual" in out and "issuer.revoke" in out
