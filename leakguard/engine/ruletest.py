"""Run rules' own examples: the core of ``leakguard rules test FILE`` and the rule test suite.

Every example must give a finding of its rule and every negative example must not, on each
matching engine (Hyperscan when it loads, and the pure-``re`` fallback). Results are typed so the
CLI renders them and tests assert on them; an example is shown as the rule author wrote it (rule
examples are made-up values, never real credentials).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from leakguard.engine.matcher import Engine
from leakguard.engine.rules import Rule, RuleSet
from leakguard.engine.validators import SPECS

ENGINES = ("hyperscan", "re")


@dataclass(frozen=True, slots=True)
class ExampleResult:
    rule_id: str
    example: str
    expected: bool  # True: the rule must report it; False: it must not
    got: bool
    engine: str
    found: tuple[str, ...] = ()  # every rule id reported on the example

    @property
    def passed(self) -> bool:
        return self.expected == self.got


@dataclass(frozen=True, slots=True)
class RuleTestReport:
    results: tuple[ExampleResult, ...]
    engines: tuple[str, ...]
    rules: int

    @property
    def failures(self) -> tuple[ExampleResult, ...]:
        return tuple(r for r in self.results if not r.passed)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """One line of ``leakguard rules list``."""

    id: str
    provider: str
    severity: str
    title: str
    keywords: tuple[str, ...]
    validator: str | None
    rotation: str | None
    examples: int
    negative_examples: int
    source: str
    description: str = ""
    #: rotation_by: the group whose text picks the playbook, and (regex, playbook) in order
    rotation_group: str = ""
    rotation_cases: tuple[tuple[str, str], ...] = ()


def available_engines() -> tuple[str, ...]:
    """The engines that load here: Hyperscan only where its module imports."""
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return ("re",)
    return ENGINES


def run_examples(
    ruleset: RuleSet,
    rule_ids: Iterable[str] | None = None,
    engines: Sequence[str] | None = None,
) -> RuleTestReport:
    """Scan each selected rule's examples with every engine built from ``ruleset``."""
    wanted = set(rule_ids) if rule_ids is not None else None
    rules = [r for r in ruleset.rules if wanted is None or r.id in wanted]
    kinds = tuple(engines) if engines is not None else available_engines()
    results: list[ExampleResult] = []
    for kind in kinds:
        engine = Engine(ruleset, kind)
        for rule in rules:
            results.extend(_check_rule(engine, rule, kind))
    return RuleTestReport(tuple(results), kinds, len(rules))


def _check_rule(engine: Engine, rule: Rule, kind: str) -> Iterable[ExampleResult]:
    cases = [(text, True) for text in rule.examples]
    cases += [(text, False) for text in rule.negative_examples]
    for text, expected in cases:
        found = tuple(sorted({f.rule_id for f in engine.scan_text(text)}))
        yield ExampleResult(rule.id, text, expected, rule.id in found, kind, found)


def check_rule_file(path: Path, engines: Sequence[str] | None = None) -> RuleTestReport:
    """``leakguard rules test FILE``: load one rule file (or a directory of them) on its own,
    without the shipped rules (malformed files raise :class:`~leakguard.errors.RuleError` naming
    the file and line), and run its examples."""
    return run_examples(RuleSet.load([path], builtin=False), engines=engines)


def list_rules(ruleset: RuleSet) -> list[RuleInfo]:
    """``leakguard rules list``: every rule, sorted by provider then id."""
    return [
        RuleInfo(
            id=r.id,
            provider=r.provider,
            severity=r.severity.label,
            title=r.title,
            keywords=tuple(k.decode("utf-8") for k in r.keywords),
            validator=r.validator,
            rotation=r.rotation,
            examples=len(r.examples),
            negative_examples=len(r.negative_examples),
            source=r.source,
            description=r.description,
            rotation_group=r.rotation_group,
            rotation_cases=tuple(
                (case.pattern.decode("utf-8"), playbook) for case, playbook in r.rotation_cases
            ),
        )
        for r in sorted(ruleset.rules, key=lambda r: (r.provider, r.id))
    ]


def validator_summaries() -> dict[str, tuple[str, dict[str, str]]]:
    """Each validator's summary and parameters (for ``rules list -v`` and docs)."""
    return {name: (spec.summary, dict(spec.params)) for name, spec in sorted(SPECS.items())}
