"""`leakguard playbook`: list, show, validate, plan, rehearse, run, resume, roll back, approve and
follow the runs of rotation playbooks. Exit codes: 0 the run reached its goal (completed; for
`rollback`, rolled back), 1 anything else (paused, awaiting approval, interrupted, failed, rolled
back on failure, refused by an invariant; `plan` with errors; `rehearse` when something would
break), 2 usage error."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from leakguard.errors import EXIT_FINDINGS, EXIT_OK, UsageError
from leakguard.redact import terminal_safe
from leakguard.rotation.journal import Journal, RunState, RunView

if TYPE_CHECKING:
    from leakguard.rotation import runner as engine

# the rotation machinery is imported by the commands that use it: `leakguard --help` and
# every other command start faster

playbook_app = typer.Typer(
    name="playbook",
    help=(
        "Rotate a leaked credential with a playbook: contain, map, rotate with an overlap "
        "window, verify. Start with `leakguard playbook plan ID --input credential=FP`."
    ),
    no_args_is_help=True,
)

_DB_HELP = "Findings store holding the run journal (default: $LEAKGUARD_DB or the XDG state dir)."
Db = Annotated[Path | None, typer.Option("--db", help=_DB_HELP)]
Ref = Annotated[str, typer.Argument(help="A playbook id (see `playbook list`) or a playbook file.")]
RunId = Annotated[str, typer.Argument(help="The run id printed when the run started.")]
Inputs = Annotated[
    list[str] | None, typer.Option("--input", "-i", help="An input as NAME=VALUE (repeatable).")
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Approve every approval step (automation).")]
Format = Annotated[str, typer.Option("--format", "-f", help="text or json.")]
ApprovalWait = Annotated[
    str,
    typer.Option(
        "--approval-timeout",
        help="Without a terminal, how long to wait for `playbook approve` (e.g. 30m).",
    ),
]


class _TerminalOperator:
    def ask(self, prompt: str, *, secret: bool = False) -> str:
        return str(typer.prompt(prompt, hide_input=secret))

    def confirm(self, prompt: str) -> bool:
        return bool(typer.confirm(prompt, default=False))


def _inputs(pairs: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--input {pair!r}: write NAME=VALUE")
        out[name.strip()] = value
    return out


def _format(fmt: str) -> str:
    if fmt not in ("text", "json"):
        raise UsageError(f"unknown format {fmt!r}", hint="use text or json")
    return fmt


def _progress(event: engine.Event) -> None:
    marks = {"start": "→", "done": "✓", "skip": "·", "retry": "↻", "fail": "✗", "pause": "‖"}
    mark = marks.get(event.kind, " ")
    typer.echo(f"{mark} {terminal_safe(event.message)}", err=event.kind in {"pause", "fail"})


def _options(
    db: Path | None,
    yes: bool,
    approval_timeout: str = "1h",
    time_scale: float = 1.0,
    override: str | None = None,
) -> engine.EngineOptions:
    from leakguard.rotation import runner as engine
    from leakguard.rotation.context import stdin_is_tty
    from leakguard.rotation.expr import parse_duration

    return engine.EngineOptions(
        yes=yes,
        playbook_override=override,
        time_scale=time_scale,
        graph=engine.open_graph(db),
        progress=_progress,
        operator=_TerminalOperator() if stdin_is_tty() else None,
        approval_timeout=parse_duration(approval_timeout),
    )


def _exit_code(view: RunView, goal: str = RunState.COMPLETED) -> int:
    """0 only for a run that reached its goal; a rollback on failure did not."""
    return EXIT_OK if view.state == goal else EXIT_FINDINGS


def _finish(view: RunView, goal: str = RunState.COMPLETED) -> NoReturn:
    typer.echo(f"run {view.run_id}: {view.state}")
    if view.state != goal:
        if view.diagnostic:
            typer.echo(f"  {terminal_safe(view.diagnostic)}", err=True)
        if view.hint:
            typer.echo(f"  hint: {terminal_safe(view.hint)}", err=True)
    for key, value in view.outputs.items():
        typer.echo(f"  {terminal_safe(str(key))}: {terminal_safe(str(value))}")
    typer.echo(f"  audit trail: {view.audit_path}")
    raise typer.Exit(_exit_code(view, goal))


@playbook_app.command("list")
def list_cmd() -> None:
    """List the shipped playbooks, then the manual ones defined by provider steps."""
    from leakguard.rotation.providers import provider_playbooks
    from leakguard.rotation.schema import load_playbook, shipped_playbooks

    for path in shipped_playbooks():
        playbook = load_playbook(path)
        typer.echo(f"{playbook.id:<28} {playbook.title}")
    for playbook in provider_playbooks():
        typer.echo(f"{playbook.id:<28} {playbook.title}")


@playbook_app.command("show")
def show_cmd(ref: Ref) -> None:
    """Show a playbook's inputs, backends and steps."""
    from leakguard.rotation.providers import resolve_playbook

    playbook = resolve_playbook(ref)
    typer.echo(f"{playbook.id}: {playbook.title}")
    if playbook.description:
        typer.echo(f"  {playbook.description.strip()}")
    typer.echo("inputs:")
    for spec in playbook.inputs.values():
        need = (
            "required"
            if spec.required
            else "optional"
            if spec.default is None
            else f"default {spec.default}"
        )
        typer.echo(f"  {spec.name:<14} {spec.type:<10} {need:<16} {spec.help}")
    typer.echo("backends:")
    for backend in playbook.backends.values():
        typer.echo(f"  {backend.name:<14} {backend.kind}")
    for stage, steps in playbook.stages.items():
        typer.echo(f"{stage}:")
        for step in steps:
            flags = " ".join(
                f
                for f, on in (
                    ("[irreversible]", step.irreversible),
                    ("[for each]", step.for_each is not None),
                    ("[when]", step.when is not None),
                    ("[undo: " + step.compensate.uses + "]" if step.compensate else "", True),
                )
                if on and f
            )
            typer.echo(f"  {step.id:<22} {step.uses:<30} {flags}".rstrip())


@playbook_app.command("validate")
def validate_cmd(
    files: Annotated[list[Path], typer.Argument(help="Playbook files to check.")],
) -> None:
    """Check playbook files; errors name the file and line (exit 2)."""
    from leakguard.rotation.schema import load_playbook

    for path in files:
        playbook = load_playbook(path)
        typer.echo(f"{path}: ok ({playbook.id}, {len(playbook.steps)} steps)")


@playbook_app.command("plan")
def plan_cmd(ref: Ref, inputs: Inputs = None, db: Db = None, fmt: Format = "text") -> None:
    """Dry run: read-only steps run for real, changes are only described. Writes nothing."""
    from leakguard.rotation import planner
    from leakguard.rotation.providers import resolve_playbook

    _format(fmt)
    playbook = resolve_playbook(ref)
    plan = planner.plan_playbook(playbook, _inputs(inputs), _options(db, False))
    if fmt == "json":
        doc = {
            "playbook": plan.playbook_id,
            "inputs": dict(plan.inputs),
            "steps": [vars(line) for line in plan.lines],
        }
        typer.echo(json.dumps(doc, indent=2, default=str))
        raise typer.Exit(EXIT_FINDINGS if plan.errors else EXIT_OK)
    marks = {"read": "read ", "write": "WRITE", "approval": "ASK  ", "skip": "skip ",
             "blocked": "later", "error": "ERROR"}  # fmt: skip
    stage = None
    for line in plan.lines:
        if line.stage != stage:
            stage = line.stage
            typer.echo(f"{stage}:")
        flag = " (irreversible)" if line.irreversible and line.kind == "write" else ""
        typer.echo(f"  {marks.get(line.kind, line.kind)} {line.step_id:<22} {line.text}{flag}")
    typer.echo(f"{plan.writes} change(s) planned; nothing was written")
    if plan.errors:
        typer.echo(f"{plan.errors} error(s): the run would not reach its goal", err=True)
        raise typer.Exit(EXIT_FINDINGS)


@playbook_app.command("run")
def run_cmd(
    ref: Ref,
    inputs: Inputs = None,
    yes: Yes = False,
    db: Db = None,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Name the run.")] = None,
    approval_timeout: ApprovalWait = "1h",
    override: Annotated[
        str | None,
        typer.Option(
            "--playbook-override",
            metavar="REASON",
            help="Run this playbook although the credential's rule names another "
            "(the reason is journaled in the audit trail).",
        ),
    ] = None,
) -> None:
    """Run a playbook for real, journaled; resumable after any interruption."""
    from leakguard.rotation import runner as engine
    from leakguard.rotation.providers import resolve_playbook

    playbook = resolve_playbook(ref)
    if override is not None and not override.strip():
        raise UsageError("--playbook-override needs a reason")
    options = _options(db, yes, approval_timeout, override=override)
    with Journal.open(db) as journal:
        view = engine.start_run(journal, playbook, _inputs(inputs), options, run_id=run_id)
    _finish(view)


@playbook_app.command("rehearse")
def rehearse_cmd(
    ref: Ref,
    inputs: Inputs = None,
    db: Db = None,
    time_scale: Annotated[
        float,
        typer.Option("--time-scale", min=0.0, help="Multiply waits and overlap windows by this."),
    ] = 0.0001,
    fmt: Format = "text",
) -> None:
    """Run the whole playbook against a local OpenBao dev server and moto started for it."""
    from leakguard.rotation import planner
    from leakguard.rotation.providers import resolve_playbook

    _format(fmt)
    playbook = resolve_playbook(ref)
    with Journal.open(db) as journal:
        report = planner.rehearse_playbook(
            journal, playbook, _inputs(inputs), _options(db, True, time_scale=time_scale)
        )
    if fmt == "json":
        doc = {
            "run_id": report.run.run_id,
            "state": report.run.state,
            "time_scale": report.time_scale,
            "steps": [vars(t) for t in report.timings],
            "would_break": list(report.would_break),
        }
        typer.echo(json.dumps(doc, indent=2))
    else:
        typer.echo(f"rehearsal {report.run.run_id}: {report.run.state} (time x{report.time_scale})")
        for t in report.timings:
            took = f"{t.seconds:.2f}s" if t.seconds is not None else "-"
            retries = f"  {t.retries} retries" if t.retries else ""
            typer.echo(f"  {t.step_id:<24} {t.state:<12} {took:>8}{retries}")
        for problem in report.would_break:
            typer.echo(f"  would break: {terminal_safe(str(problem))}")
    raise typer.Exit(EXIT_OK if report.ok else EXIT_FINDINGS)


@playbook_app.command("resume")
def resume_cmd(
    run: RunId, yes: Yes = False, db: Db = None, approval_timeout: ApprovalWait = "1h"
) -> None:
    """Continue a paused, interrupted or approved run where its journal says it stopped."""
    from leakguard.rotation import runner as engine

    with Journal.open(db) as journal:
        view = engine.resume_run(journal, run, _options(db, yes, approval_timeout))
    _finish(view)


@playbook_app.command("rollback")
def rollback_cmd(run: RunId, db: Db = None) -> None:
    """Undo a run: each done step's compensation, in reverse order."""
    from leakguard.rotation import runner as engine

    with Journal.open(db) as journal:
        view = engine.rollback_run(journal, run, _options(db, False))
    _finish(view, RunState.ROLLED_BACK)


@playbook_app.command("approve")
def approve_cmd(
    run: RunId,
    step: Annotated[str, typer.Argument(help="The approval step's id.")],
    db: Db = None,
    by: Annotated[str | None, typer.Option("--by", help="Who approves (default: $USER).")] = None,
) -> None:
    """Approve a waiting step of a run (from another terminal)."""
    from leakguard.rotation import runner as engine

    who = by or os.environ.get("USER") or "operator"
    with Journal.open(db) as journal:
        engine.approve(journal, run, step, who)
    typer.echo(f"approved {step} of {run} (by {who})")


@playbook_app.command("status")
def status_cmd(run: RunId, db: Db = None, fmt: Format = "text") -> None:
    """Where a run is: state, stage, each step's state and timing, why it paused."""
    from leakguard.rotation import runner as engine
    from leakguard.rotation.status import run_status

    _format(fmt)
    with Journal.open(db) as journal:
        view = engine.load_run(journal, run)
        if engine.interrupted(journal, view):
            view.state = RunState.INTERRUPTED
            view.diagnostic = "the process driving this run stopped (killed or crashed)"
            where = f" --db {db}" if db is not None else ""
            view.hint = f"resume it with `leakguard playbook resume {run}{where}`"
    status = run_status(view, engine.playbook_of(view))
    if fmt == "json":
        typer.echo(json.dumps(status, indent=2))
    else:
        _render_status(status)
    raise typer.Exit(_exit_code(view))


def _render_status(status: dict[str, Any]) -> None:
    typer.echo(
        f"run {status['run_id']} ({status['playbook']}, {status['mode']}): {status['state']}"
    )
    typer.echo(f"  stage: {status['stage']}   updated: {status['updated_at']}")
    for step in status["steps"]:
        took = f"{step['seconds']:.2f}s" if step.get("seconds") is not None else ""
        extra = f"  {step['error']}" if step.get("error") else ""
        if step.get("approved_by"):
            extra += f"  approved by {step['approved_by']}"
        typer.echo(f"  {step['stage']:<8} {step['id']:<24} {step['state']:<12} {took:>8}{extra}")
    pause = status.get("pause")
    if pause:
        typer.echo(f"  paused: {terminal_safe(str(pause['diagnostic']))}")
        if pause.get("hint"):
            typer.echo(f"  hint: {terminal_safe(str(pause['hint']))}")


@playbook_app.command("runs")
def runs_cmd(db: Db = None) -> None:
    """List recent runs in the journal."""
    with Journal.open(db) as journal:
        for run_id in journal.run_ids():
            view = journal.view(run_id)
            typer.echo(f"{run_id:<48} {view.state:<18} {view.updated_at}")


def register(app: typer.Typer) -> None:
    """Adds the `playbook` command group."""
    app.add_typer(playbook_app)
