"""`leakguard rules list` and `leakguard rules test FILE`."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from leakguard.engine.rules import Rule, RuleSet
from leakguard.errors import EXIT_FINDINGS, EXIT_OK, UsageError

rules_app = typer.Typer(
    name="rules",
    help="List the detection rules, and test a rule file against its own examples.",
    no_args_is_help=True,
)

_LIST_FORMATS = ("text", "json")


def rule_row(rule: Rule) -> dict[str, object]:
    return {
        "id": rule.id,
        "provider": rule.provider,
        "title": rule.title,
        "severity": rule.severity.label,
        "keywords": [k.decode("utf-8", "replace") for k in rule.keywords],
        "validator": rule.validator,
        "rotation": rule.rotation,
        "source": rule.source,
    }


def render_list(rows: list[dict[str, object]]) -> str:
    headers = ("ID", "PROVIDER", "SEVERITY", "KEYWORDS", "ROTATION")
    table = [
        (
            str(r["id"]),
            str(r["provider"]),
            str(r["severity"]),
            ",".join(str(k) for k in r["keywords"]),  # type: ignore[attr-defined]
            str(r["rotation"] or "-"),
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(headers)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *table]
    ]
    lines.append(f"{len(rows)} rule(s)")
    return "\n".join(lines) + "\n"


@rules_app.command("list")
def list_rules(
    rules: Annotated[
        list[Path] | None,
        typer.Option("--rules", metavar="DIR", help="Also load the rule files in DIR."),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help="text or json.")
    ] = "text",
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Tracebacks on error.")] = False,
) -> None:
    """List every rule: id, provider, severity, prefilter keywords and rotation playbook.

    **Example:** `leakguard rules list --rules ./my-rules -f json`
    """
    if output_format not in _LIST_FORMATS:
        raise UsageError(
            f"unknown format {output_format!r}", hint=f"use one of: {', '.join(_LIST_FORMATS)}"
        )
    rows = [rule_row(r) for r in RuleSet.load(tuple(rules or ())).rules]
    if output_format == "json":
        typer.echo(json.dumps({"rules": rows}, indent=2))
    else:
        typer.echo(render_list(rows), nl=False)


@rules_app.command("test", no_args_is_help=True)
def test_rules(
    file: Annotated[Path, typer.Argument(help="A rule file (YAML) or a directory of them.")],
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Tracebacks on error.")] = False,
) -> None:
    """Check a rule file: it must load, every `examples` entry must be found and no
    `negative_examples` entry may be.

    **Exit codes:** 0 all examples behave, 1 an example fails, 2 the file is malformed.
    """
    ruletest: Any = importlib.import_module("leakguard.engine.ruletest")
    report = ruletest.test_rule_file(file)
    typer.echo(report.render(), nl=False)
    raise typer.Exit(EXIT_OK if report.ok else EXIT_FINDINGS)


def register(app: typer.Typer) -> None:
    app.add_typer(rules_app)
