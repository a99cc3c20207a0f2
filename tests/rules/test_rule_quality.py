"""Rule-set quality gates (issue #10): rules do not overlap unless one says it supersedes the
other, prefixed patterns have a left boundary, and keywords — not patterns — drive the
prefilter, so that more rules do not make the engine slower per byte (checked structurally:
what the keywords hit on ordinary text, never a timing)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from leakguard.engine.matcher import Engine
from leakguard.engine.rules import Rule, RuleSet
from leakguard.errors import RuleError
from tests.rules.corpus import filler

ALL = RuleSet.load()
BY_ID = ALL.by_id()

# Rules that do not pass a gate yet, each with the gate and why: fix the rule, then remove its
# line (a rule not listed here must pass every gate; a listed rule that passes fails the test).
KNOWN_GAPS: dict[str, dict[str, str]] = {
    "left-boundary": {},
    "truncation": {},
    "keyword-frequency": {},
    "keyword-words": {},
}


def _gap(gate: str, rule_id: str) -> bool:
    return rule_id in KNOWN_GAPS[gate]


@cache
def _alone(rule_id: str) -> Engine:
    return Engine(RuleSet((BY_ID[rule_id],), "gate"), "re")


def _may_hit(rule: Rule, text: bytes) -> bool:
    lowered = text.lower()
    return any(kw in (text if rule.case_sensitive else lowered) for kw in rule.keywords)


def _related(a: Rule, b: Rule) -> bool:
    """Declared overlaps: one supersedes the other, or one is a fallback (a negative
    ``priority``, such as the generic secret rule) that yields to every other rule."""
    return b.id in a.supersedes or a.id in b.supersedes or min(a.priority, b.priority) < 0


@pytest.mark.parametrize("rule", ALL.rules, ids=lambda r: r.id)
def test_no_other_rule_reports_this_rules_examples(rule: Rule) -> None:
    """Each example is reported by its own rule only: a second rule finding it (before overlap
    resolution hides one) is a duplicate definition, unless one declares ``supersedes``."""
    overlaps = []
    for text in rule.examples:
        data = text.encode()
        for other in ALL.rules:
            if other.id == rule.id or _related(rule, other) or not _may_hit(other, data):
                continue
            if _alone(other.id).scan_text(text):
                overlaps.append((other.id, text[:60]))
    assert not overlaps


def test_supersedes_names_loaded_rules(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "provider: demo\nrules:\n  - id: demo-a\n    title: A\n    severity: low\n"
        "    keywords: [demo_]\n    pattern: 'demo_[a-z]{8}'\n    supersedes: [no-such-rule]\n"
        "    examples: ['demo_abcdefgh']\n"
    )
    with pytest.raises(RuleError, match="supersedes unknown rule"):
        RuleSet.load([tmp_path])
    (tmp_path / "a.yaml").write_text(
        (tmp_path / "a.yaml").read_text().replace("[no-such-rule]", "[demo-a]")
    )
    with pytest.raises(RuleError, match="supersedes must be"):
        RuleSet.load([tmp_path])


# -- the prefilter ---------------------------------------------------------------------------

# words and code tokens too common to select anything: a keyword must be more specific
_COMMON = {
    "key", "keys", "token", "secret", "password", "passwd", "pass", "auth", "api", "http",
    "https", "user", "admin", "bearer", "basic", "config", "client", "access", "private",
    "public", "the", "and", "for", "var", "let", "def", "true", "false", "null", "none",
    "data", "value", "string", "return", "import", "from", "class", "function",
}  # fmt: skip


@pytest.mark.parametrize("rule", ALL.rules, ids=lambda r: r.id)
def test_keywords_are_selective(rule: Rule) -> None:
    assert rule.keywords
    words = []
    for kw in rule.keywords:
        text = kw.decode("utf-8", "replace")
        short = len(kw) < 3 and text.isalnum()
        assert not short, f"{rule.id}: keyword {text!r} is shorter than 3 characters"
        if text.lower().strip() in _COMMON:
            words.append(text)
    assert bool(words) == _gap("keyword-words", rule.id), words


@pytest.fixture(scope="module")
def ordinary_text() -> bytes:
    """1 MB of source, configuration and minified text with no credential-like words."""
    return filler(1_000_000, seed=3, near_misses=False)


def test_keywords_rarely_hit_ordinary_text(ordinary_text: bytes) -> None:
    """Every keyword occurrence opens a regex window: on ordinary text the whole rule set may
    open only a few (a keyword matching most text would make every byte a regex byte)."""
    lowered = ordinary_text.lower()
    hits = {}
    for rule in ALL.rules:
        for kw in rule.keywords:
            count = (ordinary_text if rule.case_sensitive else lowered).count(kw)
            if count > 20 and not _gap("keyword-frequency", rule.id):
                hits[(rule.id, kw.decode())] = count
    assert not hits


def test_windows_on_ordinary_text_stay_few(ordinary_text: bytes) -> None:
    """The bytes handed to ``re`` on ordinary text (each keyword hit opens ``before`` +
    ``max_length`` bytes): bounded, whatever the number of rules."""
    lowered = ordinary_text.lower()
    windowed = 0
    for rule in ALL.rules:
        if _gap("keyword-frequency", rule.id):
            continue
        for kw in rule.keywords:
            hits = (ordinary_text if rule.case_sensitive else lowered).count(kw)
            windowed += hits * (len(kw) + rule.before + rule.max_length)
    assert windowed < len(ordinary_text) // 100


# -- patterns ----------------------------------------------------------------------------------

_LEADING_LITERAL = re.compile(r"^\(\?P<secret>([A-Za-z0-9](?:[A-Za-z0-9_\-.]|\\[.\-+$])*)")
# a fixed prefix (characters, escapes, classes) and then a lookbehind that refuses a word
# character before that same prefix: ``sv=20(?<![A-Za-z0-9_]sv=20)``, ``vc[pirak]_(?<!...)``
_INLINE_BOUNDARY = re.compile(
    r"^\(\?P<secret>(?P<prefix>(?:[^()\[\]\\*+?{}|]|\\.|\[[^\]]*\])+)\(\?<!\[[^\]]+\](?P=prefix)\)"
)


@pytest.mark.parametrize("rule", ALL.rules, ids=lambda r: r.id)
def test_prefixed_patterns_have_a_left_boundary(rule: Rule) -> None:
    """``task_live_...`` is not an ``sk_live_`` key: a pattern starting with a vendor prefix
    checks the character before it."""
    pattern = rule.pattern.pattern.decode()
    m = _LEADING_LITERAL.match(pattern)
    if m is None:
        return
    rest = pattern[m.end() :]
    if rest.startswith(":"):
        return  # a URL scheme: what precedes it does not change what it is
    bounded = (
        rest.startswith("(?<!")
        or pattern.startswith("(?<!")
        or _INLINE_BOUNDARY.match(pattern) is not None
    )
    assert bounded != _gap("left-boundary", rule.id), rule.id


@pytest.mark.parametrize(
    ("text", "rule_id"),
    [
        ("scheduler.task_live_4eC39HqLyjWDarjtT1zdp7dc9f2cQ8mZ = 1", "stripe-live-secret-key"),
        ("network_test_jXRS4ASfzgUOVm0HnCO3V3xkTq = true", "stripe-test-restricted-key"),
        ("desk_test_51Hx8ZqKd93JfLm0QaWvT5bNcR7uYe2g", "stripe-test-secret-key"),
    ],
)
def test_a_prefix_inside_a_word_is_not_a_key(text: str, rule_id: str) -> None:
    assert [f.rule_id for f in _alone(rule_id).scan_text(text)] == []


@pytest.mark.parametrize("rule", ALL.rules, ids=lambda r: r.id)
def test_repetitions_are_bounded(rule: Rule) -> None:
    """An unbounded ``+``/``*``/``{n,}`` on a credential alphabet lets a truncated or glued
    token match and makes windows expensive: secrets have a maximum length."""
    pattern = rule.pattern.pattern.decode()
    assert not re.search(r"\{\d+,\}", pattern), rule.id


def test_issue_10_part_b_providers_are_shipped() -> None:
    providers = {r.provider for r in ALL.rules}
    assert {
        "huggingface", "groq", "replicate", "cohere", "mistral", "perplexity", "aws-bedrock",
        "xai", "deepseek", "telegram", "discord", "microsoft-teams", "mailgun", "mailchimp",
        "postmark", "shopify", "square", "braintree", "adyen", "plaid", "coinbase", "klaviyo",
        "intercom", "zendesk", "hubspot", "segment", "algolia", "mapbox", "dropbox", "asana",
        "airtable", "contentful", "typeform", "yandex",
    } <= providers  # fmt: skip
    ids = set(BY_ID)
    assert {"openai-admin-key", "anthropic-admin-key", "stripe-webhook-secret"} <= ids
    assert {"stripe-test-restricted-key", "twilio-api-key"} <= ids


# rules whose secret is not a token of a published length (passwords in URLs, key blocks, JWTs)
_NOT_TOKENS = {"private_key", "gcp_service_account", "connection_url", "jwt"}


def _prefixed(rule: Rule) -> bool:
    return _LEADING_LITERAL.match(rule.pattern.pattern.decode()) is not None


@pytest.mark.parametrize(
    "rule",
    [r for r in ALL.rules if r.validator not in _NOT_TOKENS and _prefixed(r)],
    ids=lambda r: r.id,
)
def test_truncated_tokens_are_not_reported(rule: Rule) -> None:
    """A vendor-prefixed token cut short (``sk_live_51WK59...``, as docs and logs display them)
    is not a live credential: fixed-length formats stop matching, variable-length ones refuse
    an ellipsis."""
    engine = _alone(rule.id)
    shown = []
    for text in rule.examples:
        for finding in Engine(RuleSet((rule,), "gate"), "re", show_secrets=True).scan_text(text):
            secret = finding.secret or ""
            if ":" in secret and rule.validator in ("aws_pairing", "pairing"):
                secret = secret.split(":")[-1] if rule.validator == "pairing" else secret
                continue  # a pair: each half is its own token
            for cut in (secret[:-4] + "...", secret[:-4] + "\u2026"):
                if engine.scan_text(text.replace(secret, cut)):
                    shown.append(cut[:24])
    assert bool(shown) == _gap("truncation", rule.id), shown


@pytest.mark.parametrize(
    "rule_id",
    [
        "azure-sas-token",
        "google-oauth-refresh-token",
        "putty-private-key",
        "putty-encrypted-private-key",
        "slack-workflow-webhook-url",
        "vercel-access-token",
    ],
)
def test_a_prefix_glued_to_a_word_is_not_a_credential(rule_id: str) -> None:
    """The rules whose boundary sits after their prefix (``vc[pirak]_(?<!...)``): their own
    example is found, and not once a letter is glued before the prefix."""
    rule = BY_ID[rule_id]
    example = rule.examples[0]
    engine = Engine(RuleSet((rule,), "gate"), "re", show_secrets=True)
    [finding] = engine.scan_text(example)
    secret = finding.secret or ""
    assert secret and secret in example
    assert _alone(rule_id).scan_text(example.replace(secret, "a" + secret)) == []


@pytest.mark.parametrize("rule_id", ["bitbucket-app-password", "planetscale-oauth-token"])
def test_a_whole_token_ending_a_sentence_is_still_reported(rule_id: str) -> None:
    """The ellipsis check refuses ``..`` and ``…`` after a token, not one full stop."""
    rule = BY_ID[rule_id]
    for text in rule.examples:
        [finding] = Engine(RuleSet((rule,), "gate"), "re", show_secrets=True).scan_text(text)
        secret = finding.secret or ""
        for ending in (".", ". Rotate it.", ", then", ".\n"):
            sentence = f"The token is {secret}{ending}"
            found = [f.secret for f in _alone_shown(rule_id).scan_text(sentence)]
            assert found == [secret], (rule_id, ending)


@cache
def _alone_shown(rule_id: str) -> Engine:
    return Engine(RuleSet((BY_ID[rule_id],), "gate"), "re", show_secrets=True)
