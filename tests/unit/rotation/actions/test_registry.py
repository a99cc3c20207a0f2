from __future__ import annotations

import pytest

from leakguard.rotation.actions import REGISTRY
from leakguard.rotation.schema import PARAM_TYPES

REQUIRED = {
    "store.read_current",
    "store.put_pending",
    "store.pending",
    "store.discard_pending",
    "store.promote",
    "store.rollback",
    "aws.iam.free_slot",
    "aws.iam.create_access_key",
    "aws.iam.deactivate_access_key",
    "aws.iam.delete_access_key",
    "aws.iam.contain",
    "aws.iam.release",
    "aws.sts.works",
    "issuer.issue",
    "issuer.revoke",
    "graph.consumers",
    "graph.blast_radius",
    "wait",
    "wait_until",
    "approval",
    "command",
    "notify",
    "verify.new_credential_works",
    "verify.consumers_moved",
    "verify.old_revoked",
    "verify.rescan",
}


def test_every_required_action_is_registered() -> None:
    assert sorted(REQUIRED - set(REGISTRY)) == []


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_spec_is_consistent(name: str) -> None:
    spec = REGISTRY[name].spec
    assert spec.name == name and spec.summary
    assert all(p.type in PARAM_TYPES for p in spec.params.values())
    if spec.irreversible:
        assert spec.mutating and spec.compensation is None
    if spec.compensation:
        assert spec.mutating
        undo = REGISTRY[spec.compensation].spec
        assert undo.mutating and not undo.irreversible
    if spec.mutating and name not in {"approval"}:
        assert REGISTRY[name].describe is not None, "plan mode needs a description"
