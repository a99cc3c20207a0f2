"""IAM access-key issuer and containment against moto with authentication enforced
(INITIAL_NO_AUTH_ACTION_COUNT), so STS rejects unknown and deleted keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest

from leakguard.backends.aws_iam import ACCESS_KEY_ID, SECRET_ACCESS_KEY, IamKeyIssuer
from leakguard.errors import BackendError
from tests.support.aws import ADMIN_SETUP_CALLS, admin_session, key_client, new_user
from tests.support.servers import moto_server


@dataclass
class Aws:
    url: str
    session: boto3.session.Session  # signed by the admin key
    admin: Any  # an IAM client signed by the admin key
    issuer: IamKeyIssuer

    def client(self, service: str, key: dict[str, str]) -> Any:
        return key_client(self.url, service, key)

    def user(self, *, keys: int = 1, allow_all: bool = False) -> tuple[str, list[dict[str, str]]]:
        return new_user(self.admin, keys=keys, allow_all=allow_all)


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Aws]:
    workdir: Path = tmp_path_factory.mktemp("moto-auth")
    with moto_server(workdir, no_auth_actions=ADMIN_SETUP_CALLS) as server:
        session = admin_session(server)
        admin = session.client("iam", endpoint_url=server.url)
        issuer = IamKeyIssuer(session, endpoint_url=server.url, timeout=5)
        yield Aws(server.url, session, admin, issuer)


def test_auth_is_enforced(aws: Aws) -> None:
    assert not aws.issuer.works({ACCESS_KEY_ID: "AKIAUNKNOWN000000000", SECRET_ACCESS_KEY: "x"})


def test_rotate_one_key_end_to_end(aws: Aws) -> None:
    user, (old,) = aws.user(keys=1)
    issuer = aws.issuer
    new = issuer.issue(user, "run1:issue")
    assert new.key_id != old[ACCESS_KEY_ID] and new.subject == user
    assert "aws_secret_access_key" not in repr(new)
    assert issuer.works(new)
    assert issuer.works(old)  # overlap window: both valid
    assert {k.key_id for k in issuer.list_keys(user)} == {old[ACCESS_KEY_ID], new.key_id}

    with pytest.raises(BackendError, match="refusing to delete active"):
        issuer.delete(user, old[ACCESS_KEY_ID])
    issuer.deactivate(user, old[ACCESS_KEY_ID])
    deactivated_at = datetime.now(UTC)
    issuer.deactivate(user, old[ACCESS_KEY_ID])  # idempotent
    verdict = issuer.proven_dead(user, old[ACCESS_KEY_ID], deactivated_at)
    assert verdict.dead and verdict.status == "inactive"

    issuer.activate(user, old[ACCESS_KEY_ID])  # compensation works
    assert {k.status for k in issuer.list_keys(user)} == {"active"}
    issuer.deactivate(user, old[ACCESS_KEY_ID])

    issuer.delete(user, old[ACCESS_KEY_ID])
    issuer.delete(user, old[ACCESS_KEY_ID])  # already gone: no-op
    assert [k.key_id for k in issuer.list_keys(user)] == [new.key_id]
    assert not issuer.works(old)  # STS rejects a deleted key
    assert issuer.proven_dead(user, old[ACCESS_KEY_ID], deactivated_at).dead
    assert issuer.works(new)


def test_a_consumer_presenting_the_old_key_blocks_proof(aws: Aws) -> None:
    user, (old,) = aws.user(keys=1)
    aws.issuer.issue(user, "run2:issue")
    aws.issuer.deactivate(user, old[ACCESS_KEY_ID])
    deactivated_at = datetime.now(UTC)
    # moto still authenticates an inactive key (AWS would not); the use is recorded either way
    aws.issuer.works(old)
    verdict = aws.issuer.proven_dead(user, old[ACCESS_KEY_ID], deactivated_at)
    assert not verdict.dead and "still uses it" in verdict.reason


def test_free_slot_never_deletes_an_active_key(aws: Aws) -> None:
    user, (first, second) = aws.user(keys=2)
    with pytest.raises(BackendError, match="two access keys"):
        aws.issuer.issue(user, "run3:issue")
    assert len(aws.issuer.list_keys(user)) == 2
    aws.issuer.deactivate(user, first[ACCESS_KEY_ID])
    with pytest.raises(BackendError, match="two access keys"):
        aws.issuer.issue(user, "run3:issue", keep=[first[ACCESS_KEY_ID]])
    new = aws.issuer.issue(user, "run3:issue")
    assert {k.key_id for k in aws.issuer.list_keys(user)} == {second[ACCESS_KEY_ID], new.key_id}
    with pytest.raises(BackendError, match="only active"):
        aws.issuer.deactivate(user, second[ACCESS_KEY_ID])
        aws.issuer.deactivate(user, new.key_id)


def test_issue_is_idempotent_per_token(aws: Aws) -> None:
    user, (old,) = aws.user(keys=1)
    first = aws.issuer.issue(user, "run4:issue")
    assert aws.issuer.issue(user, "run4:issue") == first
    assert len(aws.issuer.list_keys(user)) == 2

    # a new process (the first died with the secret): the unused key is replaced, not doubled
    restarted = IamKeyIssuer(endpoint_url=aws.url, iam_client=aws.admin)
    second = restarted.issue(user, "run4:issue")
    assert second.key_id != first.key_id
    assert {k.key_id for k in restarted.list_keys(user)} == {old[ACCESS_KEY_ID], second.key_id}

    # once the issued key has been used, a re-run must not delete it
    assert aws.issuer.works(second)
    again = IamKeyIssuer(endpoint_url=aws.url, iam_client=aws.admin)
    with pytest.raises(BackendError, match="in use"):
        again.issue(user, "run4:issue")
    assert len(again.list_keys(user)) == 2


def test_containment_denies_high_risk_actions_only(aws: Aws) -> None:
    user, (key,) = aws.user(keys=1, allow_all=True)
    app_iam = aws.client("iam", key)
    policy = aws.issuer.contain(user, "run5:contain")
    assert aws.issuer.contain(user, "run5:contain") == policy
    assert aws.issuer.contained(user) == [policy]
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        app_iam.create_access_key(UserName=user)
    assert denied.value.response["Error"]["Code"] in {"AccessDenied", "AccessDeniedException"}
    assert aws.issuer.works(key)  # the application keeps working
    aws.client("secretsmanager", key).list_secrets()

    aws.issuer.release(user, policy)
    aws.issuer.release(user, policy)  # idempotent
    assert aws.issuer.contained(user) == []
    created = app_iam.create_access_key(UserName=user)["AccessKey"]
    assert created["UserName"] == user


def test_rotation_through_secrets_manager(aws: Aws) -> None:
    """The backend calls an IAM key playbook makes, in order, with the key kept in Secrets
    Manager: issue, stage, test, promote, deactivate, prove dead, delete."""
    from leakguard.backends.aws_secretsmanager import SecretsManagerStore

    user, (old,) = aws.user(keys=1)
    issuer, session = aws.issuer, aws.session
    store = SecretsManagerStore(session, endpoint_url=aws.url, timeout=5)
    name = f"lg-iam/{user}"
    session.client("secretsmanager", endpoint_url=aws.url).create_secret(
        Name=name, SecretString=json.dumps(old)
    )
    new = issuer.issue(user, "run:issue")
    staged = store.put_pending(name, new.secret, "run:stage")
    assert issuer.works(store.read_version(name, staged.version_id))
    store.promote(name, staged.version_id, "run:promote")
    current, data = store.read_current(name)
    assert data == new.secret and current.fingerprint == new.fingerprint
    issuer.deactivate(user, old[ACCESS_KEY_ID])
    deactivated_at = datetime.now(UTC)
    assert issuer.proven_dead(user, old[ACCESS_KEY_ID], deactivated_at).dead
    issuer.delete(user, old[ACCESS_KEY_ID])
    assert not issuer.works(old)
    assert store.read_version(name, store.list_versions(name)[0].version_id) == old
