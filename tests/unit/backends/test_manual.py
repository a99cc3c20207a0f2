from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.backends.interface import KeyIssuer
from leakguard.backends.manual import ManualIssuer, StepsCatalog, parse_steps_file, steps_text
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
    catalog = StepsCatalog.load()
    for provider in ("stripe", "github", "supabase", "openai"):
        assert provider in catalog.providers()
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
    with pytest.raises(BackendError, match="operator must confirm") as refused:
        ManualIssuer("stripe", ruleset=rules).deactivate("payments", "sk_live_…9f2c")
    assert "playbook resume" in (refused.value.hint or "")
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


STEPS = """provider: acme
credentials:
  - playbook: acme-api-key
    title: ACME API key
    format: 'acme_[0-9a-f]{32}'
    roll: ["Open the ACME console.", "Paste it here."]
    revoke: ["Delete the old key."]
  - playbook: acme-deploy-key
    title: ACME deploy key
    rules: [test-github-pat]
    roll: ["Open the deploy keys page."]
    revoke: ["Delete it."]
"""


@pytest.fixture()
def catalog(tmp_path: Path) -> StepsCatalog:
    steps = tmp_path / "providers"
    steps.mkdir()
    (steps / "acme.yaml").write_text(STEPS)
    return StepsCatalog.load(steps)


def test_a_provider_credential_is_checked_against_its_format(catalog: StepsCatalog) -> None:
    good = "acme_" + "3f9a" * 8
    issuer = ManualIssuer("acme", prompt=lambda _: good, catalog=catalog)
    assert issuer.credential == "acme-api-key"
    steps = "Roll the ACME API key:\n  1. Open the ACME console.\n  2. Paste it here."
    assert issuer.steps() == steps
    assert issuer.issue("svc", "t").secret == {"value": good}
    refused = r"not a complete acme key \(expected: ACME API key\)"
    for bad in ("acme_" + "0" * 32, good[:-1], f"KEY={good}"):
        with pytest.raises(BackendError, match=refused):
            ManualIssuer("acme", prompt=lambda _, b=bad: b, catalog=catalog).issue("svc", "t")


def test_a_provider_credential_is_checked_against_the_rules_it_names(
    catalog: StepsCatalog, rules: RuleSet
) -> None:
    issuer = ManualIssuer(
        "acme",
        credential="acme-deploy-key",
        prompt=lambda _: "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d",
        ruleset=rules,
        catalog=catalog,
    )
    assert "deploy keys page" in issuer.steps() and "Delete it." in issuer.steps(revoke=True)
    assert issuer.issue("svc", "t").secret["value"].startswith("ghp_")
    stripe = ManualIssuer(
        "acme", credential="acme-deploy-key", prompt=lambda _: STRIPE_KEY, ruleset=rules,
        catalog=catalog,
    )  # fmt: skip
    with pytest.raises(BackendError):
        stripe.issue("svc", "t")


def test_unknown_credentials_and_providers(catalog: StepsCatalog) -> None:
    with pytest.raises(UsageError, match="'acme-nope'") as info:
        ManualIssuer("acme", credential="acme-nope", catalog=catalog)
    assert "acme-api-key, acme-deploy-key" in info.value.diagnostics()
    with pytest.raises(UsageError, match="provider 'globex'") as info:
        ManualIssuer("globex", catalog=catalog)
    assert "known providers: acme" in info.value.diagnostics()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("provider: other\ncredentials: []\n", "provider must equal the file name"),
        ("provider: acme\ncredentials: []\n", "credentials must be a list"),
        ("provider: acme\n", "has 'provider' and 'credentials'"),
        (STEPS.replace("format: 'acme_", "format: '(acme_"), "invalid format"),
        (STEPS.replace('    revoke: ["Delete it."]', "    revoke: []"), "at least one step"),
        (STEPS.replace("playbook: acme-api-key", "playbook: Acme_Key"), "playbook must be an id"),
        (STEPS.replace("title: ACME API key", "titel: x"), "unknown key 'titel'"),
    ],
)
def test_malformed_steps_files_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message) as info:
        parse_steps_file(path)
    assert str(path) in info.value.diagnostics()


def test_a_playbook_id_is_defined_once(tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text(STEPS)
    (tmp_path / "globex.yaml").write_text(
        STEPS.replace("provider: acme", "provider: globex").replace("acme-deploy-key", "gx-key")
    )
    with pytest.raises(UsageError, match="'acme-api-key' is already defined"):
        StepsCatalog.load(tmp_path)
