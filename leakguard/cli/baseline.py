"""`leakguard baseline create|update|audit|migrate`: record the credentials present now, keep
the record current, and mark each entry a true or false positive."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Annotated

import typer

from leakguard.baseline import VERDICTS, Baseline, Entry
from leakguard.cli.errors import collect, raise_all
from leakguard.cli.scan import (
    CacheDir,
    Jobs,
    MaxFileSize,
    NoHistory,
    Refs,
    Rules,
    Targets,
    Unreachable,
    build_options,
    check_output,
    check_targets,
    progress_bar,
)
from leakguard.errors import LeakguardError, UsageError
from leakguard.options import ScanOptions, with_project_config
from leakguard.redact import escape_terminal, terminal_safe
from leakguard.reports.text import summary
from leakguard.scanner import run_scan

baseline_app = typer.Typer(
    name="baseline",
    help="Accept the credentials present today, so `scan --baseline` reports only new ones.",
    no_args_is_help=True,
)

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Tracebacks on error.")]
_VERDICT_ALIASES = {"tp": "true-positive", "fp": "false-positive"}


def _checked(
    output: Path,
    targets: list[str],
    rules: list[Path] | None,
    jobs: int,
    no_history: bool,
    include_unreachable: bool,
    ref: list[str] | None,
    cache_dir: Path | None,
    max_file_size: str,
) -> ScanOptions:
    """The scan options, after every input was checked (all problems reported together)."""
    problems: list[LeakguardError] = []
    collect(problems, check_output, output)
    collect(problems, check_targets, targets)
    options = collect(
        problems,
        lambda: build_options(
            rules=rules,
            jobs=jobs,
            no_history=no_history,
            include_unreachable=include_unreachable,
            refs=ref,
            cache_dir=cache_dir,
            max_file_size=max_file_size,
        ),
    )
    raise_all(problems)
    assert options is not None
    # the same scope as `leakguard scan` of these targets: the scan root's .leakguard.yaml
    return with_project_config(options, targets)[0]


@baseline_app.command("create")
def create(
    targets: Targets,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", metavar="FILE", help="The baseline file to write (0600)."),
    ],
    rules: Rules = None,
    jobs: Jobs = 0,
    no_history: NoHistory = False,
    include_unreachable: Unreachable = False,
    ref: Refs = None,
    cache_dir: CacheDir = None,
    max_file_size: MaxFileSize = "100MB",
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Scan TARGET... and write the fingerprints of every credential found to FILE.

    The file holds SHA-256 fingerprints and rule ids, never secrets. Because it is keyed by
    fingerprint, a baselined credential stays suppressed when its line moves or its commit is
    rebased.

    **Example:** `leakguard baseline create . -o .leakguard-baseline.json`, then
    `leakguard scan . --baseline .leakguard-baseline.json`.

    **Exit codes:** 0 written, 2 usage, input or environment error (the previous file is left
    unchanged), 3 internal error, 130 interrupted, 143 terminated.
    """
    options = _checked(
        output, targets, rules, jobs, no_history, include_unreachable, ref, cache_dir,
        max_file_size,
    )  # fmt: skip
    with progress_bar(not quiet) as progress:
        result = run_scan(targets, options, progress=progress)
    count = Baseline.write(output, result.findings)
    if not quiet:
        shown = terminal_safe(str(output))
        typer.echo(f"wrote {count} credential fingerprint(s) to {shown}", err=True)
        typer.echo(summary(result), err=True)


@baseline_app.command("update")
def update(
    targets: Targets,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", metavar="FILE", help="The baseline file to update (0600)."),
    ],
    rules: Rules = None,
    jobs: Jobs = 0,
    no_history: NoHistory = False,
    include_unreachable: Unreachable = False,
    ref: Refs = None,
    cache_dir: CacheDir = None,
    max_file_size: MaxFileSize = "100MB",
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Scan TARGET... again and bring FILE up to date: add the credentials found that it does
    not hold, prune the entries no longer found, keep every audit mark of what stays.

    Scan the same scope as when the baseline was created (an entry found only in history is
    pruned by an update run with --no-history). An older baseline version is migrated.

    **Example:** `leakguard baseline update . -o .leakguard-baseline.json`

    **Exit codes:** 0 written, 2 usage, input or environment error (the file is left
    unchanged), 3 internal error, 130 interrupted, 143 terminated.
    """
    problems: list[LeakguardError] = []
    current = collect(problems, Baseline.load, output)
    options = collect(
        problems, _checked, output, targets, rules, jobs, no_history, include_unreachable, ref,
        cache_dir, max_file_size,
    )  # fmt: skip
    raise_all(problems)
    assert current is not None and options is not None
    with progress_bar(not quiet) as progress:
        result = run_scan(targets, options, progress=progress)
    change = current.updated(result.findings)
    change.baseline.save(output)
    if not quiet:
        audited = sum(1 for e in change.baseline.entries if e.audit is not None)
        typer.echo(
            f"baseline {terminal_safe(str(output))}: {change.added} added, {change.pruned} "
            f"pruned, {change.kept} kept ({audited} audited)",
            err=True,
        )


def _who(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


def _verdict(value: str) -> str:
    verdict = _VERDICT_ALIASES.get(value, value)
    if verdict not in VERDICTS:
        raise UsageError(
            f"unknown verdict {value!r}", hint="use true-positive (tp) or false-positive (fp)"
        )
    return verdict


def _line(entry: Entry) -> str:
    mark = entry.audit
    verdict = f"{mark.verdict} by {mark.by}: {mark.reason}" if mark else "not audited"
    return f"{entry.fingerprint}  {escape_terminal(entry.rule_id)}  {escape_terminal(verdict)}"


@baseline_app.command("audit")
def audit(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The baseline file.")],
    fingerprint: Annotated[
        str | None,
        typer.Argument(
            metavar="FINGERPRINT", help="The entry to mark (a unique prefix of 6+ hex digits)."
        ),
    ] = None,
    verdict: Annotated[
        str | None,
        typer.Option(
            "--verdict",
            metavar="VERDICT",
            help="true-positive (tp) or false-positive (fp).",
        ),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why (required).")
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", metavar="NAME", help="Who (default: current user).")
    ] = None,
    list_entries: Annotated[
        bool, typer.Option("--list", help="List every entry and its verdict; change nothing.")
    ] = False,
    interactive: Annotated[
        bool,
        typer.Option("--interactive", "-i", help="Ask about each entry not yet audited."),
    ] = False,
    verbose: Verbose = False,
) -> None:
    """Mark baseline entries as true or false positives, with a reason (who and when are
    recorded too).

    **Examples**

    * `leakguard baseline audit .leakguard-baseline.json 9f2c1a --verdict fp --reason "test
      fixture"`

    * `leakguard baseline audit .leakguard-baseline.json --interactive`

    * `leakguard baseline audit .leakguard-baseline.json --list`

    **Exit codes:** 0 done, 2 usage or input error (the file is left unchanged), 130
    interrupted.
    """
    baseline = Baseline.load(file)
    if list_entries:
        for entry in baseline.entries:
            typer.echo(_line(entry))
        return
    if interactive:
        baseline = _ask(baseline, _who(by))
    else:
        if fingerprint is None or verdict is None or reason is None:
            raise UsageError(
                "baseline audit needs FINGERPRINT, --verdict and --reason (or --interactive)",
                hint="list the entries with `leakguard baseline audit FILE --list`",
            )
        baseline = baseline.audited(fingerprint, _verdict(verdict), reason, _who(by))
    baseline.save(file)
    audited = sum(1 for e in baseline.entries if e.audit is not None)
    typer.echo(
        f"baseline {terminal_safe(str(file))}: {audited} of {len(baseline.entries)} "
        "entries audited",
        err=True,
    )


def _ask(baseline: Baseline, by: str) -> Baseline:
    """One question per entry not yet audited: t(rue), f(alse), s(kip) or q(uit); then why."""
    pending = [e for e in baseline.entries if e.audit is None]
    for n, entry in enumerate(pending, 1):
        typer.echo(f"[{n}/{len(pending)}] {_line(entry)}")
        answer = typer.prompt("true positive, false positive, skip or quit? [t/f/s/q]")
        choice = answer.strip().lower()[:1]
        if choice == "q":
            break
        if choice not in ("t", "f"):
            continue
        why = typer.prompt("reason")
        verdict = "true-positive" if choice == "t" else "false-positive"
        baseline = baseline.audited(entry.fingerprint, verdict, why, by)
    return baseline


@baseline_app.command("migrate")
def migrate(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The baseline file.")],
    verbose: Verbose = False,
) -> None:
    """Rewrite FILE in the current baseline format version (reading migrates older versions in
    memory; this writes the result back). Entries and audit marks are kept."""
    baseline = Baseline.load(file)
    baseline.save(file)
    was = baseline.migrated_from
    what = f"migrated from version {was}" if was is not None else "already current"
    typer.echo(f"baseline {terminal_safe(str(file))}: {what}", err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(baseline_app)
