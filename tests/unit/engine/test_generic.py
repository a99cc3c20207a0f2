"""The generic secret rule: random values named like credentials, and nothing else."""

from __future__ import annotations

import random
import string
import subprocess
from pathlib import Path

import pytest

from leakguard.engine.generic import is_patterned, reason_to_reject
from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet

ALL = RuleSet.load()
PARAMS = {"min_entropy": 3.3, "min_length": 12}
REPO = Path(__file__).resolve().parents[3]
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".json", ".env", ".toml", ".txt", ".js", ""}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(ALL, "re")


def _random(n: int, seed: int) -> str:
    """Values are made when the test runs, so this file holds none for a scan to find."""
    rng = random.Random(seed)
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


@pytest.mark.parametrize(
    "template",
    [
        "DB_PASSWORD={v}",
        'client_secret: "{v}"',
        '"apiKey": "{v}"',
        'resource "x" "y" {{\n  password = "{v}#!"\n}}',
        "spring.datasource.password={v}",
        'auth_token = "{v}"',
    ],
)
def test_reported_at_low_severity(engine: Engine, template: str) -> None:
    line = template.format(v=_random(24, len(template)))
    found = engine.scan_text(line)
    assert [(f.rule_id, f.severity.label) for f in found] == [("generic-secret", "low")]


@pytest.mark.parametrize(
    "line",
    [
        "DB_PASSWORD=${DB_PASSWORD}",
        "password = 'changeme-please-123'",
        "token_hash = '9b74c9897bac770ffc029102a200c5de'",
        "password_field = 'user-password-input'",
        "api_key = settings.PAYMENT_API_KEY",
        "secret: prod/payments/stripe",
        "SECRET_FILE=/run/secrets/app_key.pem",
        "token: bearer_token_v2",
        "password = getDatabasePassword()",
        "SECRET = 'q3Hk9Vt2Lm8Rx4Zp7Wc1Nf6Bj0Ds5Ga2Ye9Tu4Ko'",
        "access_key_id = AKIAIOSFODNN7EXAMPLE",
        "secret = 'abc'",
        "tokens = 1234567890123",
        "max_tokens: 4096",
        "DB_PASSWORD=Old%pa+ss/w0rd",  # a stopword spelled with digits and punctuation
        "secret: 'Ch4ng3-M3-n0w-pl3ase'",
        "api_key = 'L3tM31n#Qw3rty99'",
    ],
)
def test_not_reported(engine: Engine, line: str) -> None:
    assert [f.rule_id for f in engine.scan_text(line) if f.rule_id == "generic-secret"] == []


def test_provider_rules_win_on_the_same_text(engine: Engine) -> None:
    token = "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"
    for line in (f"token: {token}", f"https://x-access-token:{token}@github.com/a/b.git"):
        assert [f.rule_id for f in engine.scan_text(line)] == ["github-personal-access-token"]
    stripe = "sk_live_" + _random(32, 9)
    line = f"GET /v1/x?api_key={stripe}&a=1 HTTP/1.1"
    assert [f.rule_id for f in engine.scan_text(line)] == ["stripe-live-secret-key"]


def test_hand_made_values_are_patterned() -> None:
    assert is_patterned(b"q3Hk9Vt2Lm8Rx4Zp7Wc1Nf6Bj0Ds5Ga2Ye9Tu4Ko")
    assert is_patterned(b"Ab3dE5gH7jK9mN1pQ3sT")
    value = _random(32, 1).encode()
    assert not is_patterned(value)
    assert reason_to_reject(b"client_secret", value, PARAMS) is None


def _periodic_share(classes: str, period: int) -> float:
    """The share of positions whose character class equals the one ``period`` further on."""
    pairs = len(classes) - period
    return sum(classes[i] == classes[i + period] for i in range(pairs)) / pairs


def _class_of(c: str) -> str:
    return "a" if c.islower() else "A" if c.isupper() else "0" if c.isdigit() else ""


def test_patterned_is_a_class_period_of_two_to_four_on_random_values() -> None:
    """The definition, position by position, on values near and far from the 80% line."""
    rng = random.Random(3)
    for _ in range(3000):
        period = rng.choice((2, 3, 4))
        motif = [rng.choice("aA0") for _ in range(period)]
        n = rng.randint(4, 40)
        shape = [motif[i % period] if rng.random() < 0.9 else rng.choice("aA0") for i in range(n)]
        pick = {"a": "qwxz", "A": "QWXZ", "0": "3579"}
        value = "".join(rng.choice(pick[k]) + rng.choice(("", "", "-", "_")) for k in shape)
        classes = "".join(_class_of(c) for c in value)
        expected = any(
            len(classes) - p >= 8 and _periodic_share(classes, p) >= 0.8 for p in (2, 3, 4)
        )
        assert is_patterned(value.encode()) == expected, value


# What .leakguard.yaml scans, and the test suite: one made-up password in a test (a random-looking
# 16-character value in tests/unit/graph/test_parts.py) is the only generic finding there, and
# .leakguard.yaml excludes tests/ as fixtures.
KNOWN_FIXTURES = {("tests/unit/graph/test_parts.py", 107)}


def test_this_repositorys_tests_and_docs_give_no_generic_finding(engine: Engine) -> None:
    hits = []
    tracked = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True
    ).stdout.split(b"\0")
    files = {REPO / name.decode() for name in tracked if name}  # what the repository holds
    folders = ("tests", "docs", "examples", "benchmarks", "leakguard", "playbooks")
    for folder in folders:
        for path in sorted((REPO / folder).rglob("*")):
            if path not in files or path.suffix not in TEXT_SUFFIXES:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            hits += [(str(path.relative_to(REPO)), f.location.line) for f in engine.scan_text(text)
                     if f.rule_id == "generic-secret"]  # fmt: skip
    assert set(hits) <= KNOWN_FIXTURES
