"""What an action sees while it runs: :class:`StepContext` (the engine's ``ActionContext``), the
in-memory secret handles, the playbook's backends and the operator.

Backends are built once per run from the playbook's ``backends:`` block (with any overrides a
rehearsal sandbox supplies). In plan mode they are wrapped so that a write can never reach them.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from leakguard.backends.interface import Containment, KeyIssuer, SecretData, SecretStore
from leakguard.errors import PlaybookError
from leakguard.graph.interface import GraphQueries
from leakguard.rotation.interface import Mode, SecretHandles
from leakguard.rotation.schema import BackendSpec

STORE_WRITES = frozenset({"put_pending", "promote", "rollback", "discard_pending"})
ISSUER_WRITES = frozenset(
    {"issue", "deactivate", "activate", "delete", "contain", "release", "free_slot"}
)


HANDLE_PREFIX = "secret:"


class SecretHandleStore:
    """Secret values by opaque handle (``secret:`` + hex), in this process's memory only."""

    def __init__(self) -> None:
        self._values: dict[str, SecretData] = {}

    def put(self, value: SecretData) -> str:
        handle = HANDLE_PREFIX + secrets.token_hex(8)
        self._values[handle] = dict(value)
        return handle

    def get(self, handle: str) -> SecretData:
        return dict(self._values[handle])

    def has(self, handle: str) -> bool:
        return handle in self._values

    def fields(self, handle: str) -> list[str]:
        """The field names behind a handle (journaled so a lost secret can be read back)."""
        return sorted(self._values[handle])

    def restore(self, handle: str, value: SecretData) -> None:
        self._values[handle] = dict(value)

    def __len__(self) -> int:
        return len(self._values)


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class Operator(Protocol):
    """The person at the terminal (None when not interactive)."""

    def ask(self, prompt: str, *, secret: bool = False) -> str: ...

    def confirm(self, prompt: str) -> bool: ...


class PlanWriteBlocked(PlaybookError):
    """A backend write was attempted in plan mode (a bug in an action: it must not happen)."""


class _ReadOnly:
    """Forwards reads to a backend and refuses every write (plan mode)."""

    def __init__(self, inner: Any, writes: frozenset[str], name: str) -> None:
        self._inner = inner
        self._writes = writes
        self._name = name
        self.kind = inner.kind

    def __getattr__(self, attr: str) -> Any:
        if attr in self._writes:

            def refuse(*args: Any, **kwargs: Any) -> Any:
                raise PlanWriteBlocked(f"plan mode: refused {attr} on backend {self._name}")

            return refuse
        return getattr(self._inner, attr)


@dataclass
class Backends:
    """The playbook's named backends, built on first use."""

    specs: Mapping[str, BackendSpec]
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    read_only: bool = False
    operator: Operator | None = None
    _built: dict[str, Any] = field(default_factory=dict)

    def _spec(self, name: str) -> BackendSpec:
        spec = self.specs.get(name)
        if spec is None:
            raise PlaybookError(
                f"no backend named {name!r}",
                hint=f"declared backends: {', '.join(sorted(self.specs)) or 'none'}",
            )
        return spec

    def _params(self, spec: BackendSpec) -> dict[str, Any]:
        params = dict(spec.params)
        params.update(self.overrides.get(spec.name, {}))
        params.update(self.overrides.get(f"kind:{spec.kind}", {}))
        return params

    def store(self, name: str) -> SecretStore:
        from leakguard.backends.registry import STORE_KINDS, make_store

        spec = self._spec(name)
        if spec.kind not in STORE_KINDS:
            raise PlaybookError(f"backend {name} ({spec.kind}) is not a secret store")
        if name not in self._built:
            built: Any = make_store(spec.kind, self._params(spec))
            self._built[name] = _ReadOnly(built, STORE_WRITES, name) if self.read_only else built
        result: SecretStore = self._built[name]
        return result

    def issuer(self, name: str) -> KeyIssuer:
        from leakguard.backends.registry import ISSUER_KINDS, make_issuer

        spec = self._spec(name)
        if spec.kind not in ISSUER_KINDS:
            raise PlaybookError(f"backend {name} ({spec.kind}) is not a key issuer")
        if name not in self._built:
            hooks: dict[str, Any] = {}
            if self.operator is not None:
                operator = self.operator
                hooks["prompt"] = lambda prompt: operator.ask(prompt, secret=True)
                hooks["confirm"] = operator.confirm
            built: Any = make_issuer(spec.kind, self._params(spec), **hooks)
            self._built[name] = _ReadOnly(built, ISSUER_WRITES, name) if self.read_only else built
        result: KeyIssuer = self._built[name]
        return result

    def containment(self, name: str) -> Containment:
        issuer: Any = self.issuer(name)
        if not callable(getattr(issuer, "contain", None)):
            raise PlaybookError(f"backend {name} cannot contain a subject (use an aws-iam backend)")
        result: Containment = issuer
        return result


class StepTimeout(PlaybookError):
    pass


@dataclass
class StepContext:
    """The engine's :class:`leakguard.rotation.interface.ActionContext`."""

    run_id: str
    step_id: str
    attempt: int
    mode: Mode
    graph: GraphQueries | None
    secrets: SecretHandles
    time_scale: float
    backends: Backends
    clock: Clock
    log_line: Callable[[str], None]
    operator: Operator | None = None
    deadline: float | None = None  # time.monotonic() after which the step has timed out
    token_suffix: str = ""

    @property
    def token(self) -> str:
        return f"{self.run_id}:{self.step_id}{self.token_suffix}"

    def store(self, name: str) -> SecretStore:
        return self.backends.store(name)

    def issuer(self, name: str) -> KeyIssuer:
        return self.backends.issuer(name)

    def containment(self, name: str) -> Containment:
        return self.backends.containment(name)

    def now(self) -> datetime:
        return self.clock.now()

    def sleep(self, seconds: float) -> None:
        if self.deadline is not None and time.monotonic() + seconds > self.deadline:
            raise StepTimeout(
                f"step {self.step_id} timed out",
                hint="raise the step's timeout: in the playbook, or resume to try again",
            )
        self.clock.sleep(seconds)

    def log(self, message: str) -> None:
        self.log_line(message)

    def ask(self, prompt: str, *, secret: bool = False) -> str:
        if self.operator is None:
            raise PlaybookError(
                f"step {self.step_id} needs an answer from the operator, and this run is not "
                "interactive",
                hint="run it in a terminal, or give the issuer a value_file",
            )
        return self.operator.ask(prompt, secret=secret)


def stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False
