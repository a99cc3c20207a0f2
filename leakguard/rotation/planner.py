"""Plan and rehearse: the two ways to see a playbook's effect before running it for real.

``plan`` runs the read-only steps for real (against backends wrapped so a write cannot get
through) and only describes the mutating ones; it creates no run and writes nothing anywhere.
``rehearse`` runs the whole playbook as a journaled run against a sandbox (a local OpenBao dev
server and moto, see :mod:`leakguard.rotation.sandbox`) with waits compressed by ``time_scale``,
then reports each step's timing and what would break.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from leakguard.errors import LeakguardError
from leakguard.graph.interface import StoreRef
from leakguard.rotation import expr, invariants
from leakguard.rotation.context import Backends, SecretHandleStore, StepContext
from leakguard.rotation.interface import Action, Mode
from leakguard.rotation.journal import Journal, RunState, RunView, StepState
from leakguard.rotation.runner import (
    EngineOptions,
    Event,
    _json_outputs,
    _preflight,
    start_run,
)
from leakguard.rotation.schema import APPROVAL, Playbook, Step, resolve_inputs, spec_for


@dataclass(frozen=True)
class PlanLine:
    step_id: str
    stage: str
    uses: str
    kind: str  # read | write | approval | skip | blocked | error
    text: str
    irreversible: bool = False


@dataclass(frozen=True)
class Plan:
    playbook_id: str
    inputs: Mapping[str, Any]
    lines: tuple[PlanLine, ...]

    @property
    def writes(self) -> int:
        return sum(1 for line in self.lines if line.kind == "write")

    @property
    def errors(self) -> int:
        return sum(1 for line in self.lines if line.kind == "error")


def _short(params: Mapping[str, Any]) -> str:
    parts = []
    for key, value in params.items():
        if value is None or value == "" or value == {}:
            continue
        shown = value if isinstance(value, str | int | float | bool) else "…"
        parts.append(f"{key}={shown}")
    return ", ".join(parts)


def _describe(action: Action | None, uses: str, params: Mapping[str, Any]) -> str:
    if action is not None and action.describe is not None:
        try:
            return action.describe(params)
        except (LeakguardError, KeyError, TypeError, ValueError):
            pass
    return f"would run {uses}({_short(params)})"


class _VirtualClock:
    """Plan mode never waits: sleeping only moves this clock forward (so a ``wait_until``
    check that does not pass yet reaches its timeout at once instead of polling)."""

    def __init__(self, base: Any) -> None:
        self.base = base
        self.offset = timedelta()

    def now(self) -> datetime:
        moment: datetime = self.base.now()
        return moment + self.offset

    def sleep(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def plan_playbook(playbook: Playbook, inputs: Mapping[str, Any], options: EngineOptions) -> Plan:
    """The plan of a run: read-only steps run for real, mutating ones described."""
    registry = options.registry_or_default()
    resolved = resolve_inputs(playbook, inputs)
    backends = Backends(playbook.backends, options.backend_overrides, read_only=True, operator=None)
    handles = SecretHandleStore()
    steps_scope: dict[str, Any] = {
        s.id: {"status": StepState.PENDING, "outputs": {}} for s in playbook.steps
    }
    run = {"id": "plan", "mode": str(Mode.PLAN)}
    lines: list[PlanLine] = _invariant_lines(playbook, resolved, inputs, backends, options)
    unknown: set[str] = set()  # steps whose outputs a plan cannot know

    def scope() -> expr.Scope:
        return expr.Scope(inputs=resolved, steps=steps_scope, run=run)

    for step in playbook.steps:
        spec = spec_for(step.uses, registry)
        assert spec is not None  # validated at load
        irreversible = step.irreversible or spec.irreversible
        items: list[tuple[str, expr.Scope]] = [(step.id, scope())]
        if step.for_each is not None:
            try:
                value = expr.parse_template(step.for_each).render(scope())
            except expr.ExprError as exc:
                lines.append(
                    PlanLine(
                        step.id,
                        step.stage,
                        step.uses,
                        "blocked",
                        f"for each item of a list not known before the run ({exc.message})",
                    )
                )
                unknown.add(step.id)
                continue
            if not isinstance(value, list):
                value = []
            items = [(f"{step.id}[{i}]", scope().with_item(v)) for i, v in enumerate(value)]
            if not items:
                lines.append(PlanLine(step.id, step.stage, step.uses, "skip", "no items"))
        outputs_all: list[Any] = []
        for sid, item_scope in items:
            line, outputs = _plan_one(
                step,
                sid,
                item_scope,
                spec.mutating,
                irreversible,
                registry,
                backends,
                handles,
                options,
            )
            lines.append(line)
            outputs_all.append(outputs)
            if outputs is None:
                unknown.add(step.id)
        if step.id not in unknown:
            status = StepState.SUCCEEDED
            if step.for_each is not None:
                steps_scope[step.id] = {
                    "status": status,
                    "outputs": {"results": outputs_all, "count": len(items)},
                }
            else:
                steps_scope[step.id] = {
                    "status": status,
                    "outputs": outputs_all[0] if outputs_all else {},
                }
    return Plan(playbook.id, resolved, tuple(lines))


def _invariant_lines(
    playbook: Playbook,
    resolved: dict[str, Any],
    given: Mapping[str, Any],
    backends: Backends,
    options: EngineOptions,
) -> list[PlanLine]:
    """What the runner checks before any write, and the world as the store shows it now."""

    def line(kind: str, text: str) -> PlanLine:
        return PlanLine("invariants", "contain", "preflight", kind, text)

    facts = _preflight(playbook, resolved, given, options)
    out = [line("read", note) for note in facts.notes]
    for where, fields in facts.fields.items():
        shown = ", ".join(fields) if fields else "none found"
        out.append(line("read", f"fields holding the leaked credential in {where}: {shown}"))
    if facts.override:
        out.append(line("read", f"playbook override: {facts.override}"))
    if facts.refusal is not None:
        out.append(line("error", f"{facts.refusal[0]} (hint: {facts.refusal[1]})"))
    for target in invariants.targets(playbook, resolved):
        try:
            current, _ = backends.store(target.backend).read_current(target.name)
        except LeakguardError:
            continue
        last = current.metadata.get("last_leakguard_version")
        if current.metadata.get("written_by") == "outside" and last:
            out.append(
                line(
                    "read",
                    f"{target.name}: current version {current.version_id} was written outside "
                    f"LeakGuard since its last rotation (version {last}); it is kept, and the "
                    "new value is staged from it",
                )
            )
    return out


def _plan_one(
    step: Step,
    sid: str,
    scope: expr.Scope,
    mutating: bool,
    irreversible: bool,
    registry: Mapping[str, Action],
    backends: Backends,
    handles: SecretHandleStore,
    options: EngineOptions,
) -> tuple[PlanLine, dict[str, Any] | None]:
    def line(kind: str, text: str) -> PlanLine:
        return PlanLine(sid, step.stage, step.uses, kind, text, irreversible)

    if step.when is not None:
        try:
            if not expr.parse_template(step.when).render(scope):
                return line("skip", "skipped: its condition is false"), {}
        except expr.ExprError:
            pass  # decided during the run; describe the step anyway
    try:
        params = expr.render_value(dict(step.with_), scope)
    except expr.ExprError as exc:
        return line(
            "write" if mutating else "blocked",
            f"{step.uses}: needs values known only during the run ({exc.message})",
        ), None
    action = registry.get(step.uses)
    if step.uses == APPROVAL:
        message = params.get("message") or "continue?"
        return line("approval", f"waits for approval: {message}"), {"approved": True}
    if mutating:
        return line("write", _describe(action, step.uses, params)), None
    if action is None:
        return line("read", step.uses), {}
    ctx = StepContext(
        run_id="plan",
        step_id=sid,
        attempt=1,
        mode=Mode.PLAN,
        graph=options.graph,
        secrets=handles,
        time_scale=options.time_scale,
        backends=backends,
        clock=_VirtualClock(options.clock),
        log_line=lambda message: None,
    )
    try:
        outputs = _json_outputs(step.uses, action.run(ctx, params))
    except LeakguardError as exc:
        if step.stage == "verify":  # it checks the changes planned above, not made in a plan
            return line("blocked", f"{step.uses}: checked after the changes ({exc.message})"), None
        return line("error", f"{step.uses}: {exc.message}"), None
    return line("read", f"{step.uses}: {_summarise(outputs)}"), outputs


def _summarise(outputs: Mapping[str, Any]) -> str:
    parts = []
    for key, value in outputs.items():
        if isinstance(value, list):
            parts.append(f"{key}: {len(value)} item(s)")
        elif isinstance(value, dict):
            parts.append(f"{key}: {{…}}")
        else:
            parts.append(f"{key}={value}")
    return ", ".join(parts[:6]) or "ok"


# --- rehearse --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepTiming:
    step_id: str
    state: str
    seconds: float | None
    retries: int
    error: str | None


@dataclass(frozen=True)
class Rehearsal:
    run: RunView
    timings: tuple[StepTiming, ...]
    would_break: tuple[str, ...]
    time_scale: float
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.run.state == RunState.COMPLETED and not self.would_break


def rehearsal_report(run: RunView, time_scale: float, graph_gaps: list[str]) -> Rehearsal:
    timings = tuple(
        StepTiming(
            sid,
            run.steps[sid].state,
            run.steps[sid].seconds,
            run.steps[sid].retries,
            run.steps[sid].error,
        )
        for sid in run.order
    )
    breaks = list(graph_gaps)
    for timing in timings:
        if timing.state == StepState.FAILED and timing.error and timing.error not in graph_gaps:
            breaks.append(f"step {timing.step_id}: {timing.error}")
    failed = any(t.state == StepState.FAILED for t in timings)
    if run.state != RunState.COMPLETED and run.diagnostic and not failed:
        breaks.append(run.diagnostic)  # a pause that is not a step's failure
    return Rehearsal(run, timings, tuple(breaks), time_scale)


def _play_reloading_consumers(
    playbook: Playbook, box: Any, options: EngineOptions
) -> Callable[[Event], None] | None:
    """A rehearsal never runs a consumer's real reload command (it reaches outside the
    sandbox), so after each promotion the sandbox plays every consumer that has a reload
    mechanism reading its entries as its AppRole. A consumer without one is not played: it
    would not move for real either, and the rehearsal reports it."""
    forward = options.progress
    read_as = getattr(box, "read_as", None)
    plan = getattr(box, "plan", None)
    if options.graph is None or read_as is None or plan is None:
        return forward
    players: list[tuple[str, str, str]] = []
    for role, entries in getattr(plan, "approles", {}).items():
        for mount, path in sorted(entries):
            for consumer in options.graph.consumers_of_store(StoreRef("vault-kv2", path, mount)):
                if f"vault-approle:{role}" in consumer.identities and consumer.reload.kind in {
                    "command",
                    "webhook",
                }:
                    players.append((role, mount, path))
    promotes = {s.id for s in playbook.steps if s.uses == "store.promote"}

    def progress(event: Event) -> None:
        if event.kind == "done" and event.step_id in promotes:
            for role, mount, path in players:
                with contextlib.suppress(LeakguardError):
                    read_as(role, path, mount)
        if forward is not None:
            forward(event)

    return progress


@contextlib.contextmanager
def _default_sandbox(
    playbook: Playbook, inputs: Mapping[str, Any], options: EngineOptions
) -> Iterator[Any]:
    from leakguard.rotation import sandbox

    with sandbox.start(playbook, inputs, graph=options.graph) as box:
        yield box


def rehearse_playbook(
    journal: Journal,
    playbook: Playbook,
    inputs: Mapping[str, Any],
    options: EngineOptions,
    *,
    sandbox: Any = None,
) -> Rehearsal:
    """Run the whole playbook against a sandbox: ``sandbox(playbook, inputs, options)`` is a
    context manager yielding an object with ``overrides`` (backend parameters) and optionally
    ``audit_log`` (the sandbox's OpenBao audit log, given to an ``audit_log`` input left
    empty). Default: the OpenBao dev + moto sandbox of :mod:`leakguard.rotation.sandbox`."""
    factory = sandbox or _default_sandbox
    resolved = dict(resolve_inputs(playbook, inputs))
    gaps: list[str] = []
    if options.graph is not None:
        for name, spec in playbook.inputs.items():
            if spec.type == "credential" and resolved.get(name):
                try:
                    radius = options.graph.blast_radius(str(resolved[name]))
                except LeakguardError as exc:
                    gaps.append(exc.message)
                    continue
                if radius.unknown_consumers:
                    gaps.append(
                        f"no consumer of {resolved[name]} is known: close the gap before rotating"
                    )
    with factory(playbook, resolved, options) as box:
        options.backend_overrides = dict(box.overrides)
        audit_log = getattr(box, "audit_log", None)
        if "audit_log" in playbook.inputs and not resolved.get("audit_log") and audit_log:
            resolved["audit_log"] = str(audit_log)
        options.progress = _play_reloading_consumers(playbook, box, options)
        run = start_run(journal, playbook, resolved, options, mode=Mode.REHEARSE)
    return rehearsal_report(run, options.time_scale, gaps)
