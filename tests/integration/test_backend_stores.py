"""Both real stores (OpenBao KV v2, moto Secrets Manager) honour the SecretStore contract:
stage, promote, roll back, re-run without writing twice, clean up a dangling pending version."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import boto3
import hvac
import pytest

from leakguard.backends.aws_secretsmanager import SecretsManagerStore
from leakguard.backends.interface import SecretData, SecretStore, data_fingerprint
from leakguard.backends.vault_kv2 import VaultKV2Store
from leakguard.errors import BackendError
from tests.support.servers import Moto, OpenBao


@dataclass
class Backend:
    store: SecretStore
    seed: Callable[[str, SecretData], None]
    count_versions: Callable[[str], int]


def _vault(openbao: OpenBao) -> Backend:
    client = hvac.Client(url=openbao.url, token=openbao.token)

    def seed(name: str, data: SecretData) -> None:
        client.secrets.kv.v2.create_or_update_secret(path=name, secret=data)

    def count(name: str) -> int:
        meta = client.secrets.kv.v2.read_secret_metadata(path=name)
        return len(meta["data"]["versions"])

    return Backend(VaultKV2Store(openbao.url, openbao.token, timeout=5), seed, count)


def _aws(moto: Moto) -> Backend:
    sm = boto3.client(
        "secretsmanager",
        endpoint_url=moto.url,
        region_name=moto.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    def seed(name: str, data: SecretData) -> None:
        from leakguard.backends.aws_secretsmanager import encode

        sm.create_secret(Name=name, SecretString=encode(data))

    def count(name: str) -> int:
        listed = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)
        return len(listed["Versions"])

    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=moto.region
    )
    return Backend(SecretsManagerStore(session, endpoint_url=moto.url, timeout=5), seed, count)


@pytest.fixture(params=["vault", "aws"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "vault":
        yield _vault(request.getfixturevalue("openbao"))
    else:
        yield _aws(request.getfixturevalue("moto"))


def _name() -> str:
    return f"lg-test/{uuid.uuid4().hex[:12]}"


def test_stage_promote_keeps_previous_readable(backend: Backend) -> None:
    store, name = backend.store, _name()
    backend.seed(name, {"password": "old-value-1"})
    before, data = store.read_current(name)
    assert data == {"password": "old-value-1"}
    assert before.is_current

    staged = store.put_pending(name, {"password": "new-value-2"}, "run1:stage")
    assert staged.is_pending and not staged.is_current
    assert staged.fingerprint == data_fingerprint({"password": "new-value-2"})
    # staging does not move "current"
    assert store.read_current(name)[1] == {"password": "old-value-1"}
    found = store.pending(name)
    assert found is not None and found.version_id == staged.version_id

    promoted = store.promote(name, staged.version_id, "run1:promote")
    assert promoted.is_current and not promoted.is_pending
    assert store.read_current(name)[1] == {"password": "new-value-2"}
    assert store.pending(name) is None
    assert store.read_version(name, before.version_id) == {"password": "old-value-1"}
    versions = {v.version_id: v for v in store.list_versions(name)}
    assert versions[staged.version_id].is_current
    assert not versions[before.version_id].is_current


def test_rerun_with_same_token_writes_nothing(backend: Backend) -> None:
    store, name = backend.store, _name()
    backend.seed(name, {"value": "plain-old"})
    first = store.put_pending(name, {"value": "plain-new"}, "run2:stage")
    again = store.put_pending(name, {"value": "plain-new"}, "run2:stage")
    assert again.version_id == first.version_id
    assert backend.count_versions(name) == 2
    store.promote(name, first.version_id, "run2:promote")
    store.promote(name, first.version_id, "run2:promote")
    # a re-run of the stage step after promotion still finds its version
    rerun = store.put_pending(name, {"value": "plain-new"}, "run2:stage")
    assert rerun.version_id == first.version_id
    assert backend.count_versions(name) == 2
    with pytest.raises(BackendError, match="different data"):
        store.put_pending(name, {"value": "something-else"}, "run2:stage")
    assert backend.count_versions(name) == 2


def test_rollback_copies_previous_forward(backend: Backend) -> None:
    store, name = backend.store, _name()
    backend.seed(name, {"user": "app", "password": "v1-secret"})
    old, _ = store.read_current(name)
    staged = store.put_pending(name, {"user": "app", "password": "v2-secret"}, "run3:stage")
    store.promote(name, staged.version_id, "run3:promote")

    back = store.rollback(name, old.version_id, "run3:rollback")
    assert back.is_current
    assert store.read_current(name)[1] == {"user": "app", "password": "v1-secret"}
    count = backend.count_versions(name)
    again = store.rollback(name, old.version_id, "run3:rollback")
    assert again.version_id == back.version_id
    assert backend.count_versions(name) == count
    # nothing was destroyed: the rotated-away version is still readable
    assert store.read_version(name, staged.version_id)["password"] == "v2-secret"


def test_dangling_pending_is_found_and_discarded(backend: Backend) -> None:
    store, name = backend.store, _name()
    backend.seed(name, {"token": "current-token"})
    dangling = store.put_pending(name, {"token": "from-a-failed-run"}, "crashed-run:stage")

    with pytest.raises(BackendError, match="pending"):
        store.put_pending(name, {"token": "next-run"}, "run4:stage")
    found = store.pending(name)
    assert found is not None and found.version_id == dangling.version_id

    store.discard_pending(name, found.version_id)
    store.discard_pending(name, found.version_id)  # idempotent
    assert store.pending(name) is None
    assert store.read_current(name)[1] == {"token": "current-token"}

    staged = store.put_pending(name, {"token": "next-run"}, "run4:stage")
    store.promote(name, staged.version_id, "run4:promote")
    assert store.read_current(name)[1] == {"token": "next-run"}


def test_missing_secret_is_a_permanent_error(backend: Backend) -> None:
    with pytest.raises(BackendError) as info:
        backend.store.read_current(_name())
    assert not info.value.transient
