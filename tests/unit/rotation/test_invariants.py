"""The runner's invariants on their own: which playbooks make up values, which fields hold a
leak, and when a playbook is refused (end to end: tests/integration/test_playbook_invariants.py)."""

from __future__ import annotations

import pytest

from leakguard.backends.interface import data_fingerprint
from leakguard.redact import fingerprint
from leakguard.rotation.invariants import (
    Preflight,
    _check_playbook,
    generates,
    leaked_fields,
    team_owned,
)
from leakguard.rotation.schema import find_playbook, load_playbook


@pytest.mark.parametrize(
    ("playbook", "makes_values"),
    [
        ("vault-kv-secret", True),
        ("aws-secretsmanager-secret", True),
        ("generic-app-secret", True),
        ("stripe-key", False),
        ("github-token", False),
        ("supabase-service-role", False),
        ("aws-iam-access-key", False),
    ],
)
def test_which_shipped_playbooks_generate_values(playbook: str, makes_values: bool) -> None:
    assert generates(load_playbook(find_playbook(playbook))) is makes_values
    assert team_owned(playbook) is makes_values


def test_leaked_fields_name_each_field_and_the_whole_secret() -> None:
    data = {"api_key": "k-1", "backup": "k-1", "user": "app"}
    assert leaked_fields(data, [fingerprint("k-1")]) == ["api_key", "backup"]
    assert leaked_fields(data, [data_fingerprint(data)]) == ["*"]
    assert leaked_fields(data, [fingerprint("other")]) == []


def _facts(expected: str | None) -> Preflight:
    return Preflight("sha256:ab", ["sha256:ab"], "some-rule", expected)


@pytest.mark.parametrize(
    ("expected", "playbook", "override", "refused", "overridden"),
    [
        ("stripe-key", "stripe-key", None, False, False),
        ("generic-app-secret", "vault-kv-secret", None, False, False),  # both team-owned
        ("stripe-key", "vault-kv-secret", None, True, False),
        ("stripe-key", "vault-kv-secret", "drill", True, False),  # no override for this
        ("stripe-key", "github-token", None, True, False),
        ("stripe-key", "github-token", "drill", False, True),
        (None, "vault-kv-secret", None, False, False),  # unknown rule: noted, not checked
    ],
)
def test_the_playbook_check(
    expected: str | None, playbook: str, override: str | None, refused: bool, overridden: bool
) -> None:
    facts = _facts(expected)
    _check_playbook(facts, load_playbook(find_playbook(playbook)), override)
    assert (facts.refusal is not None) is refused
    assert (facts.override is not None) is overridden
    if refused:
        assert expected is not None and expected in facts.refusal[1]  # type: ignore[index]
    if expected is None:
        assert facts.notes


def test_a_rule_whose_playbook_depends_on_its_match_names_none_without_the_match() -> None:
    from leakguard.rotation.invariants import _rule_playbook

    assert _rule_playbook("postgres-url-password") == "postgres-role-password"
    # jdbc:postgresql:… and jdbc:sqlserver:… name different playbooks: the rule id alone cannot
    assert _rule_playbook("jdbc-url-password") is None
    assert _rule_playbook("no-such-rule") is None and _rule_playbook(None) is None
