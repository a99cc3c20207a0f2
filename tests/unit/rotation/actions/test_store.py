from __future__ import annotations

import json

import pytest

from leakguard.backends.fake import FakeStore
from leakguard.errors import BackendError, PlaybookError
from leakguard.rotation.actions import REGISTRY
from tests.unit.rotation.actions.context import Ctx

OLD = "old-value-aaaaaaaaaaaaaaaaaaaa"
NEW = "new-value-bbbbbbbbbbbbbbbbbbbb"


def _ctx() -> Ctx:
    return Ctx(stores={"s": FakeStore({"app/db": {"value": OLD, "user": "app"}})})


def _stage(ctx: Ctx, **extra: object) -> dict[str, object]:
    handle = ctx.secrets.put({"value": NEW})
    return ctx.run(
        REGISTRY["store.put_pending"],
        {"backend": "s", "name": "app/db", "value": handle, **extra},
        "stage",
    )


def test_read_current_outputs_no_value_only_a_handle() -> None:
    ctx = _ctx()
    out = ctx.run(REGISTRY["store.read_current"], {"backend": "s", "name": "app/db"})
    assert OLD not in json.dumps(out)
    assert out["fields"] == ["user", "value"]
    assert ctx.secrets.get(out["secret"])["value"] == OLD


def test_put_pending_merges_fields_and_promote_reports_previous() -> None:
    ctx = _ctx()
    staged = _stage(ctx)
    store = ctx.stores["s"]
    assert store.read_current("app/db")[1]["value"] == OLD  # consumers do not see it yet
    assert staged["previous_version_id"] == "1"
    assert NEW not in json.dumps(staged)
    promoted = ctx.run(
        REGISTRY["store.promote"],
        {"backend": "s", "name": "app/db", "version": staged["version_id"]},
        "promote",
    )
    assert promoted["previous_version_id"] == "1"
    assert promoted["promoted_at"].startswith("2026-05-01T12:00:00")
    assert store.read_current("app/db")[1] == {"value": NEW, "user": "app"}
    again = ctx.run(
        REGISTRY["store.promote"],
        {"backend": "s", "name": "app/db", "version": staged["version_id"]},
    )
    assert again["previous_version_id"] == "1"  # found from the previous stage on a re-run


def test_put_pending_is_idempotent_per_token() -> None:
    ctx = _ctx()
    handle = ctx.secrets.put({"value": NEW})
    params = {"backend": "s", "name": "app/db", "value": handle}
    first = ctx.run(REGISTRY["store.put_pending"], params, "stage")
    second = ctx.run(REGISTRY["store.put_pending"], params, "stage")
    assert first["version_id"] == second["version_id"]
    assert [w[0] for w in ctx.stores["s"].writes] == ["put_pending"]  # type: ignore[attr-defined]


def test_put_pending_field_and_no_merge() -> None:
    ctx = _ctx()
    out = _stage(ctx, field="password")
    data = ctx.stores["s"].read_version("app/db", out["version_id"])
    assert data == {"value": OLD, "user": "app", "password": NEW}
    ctx2 = _ctx()
    out2 = _stage(ctx2, merge=False)
    assert ctx2.stores["s"].read_version("app/db", out2["version_id"]) == {"value": NEW}


def test_put_pending_refuses_a_literal_value_and_a_lost_handle() -> None:
    ctx = _ctx()
    with pytest.raises(PlaybookError, match="no longer in memory"):
        ctx.run(REGISTRY["store.put_pending"], {"backend": "s", "name": "app/db", "value": "x"})
    with pytest.raises(PlaybookError, match="secret handle"):
        ctx.run(REGISTRY["store.put_pending"], {"backend": "s", "name": "app/db", "value": 5})


def test_dangling_pending_is_found_and_discarded() -> None:
    ctx = _ctx()
    staged = _stage(ctx)
    ctx.run_id = "run-2"
    found = ctx.run(REGISTRY["store.pending"], {"backend": "s", "name": "app/db"})
    assert found == {"pending": True, "version_id": staged["version_id"], "created": None}
    with pytest.raises(BackendError, match="pending"):
        _stage(ctx)
    skipped = ctx.run(
        REGISTRY["store.discard_pending"], {"backend": "s", "name": "app/db", "version": "99"}
    )
    assert skipped == {"discarded": None}
    out = ctx.run(REGISTRY["store.discard_pending"], {"backend": "s", "name": "app/db"})
    assert out == {"discarded": staged["version_id"]}
    assert (
        ctx.run(REGISTRY["store.pending"], {"backend": "s", "name": "app/db"})["pending"] is False
    )
    assert _stage(ctx)["version_id"] != staged["version_id"]


def test_rollback_restores_and_without_target_does_nothing() -> None:
    ctx = _ctx()
    staged = _stage(ctx)
    ctx.run(REGISTRY["store.promote"], {"backend": "s", "name": "app/db", "version": "2"})
    out = ctx.run(
        REGISTRY["store.rollback"], {"backend": "s", "name": "app/db", "to": "1"}, "rollback"
    )
    assert out["rolled_back_to"] == "1"
    assert ctx.stores["s"].read_current("app/db")[1]["value"] == OLD
    assert staged["version_id"] == "2"
    none = ctx.run(REGISTRY["store.rollback"], {"backend": "s", "name": "app/db", "to": None})
    assert none["version_id"] is None


def test_specs_mark_compensations() -> None:
    assert REGISTRY["store.put_pending"].spec.compensation == "store.discard_pending"
    assert REGISTRY["store.promote"].spec.compensation == "store.rollback"
    assert not REGISTRY["store.read_current"].spec.mutating
    assert REGISTRY["store.read_current"].spec.produces_secret


def test_a_reused_token_with_another_value_never_overwrites_the_staged_version() -> None:
    """AWS refuses a repeated ClientRequestToken with new data (moto overwrites): the action
    must surface that as an error, whatever the store underneath does."""
    ctx = _ctx()
    first = _stage(ctx)
    other = ctx.secrets.put({"value": "another-value-cccccccccccccccc"})
    with pytest.raises(BackendError, match="different data"):
        ctx.run(
            REGISTRY["store.put_pending"],
            {"backend": "s", "name": "app/db", "value": other},
            "stage",
        )
    assert ctx.stores["s"].read_version("app/db", first["version_id"])["value"] == NEW
