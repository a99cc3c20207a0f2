"""Frozen option objects passed explicitly from the CLI into the core (no global settings)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from leakguard.config import Allowlist, ProjectConfig, discover, load
from leakguard.errors import UsageError
from leakguard.model import ScanState, Severity
from leakguard.pathfilter import PathFilter

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    max_depth: int = 4
    max_total_bytes: int = 1024 * MiB
    max_member_bytes: int = 256 * MiB
    max_ratio: float = 200.0
    max_entries: int = 100_000


# remote clones and fetches: ssh connect; slower than 1 KiB/s this long; the whole run
GIT_CONNECT_TIMEOUT = 30.0
GIT_IDLE_TIMEOUT = 60.0
GIT_TOTAL_TIMEOUT = 3600.0


@dataclass(frozen=True, slots=True)
class GitOptions:
    history: bool = True
    include_unreachable: bool = False
    refs: tuple[str, ...] = ()
    incremental: bool = False
    max_blob_bytes: int = 50 * MiB
    connect_timeout_seconds: float = GIT_CONNECT_TIMEOUT
    idle_timeout_seconds: float = GIT_IDLE_TIMEOUT
    total_timeout_seconds: float = GIT_TOTAL_TIMEOUT
    staged: bool = False  # only the index's blobs that differ from HEAD (what will be committed)
    range_from: str | None = None  # --range A..B / --since-commit A: blobs introduced after A
    range_to: str | None = None  # ... up to B (HEAD for --since-commit)

    @property
    def needs_repository(self) -> bool:
        """Options only a git repository can honour: a plain directory given with any of
        them is an error, not a directory scan."""
        return bool(self.include_unreachable or self.refs or self.staged or self.range_to)


@dataclass(frozen=True, slots=True)
class WebOptions:
    """Bounds of a site scan. ``timeout_seconds`` and ``max_bytes`` cover the whole site; the
    ``*_timeout_seconds`` and ``max_response_bytes`` each request (see :mod:`leakguard.http`)."""

    same_origin: bool = True
    max_requests: int = 100
    max_bytes: int = 50 * MiB
    timeout_seconds: float = 30.0
    user_agent: str = "LeakGuard/0.1 (+secret scanner)"
    #: origins (``https://cdn.example.com``) fetched besides the target's own
    allow_origins: frozenset[str] = frozenset()
    connect_timeout_seconds: float = 10.0
    read_timeout_seconds: float = 15.0  # longest wait for the next bytes
    request_timeout_seconds: float = 30.0  # one request, redirects included
    max_response_bytes: int = 50 * MiB


@dataclass(frozen=True, slots=True)
class ScanOptions:
    max_file_bytes: int = 100 * MiB
    show_secrets: bool = False
    min_severity: Severity = Severity.INFO
    jobs: int = 0  # 0 = one worker per core
    engine: str = "auto"  # auto | hyperscan | re
    rules_dirs: tuple[Path, ...] = ()
    baseline: Path | None = None
    decode_depth: int = 2
    cache_dir: Path | None = None  # remote mirrors; default under the XDG cache dir
    # where the caller keeps the incremental state (the core never reads these two): the
    # findings store when ``db`` is set, else files under ``state_dir`` (default: XDG state dir)
    state_dir: Path | None = None
    db: Path | None = None
    # what earlier scans recorded for this scan's sources, filled in by the core (run_scan)
    state: ScanState = field(default_factory=ScanState)
    git: GitOptions = field(default_factory=GitOptions)
    archives: ArchiveLimits = field(default_factory=ArchiveLimits)
    web: WebOptions = field(default_factory=WebOptions)
    # from .leakguard.yaml and --exclude: paths never scanned, values and places never reported
    excludes: PathFilter = field(default_factory=PathFilter)
    allowlist: Allowlist = field(default_factory=Allowlist)
    disabled_rules: frozenset[str] = frozenset()
    generic: bool = True  # the generic keyword = high-entropy rules (provider "generic")
    generic_severity: Severity | None = None

    @property
    def workers(self) -> int:
        """The workers a scan runs on: ``jobs``, or one per core when it is 0."""
        return self.jobs if self.jobs > 0 else (os.cpu_count() or 1)


_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": MiB, "mb": MiB, "mib": MiB}
_SIZE_UNITS |= {"g": 1024 * MiB, "gb": 1024 * MiB, "gib": 1024 * MiB}


def parse_size(text: str) -> int:
    """``"100MB"``, ``"512k"``, ``"1048576"`` -> bytes (units are powers of 1024)."""
    raw = text.strip().lower().replace(" ", "")
    digits = raw.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = raw[len(digits) :]
    try:
        value = float(digits)
    except ValueError:
        value = -1.0
    if value <= 0 or unit not in _SIZE_UNITS:
        raise UsageError(
            f"invalid size {text!r}", hint="write a positive size such as 5MB, 512KB or 100000"
        )
    return int(value * _SIZE_UNITS[unit])


def with_project(
    options: ScanOptions,
    project: ProjectConfig,
    *,
    excludes: tuple[str, ...] = (),
    severity_given: bool = False,
    baseline_given: bool = False,
) -> ScanOptions:
    """``options`` completed by a project's ``.leakguard.yaml``: what the command line said
    explicitly wins; the file fills the rest; ``excludes`` (``--exclude``) add to the file's."""
    patterns = (*project.excludes.patterns, *excludes)
    return replace(
        options,
        excludes=PathFilter(patterns),
        allowlist=project.allow,
        disabled_rules=options.disabled_rules | project.disable_rules,
        rules_dirs=(*options.rules_dirs, *project.rules_dirs),
        min_severity=(
            options.min_severity
            if severity_given or project.min_severity is None
            else project.min_severity
        ),
        baseline=options.baseline if baseline_given else (options.baseline or project.baseline),
        generic=project.generic_enabled,
        generic_severity=project.generic_severity,
    )


def with_project_config(
    options: ScanOptions,
    targets: tuple[str, ...] | list[str],
    *,
    config: Path | None = None,
    use_config: bool = True,
    excludes: tuple[str, ...] = (),
    severity_given: bool = False,
    baseline_given: bool = False,
) -> tuple[ScanOptions, Path | None]:
    """Apply ``config`` (``--config``), else the ``.leakguard.yaml`` at the first directory
    target's root, unless ``use_config`` is off; returns the options and the file applied.
    ``excludes`` apply even without a file (over the shipped defaults)."""
    path = config
    if path is None and use_config:
        roots = [Path(t) for t in targets if t != "-" and Path(t).is_dir()]
        path = discover(roots[0]) if roots else None
    project = load(path) if path is not None else ProjectConfig()
    merged = with_project(
        options,
        project,
        excludes=excludes,
        severity_given=severity_given,
        baseline_given=baseline_given,
    )
    return merged, path
