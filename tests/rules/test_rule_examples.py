"""Every shipped rule's examples and negative examples, on both matching engines.

Each rule is checked twice: with only its own file loaded (what `leakguard rules test FILE`
does) and with every shipped rule loaded (no other rule shadows it, no other rule reports its
negative examples as its own).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from leakguard.engine.matcher import Engine
from leakguard.engine.rules import Rule, RuleSet
from leakguard.engine.ruletest import available_engines, check_rule_file, run_examples
from leakguard.model import Chunk, Location
from leakguard.resources import detectors_dir
from leakguard.rotation.providers import playbook_ids
from tests.rules.corpus import mixed_corpus

ALL = RuleSet.load()
ENGINES = available_engines()  # the ones that load here; the fixture checks which ran
both_engines = pytest.mark.skipif(
    len(ENGINES) < 2, reason="hyperscan is not importable here: only the re engine runs"
)
RULE_FILES = sorted(detectors_dir().glob("*.yaml"))
PLAYBOOK_IDS = playbook_ids()


@pytest.fixture(scope="module")
def engines() -> dict[str, Engine]:
    built = {kind: Engine(ALL, kind) for kind in ENGINES}
    assert all(engine.kind == kind for kind, engine in built.items())
    return built


@pytest.mark.parametrize("rule", ALL.rules, ids=lambda r: r.id)
def test_examples_with_every_rule_loaded(rule: Rule) -> None:
    report = run_examples(ALL, [rule.id], engines=ENGINES)
    assert report.engines == ENGINES
    assert len(report.results) == len(ENGINES) * (len(rule.examples) + len(rule.negative_examples))
    failures = [(r.engine, r.expected, r.found, r.example[:80]) for r in report.failures]
    assert not failures


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_each_rule_file_on_its_own(path: Path) -> None:
    report = check_rule_file(path, engines=ENGINES)
    failures = [(r.rule_id, r.engine, r.expected, r.example[:80]) for r in report.failures]
    assert report.rules >= 1 and not failures


@pytest.mark.parametrize("rule", ALL.rules, ids=lambda r: r.id)
def test_rule_is_documented_by_examples(rule: Rule) -> None:
    assert len(rule.examples) >= 2 and len(rule.negative_examples) >= 2
    assert rule.rotation in PLAYBOOK_IDS, f"{rule.id}: rotation {rule.rotation!r}"


def test_every_rule_rotation_names_a_playbook() -> None:
    assert {r.rotation for r in ALL.rules} <= PLAYBOOK_IDS


def test_issue_coverage_is_shipped() -> None:
    providers = {r.provider for r in ALL.rules}
    assert {
        "stripe", "aws", "github", "supabase", "jwt", "slack", "openai", "anthropic", "gitlab",
        "npm", "pypi", "google", "private-key", "twilio", "sendgrid", "database",
    } <= providers  # fmt: skip
    assert len(ALL.rules) >= 40


def _identities(engine: Engine, data: bytes) -> list[tuple[object, ...]]:
    found = engine.scan(Chunk(data, Location("corpus", 1, 1)))
    return sorted((f.identity, f.severity, f.redacted, f.validation, f.attributes) for f in found)


@both_engines
def test_both_engines_agree_on_every_example(engines: dict[str, Engine]) -> None:
    for rule in ALL.rules:
        for text in rule.examples + rule.negative_examples:
            data = text.encode()
            assert _identities(engines["hyperscan"], data) == _identities(engines["re"], data)


def test_engines_agree_on_a_mixed_corpus(engines: dict[str, Engine]) -> None:
    corpus, planted = mixed_corpus(ALL, 400_000, seed=7)
    by_first = _identities(engines[ENGINES[0]], corpus)
    for kind in ENGINES[1:]:
        assert _identities(engines[kind], corpus) == by_first, kind
    # Planted among filler, the examples give exactly what they give on their own.
    texts = [t for rule in ALL.rules for t in rule.examples + rule.negative_examples]
    alone = Counter(f.rule_id for text in texts for f in engines["re"].scan_text(text))
    in_corpus = Counter(identity[0][1] for identity in by_first)
    assert in_corpus == alone
    assert sum(alone.values()) >= len(planted)
