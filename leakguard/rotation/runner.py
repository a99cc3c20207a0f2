"""The playbook runner: an explicit state machine over the run journal.

Run states: pending -> running -> (paused | awaiting-approval) -> running ... -> completed; or
running -> rolling-back -> rolled-back (failed when a compensation fails permanently). Step
states: pending -> started -> succeeded | skipped | failed; succeeded -> compensated.

Every step writes its intent to the journal before it acts and its result after. Resuming
replays the journal: done steps are not run again; a step with an intent and no result is run
again under the same idempotency token (``run_id:step_id``), which every backend honours; a
step that produced a secret handle (lost with the old process) is run again when a step still to
run needs that handle.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import re
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from leakguard.errors import BackendError, LeakguardError, PlaybookError
from leakguard.graph.interface import GraphQueries
from leakguard.rotation import expr, invariants, recovery
from leakguard.rotation.context import (
    Backends,
    Clock,
    Operator,
    SecretHandleStore,
    StepContext,
    SystemClock,
)
from leakguard.rotation.interface import Action, ActionSpec, Mode
from leakguard.rotation.journal import (
    Journal,
    Kind,
    RunState,
    RunView,
    StepState,
    StepView,
    new_run_id,
)
from leakguard.rotation.recovery import STAGE_ACTION, base_id, handles
from leakguard.rotation.retry import Backoff, call_with_retry
from leakguard.rotation.schema import (
    APPROVAL,
    Playbook,
    Step,
    default_registry,
    is_credential_param,
    load_playbook,
    resolve_inputs,
    spec_for,
)


@dataclass(frozen=True)
class Event:
    """A progress line: ``kind`` is start | done | skip | retry | log | pause | approval |
    compensate | state."""

    kind: str
    step_id: str | None
    message: str


@dataclass
class EngineOptions:
    yes: bool = False
    time_scale: float = 1.0
    registry: Mapping[str, Action] | None = None
    graph: GraphQueries | None = None
    backend_overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    clock: Clock = field(default_factory=SystemClock)
    rng: random.Random = field(default_factory=random.Random)
    progress: Callable[[Event], None] | None = None
    operator: Operator | None = None  # interactive prompts; None: approvals wait on the journal
    approval_timeout: float = 3600.0  # how long a non-interactive run polls for an approval
    approval_poll: float = 1.0
    max_retry_wait: float = 300.0  # total backoff per step
    approved_by: str = field(default_factory=lambda: os.environ.get("USER", "operator"))
    playbook_override: str | None = None  # why this playbook, though the rule names another

    def registry_or_default(self) -> Mapping[str, Action]:
        return default_registry() if self.registry is None else self.registry


class _Pause(Exception):
    """Stops the drive loop; the run state has been journaled."""


class Runner:
    def __init__(
        self,
        journal: Journal,
        playbook: Playbook,
        run_id: str,
        mode: Mode,
        options: EngineOptions,
    ) -> None:
        self.journal = journal
        self.playbook = playbook
        self.run_id = run_id
        self.mode = mode
        self.options = options
        self.registry = options.registry_or_default()
        self.secrets = SecretHandleStore()
        self.backends = Backends(
            playbook.backends, options.backend_overrides, operator=options.operator
        )
        self.view = journal.view(run_id)

    # --- journal ---------------------------------------------------------------------------

    def emit(self, kind: str, step_id: str | None, message: str) -> None:
        if self.options.progress is not None:
            self.options.progress(Event(kind, step_id, message))

    def record(self, kind: str, **kwargs: Any) -> None:
        rec = self.journal.append(self.run_id, kind, **kwargs)
        self.view.apply(rec)

    def set_state(self, state: str, reason: str = "", *, quiet: bool = False, **extra: Any) -> None:
        if self.view.state == state and not extra and not reason:
            return
        self.record(Kind.RUN, state=state, data={"reason": reason, **extra})
        if not quiet:
            line = f"run {self.run_id}: {state}" + (f": {reason}" if reason else "")
            self.emit("state", None, line)

    def pause(self, state: str, diagnostic: str, hint: str | None) -> NoReturn:
        self.set_state(state, diagnostic, quiet=True, diagnostic=diagnostic, hint=hint)
        self.emit("pause", None, f"run {self.run_id}: {state}: {diagnostic}")
        raise _Pause

    # --- scope -----------------------------------------------------------------------------

    def scope(self) -> expr.Scope:
        steps: dict[str, Any] = {}
        for step in self.playbook.steps:
            sv = self.view.steps.get(step.id)
            steps[step.id] = {
                "status": sv.state if sv else StepState.PENDING,
                "outputs": dict(sv.outputs) if sv else {},
            }
        return expr.Scope(
            inputs=self.view.inputs,
            steps=steps,
            run={"id": self.run_id, "mode": str(self.mode)},
        )

    def spec(self, name: str) -> ActionSpec:
        spec = spec_for(name, self.registry)
        if spec is None:
            raise PlaybookError(f"unknown action {name!r}")
        return spec

    # --- forward ---------------------------------------------------------------------------

    def drive(self) -> RunView:
        with _run_lock(self.journal, self.run_id):
            self.view = self.journal.view(self.run_id)
            try:
                if self.view.state == RunState.ROLLING_BACK:
                    self.rollback()
                    return self.view
                self.set_state(RunState.RUNNING, "")
                for step in self.playbook.steps:
                    self.run_step(step)
                outputs = self.outputs()
                self.set_state(RunState.COMPLETED, "all stages done", outputs=outputs)
            except _Pause:
                pass
            return self.view

    def outputs(self) -> dict[str, Any]:
        """The playbook's outputs; one naming a skipped step is null, without a complaint."""
        scope = self.scope()
        skipped = {sid for sid, sv in self.view.steps.items() if sv.state == StepState.SKIPPED}
        out: dict[str, Any] = {}
        for key, template in self.playbook.outputs.items():
            try:
                out[key] = expr.render_value(template, scope)
            except expr.ExprError as exc:
                out[key] = None
                if not any(f"steps.{sid}." in str(template) for sid in skipped):
                    self.emit("log", None, f"output {key}: {exc.message}")
        return out

    def done(self, step_id: str) -> bool:
        sv = self.view.steps.get(step_id)
        return sv is not None and sv.state in StepState.DONE

    def ensure_handles(self, step: Step) -> None:
        """Bring back the secret handles this step needs (:mod:`leakguard.rotation.recovery`):
        read back from the store when a step already staged the secret there, else run the
        producing step again (same token) unless a mutating step already used the lost one."""
        reader = recovery.Reader(
            self.backends, self.options.max_retry_wait, self.options.clock.sleep, self.options.rng
        )
        for producer, lost in recovery.lost_handles(self.view, self.secrets, step).items():
            try:
                missing = [
                    h
                    for h in lost
                    if not recovery.recover_from_store(
                        self.view, self.playbook, self.secrets, reader, h, producer
                    )
                ]
            except recovery.RecoveryError as exc:
                self.pause(
                    RunState.PAUSED,
                    exc.message,
                    f"fix the cause, then `leakguard playbook resume {self.run_id}`",
                )
            if not missing:
                self.emit("log", producer, f"{producer}: its secret was read back from the store")
                continue
            used_by = recovery.reissue_blocker(
                self.view, self.playbook, self.spec, producer, missing
            )
            if used_by:
                self.pause(
                    RunState.PAUSED,
                    f"the secret from step {producer} was lost with the last process after step "
                    f"{used_by} used it; issuing another would diverge from it",
                    f"roll the run back with `leakguard playbook rollback {self.run_id}`, "
                    "then start a new run",
                )
            self.emit(
                "log",
                producer,
                f"{producer}: running again, its secret was lost with the last process",
            )
            self.run_step(self.playbook.step(producer), again=True)

    def run_step(self, step: Step, *, again: bool = False) -> None:
        if self.done(step.id) and not again:
            return
        self.ensure_handles(step)
        scope = self.scope()
        if step.for_each is None:
            self.run_one(step, step.id, scope, again=again)
            return
        parent = self.view.steps.get(step.id)
        items = parent.items if parent is not None and parent.items is not None else None
        if items is None:
            value = self.evaluate(step, step.for_each, scope, "for_each")
            if not isinstance(value, list):
                self.pause(
                    RunState.PAUSED,
                    f"step {step.id}: for_each gave {type(value).__name__}, not a list",
                    "fix the playbook or its inputs, then resume",
                )
            items = value
            self.record(
                Kind.INTENT,
                step_id=step.id,
                attempt=1,
                data={"stage": step.stage, "uses": step.uses, "items": items},
            )
        results: list[Any] = []
        for index, item in enumerate(items):
            sub = f"{step.id}[{index}]"
            if again or not self.done(sub):
                self.run_one(step, sub, scope.with_item(item), again=again)
            sv = self.view.steps[sub]
            results.append(dict(sv.outputs) if sv.state == StepState.SUCCEEDED else None)
        self.record(
            Kind.RESULT,
            step_id=step.id,
            state=StepState.SUCCEEDED,
            data={"outputs": {"results": results, "count": len(items)}},
        )

    def evaluate(self, step: Step, template: str, scope: expr.Scope, what: str) -> Any:
        try:
            return expr.parse_template(template).render(scope)
        except expr.ExprError as exc:
            self.pause(
                RunState.PAUSED,
                f"step {step.id}: {what} cannot be evaluated: {exc.message}",
                "fix the input or the earlier step it reads, then resume",
            )
            raise AssertionError from exc  # unreachable: pause raises

    def run_one(self, step: Step, sid: str, scope: expr.Scope, *, again: bool = False) -> None:
        if step.when is not None and not self.evaluate(step, step.when, scope, "when"):
            self.record(Kind.RESULT, step_id=sid, state=StepState.SKIPPED, data={"outputs": {}})
            self.emit("skip", sid, f"{sid}: skipped (when is false)")
            return
        try:
            params = expr.render_value(dict(step.with_), scope)
        except expr.ExprError as exc:
            self.pause(
                RunState.PAUSED,
                f"step {sid}: its parameters cannot be evaluated: {exc.message}",
                "fix the input or the earlier step it reads, then resume",
            )
        spec = self.spec(step.uses)
        if step.uses == STAGE_ACTION:
            params = self.with_leaked_fields(params)
        if step.uses == PROMOTE_ACTION:
            params = self.with_leaked_fingerprints(params)
        if step.uses == APPROVAL:
            self.await_approval(step, sid, params)
        elif (step.irreversible or spec.irreversible) and not self.approved_before(step):
            self.pause(
                RunState.PAUSED,
                f"step {sid} is irreversible and no approval step before it was approved "
                "in this run (its condition skipped it)",
                f"approve it with `leakguard playbook resume {self.run_id} --yes`, "
                f"or undo the run with `leakguard playbook rollback {self.run_id}`",
            )
        previous = self.view.steps.get(sid)
        attempt = (previous.attempt if previous else 0) + 1
        self.record(
            Kind.INTENT,
            step_id=sid,
            attempt=attempt,
            data={"stage": step.stage, "uses": step.uses, "params": params, "again": again},
        )
        self.emit("start", sid, f"{sid}: {step.uses}")
        try:
            outputs = self.call(step.uses, spec, sid, params, step, suffix="")
        except LeakguardError as exc:
            self.fail_step(step, sid, exc.message, exc.hint)
        except Exception as exc:  # an action's bug: no message (it could hold a value)
            where = traceback.extract_tb(exc.__traceback__)[-1]
            self.fail_step(
                step,
                sid,
                f"internal error in {step.uses}: {type(exc).__name__} at "
                f"{Path(where.filename).name}:{where.lineno}",
                "rerun with -v to see the traceback; report it; then resume or roll back",
            )
        self.keep_graph_facts()
        fields = {h: self.secrets.fields(h) for h in handles(outputs) if self.secrets.has(h)}
        self.record(
            Kind.RESULT,
            step_id=sid,
            attempt=attempt,
            state=StepState.SUCCEEDED,
            data={"outputs": outputs, "secret_fields": fields},
        )
        self.emit("done", sid, f"{sid}: done")

    def keep_graph_facts(self) -> None:
        """What a step added to the run's graph (the consumers a map stage found connected)
        is saved to the run's database before the step's result is journaled: a resume loads
        it again, ``graph blast-radius`` shows it, and a step run again only refreshes it."""
        from leakguard.graph.model import DependencyGraph
        from leakguard.graph.persist import GraphStore, migrate

        graph = self.options.graph
        if self.mode is not Mode.RUN or not isinstance(graph, DependencyGraph):
            return
        if graph.dirty_nodes or graph.dirty_edges or graph.removed_nodes:
            try:
                migrate(self.journal.db)
                GraphStore(self.journal.db).save(graph)
            except LeakguardError as exc:  # the step's effect stands; only the record is lost
                self.emit("log", None, f"the graph was not saved: {exc.message}")

    # --- invariants (leakguard.rotation.invariants) -----------------------------------------

    def preflight(self) -> Mapping[str, Any]:
        found = self.view.options.get("preflight")
        return found if isinstance(found, Mapping) else {}

    def with_leaked_fields(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Stage the new value in every field that holds the leaked credential."""
        fields = (
            self.preflight().get("fields", {}).get(f"{params.get('backend')}:{params.get('name')}")
        )
        out = dict(params)
        if fields and len(fields) > 1 and not self.preflight().get("field_given"):
            out.pop("field", None)
            out["fields"] = list(fields)
        return out

    def with_leaked_fingerprints(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Promotion re-reads the current version and fails if it holds the leaked value."""
        leaked = self.preflight().get("leaked") or [self.view.inputs.get("credential")]
        return {**params, "leaked": [str(x) for x in leaked if x]}

    def log_line(self, sid: str, line: str) -> None:
        """An action's progress line: shown, and kept in the journal and audit trail."""
        self.record(Kind.LOG, step_id=sid, data={"message": line})
        self.emit("log", sid, f"{sid}: {line}")

    def approved_before(self, step: Step) -> bool:
        """An irreversible step runs only after an approval step before it was approved."""
        if self.options.yes:
            return True
        for earlier in self.playbook.steps:
            if earlier.id == step.id:
                return False
            sv = self.view.steps.get(earlier.id)
            if earlier.uses == APPROVAL and sv is not None and sv.state == StepState.SUCCEEDED:
                return True
        return False

    def call(
        self,
        uses: str,
        spec: ActionSpec,
        sid: str,
        params: Mapping[str, Any],
        step: Step,
        *,
        suffix: str,
    ) -> dict[str, Any]:
        action = self.registry.get(uses)
        deadline = time.monotonic() + step.timeout if step.timeout else None

        def attempt(n: int) -> dict[str, Any]:
            ctx = StepContext(
                run_id=self.run_id,
                step_id=sid,
                attempt=n,
                mode=self.mode,
                graph=self.options.graph,
                secrets=self.secrets,
                time_scale=self.options.time_scale,
                backends=self.backends,
                clock=self.options.clock,
                log_line=lambda line: self.log_line(sid, line),
                operator=self.options.operator,
                deadline=deadline,
                token_suffix=suffix,
            )
            if action is None:  # the built-in approval marker
                return {"approved": True, "at": ctx.now().isoformat()}
            outputs = action.run(ctx, params)
            return _json_outputs(uses, outputs)

        def on_retry(n: int, exc: BackendError, delay: float) -> None:
            self.record(
                Kind.RETRY, step_id=sid, attempt=n,
                data={"error": exc.message, "delay": round(delay, 3)},
            )  # fmt: skip
            self.emit("retry", sid, f"{sid}: {exc.message}; retrying in {delay:.1f}s")

        return call_with_retry(
            attempt,
            Backoff(step.retry, self.options.max_retry_wait),
            sleep=self.options.clock.sleep,
            rng=self.options.rng,
            on_retry=on_retry,
        )

    def fail_step(self, step: Step, sid: str, message: str, hint: str | None) -> None:
        self.record(
            Kind.RESULT, step_id=sid, state=StepState.FAILED,
            data={"error": message, "hint": hint},
        )  # fmt: skip
        self.emit("fail", sid, f"{sid}: failed: {message}")
        if self.playbook.on_failure == "rollback":
            self.emit("log", None, "the playbook rolls back on failure")
            self.rollback(reason=f"step {sid} failed: {message}")
            raise _Pause
        resume = f"`leakguard playbook resume {self.run_id}`"
        first = hint or "fix the cause"
        first = f"{first} ({resume})" if "resume" in first else f"{first}, then {resume}"
        self.pause(
            RunState.PAUSED,
            f"step {sid} ({step.uses}) failed: {message}",
            f"{first}; or undo the run with `leakguard playbook rollback {self.run_id}`",
        )

    # --- approvals -------------------------------------------------------------------------

    def await_approval(self, step: Step, sid: str, params: Mapping[str, Any]) -> None:
        sv = self.view.steps.get(sid)
        if sv is not None and sv.approved_by is not None:
            return
        how = "--yes" if self.options.yes else "rehearsal" if self.mode is Mode.REHEARSE else None
        if how is not None:
            self.record(Kind.APPROVAL, step_id=sid, data={"by": how, "how": how})
            return
        message = str(params.get("message") or f"continue with {self.playbook.id}?")
        instruction = f"`leakguard playbook approve {self.run_id} {sid}`"
        self.set_state(
            RunState.AWAITING_APPROVAL,
            f"step {sid} waits for approval: {message}",
            diagnostic=f"step {sid} waits for approval: {message}",
            hint=f"approve with {instruction}, then the run continues (or resume it)",
        )
        self.emit("approval", sid, f"{sid}: waiting for approval: {message} (or {instruction})")
        if self.options.operator is not None:
            if self.options.operator.confirm(f"{message} Approve step {sid}?"):
                self.record(
                    Kind.APPROVAL,
                    step_id=sid,
                    data={"by": self.options.approved_by, "how": "prompt"},
                )
                self.set_state(RunState.RUNNING, "")
                return
            self.pause(
                RunState.AWAITING_APPROVAL,
                f"step {sid} was not approved",
                f"approve it later with {instruction}, then resume; or roll back the run",
            )
        waited = 0.0
        while waited < self.options.approval_timeout:
            fresh = self.journal.view(self.run_id)
            approval = fresh.steps.get(sid)
            if approval is not None and approval.approved_by is not None:
                self.view = fresh
                self.set_state(RunState.RUNNING, "")
                return
            self.options.clock.sleep(self.options.approval_poll)
            waited += self.options.approval_poll
        self.pause(
            RunState.AWAITING_APPROVAL,
            f"step {sid} waits for approval: {message}",
            f"approve with {instruction}, then `leakguard playbook resume {self.run_id}`",
        )

    # --- rollback --------------------------------------------------------------------------

    def rollback(self, reason: str = "rollback requested") -> None:
        self.set_state(RunState.ROLLING_BACK, reason)
        for sid in reversed(list(self.view.order)):
            sv = self.view.steps[sid]
            if sv.items is not None:
                continue  # a for_each parent: its items are compensated one by one
            step = self.playbook.step(base_id(sid))
            if step.compensate is None or sv.state not in {StepState.SUCCEEDED, StepState.STARTED}:
                continue
            if sv.state == StepState.STARTED:
                if step.irreversible or self.spec(step.uses).irreversible:
                    continue  # never finish an irreversible step in order to undo it
                self.complete_for_undo(step, sid)
            self.compensate(step, sid, self.view.steps[sid])
        self.set_state(RunState.ROLLED_BACK, reason)

    def item_scope(self, sid: str) -> expr.Scope:
        scope = self.scope()
        if "[" in sid:
            parent = self.view.steps.get(base_id(sid))
            index = int(sid[sid.index("[") + 1 : -1])
            if parent is not None and parent.items is not None and index < len(parent.items):
                return scope.with_item(parent.items[index])
        return scope

    def complete_for_undo(self, step: Step, sid: str) -> None:
        """An interrupted step's effect is unknown: run it again under the same token (it
        returns what the first attempt did) so its compensation knows what to undo."""
        self.emit("log", sid, f"{sid}: interrupted; completing it under its token to undo it")
        self.ensure_handles(step)
        self.run_one(step, sid, self.item_scope(sid))

    def compensate(self, step: Step, sid: str, sv: StepView) -> None:
        comp = step.compensate
        assert comp is not None
        spec = self.spec(comp.uses)
        if comp.explicit:
            try:
                params = expr.render_value(dict(comp.with_), self.item_scope(sid))
            except expr.ExprError as exc:
                self.compensation_failed(
                    sid, f"its parameters cannot be evaluated: {exc.message}", None
                )
        else:
            merged = {**dict(sv.params), **dict(sv.outputs)}
            params = {
                k: merged[k] if k in merged else merged[f"{k}_id"]
                for k in spec.params
                if k in merged or f"{k}_id" in merged
            }
        self.record(Kind.COMPENSATE_INTENT, step_id=sid, data={"uses": comp.uses, "params": params})
        self.emit("compensate", sid, f"{sid}: undoing with {comp.uses}")
        try:
            outputs = self.call(comp.uses, spec, sid, params, step, suffix=":compensate")
        except LeakguardError as exc:
            self.compensation_failed(sid, exc.message, exc.hint)
        except Exception as exc:
            self.compensation_failed(
                sid, f"internal error in {comp.uses}: {type(exc).__name__}", None
            )
        self.record(
            Kind.COMPENSATE_RESULT, step_id=sid, state=StepState.COMPENSATED,
            data={"outputs": outputs},
        )  # fmt: skip

    def compensation_failed(self, sid: str, message: str, hint: str | None) -> None:
        self.record(
            Kind.COMPENSATE_RESULT, step_id=sid, state=StepState.FAILED, data={"error": message}
        )
        todo = f"fix the cause, then `leakguard playbook rollback {self.run_id}` again"
        self.pause(
            RunState.FAILED,
            f"undoing step {sid} failed: {message}",
            f"{hint}; then {todo}" if hint else todo,
        )


PROMOTE_ACTION = "store.promote"


def _public_overrides(
    overrides: Mapping[str, Mapping[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Backend overrides without credentials (a Vault token): what the journal may keep."""
    return {
        name: {k: v for k, v in params.items() if not is_credential_param(k)}
        for name, params in overrides.items()
    }


def _json_outputs(uses: str, outputs: Any) -> dict[str, Any]:
    if not isinstance(outputs, dict):
        raise PlaybookError(f"action {uses} returned {type(outputs).__name__}, not a mapping")
    try:
        return dict(json.loads(json.dumps(outputs)))
    except (TypeError, ValueError):
        raise PlaybookError(f"action {uses} returned outputs that are not JSON values") from None


@contextlib.contextmanager
def _run_lock(journal: Journal, run_id: str) -> Iterator[None]:
    """One process drives a run at a time; the lock dies with its process (even on kill -9)."""
    path = journal.db.path.parent / "locks" / f"{run_id}.lock"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PlaybookError(
                f"run {run_id} is being driven by another process",
                hint="wait for it, or check `leakguard playbook status`",
            ) from None
        yield
    finally:
        os.close(fd)


# --- public entry points ---------------------------------------------------------------------


_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
"""A run id names the run's audit trail and lock files: no path separators."""


def start_run(
    journal: Journal,
    playbook: Playbook,
    inputs: Mapping[str, Any],
    options: EngineOptions,
    *,
    mode: Mode = Mode.RUN,
    run_id: str | None = None,
    audit_path: Path | None = None,
) -> RunView:
    """Create a run in the journal and drive it as far as it goes."""
    if mode is Mode.PLAN:
        raise PlaybookError("plan mode does not create a run", hint="use plan_playbook()")
    if run_id is not None and not _RUN_ID.match(run_id):
        raise PlaybookError(
            f"run id {run_id!r} is not a plain name",
            hint="use letters, digits, '.', '_' and '-' (it names the run's audit trail file)",
        )
    resolved = resolve_inputs(playbook, inputs)
    run_id = run_id or new_run_id(playbook.id)
    facts = _preflight(playbook, resolved, inputs, options)
    journal.create_run(
        run_id=run_id,
        playbook_id=playbook.id,
        playbook_path=str(playbook.path),
        playbook_text=playbook.text,
        playbook_sha256=playbook.sha256,
        mode=str(mode),
        inputs=resolved,
        options={
            "time_scale": options.time_scale,
            "backend_overrides": _public_overrides(options.backend_overrides),
            "yes": options.yes,
            "preflight": facts.to_json() | {"field_given": "field" in inputs},
        },
        audit_path=audit_path,
    )
    runner = Runner(journal, playbook, run_id, mode, options)
    for note in facts.notes:
        runner.record(Kind.LOG, data={"message": note})
        runner.emit("log", None, note)
    if facts.override is not None:
        runner.record(
            Kind.OVERRIDE,
            data={
                "reason": facts.override,
                "playbook": playbook.id,
                "expected": facts.expected_playbook,
                "rule_id": facts.rule_id,
                "by": options.approved_by,
            },
        )
        runner.emit(
            "log", None, f"playbook override: {playbook.id} instead of {facts.expected_playbook}"
        )
    if facts.refusal is not None:
        diagnostic, hint = facts.refusal
        runner.set_state(RunState.FAILED, diagnostic, diagnostic=diagnostic, hint=hint)
        runner.emit("pause", None, f"run {run_id}: refused before any write: {diagnostic}")
        return runner.view
    return runner.drive()


def _preflight(
    playbook: Playbook,
    resolved: dict[str, Any],
    given: Mapping[str, Any],
    options: EngineOptions,
) -> invariants.Preflight:
    """Check the invariants before the run exists; point ``field`` at the leaked field."""
    backends = Backends(playbook.backends, options.backend_overrides, operator=options.operator)
    facts = invariants.preflight(
        playbook, resolved, given, backends, options.graph, options.playbook_override
    )
    found = [f for fields in facts.fields.values() for f in fields]
    if "field" in playbook.inputs and found and facts.refusal is None:
        if "field" not in given:
            resolved["field"] = found[0]
        elif resolved["field"] not in found:
            facts.refusal = (
                f"field {resolved['field']} does not hold the leaked credential; "
                f"{', '.join(sorted(set(found)))} does",
                "drop -i field= (the fields that hold it are rotated), or name one of those",
            )
    return facts


def open_graph(db: Path | None) -> GraphQueries | None:
    """The dependency graph kept in the store at ``db`` (None when the graph cannot load)."""
    from leakguard.graph.build import load

    try:
        graph: GraphQueries = load(db)
    except LeakguardError:
        return None
    return graph


def playbook_of(view: RunView, registry: Mapping[str, Action] | None = None) -> Playbook:
    """The playbook a run was started with (its text is kept in the journal)."""
    registry = default_registry() if registry is None else registry
    return load_playbook(Path(view.playbook_path), registry, text=view.playbook_text)


def interrupted(journal: Journal, view: RunView) -> bool:
    """The journal says a process drives the run, but none holds its lock (kill -9, crash)."""
    if view.state not in {RunState.RUNNING, RunState.ROLLING_BACK, RunState.PENDING}:
        return False
    try:
        with _run_lock(journal, view.run_id):
            return True
    except PlaybookError:
        return False


def _reopen(journal: Journal, run_id: str, options: EngineOptions) -> Runner:
    view = journal.view(run_id)
    playbook = playbook_of(view, options.registry_or_default())
    if view.options.get("yes"):  # the run's options hold: `run --yes` stays approved
        options.yes = True
    if not options.backend_overrides and view.options.get("backend_overrides"):
        options.backend_overrides = view.options["backend_overrides"]
    if options.time_scale == 1.0 and view.options.get("time_scale"):
        options.time_scale = float(view.options["time_scale"])
    return Runner(journal, playbook, run_id, Mode(view.mode), options)


def resume_run(journal: Journal, run_id: str, options: EngineOptions) -> RunView:
    """Continue a run from its journal (after a pause, an approval or a crash)."""
    view = journal.view(run_id)
    if view.state in RunState.FINAL and view.state != RunState.FAILED:
        raise PlaybookError(f"run {run_id} is {view.state}: nothing to resume")
    if view.state == RunState.FAILED and not view.order:  # refused by an invariant
        raise PlaybookError(
            f"run {run_id} was refused before any write: {view.diagnostic}",
            hint=view.hint or "start a new run",
        )
    journal.sync_audit(run_id)
    runner = _reopen(journal, run_id, options)
    if view.state == RunState.FAILED:  # a failed rollback continues as a rollback
        with _run_lock(journal, run_id), contextlib.suppress(_Pause):
            runner.rollback("rollback resumed")
        return runner.view
    return runner.drive()


def rollback_run(journal: Journal, run_id: str, options: EngineOptions) -> RunView:
    """Undo a run: compensations in reverse order, journaled, idempotent."""
    view = journal.view(run_id)
    if view.state == RunState.COMPLETED:
        raise PlaybookError(
            f"run {run_id} completed: the old credential is revoked, so rolling back would "
            "restore a dead credential",
            hint="start a new run to rotate again",
        )
    if view.state == RunState.ROLLED_BACK:
        raise PlaybookError(f"run {run_id} is already rolled back")
    journal.sync_audit(run_id)
    runner = _reopen(journal, run_id, options)
    with _run_lock(journal, run_id):
        runner.view = journal.view(run_id)
        with contextlib.suppress(_Pause):
            runner.rollback()
    return runner.view


def approve(
    journal: Journal,
    run_id: str,
    step_id: str,
    by: str,
    registry: Mapping[str, Action] | None = None,
) -> RunView:
    """Record an approval for ``step_id`` (the waiting run, or the next resume, picks it up)."""
    view = journal.view(run_id)
    if view.state in RunState.FINAL:
        raise PlaybookError(f"run {run_id} is {view.state}: nothing to approve")
    playbook = load_playbook(
        Path(view.playbook_path),
        registry if registry is not None else default_registry(),
        text=view.playbook_text,
    )
    approvals = [s.id for s in playbook.steps if s.uses == APPROVAL]
    if base_id(step_id) not in approvals:
        raise PlaybookError(
            f"step {step_id!r} of run {run_id} is not an approval step",
            hint=f"approval steps: {', '.join(approvals) or 'none'}",
        )
    sv = view.steps.get(step_id)
    if sv is not None and (sv.approved_by is not None or sv.state in StepState.DONE):
        raise PlaybookError(f"step {step_id} of run {run_id} is already approved")
    rec = journal.append(run_id, Kind.APPROVAL, step_id=step_id, data={"by": by, "how": "approve"})
    view.apply(rec)
    return view


def load_run(journal: Journal, run_id: str) -> RunView:
    journal.sync_audit(run_id)
    return journal.view(run_id)
