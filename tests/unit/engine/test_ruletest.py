"""The core of `leakguard rules test FILE` and `leakguard rules list`."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.engine.rules import RuleSet
from leakguard.engine.ruletest import (
    available_engines,
    check_rule_file,
    list_rules,
    validator_summaries,
)
from leakguard.errors import RuleError

ENGINES = available_engines()

RULES = """\
provider: demo
rules:
  - id: demo-token
    title: Demo token
    severity: high
    keywords: [dmo_]
    pattern: '(?P<secret>dmo_[0-9A-Za-z]{20})(?![0-9A-Za-z])'
    rotation: generic-app-secret
    examples:
      - 't = dmo_Ab3dE5gH7jK9mN1pQ3sT'
      - 't = dmo_short'
    negative_examples:
      - 't = dmo_xxxxxxxxxxxxxxxxxxxx'
      - 't = dmo_Zb3dE5gH7jK9mN1pQ3sW'
"""


def test_results_name_rule_example_expectation_and_engine(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(RULES)
    report = check_rule_file(path, engines=ENGINES)
    assert report.engines == ENGINES and report.rules == 1
    assert len(report.results) == 4 * len(ENGINES)
    failures = {(r.engine, r.example, r.expected, r.got) for r in report.failures}
    assert failures == {
        (engine, text, expected, not expected)
        for engine in ENGINES
        for text, expected in (("t = dmo_short", True), ("t = dmo_Zb3dE5gH7jK9mN1pQ3sW", False))
    }
    assert not report.ok


def test_a_passing_file(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    text = RULES.replace("      - 't = dmo_short'\n", "")
    path.write_text(text.replace("      - 't = dmo_Zb3dE5gH7jK9mN1pQ3sW'\n", ""))
    report = check_rule_file(path, engines=["re"])
    assert report.ok and [r.engine for r in report.results] == ["re"] * 2


def test_a_broken_file_raises_the_rule_error(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(RULES.replace("{20})", "{20}"))
    with pytest.raises(RuleError, match=r"demo\.yaml:7"):
        check_rule_file(path)


def test_list_rules_covers_every_shipped_rule() -> None:
    ruleset = RuleSet.load()
    listed = list_rules(ruleset)
    assert sorted(r.id for r in listed) == sorted(r.id for r in ruleset.rules)
    by_id = {r.id: r for r in listed}
    aws = by_id["aws-access-key"]
    assert (aws.provider, aws.severity, aws.validator, aws.rotation) == (
        "aws", "critical", "aws_pairing", "aws-iam-access-key"
    )  # fmt: skip
    assert "AKIA" in aws.keywords and aws.source.endswith(":5")
    assert listed == sorted(listed, key=lambda r: (r.provider, r.id))


def test_validator_summaries_list_parameters() -> None:
    summaries = validator_summaries()
    assert {"github_checksum", "npm_checksum", "aws_pairing", "jwt", "private_key"} <= set(
        summaries
    )
    assert "unpaired_severity" in summaries["aws_pairing"][1]


def test_the_example_rule_in_the_docs_passes(tmp_path: Path) -> None:
    doc = (Path(__file__).parents[3] / "docs" / "rules.md").read_text()
    block = doc.split("# my-rules/acme.yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "acme.yaml"
    path.write_text("\n".join(line[3:] for line in block.splitlines()))
    report = check_rule_file(path, engines=ENGINES)
    assert report.rules == 1 and len(report.results) == 3 * len(ENGINES) and report.ok


def test_rules_list_shows_every_playbook_a_match_may_pick() -> None:
    from leakguard.cli.rules import render_list

    listed = {r.id: r for r in list_rules(RuleSet.load())}
    jdbc = listed["jdbc-url-password"]
    assert jdbc.rotation == "database-password" and jdbc.rotation_group == "scheme"
    assert [p for _, p in jdbc.rotation_cases] == [
        "postgres-role-password",
        "mariadb-user-password",
    ]
    line = next(x for x in render_list([jdbc]).splitlines() if x.startswith("jdbc-url"))
    assert line.endswith(
        "postgres-role-password|mariadb-user-password|database-password (by scheme)"
    )
    plain = next(x for x in render_list([listed["postgres-url-password"]]).splitlines()[1:])
    assert plain.endswith("postgres-role-password")
