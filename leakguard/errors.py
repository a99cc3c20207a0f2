"""One error base for everything LeakGuard reports to a person.

Every stage raises a subclass of :class:`LeakguardError`. The CLI catches only this base, prints
:meth:`LeakguardError.diagnostics` and exits with :attr:`LeakguardError.exit_code`. Messages must
never contain a secret value: pass redacted forms or fingerprints.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
#: a bug in LeakGuard (an unexpected exception): never read as "credentials found"
EXIT_INTERNAL = 3
#: the conventional 128 + signal number: interrupted, output pipe closed by its reader, terminated
EXIT_SIGINT = 130
EXIT_PIPE = 141
EXIT_SIGTERM = 143


class LeakguardError(Exception):
    """Something a user can act on: what failed, and what to do about it."""

    exit_code: int = EXIT_USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostics(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class UsageError(LeakguardError):
    """The command line or a configuration value is wrong."""


class InputError(LeakguardError):
    """A target cannot be read: missing path, unreadable file, not a repository, bad URL."""


class RuleError(LeakguardError):
    """A detector rule file is malformed or a pattern does not compile."""


class EngineError(LeakguardError):
    """The matching engine could not be built or run."""


class StoreError(LeakguardError):
    """The findings store cannot be opened, migrated or written."""


class GraphError(LeakguardError):
    """The dependency graph could not be built, loaded or queried."""


class PlaybookError(LeakguardError):
    """A playbook is malformed, or a run cannot proceed."""


class BackendError(LeakguardError):
    """A secret store or issuer failed. ``transient`` errors may be retried with backoff."""

    def __init__(self, message: str, *, hint: str | None = None, transient: bool = False) -> None:
        super().__init__(message, hint=hint)
        self.transient = transient


class Terminated(BaseException):
    """SIGTERM arrived: unwinds like KeyboardInterrupt (pools are stopped, transactions rolled
    back) and exits 143."""
