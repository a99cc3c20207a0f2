from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leakguard.errors import PlaybookError
from leakguard.rotation import runner as engine
from leakguard.rotation.audit import verify
from leakguard.rotation.journal import Journal, Kind, RunState, RunView, StepState
from leakguard.rotation.planner import plan_playbook
from leakguard.rotation.schema import Playbook, load_playbook
from leakguard.rotation.status import run_status
from tests.unit.rotation.world import ROTATE, World, build_registry, write


class FakeClock:
    def __init__(self) -> None:
        from datetime import UTC, datetime

        self.t = datetime(2026, 1, 1, tzinfo=UTC)
        self.slept: list[float] = []

    def now(self) -> Any:
        return self.t

    def sleep(self, seconds: float) -> None:
        from datetime import timedelta

        self.slept.append(seconds)
        self.t += timedelta(seconds=seconds)


@pytest.fixture()
def world() -> World:
    return World()


@pytest.fixture()
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal.open(tmp_path / "db.sqlite") as j:
        yield j


def _playbook(tmp_path: Path, world: World, text: str = ROTATE) -> Playbook:
    return load_playbook(write(tmp_path, text), build_registry(world))


def _options(world: World, **kw: Any) -> engine.EngineOptions:
    events: list[engine.Event] = []
    opts = engine.EngineOptions(
        registry=build_registry(world),
        clock=FakeClock(),
        rng=random.Random(1),
        progress=events.append,
        approval_timeout=0,
        **kw,
    )
    opts.events = events  # type: ignore[attr-defined]
    return opts


def _store_bytes(journal: Journal) -> bytes:
    """The store file and its WAL (where fresh records sit until a checkpoint)."""
    base = journal.db.path
    return b"".join(p.read_bytes() for p in base.parent.glob(base.name + "*"))


def test_a_run_completes_and_journals_intent_before_result(
    tmp_path: Path, world: World, journal: Journal
) -> None:
    pb = _playbook(tmp_path, world)
    view = engine.start_run(
        journal, pb, {"credential": "sha256:ab"}, _options(world, yes=True), run_id="r1"
    )
    assert view.state == RunState.COMPLETED
    assert world.current["app"] == "v2"
    assert world.revoked == ["v1"]
    assert view.outputs == {"new_version": "v2"}
    assert view.steps["reload[1]"].state == StepState.SKIPPED
    assert [e for e in world.effects if e.startswith("touch:reload")] == [
        "touch:reload[0]:reload-1",
        "touch:reload[2]:reload-3",
    ]
    seen: dict[str, str] = {}
    for rec in journal.records("r1"):
        if rec.kind == Kind.INTENT and rec.step_id:
            assert rec.step_id not in seen or seen[rec.step_id] == "result"
            seen[rec.step_id] = "intent"
        if rec.kind == Kind.RESULT and rec.step_id and rec.state == StepState.SUCCEEDED:
            assert seen.get(rec.step_id) == "intent", rec.step_id
            seen[rec.step_id] = "result"
    approvals = [r for r in journal.records("r1") if r.kind == Kind.APPROVAL]
    assert [(a.step_id, a.data["by"]) for a in approvals] == [("approve-revoke", "--yes")]


def test_the_journal_and_audit_trail_hold_handles_never_values(
    tmp_path: Path, world: World, journal: Journal
) -> None:
    pb = _playbook(tmp_path, world)
    view = engine.start_run(journal, pb, {"credential": "sha256:ab"}, _options(world, yes=True))
    dump = json.dumps([r.data for r in journal.records(view.run_id)])
    assert "secret:" in dump  # the handle is journaled
    assert "new-1" not in dump  # the issued value is not
    assert "new-1" not in Path(view.audit_path).read_text()
    assert b"new-1" not in _store_bytes(journal)
    assert oct(Path(view.audit_path).stat().st_mode & 0o777) == "0o600"


def test_when_false_skips_and_is_journaled(tmp_path: Path, world: World, journal: Journal) -> None:
    pb = _playbook(tmp_path, world)
    view = engine.start_run(
        journal, pb, {"credential": "x", "contain": "false"}, _options(world, yes=True)
    )
    assert view.steps["deny"].state == StepState.SKIPPED
    assert not any(e.startswith("touch:deny") for e in world.effects)


def test_transient_errors_are_retried_with_backoff(
    tmp_path: Path, world: World, journal: Journal
) -> None:
    text = ROTATE.replace("uses: t.check", "uses: t.flaky\n      retry: {attempts: 4, backoff: 2s}")
    pb = _playbook(tmp_path, world, text)
    world.flaky_left = 3
    opts = _options(world, yes=True)
    view = engine.start_run(journal, pb, {"credential": "x"}, opts)
    assert view.state == RunState.COMPLETED
    assert view.steps["works"].retries == 3
    slept = opts.clock.slept  # type: ignore[attr-defined]
    assert len(slept) == 3
    assert 1.0 <= slept[0] <= 2.0 and 2.0 <= slept[1] <= 4.0 and 4.0 <= slept[2] <= 8.0
    assert world.effects.count("flaky:works") == 1


def test_exhausted_retries_pause_cleanly_and_resume_finishes(
    tmp_path: Path, world: World, journal: Journal
) -> None:
    text = ROTATE.replace("uses: t.check", "uses: t.flaky\n      retry: {attempts: 2, backoff: 1s}")
    pb = _playbook(tmp_path, world, text)
    world.flaky_left = 5
    view = engine.start_run(journal, pb, {"credential": "x"}, _options(world, yes=True), run_id="r")
    assert view.state == RunState.PAUSED
    assert "503" in (view.diagnostic or "")
    assert "leakguard playbook resume r" in (view.hint or "")
    assert "rollback r" in (view.hint or "")
    assert view.steps["works"].state == StepState.FAILED
    world.flaky_left = 0
    view = engine.resume_run(journal, "r", _options(world, yes=True))
    assert view.state == RunState.COMPLETED
    assert world.effects.count("stage:v2") == 1 and world.issued == 1


def test_a_permanent_error_pauses_with_the_backends_hint(
    tmp_path: Path, world: World, journal: Journal
) -> None:
    pb = _playbook(tmp_path, world)
    world.broken = True
    view = engine.start_run(journal, pb, {"credential": "x"}, _options(world, yes=True), run_id="r")
    assert view.state == RunState.PAUSED
    assert view.steps["works"].retries == 0
    assert "403" in (view.diagnostic or "") and "grant read access" in (view.hint or "")
    assert world.revoked == []  # the irreversible step never ran
    world.broken = False
    assert engine.resume_run(journal, "r", _options(world, yes=True)).state == RunState.COMPLETED


def test_rollback_runs_compensations_in_reverse_order_once(
    tmp_path: Path, world: World, journal: Journal
) -> None:
    pb = _playbook(tmp_path, world)
    world.broken = True
    engine.start_run(journal, pb, {"credential": "x"}, _options(world, yes=True), run_id="r")
    before = len(world.effects)
    view = engine.rollback_run(journal, "r", _options(world))
    assert view.state == RunState.ROLLED_BACK
    undo = world.effects[before:]
    assert undo == ["untouch:reload-3", "untouch:reload-1", "rollback:v1", "untouch:deny"]
    assert world.current["app"] == "v1"
    assert view.steps["promote"].state == StepState.COMPENSATED
    with pytest.raises(PlaybookError, match="already rolled back"):
        engine.rollback_run(journal, "r", _options(world))


def test_on_failure_rollback_undoes_automatically(
    tmp_path: Path, world: World, journal: Journal
) -> None:
    text = ROTATE.replace("title: test", "title: test\non_failure: rollback")
    pb = _playbook(tmp_path, world, text)
    world.broken = True
    view = engine.start_run(journal, pb, {"credential": "x"}, _options(world, yes=True))
    assert view.state == RunState.ROLLED_BACK
    assert world.current["app"] == "v1"


def test_a_completed_run_cannot_be_rolled_back(
    tmp_path: Path, world: World, journal: Journal
) -> None:
    pb = _playbook(tmp_path, world)
    engine.start_run(journal, pb, {"credential": "x"}, _options(world, yes=True), run_id="r")
    with pytest.raises(PlaybookError, match="restore a dead credential"):
        engine.rollback_run(journal, "r", _options(world))


def test_an_unapproved_run_waits_then_resumes_after_approve(
    tmp_path: Path, world: World, journal: Journal
) -> None:
    pb = _playbook(tmp_path, world)
    view = engine.start_run(journal, pb, {"credential": "x"}, _options(world), run_id="r")
    assert view.state == RunState.AWAITING_APPROVAL
    assert "leakguard playbook approve r approve-revoke" in (view.hint or "")
    assert world.revoked == []
    with pytest.raises(PlaybookError, match="not an approval step"):
        engine.approve(journal, "r", "revoke", "alice", build_registry(world))
    engine.approve(journal, "r", "approve-revoke", "alice", build_registry(world))
    view = engine.resume_run(journal, "r", _options(world))
    assert view.state == RunState.COMPLETED
    assert view.steps["approve-revoke"].approved_by == "alice"
    assert world.revoked == ["v1"]


def test_a_waiting_run_picks_up_an_approval_from_another_connection(
    tmp_path: Path, world: World, journal: Journal
) -> None:
    pb = _playbook(tmp_path, world)
    opts = _options(world)
    opts.approval_timeout = 60
    opts.approval_poll = 0.01
    db = journal.db.path

    class PollClock(FakeClock):
        polls = 0

        def sleep(self, seconds: float) -> None:
            super().sleep(seconds)
            PollClock.polls += 1
            if PollClock.polls == 3:  # approve from "another terminal" while the run polls
                with Journal.open(db) as other:
                    engine.approve(other, "r", "approve-revoke", "bob", build_registry(world))

    opts.clock = PollClock()
    view = engine.start_run(journal, pb, {"credential": "x"}, opts, run_id="r")
    assert view.state == RunState.COMPLETED
    assert view.steps["approve-revoke"].approved_by == "bob"
    # two processes wrote the audit trail; the chain holds and matches the journal
    trail, head = journal.audit_head("r")
    assert verify(trail, head).ok
    assert head.count == len(journal.records("r"))


def test_an_interactive_operator_approves_or_declines(
    tmp_path: Path, world: World, journal: Journal
) -> None:
    class Op:
        def __init__(self, answer: bool) -> None:
            self.answer = answer
            self.asked: list[str] = []

        def ask(self, prompt: str, *, secret: bool = False) -> str:
            return ""

        def confirm(self, prompt: str) -> bool:
            self.asked.append(prompt)
            return self.answer

    pb = _playbook(tmp_path, world)
    no = Op(False)
    view = engine.start_run(
        journal, pb, {"credential": "x"}, _options(world, operator=no), run_id="a"
    )
    assert view.state == RunState.AWAITING_APPROVAL and no.asked
    yes = Op(True)
    view = engine.resume_run(journal, "a", _options(world, operator=yes))
    assert view.state == RunState.COMPLETED


def _crash_after(journal: Journal, n: int) -> None:
    """Simulate a kill: the journal stops accepting records after the nth one."""
    real = journal.append
    count = {"n": 0}

    def append(*args: Any, **kwargs: Any) -> Any:
        if count["n"] >= n:
            raise KeyboardInterrupt("killed")
        count["n"] += 1
        return real(*args, **kwargs)

    journal.append = append  # type: ignore[method-assign]


def _killed_after_result_then_resumed(
    journal: Journal, pb: Playbook, world: World, step_id: str
) -> RunView:
    """Start run "r", kill it right after ``step_id``'s result record, then resume it."""
    real = journal.append

    def append(run_id: str, kind: str, **kw: Any) -> Any:
        rec = real(run_id, kind, **kw)
        if kind == Kind.RESULT and kw.get("step_id") == step_id:
            raise KeyboardInterrupt
        return rec

    journal.append = append  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        engine.start_run(journal, pb, {"credential": "x"}, _options(world, yes=True), run_id="r")
    journal.append = real  # type: ignore[method-assign]
    return engine.resume_run(journal, "r", _options(world, yes=True))


def test_resume_after_a_crash_at_every_record_does_nothing_twice(tmp_path: Path) -> None:
    reference_world = World()
    pb = _playbook(tmp_path, reference_world)
    with Journal.open(tmp_path / "ref.sqlite") as ref:
        engine.start_run(
            ref, pb, {"credential": "x"}, _options(reference_world, yes=True), run_id="r"
        )
        total = len(ref.records("r"))
    expected = sorted(reference_world.effects)
    assert total > 20
    for n in range(1, total):
        world = World()
        pb = _playbook(tmp_path, world)
        with Journal.open(tmp_path / f"crash{n}.sqlite") as journal:
            _crash_after(journal, n)
            with pytest.raises(KeyboardInterrupt):
                engine.start_run(
                    journal, pb, {"credential": "x"}, _options(world, yes=True), run_id="r"
                )
        with Journal.open(tmp_path / f"crash{n}.sqlite") as journal:
            view = engine.resume_run(journal, "r", _options(world, yes=True))
            assert view.state == RunState.COMPLETED, (n, view.diagnostic)
            assert sorted(world.effects) == expected, n
            assert world.current == reference_world.current
            head_path, head = journal.audit_head("r")
            assert verify(head_path, head).ok


def test_a_lost_secret_handle_makes_its_producer_run_again(
    tmp_path: Path, world: World, journal: Journal
) -> None:
    pb = _playbook(tmp_path, world)
    # crash right after new-value's result: the handle it produced dies with the process
    view = _killed_after_result_then_resumed(journal, pb, world, "new-value")
    assert view.state == RunState.COMPLETED
    assert view.steps["new-value"].attempt == 2
    assert world.effects.count("issue:r:new-value") == 1  # same token: the backend gave it back
    assert world.effects.count("stage:v2") == 1


def test_an_actions_internal_error_pauses_without_its_message(
    tmp_path: Path, world: World, journal: Journal
) -> None:
    text = ROTATE.replace("uses: t.check", "uses: t.crash")
    pb = _playbook(tmp_path, world, text)
    view = engine.start_run(journal, pb, {"credential": "x"}, _options(world, yes=True))
    assert view.state == RunState.PAUSED
    assert "RuntimeError" in (view.diagnostic or "")
    assert "secret-value-that-must-not-leak" not in json.dumps(
        [r.data for r in journal.records(view.run_id)]
    )


def test_status_shows_stage_steps_and_pause(tmp_path: Path, world: World, journal: Journal) -> None:
    pb = _playbook(tmp_path, world)
    world.broken = True
    view = engine.start_run(journal, pb, {"credential": "x"}, _options(world, yes=True))
    status = run_status(view, pb)
    assert status["state"] == "paused" and status["stage"] == "verify"
    states = {s["id"]: s["state"] for s in status["steps"]}
    assert states["promote"] == "succeeded" and states["works"] == "failed"
    assert states["revoke"] == "pending" and states["reload[1]"] == "skipped"
    assert "403" in status["pause"]["diagnostic"]
    json.dumps(status)


def test_plan_runs_reads_and_describes_writes_without_writing(tmp_path: Path, world: World) -> None:
    pb = _playbook(tmp_path, world)
    plan = plan_playbook(pb, {"credential": "x"}, _options(world))
    assert world.effects == [] and world.tokens == {}
    kinds = {line.step_id: line.kind for line in plan.lines}
    assert kinds["current"] == "read" and kinds["new-value"] == "write"
    assert kinds["approve-revoke"] == "approval" and kinds["revoke"] == "write"
    assert [line.step_id for line in plan.lines if line.step_id.startswith("reload")] == [
        "reload[0]",
        "reload[1]",
        "reload[2]",
    ]
    assert kinds["reload[1]"] == "skip"
    assert plan.writes >= 5


def test_two_processes_cannot_drive_one_run(tmp_path: Path, world: World, journal: Journal) -> None:
    pb = _playbook(tmp_path, world)
    world.broken = True
    engine.start_run(journal, pb, {"credential": "x"}, _options(world, yes=True), run_id="r")
    world.broken = False
    errors: list[PlaybookError] = []
    with engine._run_lock(journal, "r"):

        def other() -> None:
            with Journal.open(journal.db.path) as j2:
                try:
                    engine.resume_run(j2, "r", _options(world, yes=True))
                except PlaybookError as exc:
                    errors.append(exc)

        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert errors and "another process" in errors[0].message


def test_a_lost_secret_already_used_by_a_write_pauses_instead_of_diverging(
    tmp_path: Path, world: World, journal: Journal
) -> None:
    text = ROTATE.replace(
        "    - id: reload\n",
        "    - id: show\n      uses: t.say\n"
        '      with: {message: "${steps.new-value.outputs.secret}"}\n'
        "    - id: reload\n",
    )
    pb = _playbook(tmp_path, world, text)
    view = _killed_after_result_then_resumed(journal, pb, world, "promote")
    assert view.state == RunState.PAUSED
    assert "would diverge" in (view.diagnostic or "")
    assert world.issued == 1  # no second secret was issued


def test_an_irreversible_step_whose_approval_was_skipped_does_not_run(
    tmp_path: Path, world: World, journal: Journal
) -> None:
    text = ROTATE.replace(
        "      uses: approval\n", "      uses: approval\n      when: \"${inputs.name == 'x'}\"\n"
    )
    pb = _playbook(tmp_path, world, text)
    view = engine.start_run(journal, pb, {"credential": "x"}, _options(world), run_id="r")
    assert view.steps["approve-revoke"].state == StepState.SKIPPED
    assert view.state == RunState.PAUSED and "irreversible" in (view.diagnostic or "")
    assert world.revoked == []
    view = engine.resume_run(journal, "r", _options(world, yes=True))
    assert view.state == RunState.COMPLETED and world.revoked == ["v1"]


def test_an_interrupted_rollback_finishes_without_undoing_twice(tmp_path: Path) -> None:
    for n in range(1, 10):  # every record the rollback writes but its last
        world = World()
        pb = _playbook(tmp_path, world)
        world.broken = True
        with Journal.open(tmp_path / f"rb{n}.sqlite") as journal:
            engine.start_run(
                journal, pb, {"credential": "x"}, _options(world, yes=True), run_id="r"
            )
            before = len(world.effects)
            _crash_after(journal, n)
            try:
                view = engine.rollback_run(journal, "r", _options(world))
            except KeyboardInterrupt:
                journal.append = Journal.append.__get__(journal)  # type: ignore[method-assign]
                view = engine.resume_run(journal, "r", _options(world))
                if view.state != RunState.ROLLED_BACK:
                    view = engine.rollback_run(journal, "r", _options(world))
            assert view.state == RunState.ROLLED_BACK, (n, view.state, view.diagnostic)
            undo = world.effects[before:]
            assert undo == ["untouch:reload-3", "untouch:reload-1", "rollback:v1", "untouch:deny"]


def test_backend_credentials_in_overrides_are_not_journaled(
    tmp_path: Path, world: World, journal: Journal
) -> None:
    pb = _playbook(tmp_path, world)
    opts = _options(world, yes=True)
    opts.backend_overrides = {"kind:vault-kv2": {"url": "http://x", "token": "hvs.s3cr3t-t0ken"}}
    view = engine.start_run(journal, pb, {"credential": "x"}, opts)
    assert view.options["backend_overrides"] == {"kind:vault-kv2": {"url": "http://x"}}
    assert b"s3cr3t-t0ken" not in _store_bytes(journal)
    assert "s3cr3t-t0ken" not in Path(view.audit_path).read_text()


def test_action_log_lines_reach_the_journal_and_audit_trail(
    tmp_path: Path, world: World, journal: Journal
) -> None:
    text = ROTATE.replace(
        "  map:\n",
        "  map:\n    - id: hello\n      uses: t.say\n"
        '      with: {message: "mapping ${inputs.name}"}\n',
    )
    pb = _playbook(tmp_path, world, text)
    opts = _options(world, yes=True)
    view = engine.start_run(journal, pb, {"credential": "x"}, opts, run_id="r")
    logs = [
        (r.step_id, r.data["message"])
        for r in journal.records("r")
        if r.kind == Kind.LOG and r.step_id
    ]
    assert logs == [("hello", "mapping app")]
    assert '"message":"mapping app"' in Path(view.audit_path).read_text()
    assert any(e.message == "hello: mapping app" for e in opts.events)  # type: ignore[attr-defined]


def test_plan_never_waits_for_a_check_that_does_not_pass(tmp_path: Path, world: World) -> None:
    from leakguard.rotation.actions import REGISTRY, flow
    from leakguard.rotation.interface import Action, ActionSpec, NotYet

    def not_yet(ctx: Any, params: Any) -> dict[str, Any]:
        raise NotYet("consumers have not moved")

    registry = build_registry(world)
    registry["t.notyet"] = Action(ActionSpec("t.notyet", "never passes", False), not_yet)
    registry["wait_until"] = Action(
        REGISTRY["wait_until"].spec,
        lambda ctx, params: flow.wait_until(ctx, params, registry=registry),
    )
    text = ROTATE.replace(
        "      uses: t.check\n",
        "      uses: wait_until\n      with: {check: t.notyet, interval: 10s, timeout: 2h}\n",
    )
    pb = load_playbook(write(tmp_path, text), registry)
    opts = _options(world)
    opts.registry = registry
    plan = plan_playbook(pb, {"credential": "x"}, opts)
    line = next(line for line in plan.lines if line.step_id == "works")
    assert line.kind == "blocked" and "gave up" in line.text  # it checks changes not made
    assert opts.clock.slept == []  # type: ignore[attr-defined]  # the real clock never slept


def test_a_default_compensation_takes_parameters_from_the_steps_params_and_outputs(
    tmp_path: Path, world: World, journal: Journal
) -> None:
    text = ROTATE.replace(
        "  map:\n", "  map:\n    - id: fence\n      uses: t.contain\n      with: {user: bob}\n"
    )
    pb = _playbook(tmp_path, world, text)
    world.broken = True
    engine.start_run(journal, pb, {"credential": "x"}, _options(world, yes=True), run_id="r")
    engine.rollback_run(journal, "r", _options(world))
    assert "release:bob:deny-bob" in world.effects  # containment <- containment_id


def test_an_output_naming_a_skipped_step_is_null_without_a_complaint(
    tmp_path: Path, world: World, journal: Journal
) -> None:
    text = ROTATE.replace(
        '  new_version: "${steps.stage.outputs.version_id}"\n',
        '  new_version: "${steps.stage.outputs.version_id}"\n'
        '  denied: "${steps.deny.outputs.tag}"\n'
        '  typo: "${steps.stage.outputs.no_such_field}"\n',
    )
    pb = _playbook(tmp_path, world, text)
    opts = _options(world, yes=True)
    view = engine.start_run(
        journal, pb, {"credential": "sha256:ab", "contain": False}, opts, run_id="r-out"
    )
    assert view.state == RunState.COMPLETED
    assert view.outputs["denied"] is None and view.outputs["typo"] is None
    logs = [e.message for e in opts.events if e.kind == "log"]  # type: ignore[attr-defined]
    assert not any("output denied" in m for m in logs)  # deny was skipped: nothing to say
    assert any("output typo" in m for m in logs)  # a real mistake is still reported
