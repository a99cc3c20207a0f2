"""`leakguard scan`: parse options, call :func:`leakguard.scanner.run_scan`, render."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from leakguard.errors import EXIT_FINDINGS, EXIT_OK, UsageError
from leakguard.model import ScanResult, Severity
from leakguard.options import (
    GIT_CONNECT_TIMEOUT,
    GIT_IDLE_TIMEOUT,
    GIT_TOTAL_TIMEOUT,
    GitOptions,
    ScanOptions,
    parse_size,
)
from leakguard.reports import check_format, render, write_private
from leakguard.reports.text import summary
from leakguard.scanner import scan_then_record

SCAN_HELP = """Scan files, directories, git repositories and standard input for leaked credentials.

A directory is scanned recursively (VCS internals, links and binary files are skipped; files
over --max-file-size are skipped with a notice). A git repository is scanned with its full
history unless --no-history. `-` reads standard input.

**Examples**

* `leakguard scan .`

* `leakguard scan src/ config/.env -f json -o report.json`

* `cat deploy.log | leakguard scan -`

* `leakguard scan repo.git --include-unreachable -f sarif -o leakguard.sarif`

* `leakguard scan . --baseline .leakguard-baseline.json --min-severity high`

**Exit codes:** 0 nothing found, 1 credentials found, 2 usage or input error (one line on
stderr; -v adds the traceback).

Secret values are shown only with --show-secrets; reports carry redacted forms and SHA-256
fingerprints.
"""

Targets = Annotated[
    list[str],
    typer.Argument(
        help="Files, directories, git repositories, bundles, URLs, or - for standard input.",
        show_default=False,
    ),
]
Rules = Annotated[
    list[Path] | None,
    typer.Option("--rules", metavar="DIR", help="Also load the rule files in DIR (repeatable)."),
]
Jobs = Annotated[
    int, typer.Option("--jobs", "-j", metavar="N", help="Worker processes (0: one per core).")
]
NoHistory = Annotated[
    bool, typer.Option("--no-history", help="Git: scan the work tree only, not the history.")
]
Unreachable = Annotated[
    bool,
    typer.Option("--include-unreachable", help="Git: also scan unreachable (dangling) objects."),
]
Refs = Annotated[
    list[str] | None,
    typer.Option("--ref", metavar="REF", help="Git: scan only the history of REF (repeatable)."),
]
Incremental = Annotated[
    bool,
    typer.Option(
        "--incremental",
        help="Git: skip commits already scanned by a previous run (and an unchanged repository).",
    ),
]
Db = Annotated[
    Path | None,
    typer.Option("--db", metavar="PATH", help="Findings store holding incremental cursors."),
]
CacheDir = Annotated[
    Path | None,
    typer.Option("--cache-dir", metavar="DIR", help="Where remote repositories are mirrored."),
]
Staged = Annotated[
    bool,
    typer.Option(
        "--staged",
        help="Git: only what the next commit adds (staged blobs that differ from HEAD).",
    ),
]
SinceCommit = Annotated[
    str | None,
    typer.Option(
        "--since-commit",
        metavar="REF",
        help="Git: only blobs introduced by commits after REF, up to HEAD (no work tree).",
    ),
]
CommitRange = Annotated[
    str | None,
    typer.Option(
        "--range",
        metavar="A..B",
        help="Git: only blobs introduced by commits in A..B (no work tree).",
    ),
]
GitTimeout = Annotated[
    float,
    typer.Option(
        "--git-timeout",
        metavar="SECONDS",
        help="Remote git: give up a clone or fetch after this long in total.",
    ),
]
GitIdleTimeout = Annotated[
    float,
    typer.Option(
        "--git-idle-timeout",
        metavar="SECONDS",
        help="Remote git: give up when slower than 1 KiB/s this long (also ssh connect).",
    ),
]
MaxFileSize = Annotated[
    str,
    typer.Option(
        "--max-file-size", metavar="SIZE", help="Skip larger files, with a notice (e.g. 5MB)."
    ),
]


def build_options(
    *,
    rules: list[Path] | None = None,
    jobs: int = 0,
    no_history: bool = False,
    include_unreachable: bool = False,
    refs: list[str] | None = None,
    incremental: bool = False,
    db: Path | None = None,
    cache_dir: Path | None = None,
    max_file_size: str = "100MB",
    show_secrets: bool = False,
    baseline: Path | None = None,
    min_severity: str = "info",
    git_timeout: float = GIT_TOTAL_TIMEOUT,
    git_idle_timeout: float = GIT_IDLE_TIMEOUT,
    staged: bool = False,
    since_commit: str | None = None,
    commit_range: str | None = None,
) -> ScanOptions:
    """Map command-line values onto the frozen option objects, rejecting bad ones early."""
    if jobs < 0:
        raise UsageError(f"--jobs must be 0 or more, not {jobs}")
    if not (git_timeout > 0 and git_idle_timeout > 0):
        raise UsageError("--git-timeout and --git-idle-timeout must be more than 0 seconds")
    range_from, range_to = _git_range(since_commit, commit_range)
    scopes = [no_history, staged, range_to is not None, bool(refs)]
    if (staged or range_to is not None) and sum(scopes) > 1:
        raise UsageError(
            "--no-history, --staged, --ref and --range/--since-commit choose different parts of"
            " a repository: give one of them"
        )
    return ScanOptions(
        max_file_bytes=parse_size(max_file_size),
        show_secrets=show_secrets,
        min_severity=Severity.parse(min_severity),
        jobs=jobs,
        rules_dirs=tuple(rules or ()),
        baseline=baseline,
        cache_dir=cache_dir,
        db=db,
        git=GitOptions(
            history=not no_history,
            include_unreachable=include_unreachable,
            refs=tuple(refs or ()),
            incremental=incremental,
            connect_timeout_seconds=min(git_idle_timeout, GIT_CONNECT_TIMEOUT),
            idle_timeout_seconds=git_idle_timeout,
            total_timeout_seconds=git_timeout,
            staged=staged,
            range_from=range_from,
            range_to=range_to,
        ),
    )


def _git_range(since_commit: str | None, commit_range: str | None) -> tuple[str | None, str | None]:
    if since_commit is not None and commit_range is not None:
        raise UsageError("give --range or --since-commit, not both")
    if since_commit is not None:
        return since_commit, "HEAD"
    if commit_range is None:
        return None, None
    start, dots, end = commit_range.partition("..")
    if not dots or end.startswith(".") or not start or not end:
        raise UsageError(
            f"--range {commit_range!r}: expected A..B (two refs or commits)",
            hint="for a pull request: --range origin/main..HEAD",
        )
    return start, end


class _BarProgress:
    """The scan core's Progress protocol over a rich progress bar."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.task = bar.add_task("scanning", total=None)

    def start(self, total: int) -> None:
        self.bar.update(self.task, total=total)

    def advance(self, done: int = 1) -> None:
        self.bar.advance(self.task, done)

    def stop(self) -> None:
        """Clear the bar before the report is printed (idempotent)."""
        self.bar.stop()


@contextmanager
def progress_bar(enabled: bool) -> Iterator[_BarProgress | None]:
    """A transient bar on stderr, only when stderr is a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    bar = Bar(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        yield _BarProgress(bar)


def check_output(output: Path | None) -> None:
    """Refuse an -o path that cannot be written before spending time on the scan."""
    if output is not None and (output.is_dir() or not output.parent.is_dir()):
        reason = "is a directory" if output.is_dir() else "its directory does not exist"
        raise UsageError(f"cannot write the report to {output}: {reason}")


def emit(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
    else:
        write_private(output, text)


def scan(
    targets: Targets,
    output_format: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help="text, json, jsonl or sarif.")
    ] = "text",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write the report to FILE (0600)."),
    ] = None,
    show_secrets: Annotated[
        bool, typer.Option("--show-secrets", help="Put secret values in the report (careful).")
    ] = False,
    baseline: Annotated[
        Path | None,
        typer.Option(
            "--baseline", metavar="FILE", help="Report only credentials not in this baseline."
        ),
    ] = None,
    min_severity: Annotated[
        str,
        typer.Option(
            "--min-severity",
            metavar="LEVEL",
            help="Report LEVEL and above: critical, high, medium, low, info.",
        ),
    ] = "info",
    rules: Rules = None,
    jobs: Jobs = 0,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="Text: only the summary line, nothing when clean."),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Every place, skipped file and warning; tracebacks."),
    ] = False,
    no_history: NoHistory = False,
    include_unreachable: Unreachable = False,
    ref: Refs = None,
    incremental: Incremental = False,
    db: Db = None,
    cache_dir: CacheDir = None,
    max_file_size: MaxFileSize = "100MB",
    git_timeout: GitTimeout = GIT_TOTAL_TIMEOUT,
    git_idle_timeout: GitIdleTimeout = GIT_IDLE_TIMEOUT,
    staged: Staged = False,
    since_commit: SinceCommit = None,
    commit_range: CommitRange = None,
) -> None:
    check_format(output_format)
    check_output(output)
    options = build_options(
        rules=rules,
        jobs=jobs,
        no_history=no_history,
        include_unreachable=include_unreachable,
        refs=ref,
        incremental=incremental,
        db=db,
        cache_dir=cache_dir,
        max_file_size=max_file_size,
        show_secrets=show_secrets,
        baseline=baseline,
        min_severity=min_severity,
        git_timeout=git_timeout,
        git_idle_timeout=git_idle_timeout,
        staged=staged,
        since_commit=since_commit,
        commit_range=commit_range,
    )
    with progress_bar(not quiet) as progress:

        def deliver(result: ScanResult) -> None:
            if progress is not None:
                progress.stop()
            _report(
                result,
                output_format,
                output,
                show_secrets=show_secrets,
                quiet=quiet,
                verbose=verbose,
            )

        # the incremental state is recorded only once the report is out (nothing is lost)
        result = scan_then_record(targets, options, deliver, progress=progress)
    raise typer.Exit(EXIT_FINDINGS if result.findings else EXIT_OK)


def _report(
    result: ScanResult,
    fmt: str,
    output: Path | None,
    *,
    show_secrets: bool,
    quiet: bool,
    verbose: bool,
) -> None:
    if fmt == "text" and quiet:  # an -o file is still written (empty when clean)
        emit(summary(result) + "\n" if result.findings else "", output)
        return
    emit(render(result, fmt, show_secrets=show_secrets, verbose=verbose), output)
    if (output is not None or fmt != "text") and not quiet:
        typer.echo(summary(result), err=True)


scan.__doc__ = SCAN_HELP


def register(app: typer.Typer) -> None:
    app.command(no_args_is_help=True)(scan)
