from __future__ import annotations

import json
from datetime import timedelta

import pytest

from leakguard.backends.generated import GeneratedIssuer
from leakguard.errors import BackendError, PlaybookError
from leakguard.rotation.actions import REGISTRY
from leakguard.rotation.interface import NotYet
from tests.unit.rotation.actions.context import Ctx, FakeIam


def _ctx(keys: int = 1) -> tuple[Ctx, FakeIam, list[str]]:
    iam = FakeIam()
    ids = iam.add_user("app", keys)
    return Ctx(issuers={"iam": iam, "gen": GeneratedIssuer()}), iam, ids


def test_create_access_key_outputs_a_handle_and_is_idempotent() -> None:
    ctx, iam, [old] = _ctx()
    params = {"backend": "iam", "user": "app", "keep": [old]}
    out = ctx.run(REGISTRY["aws.iam.create_access_key"], params, "new-key")
    again = ctx.run(REGISTRY["aws.iam.create_access_key"], params, "new-key")
    assert out["key_id"] == again["key_id"] and len(iam.users["app"]) == 2
    secret = ctx.secrets.get(out["secret"])["aws_secret_access_key"]
    assert secret not in json.dumps(out)


def test_free_slot_deletes_only_an_inactive_key_not_kept() -> None:
    ctx, iam, [a, b] = _ctx(2)
    with pytest.raises(BackendError, match="none may be deleted"):
        ctx.run(REGISTRY["aws.iam.free_slot"], {"backend": "iam", "user": "app", "keep": [a]})
    iam.deactivate("app", b)
    out = ctx.run(REGISTRY["aws.iam.free_slot"], {"backend": "iam", "user": "app", "keep": [a]})
    assert out == {"deleted": b}
    assert ctx.run(REGISTRY["aws.iam.free_slot"], {"backend": "iam", "user": "app"}) == {
        "deleted": None
    }
    assert REGISTRY["aws.iam.free_slot"].spec.irreversible


def test_list_keys_counts() -> None:
    ctx, iam, [_a, b] = _ctx(2)
    iam.deactivate("app", b)
    out = ctx.run(REGISTRY["aws.iam.list_keys"], {"backend": "iam", "user": "app"})
    assert out["count"] == 2 and out["active"] == 1


def test_deactivate_compensates_with_activate_and_refuses_the_only_key() -> None:
    ctx, iam, [old] = _ctx()
    with pytest.raises(BackendError, match="only active"):
        ctx.run(
            REGISTRY["aws.iam.deactivate_access_key"],
            {"backend": "iam", "user": "app", "key_id": old},
        )
    new = ctx.run(REGISTRY["aws.iam.create_access_key"], {"backend": "iam", "user": "app"})
    out = ctx.run(
        REGISTRY["aws.iam.deactivate_access_key"], {"backend": "iam", "user": "app", "key_id": old}
    )
    assert out["deactivated_at"].startswith("2026-05-01")
    assert REGISTRY["aws.iam.deactivate_access_key"].spec.compensation == (
        "aws.iam.activate_access_key"
    )
    ctx.run(
        REGISTRY["aws.iam.activate_access_key"], {"backend": "iam", "user": "app", "key_id": old}
    )
    assert {k.key_id: k.status for k in iam.list_keys("app")} == {
        old: "active",
        new["key_id"]: "active",
    }


def test_delete_is_irreversible_and_refuses_active_keys() -> None:
    ctx, iam, [old] = _ctx()
    assert REGISTRY["aws.iam.delete_access_key"].spec.irreversible
    with pytest.raises(BackendError, match="active"):
        ctx.run(
            REGISTRY["aws.iam.delete_access_key"], {"backend": "iam", "user": "app", "key_id": old}
        )
    iam.deactivate("app", old, force=True)
    ctx.run(REGISTRY["aws.iam.delete_access_key"], {"backend": "iam", "user": "app", "key_id": old})
    assert iam.users["app"] == []


def test_discard_new_key_compensation() -> None:
    ctx, iam, [old] = _ctx()
    new = ctx.run(REGISTRY["aws.iam.create_access_key"], {"backend": "iam", "user": "app"})
    params = {"backend": "iam", "user": "app", "key_id": new["key_id"]}
    ctx.run(REGISTRY["aws.iam.discard_access_key"], params)
    ctx.run(REGISTRY["aws.iam.discard_access_key"], params)  # idempotent
    assert [k.key_id for k in iam.list_keys("app")] == [old]


def test_contain_and_release() -> None:
    ctx, iam, _ = _ctx()
    out = ctx.run(REGISTRY["aws.iam.contain"], {"backend": "iam", "user": "app"}, "deny")
    assert iam.policies["app"] == {out["containment_id"]}
    ctx.run(
        REGISTRY["aws.iam.release"],
        {"backend": "iam", "user": "app", "containment": out["containment_id"]},
    )
    assert iam.policies["app"] == set()
    skipped = ctx.run(
        REGISTRY["aws.iam.release"], {"backend": "iam", "user": "app", "containment": None}
    )
    assert skipped == {"released": None}


def test_iam_actions_refuse_other_issuers() -> None:
    ctx, _, _ = _ctx()
    with pytest.raises(PlaybookError, match="not aws-iam"):
        ctx.run(REGISTRY["aws.iam.contain"], {"backend": "gen", "user": "app"})


def test_sts_works_not_yet_for_a_dead_key() -> None:
    ctx, iam, [_old] = _ctx()
    new = ctx.run(REGISTRY["aws.iam.create_access_key"], {"backend": "iam", "user": "app"})
    assert ctx.run(REGISTRY["aws.sts.works"], {"backend": "iam", "secret": new["secret"]}) == {
        "works": True
    }
    iam.deactivate("app", new["key_id"])
    with pytest.raises(NotYet) as caught:
        ctx.run(REGISTRY["aws.sts.works"], {"backend": "iam", "secret": new["secret"]})
    assert caught.value.transient


def test_old_revoked_uses_last_use_not_authentication() -> None:
    """moto lets an inactive key authenticate; LeakGuard proves death by status + last use."""
    ctx, iam, [old] = _ctx()
    ctx.run(REGISTRY["aws.iam.create_access_key"], {"backend": "iam", "user": "app"})
    out = ctx.run(
        REGISTRY["aws.iam.deactivate_access_key"], {"backend": "iam", "user": "app", "key_id": old}
    )
    params = {
        "backend": "iam",
        "user": "app",
        "key_id": old,
        "deactivated_at": out["deactivated_at"],
    }
    assert ctx.run(REGISTRY["verify.old_revoked"], params)["dead"] is True
    iam._key("app", old).last_used = ctx.clock + timedelta(minutes=5)  # type: ignore[union-attr]
    with pytest.raises(BackendError, match="not proven dead"):
        ctx.run(REGISTRY["verify.old_revoked"], params)
