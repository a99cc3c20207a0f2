"""The secret-recovery helpers the runner uses after a crash (leakguard.rotation.recovery)."""

from __future__ import annotations

import random
from pathlib import Path

from leakguard.rotation import recovery
from leakguard.rotation import runner as engine
from leakguard.rotation.context import HANDLE_PREFIX, SecretHandleStore, SystemClock
from leakguard.rotation.journal import Journal, StepState
from leakguard.rotation.schema import load_playbook
from tests.unit.rotation.world import ROTATE, World, build_registry, write


def test_handles_are_found_anywhere_in_a_json_value_in_order() -> None:
    a, b, c = (f"{HANDLE_PREFIX}{n}" for n in ("a", "b", "c"))
    value = {"x": [a, {"y": b, "n": 3}], "z": "plain", "w": c, "none": None}
    assert recovery.handles(value) == [a, b, c]
    assert recovery.handles("plain") == [] and recovery.handles(7) == []


def test_dig_follows_a_path_as_far_as_it_goes() -> None:
    doc = {"a": {"b": [10, 20, {"c": "deep"}]}}
    assert recovery.dig(doc, ("a", "b", "2", "c")) == "deep"
    assert recovery.dig(doc, ("a", "b", "-1", "c")) == "deep"
    assert recovery.dig(doc, ("a", "b", "7")) == [10, 20, {"c": "deep"}]  # out of range: stop
    assert recovery.dig(doc, ("a", "missing", "x")) == {"b": [10, 20, {"c": "deep"}]}


def test_an_item_step_belongs_to_its_playbook_step() -> None:
    assert recovery.base_id("reload[2]") == "reload"
    assert recovery.base_id("promote") == "promote"


def test_a_handle_this_process_does_not_hold_is_lost_and_one_it_holds_is_not(
    tmp_path: Path,
) -> None:
    world = World()
    registry = build_registry(world)
    pb = load_playbook(write(tmp_path, ROTATE), registry)
    consumer = next(
        s for s in pb.steps if s.id != "new-value" and "steps.new-value.outputs" in repr(s)
    )
    world.broken = True  # the run pauses in its verify stage, after new-value succeeded
    options = engine.EngineOptions(
        registry=registry, clock=SystemClock(), rng=random.Random(1), yes=True
    )
    with Journal.open(tmp_path / "db.sqlite") as journal:
        view = engine.start_run(journal, pb, {"credential": "x"}, options, run_id="r")
    assert view.steps["new-value"].state == StepState.SUCCEEDED
    handle = recovery.handles(view.steps["new-value"].outputs)[0]
    fresh = SecretHandleStore()  # what a resumed process holds: nothing
    assert recovery.lost_handles(view, fresh, consumer) == {"new-value": [handle]}
    fresh.restore(handle, {"value": "s3cr3t-test-only"})
    assert recovery.lost_handles(view, fresh, consumer) == {}
