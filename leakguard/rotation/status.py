"""Where a run is: its state, current stage, every step's state and timing, and why it paused.

A JSON value (``leakguard playbook status RUN --format json`` prints it as is); the CLI's text
rendering reads the same value.
"""

from __future__ import annotations

from typing import Any

from leakguard.rotation.journal import RunState, RunView, StepState, StepView
from leakguard.rotation.schema import STAGES, Playbook


def _step(step_id: str, stage: str, uses: str, sv: StepView | None) -> dict[str, Any]:
    if sv is None:
        return {"id": step_id, "stage": stage, "uses": uses, "state": StepState.PENDING}
    out: dict[str, Any] = {
        "id": step_id,
        "stage": stage,
        "uses": uses,
        "state": sv.state,
        "attempt": sv.attempt,
        "retries": sv.retries,
        "started_at": sv.started_at,
        "finished_at": sv.finished_at,
        "seconds": None if sv.seconds is None else round(sv.seconds, 3),
    }
    for key in ("error", "hint", "approved_by", "compensation_error"):
        value = getattr(sv, key)
        if value:
            out[key] = value
    return out


def run_status(view: RunView, playbook: Playbook) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    stage = None
    for step in playbook.steps:
        sv = view.steps.get(step.id)
        steps.append(_step(step.id, step.stage, step.uses, sv))
        if sv is not None and sv.items is not None:
            for index in range(len(sv.items)):
                sub = f"{step.id}[{index}]"
                steps.append(_step(sub, step.stage, step.uses, view.steps.get(sub)))
        if sv is not None and stage is None and sv.state not in StepState.DONE:
            stage = step.stage
    if stage is None:
        last_done = [s["stage"] for s in steps if s["state"] in StepState.DONE]
        if view.state == RunState.COMPLETED:
            stage = STAGES[-1]
        else:
            pending = [s["stage"] for s in steps if s["state"] == StepState.PENDING]
            stage = pending[0] if pending else (last_done[-1] if last_done else STAGES[0])
    out: dict[str, Any] = {
        "run_id": view.run_id,
        "playbook": view.playbook_id,
        "mode": view.mode,
        "state": view.state,
        "stage": stage,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
        "inputs": dict(view.inputs),
        "steps": steps,
        "audit_trail": view.audit_path,
    }
    if view.state in {
        RunState.PAUSED,
        RunState.AWAITING_APPROVAL,
        RunState.FAILED,
        RunState.INTERRUPTED,
    }:
        out["pause"] = {"diagnostic": view.diagnostic, "hint": view.hint}
    if view.outputs:
        out["outputs"] = dict(view.outputs)
    return out
