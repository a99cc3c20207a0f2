"""IAM issuer logic against a small fake of the IAM/STS client interface, including the AWS
behaviour moto lacks: an inactive key does not authenticate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.exceptions
import pytest

from leakguard.backends.aws_iam import (
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    IamKeyIssuer,
    containment_policy,
)
from leakguard.backends.interface import Containment, KeyIssuer
from leakguard.errors import BackendError

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _error(code: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": 403}},
        "op",
    )


class FakeIam:
    def __init__(self) -> None:
        self.keys: dict[str, dict[str, Any]] = {}
        self.tags: dict[str, str] = {}
        self.policies: dict[str, str] = {}
        self.created = 0

    def add(self, key_id: str, status: str = "Active", last_used: datetime | None = None) -> None:
        self.keys[key_id] = {
            "AccessKeyId": key_id,
            "Status": status,
            "CreateDate": NOW,
            "Secret": "s-" + key_id,
            "LastUsed": last_used,
        }

    def list_access_keys(self, UserName: str) -> dict[str, Any]:
        return {"AccessKeyMetadata": [dict(k) for k in self.keys.values()]}

    def create_access_key(self, UserName: str) -> dict[str, Any]:
        self.created += 1
        key_id = f"AKIANEW{self.created:013d}"
        self.keys[key_id] = {
            "AccessKeyId": key_id,
            "Status": "Active",
            "CreateDate": datetime.now(UTC),
            "Secret": f"secret-{self.created}",
            "LastUsed": None,
        }
        return {"AccessKey": {"AccessKeyId": key_id, "SecretAccessKey": f"secret-{self.created}"}}

    def update_access_key(self, UserName: str, AccessKeyId: str, Status: str) -> None:
        self.keys[AccessKeyId]["Status"] = Status

    def delete_access_key(self, UserName: str, AccessKeyId: str) -> None:
        if AccessKeyId not in self.keys:
            raise _error("NoSuchEntity")
        del self.keys[AccessKeyId]

    def get_access_key_last_used(self, AccessKeyId: str) -> dict[str, Any]:
        used = self.keys[AccessKeyId]["LastUsed"]
        return {"AccessKeyLastUsed": {"LastUsedDate": used} if used else {}}

    def list_user_tags(self, UserName: str) -> dict[str, Any]:
        return {"Tags": [{"Key": k, "Value": v} for k, v in self.tags.items()]}

    def tag_user(self, UserName: str, Tags: list[dict[str, str]]) -> None:
        self.tags.update({t["Key"]: t["Value"] for t in Tags})

    def untag_user(self, UserName: str, TagKeys: list[str]) -> None:
        for key in TagKeys:
            self.tags.pop(key, None)

    def put_user_policy(self, UserName: str, PolicyName: str, PolicyDocument: str) -> None:
        self.policies[PolicyName] = PolicyDocument

    def delete_user_policy(self, UserName: str, PolicyName: str) -> None:
        if PolicyName not in self.policies:
            raise _error("NoSuchEntity")
        del self.policies[PolicyName]

    def list_user_policies(self, UserName: str) -> dict[str, Any]:
        return {"PolicyNames": list(self.policies)}


class FakeSts:
    """AWS: only an existing *active* key authenticates. moto_like: inactive keys do too."""

    def __init__(self, iam: FakeIam, creds: dict[str, str], *, moto_like: bool) -> None:
        self.iam, self.creds, self.moto_like = iam, creds, moto_like

    def get_caller_identity(self) -> dict[str, str]:
        key = self.iam.keys.get(self.creds[ACCESS_KEY_ID])
        if key is None or key["Secret"] != self.creds[SECRET_ACCESS_KEY]:
            raise _error("InvalidClientTokenId")
        if key["Status"] != "Active" and not self.moto_like:
            raise _error("InvalidClientTokenId")
        key["LastUsed"] = datetime.now(UTC)
        return {"Arn": "arn:aws:iam::123456789012:user/app"}


def _issuer(iam: FakeIam, *, moto_like: bool = False) -> IamKeyIssuer:
    return IamKeyIssuer(
        iam_client=iam, sts_factory=lambda creds: FakeSts(iam, creds, moto_like=moto_like)
    )


def _creds(iam: FakeIam, key_id: str) -> dict[str, str]:
    return {ACCESS_KEY_ID: key_id, SECRET_ACCESS_KEY: iam.keys[key_id]["Secret"]}


def test_protocols() -> None:
    issuer = _issuer(FakeIam())
    assert isinstance(issuer, KeyIssuer) and isinstance(issuer, Containment)


@pytest.mark.parametrize("moto_like", [False, True])
def test_proof_of_death_never_relies_on_authentication(moto_like: bool) -> None:
    iam = FakeIam()
    iam.add("AKIAOLD0000000000000")
    issuer = _issuer(iam, moto_like=moto_like)
    issuer.issue("app", "run:issue")
    issuer.deactivate("app", "AKIAOLD0000000000000")
    deactivated_at = datetime.now(UTC)
    # AWS rejects the inactive key; moto accepts it. Either way works() is not the proof.
    assert issuer.works(_creds(iam, "AKIAOLD0000000000000")) is moto_like
    verdict = issuer.proven_dead("app", "AKIAOLD0000000000000", deactivated_at)
    if moto_like:  # the accepted call was recorded as a use after deactivation
        assert not verdict.dead and "still uses it" in verdict.reason
    else:
        assert verdict.dead and verdict.status == "inactive"


def test_an_inactive_key_that_authenticates_is_still_dead_if_unused() -> None:
    iam = FakeIam()
    iam.add("AKIAOLD0000000000000", status="Inactive", last_used=NOW - timedelta(days=1))
    issuer = _issuer(iam, moto_like=True)
    verdict = issuer.proven_dead("app", "AKIAOLD0000000000000", NOW)
    assert verdict.dead and verdict.last_used is not None


def test_active_or_missing_keys() -> None:
    iam = FakeIam()
    iam.add("AKIAOLD0000000000000")
    issuer = _issuer(iam)
    assert not issuer.proven_dead("app", "AKIAOLD0000000000000", NOW).dead
    assert issuer.proven_dead("app", "AKIAGONE000000000000", NOW).dead


def test_slot_freeing_rules() -> None:
    iam = FakeIam()
    iam.add("AKIAA000000000000000")
    iam.add("AKIAB000000000000000")
    issuer = _issuer(iam)
    with pytest.raises(BackendError, match="none may be deleted"):
        issuer.issue("app", "t1")
    assert iam.created == 0
    iam.keys["AKIAB000000000000000"]["Status"] = "Inactive"
    with pytest.raises(BackendError):
        issuer.issue("app", "t1", keep={"AKIAB000000000000000"})
    new = issuer.issue("app", "t1")
    assert set(iam.keys) == {"AKIAA000000000000000", new.key_id}


def test_deactivating_the_only_active_key_needs_force() -> None:
    iam = FakeIam()
    iam.add("AKIAA000000000000000")
    issuer = _issuer(iam)
    with pytest.raises(BackendError, match="only active"):
        issuer.deactivate("app", "AKIAA000000000000000")
    issuer.deactivate("app", "AKIAA000000000000000", force=True)
    assert iam.keys["AKIAA000000000000000"]["Status"] == "Inactive"


def test_rerun_after_a_crash_replaces_the_unseen_key_once() -> None:
    iam = FakeIam()
    iam.add("AKIAOLD0000000000000")
    _issuer(iam).issue("app", "run:issue")  # this process "dies" with the secret
    assert len(iam.keys) == 2
    second = _issuer(iam).issue("app", "run:issue")
    assert set(iam.keys) == {"AKIAOLD0000000000000", second.key_id}
    assert iam.created == 2

    # crash after create but before the tag named the new key: found by the "before" record
    iam2 = FakeIam()
    iam2.add("AKIAOLD0000000000000")
    original_tag = iam2.tag_user
    calls = {"n": 0}

    def tag_then_crash(UserName: str, Tags: list[dict[str, str]]) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the process dies right after CreateAccessKey
        original_tag(UserName, Tags)

    iam2.tag_user = tag_then_crash  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        _issuer(iam2).issue("app", "run:issue")
    iam2.tag_user = original_tag  # type: ignore[method-assign]
    assert len(iam2.keys) == 2
    fresh = _issuer(iam2).issue("app", "run:issue")
    assert set(iam2.keys) == {"AKIAOLD0000000000000", fresh.key_id}


def test_containment_policy_only_denies() -> None:
    policy = containment_policy()
    statements = policy["Statement"]
    assert all(s["Effect"] == "Deny" for s in statements)
    actions = statements[0]["Action"]
    for needed in (
        "iam:CreateAccessKey",
        "iam:*User*",
        "iam:*Policy*",
        "ec2:RunInstances",
        "lambda:CreateFunction",
    ):
        assert needed in actions
    iam = FakeIam()
    issuer = _issuer(iam)
    name = issuer.contain("app", "run:contain")
    assert name.startswith("leakguard-containment-") and name in iam.policies
    issuer.release("app", name)
    issuer.release("app", name)
    assert iam.policies == {}


def test_secret_is_not_in_repr() -> None:
    iam = FakeIam()
    key = _issuer(iam).issue("app", "t")
    assert "secret-1" not in repr(key)
