"""Rule files: what loads, and the errors that name the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.engine.interface import Candidate, Verdict
from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet
from leakguard.engine.ruletest import available_engines
from leakguard.errors import EngineError, RuleError

GOOD = """\
provider: demo
rules:
  - id: demo-token
    title: Demo token
    severity: high
    keywords: [dmo_]
    pattern: '(?P<secret>dmo_[0-9A-Za-z]{20})(?![0-9A-Za-z])'
    rotation: generic-app-secret
    examples: ['t = dmo_Ab3dE5gH7jK9mN1pQ3sT']
"""


def write(tmp_path: Path, text: str, name: str = "demo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def load_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(RuleError) as info:
        RuleSet.load([tmp_path], builtin=False)
    message = info.value.diagnostics()
    assert str(path) in message
    return message


def test_a_good_file_loads(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    [rule] = RuleSet.load([tmp_path], builtin=False).rules
    assert (rule.id, rule.provider, rule.rotation, rule.keywords) == (
        "demo-token", "demo", "generic-app-secret", (b"dmo_",)
    )  # fmt: skip
    assert rule.source.endswith("demo.yaml:3")


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    broken = GOOD.replace("    title: Demo token\n", "    title: [Demo token\n")
    message = load_error(tmp_path, broken)
    assert "invalid YAML" in message and "demo.yaml:5:" in message


def test_invalid_pattern(tmp_path: Path) -> None:
    message = load_error(tmp_path, GOOD.replace("{20})", "{20}"))
    assert ":7:" in message and "invalid pattern" in message


def test_unknown_validator(tmp_path: Path) -> None:
    text = GOOD.replace("    rotation:", "    validator: crc64\n    rotation:")
    message = load_error(tmp_path, text)
    assert ":8:" in message and "unknown validator 'crc64'" in message
    assert "github_checksum" in message  # the known validators are listed


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ("{name: jwt, params: {expired_severity: severe}}", "unknown severity 'severe'"),
        ("{name: aws_pairing, params: {lines: many}}", "lines must be an integer"),
        ("{name: pairing, params: {partner: '(AC'}}", "invalid pattern"),
        ("{name: github_checksum, params: {allow_shorter: true}}", "unknown parameter"),
    ],
)
def test_bad_validator_parameters_fail_at_load(tmp_path: Path, params: str, expected: str) -> None:
    text = GOOD.replace("    rotation:", f"    validator: {params}\n    rotation:")
    message = load_error(tmp_path, text)
    assert ":8:" in message and expected in message


def test_duplicate_id_names_both_places(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "a.yaml")
    write(tmp_path, GOOD, "b.yaml")
    with pytest.raises(RuleError) as info:
        RuleSet.load([tmp_path], builtin=False)
    message = info.value.diagnostics()
    assert "b.yaml:3" in message and "a.yaml:3" in message and "already defined" in message


def test_a_user_rule_cannot_reuse_a_shipped_id(tmp_path: Path) -> None:
    write(tmp_path, GOOD.replace("demo-token", "stripe-live-secret-key"))
    with pytest.raises(RuleError, match="already defined"):
        RuleSet.load([tmp_path])


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("severity: high", "severity: urgent"), "unknown severity"),
        (("keywords: [dmo_]", "keywords: [d]"), "keywords must be"),
        (("    rotation:", "    case_sensitive: yes please\n    rotation:"), "true or false"),
        (("    rotation:", "    colour: red\n    rotation:"), "unknown key 'colour'"),
        (("rotation: generic-app-secret", "rotation: Generic App"), "playbook id"),
        (("    rotation:", "    max_length: 0\n    rotation:"), "max_length must be at least 1"),
    ],
)
def test_other_mistakes(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    assert expected in load_error(tmp_path, GOOD.replace(*change))


def test_missing_rules_directory_is_a_rule_error(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="not found"):
        RuleSet.load([tmp_path / "nope"], builtin=False)


def test_case_sensitive_keywords_gate_matching(tmp_path: Path) -> None:
    text = GOOD.replace("keywords: [dmo_]", "keywords: [DMO_]\n    case_sensitive: true")
    text = text.replace("dmo_[0-9", "(?i:dmo_)[0-9")
    write(tmp_path, text)
    rules = RuleSet.load([tmp_path], builtin=False)
    for kind in available_engines():
        engine = Engine(rules, kind)
        assert engine.kind == kind
        assert len(engine.scan_text("t = DMO_Ab3dE5gH7jK9mN1pQ3sT")) == 1
        assert engine.scan_text("t = dmo_Ab3dE5gH7jK9mN1pQ3sT") == []  # the keyword is exact


def test_a_crashing_validator_never_carries_the_secret(tmp_path: Path) -> None:
    text = GOOD.replace("    rotation:", "    validator: none\n    rotation:")
    write(tmp_path, text)
    secret = "dmo_Ab3dE5gH7jK9mN1pQ3sT"

    def leaky(candidate: Candidate, params: object) -> Verdict:
        raise ValueError(f"cannot parse {candidate.secret.decode()}")

    engine = Engine(RuleSet.load([tmp_path], builtin=False), "re", validators={"none": leaky})
    with pytest.raises(EngineError) as info:
        engine.scan_text(f"x = {secret}")
    error = info.value
    assert secret not in error.diagnostics() and "dmo_Ab3" not in str(error)
    assert "demo-token" in error.message and "ValueError" in error.message
    assert error.__cause__ is None and error.__context__ is None


def test_shipped_rules_survive_pickling_for_worker_processes() -> None:
    import pickle

    rules = RuleSet.load()
    copy = pickle.loads(pickle.dumps(rules))
    text = "\n\n\n\n\n\n".join(ex for rule in rules.rules for ex in rule.examples)
    before = [(f.identity, f.attributes) for f in Engine(rules, "re").scan_text(text)]
    after = [(f.identity, f.attributes) for f in Engine(copy, "re").scan_text(text)]
    assert before == after and len(before) >= len(rules.rules)
