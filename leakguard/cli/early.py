"""What the console script starts before the command line is parsed: git's share of a full
history scan (:mod:`leakguard.sources.git_early`), on the core that would otherwise wait while
LeakGuard loads.

Only a guess, made from the raw arguments: ``scan`` with exactly one target and no option that
changes what a scan of history reads (:data:`PLANNING`), nor any option this module does not
know (a typo, an option added later). The scan then claims what it would have started itself
and nothing else, so a wrong guess changes no result.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

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
    if len(args) < 2 or args[0] != "scan":
        return None
    targets: list[str] = []
    i = 1
    while i < len(args):
        arg = args[i]
        if arg == "--":
            targets += args[i + 1 :]
            break
        if arg.startswith("-") and arg != "-":
            name, equals, _ = arg.partition("=")
            if name in VALUE_OPTIONS:
                i += 1 if equals else 2
                continue
            if name in FLAGS and not equals:
                i += 1
                continue
            return None  # PLANNING, or an option this guess does not know
        targets.append(arg)
        i += 1
    if len(targets) != 1 or targets[0] == "-":
        return None
    return targets[0]
