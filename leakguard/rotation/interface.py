"""What a playbook step's action is, and what the engine hands it.

The playbook engine (schema, expressions, state machine, journal) knows actions only through
this module: an :class:`ActionSpec` (name, whether it mutates, whether it is irreversible, its
parameters and its default compensation) and a callable ``run(ctx, params) -> outputs``.
Actions are registered by name in :mod:`leakguard.rotation.actions` (``REGISTRY``).

Outputs are journaled, so they must be JSON values and never hold a secret. A secret value an
action produces (a newly issued key) is put into ``ctx.secrets`` and the output carries only its
handle. Handles live in memory: after a crash, a later step that needs a lost handle makes the
engine re-run the producing step (``ActionSpec.produces_secret``); every backend call is
idempotent per ``ctx.token`` and recovers (the IAM issuer deletes the orphaned key and issues a
fresh one; a store returns the version already staged), so nothing is done twice or lost.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from leakguard.backends.interface import Containment, KeyIssuer, SecretData, SecretStore
from leakguard.errors import BackendError
from leakguard.graph.interface import GraphQueries


class Mode(enum.StrEnum):
    PLAN = "plan"  # read-only actions run for real; mutating ones are only described
    REHEARSE = "rehearse"  # the whole playbook against a sandbox, overlap windows compressed
    RUN = "run"


@dataclass(frozen=True, slots=True)
class Param:
    type: str = "any"  # string | int | number | bool | duration | list | mapping | any
    required: bool = True
    help: str = ""


@dataclass(frozen=True, slots=True)
class ActionSpec:
    name: str  # e.g. "store.put_pending", "aws.iam.create_access_key", "wait_until"
    summary: str
    mutating: bool
    params: Mapping[str, Param] = field(default_factory=dict)
    irreversible: bool = False  # needs an approval step or --yes
    compensation: str | None = None  # the action that undoes this one (rollback), if any
    produces_secret: bool = False  # outputs a secret handle that does not survive a crash


class SecretHandles(Protocol):
    """In-memory secret values keyed by opaque handles (never journaled, never printed)."""

    def put(self, value: SecretData) -> str: ...

    def get(self, handle: str) -> SecretData:
        """Raises :class:`KeyError` when the handle was lost (e.g. after a crash)."""
        ...


class ActionContext(Protocol):
    run_id: str
    step_id: str
    attempt: int
    mode: Mode
    graph: GraphQueries | None
    secrets: SecretHandles
    #: rehearsals compress overlap windows and soaks: multiply durations by this
    time_scale: float

    @property
    def token(self) -> str:
        """Idempotency key for backend calls: ``f"{run_id}:{step_id}"``."""
        ...

    def store(self, name: str) -> SecretStore:
        """The playbook's secret store named ``name`` (its ``backends:`` block)."""
        ...

    def issuer(self, name: str) -> KeyIssuer: ...

    def containment(self, name: str) -> Containment: ...

    def now(self) -> datetime:
        """Timezone-aware UTC."""
        ...

    def sleep(self, seconds: float) -> None: ...

    def log(self, message: str) -> None:
        """A progress line for the operator and the audit trail (never a secret)."""
        ...

    def ask(self, prompt: str, *, secret: bool = False) -> str:
        """Ask the operator (manual issuers); raises PlaybookError when not interactive."""
        ...


Outputs = dict[str, Any]
ActionFn = Callable[[ActionContext, Mapping[str, Any]], Outputs]


@dataclass(frozen=True, slots=True)
class Action:
    spec: ActionSpec
    run: ActionFn
    describe: Callable[[Mapping[str, Any]], str] | None = None  # plan-mode line; None: generic


class NotYet(BackendError):
    """A check that may pass later (consumers not moved yet, a new key not yet usable): the
    runner retries it like any transient error, and ``wait_until`` polls it until its timeout.
    ``details`` is a JSON value naming what is still missing (never a secret)."""

    def __init__(self, message: str, *, hint: str | None = None, details: Any = None) -> None:
        super().__init__(message, hint=hint, transient=True)
        self.details = details
