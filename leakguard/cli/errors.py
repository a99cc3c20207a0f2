"""Input checks that report every problem at once: collect each check's error, then raise them
together (one line each) before anything is read."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from leakguard.errors import LeakguardError, UsageError

T = TypeVar("T")


class InputErrors(UsageError):
    """Several input errors, each reported on its own line (exit code 2)."""

    def __init__(self, errors: list[LeakguardError]) -> None:
        super().__init__(f"{len(errors)} input errors")
        self.errors = tuple(errors)


def collect(problems: list[LeakguardError], check: Callable[..., T], *args: object) -> T | None:
    """Run ``check``; its LeakguardError is added to ``problems`` instead of raised."""
    try:
        return check(*args)
    except InputErrors as exc:
        problems.extend(exc.errors)
    except LeakguardError as exc:
        problems.append(exc)
    return None


def raise_all(problems: list[LeakguardError]) -> None:
    """Raise the one problem, or all of them together; nothing when there is none."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise InputErrors(problems)
