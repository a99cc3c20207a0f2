"""What the console script starts before the command line is parsed, on the cores that would
otherwise wait while LeakGuard loads: git's share of a full history scan
(:mod:`leakguard.sources.git_early`), or the workers of a directory's scan
(:mod:`leakguard.early_worker`).

Only a guess, made from the raw arguments: ``scan`` with exactly one target and no option that
changes what a scan of history reads (:data:`PLANNING`), nor any option this module does not
know (a typo, an option added later); for a directory, only the few options of
:data:`WORKER_VALUE_OPTIONS` and :data:`WORKER_FLAGS`. The scan then claims what it would have
started itself and nothing else, so a wrong guess changes no result.
"""

from __future__ import annotations

import os
from collections import namedtuple
from collections.abc import Sequence
from functools import partial
from pathlib import Path

TYPE_CHECKING = False  # typing is not loaded this early (2.5 ms)
if TYPE_CHECKING:
    from leakguard.early_worker import Prepared
    from leakguard.options import ScanOptions

#: `scan` options that take a value and leave a full history scan's git processes as they are
VALUE_OPTIONS = frozenset(
    {
        "-f",
        "--format",
        "-o",
        "--output",
        "--baseline",
        "--min-severity",
        "--rules",
        "-j",
        "--jobs",
        "--engine",
        "--db",
        "--state-dir",
        "--cache-dir",
        "--max-file-size",
        "--allow-origin",
        "--verify-endpoint",
        "--vault-addr",
        "--shopify-shop",
        "--config",
        "--exclude",
        "--git-timeout",
        "--git-idle-timeout",
    }
)
#: `scan` flags that leave them as they are
FLAGS = frozenset(
    {
        "--show-secrets",
        "-q",
        "--quiet",
        "-v",
        "--verbose",
        "--verify",
        "--verify-dry-run",
        "--no-config",
    }
)
#: `scan` options that change which history is read, or ask for no scan: no guess is made
PLANNING = frozenset(
    {
        "--no-history",
        "--include-unreachable",
        "--ref",
        "--incremental",
        "--staged",
        "--since-commit",
        "--range",
        "--help",
    }
)


def begin(args: Sequence[str]) -> bool:
    """Start git's share of the scan ``args`` asks for when they name one repository and
    nothing else that matters; whether something was started. Never raises: a guess that
    cannot be made is not made."""
    target = single_target(args)
    if target is None:
        return False
    from leakguard.sources.git_layout import may_be_repository

    path = Path(target)
    try:
        if not may_be_repository(path):
            return False
        from leakguard.sources import git_early

        return git_early.begin(path)
    except Exception:  # the scan itself meets the problem and reports it
        return False


def single_target(args: Sequence[str]) -> str | None:
    """The one target of a ``scan`` command line made only of options known to leave a
    history scan as it is; None for anything else."""
    parsed = _scan_words(args, VALUE_OPTIONS, FLAGS)  # PLANNING, or unknown: no guess
    if parsed is None or len(parsed[0]) != 1 or parsed[0][0] == "-":
        return None
    return parsed[0][0]


def _scan_words(
    args: Sequence[str], with_value: frozenset[str], flags: frozenset[str]
) -> tuple[list[str], list[tuple[str, str]]] | None:
    """The targets and the options (name and value, ``""`` for a flag) of a ``scan`` command
    line made only of the options ``with_value`` (``-o FILE``, ``--output=FILE``) and
    ``flags``; None for anything else (clustered short flags included: not parsed here)."""
    if len(args) < 2 or args[0] != "scan":
        return None
    targets: list[str] = []
    options: list[tuple[str, str]] = []
    i = 1
    while i < len(args):
        arg = args[i]
        if arg == "--":
            targets += args[i + 1 :]
            break
        if not arg.startswith("-") or arg == "-":
            targets.append(arg)
        else:
            name, equals, value = arg.partition("=")
            if name in with_value:
                if not equals:
                    i += 1
                    if i == len(args):
                        return None
                    value = args[i]
                options.append((name, value))
            elif name in flags and not equals:
                options.append((name, ""))
            else:
                return None
        i += 1
    return targets, options


#: the options a directory scan's workers are guessed with (any other: no guess): those with a
#: value, and the flags
WORKER_VALUE_OPTIONS = frozenset({"-f", "--format", "-o", "--output", "-j", "--jobs"})
WORKER_FLAGS = frozenset(
    {"--show-secrets", "-q", "--quiet", "-v", "--verbose", "--no-config", "--no-history"}
)


#: a directory scan's command line, as far as its plan depends on it (``history``: False for
#: ``--no-history``, which changes nothing in a plain directory but is in the options); a named
#: tuple, not a dataclass: this module is loaded before anything else (dataclasses costs 11 ms)
WorkerGuess = namedtuple(
    "WorkerGuess",
    ["target", "jobs", "show_secrets", "use_config", "history"],
    defaults=[0, False, True, True],
)


def worker_guess(args: Sequence[str]) -> WorkerGuess | None:
    """What a ``scan`` of one target with only the options a guess knows asks for; None for
    anything else (another command, more targets, any other option, a bad ``--jobs``)."""
    parsed = _scan_words(args, WORKER_VALUE_OPTIONS, WORKER_FLAGS)
    if parsed is None or len(parsed[0]) != 1 or parsed[0][0] == "-":
        return None
    jobs = 0
    for name, value in parsed[1]:
        if name in ("-j", "--jobs"):
            if not value.isascii() or not value.isdigit():
                return None
            jobs = int(value)
    names = {name for name, _ in parsed[1]}
    return WorkerGuess(
        parsed[0][0],
        jobs,
        show_secrets="--show-secrets" in names,
        use_config="--no-config" not in names,
        history="--no-history" not in names,
    )


def begin_workers(args: Sequence[str]) -> int:
    """Fork the workers of the directory scan ``args`` asks for (see :func:`worker_guess`);
    how many were started. Never raises."""
    guess = worker_guess(args)
    if guess is None:
        return 0
    try:
        from leakguard.sources.git_layout import may_be_repository

        path = Path(guess.target)
        if not path.is_dir() or may_be_repository(path) or not _large(guess.target):
            return 0
        from leakguard import early_worker

        workers = guess.jobs or os.cpu_count() or 1  # ScanOptions.workers
        return early_worker.begin(partial(_prepare, os.getpid(), guess), workers)
    except Exception:  # the scan itself meets the problem and reports it
        return 0


#: a tree smaller than this is scanned in one process anyway (it fills at most one batch:
#: :data:`leakguard.sources.filesystem.MIN_BATCH_BYTES`); forking for it would only cost time
LARGE_BYTES = 1024 * 1024
#: entries looked at before a tree is taken to be large (the look stays cheap on any tree)
LOOK_ENTRIES = 4096


def _large(root: str) -> bool:
    """Whether the tree at ``root`` holds :data:`LARGE_BYTES` of regular files, or more than
    :data:`LOOK_ENTRIES` entries; symbolic links are not followed, unreadable parts skipped."""
    seen = size = 0
    pending = [root]
    while pending:
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    seen += 1
                    if seen > LOOK_ENTRIES:
                        return True
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        size += entry.stat(follow_symlinks=False).st_size
                        if size >= LARGE_BYTES:
                            return True
        except OSError:
            continue
    return False


def _prepare(parent: int, guess: WorkerGuess) -> Prepared | None:
    """In a forked worker: the guessed scan's plan (:func:`leakguard.scanner.prepare_early`)."""
    from leakguard import scanner
    from leakguard.options import with_project_config

    options = guessed_options(guess.jobs, guess.show_secrets, history=guess.history)
    options, _ = with_project_config(options, [guess.target], use_config=guess.use_config)
    return scanner.prepare_early(parent, guess.target, options)


def guessed_options(jobs: int, show_secrets: bool, *, history: bool = True) -> ScanOptions:
    """The options ``leakguard scan`` builds from a command line that sets only these (before
    the project's configuration is applied); tested equal to the CLI's."""
    from leakguard.options import GIT_CONNECT_TIMEOUT, GIT_IDLE_TIMEOUT, GitOptions, ScanOptions

    timeout = min(GIT_IDLE_TIMEOUT, GIT_CONNECT_TIMEOUT)
    git = GitOptions(history=history, connect_timeout_seconds=timeout)
    return ScanOptions(jobs=jobs, show_secrets=show_secrets, git=git)
