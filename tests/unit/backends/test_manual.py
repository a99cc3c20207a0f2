from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.backends.interface import KeyIssuer
from leakguard.backends.manual import PROVIDERS, ManualIssuer, steps_text
from leakguard.engine.rules import RuleSet
from leakguard.errors import BackendError, UsageError

STRIPE_KEY = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc9f2cQ"
GITHUB_RULE = """provider: github
rules:
  - id: test-github-pat
    title: GitHub personal access token
    severity: high
    keywords: [ghp_]
    pattern: '(?P<secret>ghp_[0-9A-Za-z]{36})(?![0-9A-Za-z])'
    examples: ['ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d']
    negative_examples: ['ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx']
"""


@pytest.fixture()
def rules(tmp_path: Path) -> RuleSet:
    rule_dir = tmp_path / "rules"
    rule_dir.mkdir()
    (rule_dir / "github.yaml").write_text(GITHUB_RULE)
    stripe = Path(__file__).resolve().parents[3] / "detectors" / "stripe.yaml"
    (rule_dir / "stripe.yaml").write_text(stripe.read_text())
    return RuleSet.load([rule_dir], builtin=False)


def test_steps_for_every_provider() -> None:
    for provider in ("stripe", "github", "supabase", "openai"):
        assert provider in PROVIDERS
        text = steps_text(provider)
        assert "1." in text and "https://" in text
        assert "Revoke" in steps_text(provider, revoke=True)
    with pytest.raises(UsageError):
        steps_text("myspace")


def test_prompted_value_is_checked_against_the_providers_rules(rules: RuleSet) -> None:
    shown: list[str] = []

    def prompt(text: str) -> str:
        shown.append(text)
        return f"  {STRIPE_KEY}\n"

    issuer = ManualIssuer("stripe", prompt=prompt, ruleset=rules)
    assert isinstance(issuer, KeyIssuer)
    key = issuer.issue("payments", "run:issue")
    assert key.secret == {"value": STRIPE_KEY}
    assert "Roll key" in shown[0]
    assert STRIPE_KEY not in repr(key) and STRIPE_KEY not in key.key_id
    assert issuer.issue("payments", "run:issue") == key and len(shown) == 1
    assert issuer.works(key)


@pytest.mark.parametrize(
    "value",
    [
        "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d",  # another provider's key
        STRIPE_KEY[:20],  # truncated copy
        "sk_live_xxxxxxxxxxxxxxxxxxxxxxxxxxxx",  # placeholder
        f"STRIPE_SECRET_KEY={STRIPE_KEY}",  # more than the key
        "",
    ],
)
def test_wrong_values_are_refused_without_echoing_them(rules: RuleSet, value: str) -> None:
    issuer = ManualIssuer("stripe", prompt=lambda _: value, ruleset=rules)
    with pytest.raises(BackendError) as info:
        issuer.issue("payments", "t")
    if len(value) > 12:
        assert value not in info.value.diagnostics()


def test_value_from_a_private_file(rules: RuleSet, tmp_path: Path) -> None:
    path = tmp_path / "new-key"
    path.write_text("ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d\n")
    path.chmod(0o644)
    issuer = ManualIssuer("github", value_file=path, ruleset=rules)
    with pytest.raises(BackendError, match="readable by other users"):
        issuer.issue("ci", "t")
    path.chmod(0o600)
    assert issuer.issue("ci", "t").secret["value"].startswith("ghp_")


def test_provider_without_a_rule(rules: RuleSet) -> None:
    issuer = ManualIssuer("openai", prompt=lambda _: "sk-proj-abc", ruleset=rules)
    with pytest.raises(BackendError, match="no detector rule"):
        issuer.issue("llm", "t")


def test_revocation_needs_the_operator(rules: RuleSet) -> None:
    with pytest.raises(BackendError, match="operator must confirm"):
        ManualIssuer("stripe", ruleset=rules).deactivate("payments", "sk_live_…9f2c")
    with pytest.raises(BackendError, match="did not confirm"):
        ManualIssuer("stripe", confirm=lambda _: False, ruleset=rules).delete("p", "k")
    asked: list[str] = []
    ManualIssuer("stripe", confirm=lambda t: asked.append(t) or True, ruleset=rules).deactivate(
        "payments", "sk_live_…9f2c"
    )
    assert "Expire key now" in asked[0]


def test_no_prompt_and_no_file(rules: RuleSet) -> None:
    with pytest.raises(BackendError, match="supplied by an operator"):
        ManualIssuer("stripe", ruleset=rules).issue("p", "t")
