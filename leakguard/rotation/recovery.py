"""Secret recovery after a crash: which secret handles a step needs that this process lost,
and reading them back from the store where an earlier step already staged them.

A rotation generates a new secret in one step and uses it in later ones; the secret itself lives
only in the process's memory (:class:`~leakguard.rotation.context.SecretHandleStore`), never in
the journal. After kill -9 a resumed run therefore holds the journal's *handles* but not their
values. This module answers three questions for the runner, with no side effect but reading the
store:

- :func:`lost_handles`: which handles a step reads from earlier steps' outputs are not held;
- :func:`recover_from_store`: can a lost handle be read back from the store version a staging
  step wrote (or, if the staging step was interrupted, its pending version)? Issuing a new
  secret then would diverge from the one consumers are given;
- :func:`reissue_blocker`: if not, has a mutating step already *used* the lost secret? Then
  issuing another would diverge from it and the run must stop instead of running the producer
  again.

The runner decides what to do with the answers (pause, run the producer again).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from leakguard.backends.interface import SecretStore
from leakguard.errors import LeakguardError
from leakguard.rotation import invariants
from leakguard.rotation.context import HANDLE_PREFIX, Backends, SecretHandleStore
from leakguard.rotation.interface import ActionSpec
from leakguard.rotation.journal import RunView, StepState, StepView
from leakguard.rotation.retry import Backoff, call_with_retry
from leakguard.rotation.schema import Playbook, Step, iter_step_paths

STAGE_ACTION = invariants.STAGE_ACTION


class RecoveryError(Exception):
    """Reading a staged secret back from its store failed; the run should pause."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Reader:
    """How to reach the stores and retry a read: the runner's backends and retry settings."""

    backends: Backends
    max_retry_wait: float
    sleep: Callable[[float], None]
    rng: random.Random


def base_id(step_id: str) -> str:
    """The playbook step an (item) step id belongs to: ``put[2]`` → ``put``."""
    return step_id.split("[", 1)[0]


def handles(value: Any) -> list[str]:
    """Every secret handle in a JSON value, in order."""
    if isinstance(value, str):
        return [value] if value.startswith(HANDLE_PREFIX) else []
    if isinstance(value, list):
        return [h for v in value for h in handles(v)]
    if isinstance(value, dict):
        return [h for v in value.values() for h in handles(v)]
    return []


def dig(value: Any, path: tuple[str, ...]) -> Any:
    """Follow ``path`` into ``value`` as far as it goes (the rest is resolved by expressions)."""
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif (
            isinstance(value, list)
            and part.lstrip("-").isdigit()
            and -len(value) <= int(part) < len(value)
        ):
            value = value[int(part)]
        else:
            return value
    return value


def lost_handles(view: RunView, secrets: SecretHandleStore, step: Step) -> dict[str, list[str]]:
    """Secret handles ``step`` reads from earlier steps' outputs that this process does not
    hold (they died with a crashed process), by producing step."""
    lost: dict[str, list[str]] = {}
    for path in iter_step_paths(step):
        if len(path) < 4 or path[0] != "steps" or path[2] != "outputs" or path[1] == step.id:
            continue
        sv = view.steps.get(path[1])
        if sv is None or sv.state != StepState.SUCCEEDED:
            continue
        for handle in handles(dig(sv.outputs, path[3:])):
            if not secrets.has(handle) and handle not in lost.get(path[1], []):
                lost.setdefault(path[1], []).append(handle)
    return lost


def _staging_steps(view: RunView, playbook: Playbook, handle: str) -> list[tuple[str, StepView]]:
    """The ``store.put_pending`` steps that staged ``handle`` (finished or interrupted)."""
    found = []
    for sid in view.order:
        sv = view.steps[sid]
        if (
            sv.state in {StepState.SUCCEEDED, StepState.STARTED}
            and playbook.step(base_id(sid)).uses == STAGE_ACTION
            and sv.params.get("value") == handle
        ):
            found.append((sid, sv))
    return found


def _read_staged(reader: Reader, step: Step, sv: StepView) -> Mapping[str, Any] | None:
    """The secret data the staging step ``sv`` wrote: its recorded version, or the store's
    pending version if the step was interrupted before recording one."""
    store = reader.backends.store(str(sv.params["backend"]))
    name = str(sv.params["name"])

    def read(_attempt: int, store: SecretStore = store) -> Any:
        version = sv.outputs.get("version_id")
        if sv.state == StepState.STARTED:
            pending = store.pending(name)
            version = pending.version_id if pending is not None else None
        return None if version is None else store.read_version(name, str(version))

    data: Mapping[str, Any] | None = call_with_retry(
        read, Backoff(step.retry, reader.max_retry_wait), sleep=reader.sleep, rng=reader.rng
    )
    return data


def recover_from_store(
    view: RunView,
    playbook: Playbook,
    secrets: SecretHandleStore,
    reader: Reader,
    handle: str,
    producer: str,
) -> bool:
    """Restore ``handle`` into ``secrets`` from the store a ``store.put_pending`` step staged it
    in; False when no staging step holds it (nothing was staged: the secret may be issued
    again). An earlier step of every playbook discards a dangling pending version, so a pending
    version found here is this run's. Raises :class:`RecoveryError` when the store cannot be
    read."""
    fields = view.steps[producer].secret_fields.get(handle)
    if not fields:
        return False
    for sid, sv in _staging_steps(view, playbook, handle):
        try:
            data = _read_staged(reader, playbook.step(base_id(sid)), sv)
        except LeakguardError as exc:
            raise RecoveryError(
                f"reading back the secret staged by step {sid} failed: {exc.message}"
            ) from None
        if data is None:
            continue
        field = sv.params.get("field")
        if field and len(fields) == 1 and str(field) in data:
            secrets.restore(handle, {fields[0]: data[str(field)]})
            return True
        if all(f in data for f in fields):
            secrets.restore(handle, {f: data[f] for f in fields})
            return True
    return False


def reissue_blocker(
    view: RunView,
    playbook: Playbook,
    spec: Callable[[str], ActionSpec],
    producer: str,
    missing: list[str],
) -> str | None:
    """The first mutating step (other than the producer) that already used one of the
    ``missing`` secrets; running the producer again would then hand out a different secret."""
    for sid in view.order:
        sv = view.steps[sid]
        if (
            base_id(sid) != producer
            and sv.state == StepState.SUCCEEDED
            and spec(playbook.step(base_id(sid)).uses).mutating
            and set(handles(sv.params)) & set(missing)
        ):
            return sid
    return None
