"""IAM and STS actions against moto with authentication enforced (INITIAL_NO_AUTH_ACTION_COUNT),
so STS rejects unknown and deleted keys; the new key is stored through Secrets Manager."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from leakguard.backends.aws_iam import ACCESS_KEY_ID, SECRET_ACCESS_KEY, IamKeyIssuer
from leakguard.backends.aws_secretsmanager import SecretsManagerStore, encode
from leakguard.errors import BackendError
from leakguard.rotation.actions import REGISTRY
from leakguard.rotation.interface import NotYet
from tests.support.aws import ADMIN_SETUP_CALLS, admin_session, key_client, new_user
from tests.support.servers import moto_server
from tests.unit.rotation.actions.context import Ctx

pytestmark = pytest.mark.integration


@dataclass
class Aws:
    url: str
    admin: Any
    sm: Any
    ctx: Ctx

    def user(self, keys: int = 1) -> tuple[str, list[dict[str, str]]]:
        return new_user(self.admin, keys=keys, allow_all=True)

    def sts_ok(self, key: dict[str, str]) -> bool:
        sts = key_client(self.url, "sts", key)
        try:
            sts.get_caller_identity()
        except Exception:
            return False
        return True


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Aws]:
    workdir: Path = tmp_path_factory.mktemp("moto-actions")
    with moto_server(workdir, no_auth_actions=ADMIN_SETUP_CALLS) as server:
        session = admin_session(server)
        issuer = IamKeyIssuer(session, endpoint_url=server.url, timeout=5)
        store = SecretsManagerStore(session, endpoint_url=server.url, timeout=5)
        ctx = Ctx(stores={"sm": store}, issuers={"iam": issuer}, real_time=True)
        yield Aws(
            server.url,
            session.client("iam", endpoint_url=server.url),
            session.client("secretsmanager", endpoint_url=server.url),
            ctx,
        )


def _run(ctx: Ctx, action: str, step: str, **params: Any) -> dict[str, Any]:
    return ctx.run(REGISTRY[action], params, step)


def test_rotate_an_iam_key_through_secrets_manager(aws: Aws) -> None:
    ctx = aws.ctx
    ctx.run_id = uuid.uuid4().hex
    user, [old] = aws.user()
    secret = f"{user}/aws"
    aws.sm.create_secret(Name=secret, SecretString=encode({**old, "region": "us-east-1"}))

    contained = _run(ctx, "aws.iam.contain", "deny-risky", backend="iam", user=user)
    policies = aws.admin.list_user_policies(UserName=user)["PolicyNames"]
    assert contained["containment_id"] in policies
    current = _run(ctx, "store.read_current", "current", backend="sm", name=secret)
    assert current["key_id"] == old[ACCESS_KEY_ID]
    new = _run(
        ctx,
        "aws.iam.create_access_key",
        "new-key",
        backend="iam",
        user=user,
        keep=[current["key_id"]],
    )
    again = _run(ctx, "aws.iam.create_access_key", "new-key", backend="iam", user=user)
    assert again["key_id"] == new["key_id"]
    staged = _run(ctx, "store.put_pending", "stage", backend="sm", name=secret, value=new["secret"])
    assert _run(
        ctx,
        "verify.new_credential_works",
        "test",
        backend="iam",
        secret=new["secret"],
        store="sm",
        name=secret,
        version=staged["version_id"],
    )["works"]
    promoted = _run(
        ctx, "store.promote", "promote", backend="sm", name=secret, version=staged["version_id"]
    )
    # AWS serves AWSCURRENT by default; moto keeps serving the first version, so ask for it
    read = aws.sm.get_secret_value(SecretId=secret, VersionStage="AWSCURRENT")
    stored = json.loads(read["SecretString"])
    assert stored["aws_access_key_id"] == new["key_id"] and stored["region"] == "us-east-1"
    assert promoted["previous_version_id"] == current["version_id"]
    assert _run(ctx, "aws.sts.works", "new-works", backend="iam", secret=new["secret"])["works"]
    assert aws.sts_ok(old)  # the overlap: the old key still works

    deactivated = _run(
        ctx,
        "aws.iam.deactivate_access_key",
        "deactivate-old",
        backend="iam",
        user=user,
        key_id=old[ACCESS_KEY_ID],
    )
    proof = _run(
        ctx,
        "verify.old_revoked",
        "old-dead",
        backend="iam",
        user=user,
        key_id=old[ACCESS_KEY_ID],
        deactivated_at=deactivated["deactivated_at"],
    )
    assert proof == {
        "dead": True,
        "status": "inactive",
        "last_used": proof["last_used"],
        "reason": "inactive and unused since",
    }
    _run(
        ctx,
        "aws.iam.delete_access_key",
        "delete-old",
        backend="iam",
        user=user,
        key_id=old[ACCESS_KEY_ID],
    )
    assert not aws.sts_ok(old)  # deleted: STS rejects it (auth enforced)
    assert [
        k["AccessKeyId"] for k in aws.admin.list_access_keys(UserName=user)["AccessKeyMetadata"]
    ] == [new["key_id"]]
    _run(
        ctx,
        "aws.iam.release",
        "release",
        backend="iam",
        user=user,
        containment=contained["containment_id"],
    )
    assert aws.admin.list_user_policies(UserName=user)["PolicyNames"] == ["app"]


def test_free_slot_and_compensations(aws: Aws) -> None:
    ctx = aws.ctx
    ctx.run_id = uuid.uuid4().hex
    user, [current, spare] = aws.user(keys=2)
    keys = _run(ctx, "aws.iam.list_keys", "keys", backend="iam", user=user)
    assert keys["count"] == 2
    with pytest.raises(BackendError, match="none may be deleted"):
        _run(
            ctx,
            "aws.iam.free_slot",
            "free-slot",
            backend="iam",
            user=user,
            keep=[current[ACCESS_KEY_ID]],
        )
    aws.admin.update_access_key(UserName=user, AccessKeyId=spare[ACCESS_KEY_ID], Status="Inactive")
    freed = _run(
        ctx,
        "aws.iam.free_slot",
        "free-slot",
        backend="iam",
        user=user,
        keep=[current[ACCESS_KEY_ID]],
    )
    assert freed == {"deleted": spare[ACCESS_KEY_ID]}
    new = _run(ctx, "aws.iam.create_access_key", "new-key", backend="iam", user=user)
    # rollback: the deactivation is undone by activate, the new key is discarded
    _run(
        ctx,
        "aws.iam.deactivate_access_key",
        "deactivate",
        backend="iam",
        user=user,
        key_id=current[ACCESS_KEY_ID],
    )
    _run(
        ctx,
        "aws.iam.activate_access_key",
        "deactivate:compensate",
        backend="iam",
        user=user,
        key_id=current[ACCESS_KEY_ID],
    )
    _run(
        ctx,
        "aws.iam.discard_access_key",
        "new-key:compensate",
        backend="iam",
        user=user,
        key_id=new["key_id"],
    )
    listed = aws.admin.list_access_keys(UserName=user)["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"]) for k in listed] == [(current[ACCESS_KEY_ID], "Active")]
    with pytest.raises(NotYet):
        _run(ctx, "aws.sts.works", "new-works", backend="iam", secret=new["secret"])


def test_old_key_used_after_deactivation_is_not_proven_dead(aws: Aws) -> None:
    ctx = aws.ctx
    ctx.run_id = uuid.uuid4().hex
    user, [old] = aws.user()
    _run(ctx, "aws.iam.create_access_key", "new-key", backend="iam", user=user)
    out = _run(
        ctx,
        "aws.iam.deactivate_access_key",
        "deactivate-old",
        backend="iam",
        user=user,
        key_id=old[ACCESS_KEY_ID],
    )
    # a consumer still presenting the old key: moto accepts inactive keys and records the use
    boto3.client(
        "iam",
        endpoint_url=aws.url,
        region_name="us-east-1",
        aws_access_key_id=old[ACCESS_KEY_ID],
        aws_secret_access_key=old[SECRET_ACCESS_KEY],
    ).list_users()
    last = aws.admin.get_access_key_last_used(AccessKeyId=old[ACCESS_KEY_ID])
    if "LastUsedDate" not in last.get("AccessKeyLastUsed", {}):
        pytest.skip("this moto version does not record access key last use")
    with pytest.raises(BackendError, match="not proven dead"):
        _run(
            ctx,
            "verify.old_revoked",
            "old-dead",
            backend="iam",
            user=user,
            key_id=old[ACCESS_KEY_ID],
            deactivated_at=out["deactivated_at"],
        )
