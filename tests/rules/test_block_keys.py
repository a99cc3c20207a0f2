"""Block keys (PEM, OpenSSH, PGP) behind a mention of their header: the mention must not swallow
the key that follows it. A parser that tests ``line.startswith('-----BEGIN RSA PRIVATE KEY-----')``
or a truncated block in a README sits, in real repositories, a few lines above a real key."""

from __future__ import annotations

import pytest

from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet
from leakguard.engine.ruletest import available_engines

ALL = RuleSet.load()
RULES = ALL.by_id()
MENTIONS = [
    "if line.startswith('-----BEGIN RSA PRIVATE KEY-----'):",
    "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY",  # truncated in a doc
    "-----BEGIN PRIVATE KEY-----",
    'HEADER = "-----BEGIN PGP PRIVATE KEY BLOCK-----"',
]


@pytest.fixture(scope="module", params=available_engines())
def engine(request: pytest.FixtureRequest) -> Engine:
    built = Engine(ALL, request.param)
    assert built.kind == request.param
    return built


@pytest.mark.parametrize("rule_id", ["private-key", "pgp-private-key"])
@pytest.mark.parametrize("mention", MENTIONS)
@pytest.mark.parametrize("gap", [0, 2_000, 5_000, 7_900])
def test_a_header_mention_does_not_hide_the_key_after_it(
    engine: Engine, rule_id: str, mention: str, gap: int
) -> None:
    rule = RULES[rule_id]
    for example in rule.examples:
        alone = {f.fingerprint for f in engine.scan_text(example) if f.rule_id == rule_id}
        assert alone, example[:40]
        text = mention + "\n" + "x = 1\n" * (gap // 6) + example
        found = {f.fingerprint for f in engine.scan_text(text) if f.rule_id == rule_id}
        assert found == alone, (mention, gap)
