"""`leakguard rules list` and `leakguard rules test FILE`: thin wrappers over
:mod:`leakguard.engine.ruletest`."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from leakguard.engine.rules import RuleSet
from leakguard.engine.ruletest import RuleInfo, RuleTestReport, check_rule_file, list_rules
from leakguard.errors import EXIT_FINDINGS, EXIT_OK, UsageError
from leakguard.redact import escape_terminal

rules_app = typer.Typer(
    name="rules",
    help="List the detection rules, and test a rule file against its own examples.",
    no_args_is_help=True,
)

_LIST_FORMATS = ("text", "json")
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Tracebacks on error.")]


def _rotation(rule: RuleInfo) -> str:
    """The playbook, or with rotation_by every playbook the match may pick, the default last."""
    if not rule.rotation_cases:
        return rule.rotation or "-"
    picked = dict.fromkeys(playbook for _, playbook in rule.rotation_cases)
    return f"{'|'.join(picked)}|{rule.rotation} (by {rule.rotation_group})"


def render_list(rules: list[RuleInfo]) -> str:
    headers = ("ID", "PROVIDER", "SEVERITY", "KEYWORDS", "ROTATION")
    rows = [
        tuple(
            escape_terminal(cell)
            for cell in (r.id, r.provider, r.severity, ",".join(r.keywords), _rotation(r))
        )
        for r in rules
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]
    lines.append(f"{len(rules)} rule(s)")
    return "\n".join(lines) + "\n"


def render_test(report: RuleTestReport) -> str:
    lines = []
    for r in report.failures:
        want = "should be found" if r.expected else "should not be found"
        got = f"found: {', '.join(r.found)}" if r.found else "nothing found"
        lines.append(
            escape_terminal(f"FAIL {r.rule_id} [{r.engine}] {want}: {r.example!r} ({got})")
        )
    verdict = "all pass" if report.ok else f"{len(report.failures)} failed"
    lines.append(
        f"{report.rules} rule(s), {len(report.results)} example check(s) on "
        f"{', '.join(report.engines)}: {verdict}"
    )
    return "\n".join(lines) + "\n"


@rules_app.command("list")
def list_command(
    rules: Annotated[
        list[Path] | None,
        typer.Option("--rules", metavar="DIR", help="Also load the rule files in DIR."),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help="text or json.")
    ] = "text",
    verbose: Verbose = False,
) -> None:
    """List every rule: id, provider, severity, prefilter keywords and rotation playbook.

    **Example:** `leakguard rules list --rules ./my-rules -f json`
    """
    if output_format not in _LIST_FORMATS:
        raise UsageError(
            f"unknown format {output_format!r}", hint=f"use one of: {', '.join(_LIST_FORMATS)}"
        )
    infos = list_rules(RuleSet.load(tuple(rules or ())))
    if output_format == "json":
        typer.echo(json.dumps({"rules": [asdict(i) for i in infos]}, indent=2))
    else:
        typer.echo(render_list(infos), nl=False)


@rules_app.command("test", no_args_is_help=True)
def test_command(
    file: Annotated[Path, typer.Argument(help="A rule file (YAML), or a directory of them.")],
    verbose: Verbose = False,
) -> None:
    """Check a rule file on its own: it must load, every `examples` entry must be found by its
    rule and no `negative_examples` entry may be, on every matching engine.

    **Example:** `leakguard rules test my-rules/acme.yaml`

    **Exit codes:** 0 every example behaves, 1 an example fails, 2 the file is malformed (the
    error names the file and line).
    """
    report = check_rule_file(file)
    typer.echo(render_test(report), nl=False)
    raise typer.Exit(EXIT_OK if report.ok else EXIT_FINDINGS)


def register(app: typer.Typer) -> None:
    app.add_typer(rules_app)
