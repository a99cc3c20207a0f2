"""`leakguard scan`: parse options, call :func:`leakguard.scanner.run_scan`, render."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from leakguard.cli.errors import collect, raise_all
from leakguard.cli.tables import scan_report, stdout_style
from leakguard.errors import EXIT_FINDINGS, EXIT_OK, InputError, LeakguardError, UsageError
from leakguard.model import ScanResult, Severity
from leakguard.options import (
    GIT_CONNECT_TIMEOUT,
    GIT_IDLE_TIMEOUT,
    GIT_TOTAL_TIMEOUT,
    GitOptions,
    ScanOptions,
    WebOptions,
    parse_size,
    with_project_config,
)
from leakguard.redact import fingerprint, looks_like_credential
from leakguard.reports import check_format, render, write_private
from leakguard.reports.text import size_text, summary, table
from leakguard.scanner import scan_then_record

if TYPE_CHECKING:
    from leakguard.verify.runner import VerifyOptions

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

**Exit codes:** 0 nothing found, 1 credentials found, 2 usage, input or environment error
(one line on stderr; -v adds the traceback), 3 internal error (a bug), 130 interrupted, 143
terminated, 141 output pipe closed.

Secret values are shown only with --show-secrets; reports carry redacted forms and SHA-256
fingerprints.
"""

_REMOTE = re.compile(r"^[\w.-]+@[\w.-]+:(?!//)")  # user@host:path, a git remote

_TARGET_HINT = "give a file, directory, git repository, .bundle file, URL, or - for stdin"

Targets = Annotated[
    list[str],
    typer.Argument(
        metavar="TARGET",
        help="Files, directories, git repositories, bundles, URLs, or - for standard input.",
        show_default=False,
    ),
]
Rules = Annotated[
    list[Path] | None,
    typer.Option("--rules", metavar="DIR", help="Also load the rule files in DIR (repeatable)."),
]
EngineKind = Annotated[
    str,
    typer.Option(
        "--engine",
        metavar="KIND",
        help="Matching engine: auto (Hyperscan when it loads, else re), hyperscan (fail if it "
        "cannot load) or re. Default auto, or $LEAKGUARD_ENGINE when set.",
    ),
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
StateDir = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        metavar="DIR",
        help="Where incremental state lives without --db (default: $XDG_STATE_HOME/leakguard).",
    ),
]
CacheDir = Annotated[
    Path | None,
    typer.Option("--cache-dir", metavar="DIR", help="Where remote repositories are mirrored."),
]
AllowOrigin = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-origin",
        metavar="ORIGIN",
        help="Sites: also fetch scripts, maps and redirects from ORIGIN, e.g. "
        "https://cdn.example.com (repeatable; default: the target's origin only).",
    ),
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


Verify = Annotated[
    bool,
    typer.Option(
        "--verify",
        help="Ask each credential's provider (its official host, read-only identity call) "
        "whether it is live, revoked or unknown; off by default (docs/verify.md).",
    ),
]
VerifyDryRun = Annotated[
    bool,
    typer.Option("--verify-dry-run", help="List what --verify would call, and call nothing."),
]
VerifyEndpoint = Annotated[
    list[str] | None,
    typer.Option(
        "--verify-endpoint",
        metavar="NAME=URL",
        help="Tests and sandboxes only: send verifier NAME's calls to URL instead of its "
        "official host (default: $LEAKGUARD_VERIFY_ENDPOINTS).",
    ),
]
VaultAddr = Annotated[
    str | None,
    typer.Option(
        "--vault-addr",
        metavar="URL",
        help="Vault/OpenBao server that --verify asks about leaked Vault tokens "
        "(default: $VAULT_ADDR, then $BAO_ADDR).",
    ),
]
ShopifyShop = Annotated[
    list[str] | None,
    typer.Option(
        "--shopify-shop",
        metavar="SHOP",
        help="The shop (acme or acme.myshopify.com) whose Admin API --verify asks about leaked "
        "Shopify tokens (repeatable; docs/verify.md).",
    ),
]


ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="FILE",
        help="Project configuration to apply (default: .leakguard.yaml at the scan root; "
        "docs/config.md).",
    ),
]
NoConfig = Annotated[
    bool, typer.Option("--no-config", help="Ignore the scan root's .leakguard.yaml.")
]
Exclude = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude",
        metavar="PATTERN",
        help="Skip paths matching PATTERN (gitignore syntax, relative to the scan root; "
        "repeatable; added to the configuration's).",
    ),
]


def build_verify_options(
    endpoints: list[str] | None, vault_addr: str | None, shopify_shops: list[str] | None = None
) -> VerifyOptions:
    from leakguard.verify.runner import VerifyOptions, parse_endpoints
    from leakguard.verify.shopify import parse_shops

    env = os.environ.get("LEAKGUARD_VERIFY_ENDPOINTS")
    chosen = endpoints if endpoints else ([env] if env else [])
    address = vault_addr or os.environ.get("VAULT_ADDR") or os.environ.get("BAO_ADDR") or None
    return VerifyOptions(
        endpoints=parse_endpoints(chosen),
        vault_addr=address,
        shopify_shops=parse_shops(shopify_shops or ()),
    )


def build_options(
    *,
    rules: list[Path] | None = None,
    jobs: int = 0,
    no_history: bool = False,
    include_unreachable: bool = False,
    refs: list[str] | None = None,
    incremental: bool = False,
    db: Path | None = None,
    state_dir: Path | None = None,
    cache_dir: Path | None = None,
    max_file_size: str = "100MB",
    show_secrets: bool = False,
    baseline: Path | None = None,
    min_severity: str = "info",
    allow_origins: list[str] | None = None,
    git_timeout: float = GIT_TOTAL_TIMEOUT,
    git_idle_timeout: float = GIT_IDLE_TIMEOUT,
    staged: bool = False,
    since_commit: str | None = None,
    commit_range: str | None = None,
    engine: str = "auto",
) -> ScanOptions:
    """Map command-line values onto the frozen option objects, rejecting bad ones early (every
    bad one at once)."""
    problems: list[LeakguardError] = []
    if jobs < 0:
        problems.append(UsageError(f"--jobs must be 0 or more, not {jobs}"))
    if engine not in ("auto", "hyperscan", "re"):
        problems.append(
            UsageError(f"unknown --engine {engine!r}", hint="use auto, hyperscan or re")
        )
    if not (git_timeout > 0 and git_idle_timeout > 0):
        problems.append(
            UsageError("--git-timeout and --git-idle-timeout must be more than 0 seconds")
        )
    scope = collect(problems, _git_range, since_commit, commit_range)
    range_from, range_to = scope if scope is not None else (None, None)
    scopes = [no_history, staged, range_to is not None, bool(refs)]
    if (staged or range_to is not None) and sum(scopes) > 1:
        problems.append(
            UsageError(
                "--no-history, --staged, --ref and --range/--since-commit choose different parts"
                " of a repository: give one of them"
            )
        )
    for value in refs or ():
        if looks_like_credential(value):
            problems.append(
                UsageError(
                    "--ref expects a git ref, but the value given looks like a credential (not "
                    f"shown); its fingerprint is {fingerprint(value)}"
                )
            )
    origins = collect(problems, _origins, allow_origins or [])
    max_bytes = collect(problems, parse_size, max_file_size)
    severity = collect(problems, Severity.parse, min_severity)
    raise_all(problems)
    assert origins is not None and max_bytes is not None and severity is not None
    web = WebOptions(allow_origins=origins)
    return ScanOptions(
        max_file_bytes=max_bytes,
        show_secrets=show_secrets,
        min_severity=severity,
        jobs=jobs,
        engine=engine,
        rules_dirs=tuple(rules or ()),
        baseline=baseline,
        cache_dir=cache_dir,
        db=db,
        state_dir=state_dir,
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
        web=web,
    )


def _origins(values: list[str]) -> frozenset[str]:
    if not values:
        return frozenset()  # without importing the HTTP client: a faster start
    from leakguard import http

    try:
        return http.parse_origins(values)
    except ValueError as exc:
        raise UsageError(
            f"--allow-origin {http.shown_url(str(exc))}: not an origin",
            hint="write scheme://host[:port], e.g. https://cdn.example.com",
        ) from None


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


def units_text(units: Mapping[str, int], seconds: float) -> str:
    """``412 commits · 3,021 blobs · 88 files · 45.2 MB at 12.3 MB/s``: what was read so far,
    in the units people know (nothing about internal pieces)."""
    parts = [
        f"{units.get(name, 0):,} {name if units.get(name, 0) != 1 else name[:-1]}"
        for name in ("commits", "blobs", "files")
        if units.get(name) or (name == "files" and not units.get("blobs"))
    ]
    read = units.get("bytes", 0)
    parts.append(size_text(read))
    text = " · ".join(parts)
    if seconds > 0.5:  # too early a rate is noise
        text += f" at {size_text(int(read / seconds))}/s"
    return text


class _BarProgress:
    """The scan core's Progress protocol over a rich progress bar."""

    def __init__(self, bar: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.bar = bar
        self.clock = clock
        self.began = clock()
        self.units: dict[str, int] = {}
        self.task = bar.add_task("scanning", total=None, units=units_text({}, 0))

    def start(self, total: int) -> None:
        self.bar.update(self.task, total=total)
        self.bar.refresh()  # drawn now, not whenever the refresh thread next gets the CPU

    def advance(self, done: int = 1) -> None:
        self.bar.advance(self.task, done)

    def read(self, units: Mapping[str, int]) -> None:
        for name, n in units.items():
            self.units[name] = self.units.get(name, 0) + n
        shown = units_text(self.units, self.clock() - self.began)
        self.bar.update(self.task, units=shown)

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
    from rich.progress import BarColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    bar = Bar(
        "[progress.description]{task.description}",
        BarColumn(),
        "{task.fields[units]}",
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


def check_targets(targets: list[str]) -> None:
    """Every local target that is missing, and every unreadable directory given as a target
    (inside a tree, an unreadable directory is skipped with a notice), reported together
    before anything is read. URLs and remotes are checked when they are fetched."""
    problems: list[LeakguardError] = []
    for target in targets:
        if target == "-" or "://" in target or _REMOTE.match(target):
            continue
        try:
            os.lstat(target)
        except FileNotFoundError:
            hint = None if problems else _TARGET_HINT  # said once
            problems.append(InputError(f"{target}: no such file or directory", hint=hint))
            continue
        except OSError as exc:  # a name too long, a loop of links
            problems.append(InputError(f"{target}: {exc.strerror or type(exc).__name__}"))
            continue
        if not os.path.isdir(target):
            continue
        try:
            with os.scandir(target):
                pass
        except OSError as exc:
            problems.append(InputError(f"cannot read directory {target}: {exc.strerror or exc}"))
    raise_all(problems)


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
        str | None,
        typer.Option(
            "--min-severity",
            metavar="LEVEL",
            help="Report LEVEL and above: critical, high, medium, low, info (default info, or "
            "the project's .leakguard.yaml).",
        ),
    ] = None,
    rules: Rules = None,
    jobs: Jobs = 0,
    engine: EngineKind = "auto",
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
    state_dir: StateDir = None,
    cache_dir: CacheDir = None,
    max_file_size: MaxFileSize = "100MB",
    allow_origin: AllowOrigin = None,
    verify: Verify = False,
    verify_dry_run: VerifyDryRun = False,
    verify_endpoint: VerifyEndpoint = None,
    vault_addr: VaultAddr = None,
    shopify_shop: ShopifyShop = None,
    config: ConfigFile = None,
    no_config: NoConfig = False,
    exclude: Exclude = None,
    git_timeout: GitTimeout = GIT_TOTAL_TIMEOUT,
    git_idle_timeout: GitIdleTimeout = GIT_IDLE_TIMEOUT,
    staged: Staged = False,
    since_commit: SinceCommit = None,
    commit_range: CommitRange = None,
) -> None:
    problems: list[LeakguardError] = []
    collect(problems, check_format, output_format)
    collect(problems, check_output, output)
    collect(problems, check_targets, targets)
    if baseline is not None:
        from leakguard.baseline import Baseline  # only scans with --baseline pay for it

        collect(problems, Baseline.load, baseline)
    checking = verify and not verify_dry_run
    verify_options = (
        collect(problems, build_verify_options, verify_endpoint, vault_addr, shopify_shop)
        if verify
        else None
    )
    options = collect(
        problems,
        lambda: build_options(
            rules=rules,
            jobs=jobs,
            no_history=no_history,
            include_unreachable=include_unreachable,
            refs=ref,
            incremental=incremental,
            db=db,
            state_dir=state_dir,
            cache_dir=cache_dir,
            max_file_size=max_file_size,
            show_secrets=show_secrets or checking,  # values stay in memory to ask the provider
            baseline=baseline,
            min_severity=min_severity or "info",
            allow_origins=allow_origin,
            git_timeout=git_timeout,
            git_idle_timeout=git_idle_timeout,
            staged=staged,
            since_commit=since_commit,
            commit_range=commit_range,
            engine=engine,
        ),
    )
    raise_all(problems)
    assert options is not None
    options, _ = with_project_config(
        options,
        targets,
        config=config,
        use_config=not no_config,
        excludes=tuple(exclude or ()),
        severity_given=min_severity is not None,
        baseline_given=baseline is not None,
    )
    from leakguard.store.cursors import state_store_for  # sqlite3 only when scanning

    state = state_store_for(options)  # where --db or --state-dir keeps the incremental state
    with progress_bar(not quiet) as progress:

        def deliver(result: ScanResult) -> None:
            if progress is not None:
                progress.stop()
            if verify_options is not None and verify_dry_run:
                _print_verify_plan(result, verify_options)
            elif verify_options is not None:
                result = _verified(result, verify_options, db, keep_secrets=show_secrets)
            _report(
                result,
                output_format,
                output,
                show_secrets=show_secrets,
                quiet=quiet,
                verbose=verbose,
            )

        # the incremental state is recorded only once the report is out (nothing is lost)
        result = scan_then_record(targets, options, deliver, state, progress=progress)
    raise typer.Exit(EXIT_FINDINGS if result.findings else EXIT_OK)


def _verified(
    result: ScanResult, options: VerifyOptions, db: Path | None, *, keep_secrets: bool
) -> ScanResult:
    from leakguard.store.db import DB_ENV, Database
    from leakguard.store.verifications import VerificationCache
    from leakguard.verify.runner import verify_result

    if db is None and not os.environ.get(DB_ENV):
        return verify_result(result, options, keep_secrets=keep_secrets)
    with Database.open(db) as store:
        cache = VerificationCache(store)
        return verify_result(result, options, keep_secrets=keep_secrets, cache=cache)


def _print_verify_plan(result: ScanResult, options: VerifyOptions) -> None:
    from leakguard.verify.runner import plan

    for finding, probe in plan(result.findings, options):
        what = probe.endpoint if probe is not None else "nothing (no verifier for this format)"
        typer.echo(f"verify: {finding.rule_id} {finding.redacted}: would call {what}", err=True)


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
    if fmt == "text":
        colour, width = stdout_style() if output is None else (False, None)
        rows = table(result, show_secrets=show_secrets, verbose=verbose)
        emit(scan_report(rows, colour=colour, width=width), output)
    else:
        emit(render(result, fmt, show_secrets=show_secrets, verbose=verbose), output)
    if (output is not None or fmt != "text") and not quiet:
        typer.echo(summary(result), err=True)


scan.__doc__ = SCAN_HELP


def register(app: typer.Typer) -> None:
    app.command()(scan)  # no target: one usage line, not the whole help
