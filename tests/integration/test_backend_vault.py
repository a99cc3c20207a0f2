"""What the Vault KV v2 store writes into OpenBao: staging outside the consumers' path,
check-and-set, recovery after a crash or a 403 around each write, no out-of-band write reverted,
and no destroyed versions."""

from __future__ import annotations

import uuid
from typing import Any

import hvac
import pytest

from leakguard.backends.interface import SecretData
from leakguard.backends.vault_kv2 import VaultKV2Store
from leakguard.errors import BackendError
from tests.support.servers import OpenBao


def _name() -> str:
    return f"lg-vault/{uuid.uuid4().hex[:12]}"


@pytest.fixture()
def client(openbao: OpenBao) -> hvac.Client:
    return hvac.Client(url=openbao.url, token=openbao.token)


@pytest.fixture()
def store(openbao: OpenBao) -> VaultKV2Store:
    return VaultKV2Store(openbao.url, openbao.token, timeout=5)


def _meta(client: hvac.Client, name: str) -> dict[str, Any]:
    return dict(client.secrets.kv.v2.read_secret_metadata(path=name)["data"])


def _latest(client: hvac.Client, name: str) -> dict[str, Any]:
    got = client.secrets.kv.v2.read_secret_version(path=name, raise_on_deleted_version=True)
    return dict(got["data"]["data"])


def test_a_staged_value_is_invisible_to_consumers_until_promoted(
    client: hvac.Client, store: VaultKV2Store
) -> None:
    name = _name()
    client.secrets.kv.v2.create_or_update_secret(path=name, secret={"password": "one"})
    client.secrets.kv.v2.update_metadata(
        path=name, custom_metadata={"owner": "team-a"}, delete_version_after="720h"
    )
    staged = store.put_pending(name, {"password": "two"}, "run:stage")
    assert staged.version_id == "2" and staged.is_pending
    # consumers read the latest version of the path: still the old value, no new version
    assert _latest(client, name) == {"password": "one"}
    assert _meta(client, name)["current_version"] == 1
    assert store.read_version(name, "2") == {"password": "two"}  # the run reads it back
    assert _latest(client, store.staging_path(name)) == {"password": "two"}

    store.promote(name, staged.version_id, "run:promote")
    assert _latest(client, name) == {"password": "two"}
    meta = _meta(client, name)
    custom = meta["custom_metadata"]
    assert custom["leakguard_previous_version"] == "1"
    assert custom["leakguard_written_versions"] == "2"
    assert custom["owner"] == "team-a"
    assert meta["delete_version_after"] == "720h0m0s"
    assert not any(v["destroyed"] for v in meta["versions"].values())
    assert store.pending(name) is None


class _FailsOnce(VaultKV2Store):
    """A metadata write answered with HTTP 403 once, right after a data write to ``target``."""

    def __init__(self, *args: Any, target: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.target, self.armed, self.failed = target, False, False

    def _write(self, name: str, data: SecretData, cas: int) -> int:
        version = super()._write(name, data, cas)
        self.armed = name == self.target
        return version

    def _write_metadata(self, name: str, meta: Any, custom: Any) -> None:
        if self.armed and not self.failed:
            self.failed = True
            raise BackendError("update metadata failed: HTTP 403 permission denied")
        super()._write_metadata(name, meta, custom)


def test_a_403_between_the_data_write_and_its_record_resumes(
    openbao: OpenBao, client: hvac.Client
) -> None:
    """The crash window of issue #11: the consumers' version is written, recording it fails.
    The same step re-run adopts the version (one write, no orphan), and rollback restores and
    verifies the old value."""
    name = _name()
    client.secrets.kv.v2.create_or_update_secret(path=name, secret={"k": "old"})
    flaky = _FailsOnce(openbao.url, openbao.token, timeout=5, target=name)
    staged = flaky.put_pending(name, {"k": "new"}, "run:stage")
    with pytest.raises(BackendError, match="403"):
        flaky.promote(name, staged.version_id, "run:promote")
    assert _meta(client, name)["current_version"] == 2  # the data write landed
    store = VaultKV2Store(openbao.url, openbao.token, timeout=5)
    promoted = store.promote(name, staged.version_id, "run:promote")
    assert promoted.version_id == "2" and promoted.is_current
    assert _meta(client, name)["current_version"] == 2  # adopted, not written again
    assert _meta(client, name)["custom_metadata"]["leakguard_written_versions"] == "2"

    back = store.rollback(name, "1", "run:promote:compensate")
    assert back.is_current and _latest(client, name) == {"k": "old"}
    assert store.rollback(name, "1", "run:promote:compensate").version_id == back.version_id
    assert _meta(client, name)["current_version"] == 3


def test_a_kill_between_the_intent_and_the_write_writes_once(
    openbao: OpenBao, client: hvac.Client
) -> None:
    name = _name()
    client.secrets.kv.v2.create_or_update_secret(path=name, secret={"k": "old"})

    class Dies(VaultKV2Store):
        def _write(self, name: str, data: SecretData, cas: int) -> int:
            raise BackendError("connection reset", transient=True)

    store = VaultKV2Store(openbao.url, openbao.token, timeout=5)
    staged = store.put_pending(name, {"k": "new"}, "run:stage")
    with pytest.raises(BackendError):
        Dies(openbao.url, openbao.token, timeout=5).promote(name, staged.version_id, "run:promote")
    with pytest.raises(BackendError, match="different data"):
        store.put_pending(name, {"k": "not-what-was-staged"}, "run:stage")
    assert store.promote(name, staged.version_id, "run:promote").version_id == "2"
    assert _latest(client, name) == {"k": "new"}


def test_an_out_of_band_write_is_never_reverted(client: hvac.Client, store: VaultKV2Store) -> None:
    name = _name()
    client.secrets.kv.v2.create_or_update_secret(path=name, secret={"k": "one"})
    staged = store.put_pending(name, {"k": "two"}, "run:stage")
    client.secrets.kv.v2.create_or_update_secret(path=name, secret={"k": "three"})
    with pytest.raises(BackendError, match="written after it was staged"):
        store.promote(name, staged.version_id, "run:promote")
    assert _latest(client, name) == {"k": "three"}
    current, data = store.read_current(name)
    assert data == {"k": "three"} and current.metadata["written_by"] == "outside"
    # nor by a rollback: version 2 is not LeakGuard's
    with pytest.raises(BackendError, match="written outside LeakGuard"):
        store.rollback(name, "1", "run:rollback")
    assert _latest(client, name) == {"k": "three"}


def test_concurrent_writer_stops_leakguard(openbao: OpenBao, client: hvac.Client) -> None:
    name = _name()
    client.secrets.kv.v2.create_or_update_secret(path=name, secret={"k": "old"})

    class RacedStore(VaultKV2Store):
        def _write(self, name: str, data: SecretData, cas: int) -> int:
            if not name.startswith(self.staging):
                client.secrets.kv.v2.create_or_update_secret(path=name, secret={"k": "someone"})
            return super()._write(name, data, cas)

    raced = RacedStore(openbao.url, openbao.token, timeout=5)
    staged = raced.put_pending(name, {"k": "mine"}, "run:stage")
    with pytest.raises(BackendError, match="HTTP 412") as info:
        raced.promote(name, staged.version_id, "run:promote")
    assert not info.value.transient and info.value.hint
    assert _latest(client, name) == {"k": "someone"}  # LeakGuard's write did not land


def test_discard_never_touches_the_consumers_path(
    client: hvac.Client, store: VaultKV2Store
) -> None:
    name = _name()
    client.secrets.kv.v2.create_or_update_secret(path=name, secret={"k": "current"})
    staged = store.put_pending(name, {"k": "abandoned"}, "crashed:stage")
    store.discard_pending(name, staged.version_id)
    assert _latest(client, name) == {"k": "current"}
    assert _meta(client, name)["current_version"] == 1
    staging = _meta(client, store.staging_path(name))
    assert staging["versions"]["1"]["deletion_time"]  # soft-deleted, recoverable
    assert not any(v["destroyed"] for v in staging["versions"].values())
    assert store.pending(name) is None
    assert store.list_names("lg-vault") == sorted(
        n for n in store.list_names("lg-vault") if not n.startswith(".leakguard")
    )


def test_new_secret_can_be_staged_and_promoted(store: VaultKV2Store) -> None:
    name = _name()
    staged = store.put_pending(name, {"k": "first"}, "run:stage")
    store.promote(name, staged.version_id, "run:promote")
    assert store.read_current(name)[1] == {"k": "first"}


def test_from_env(openbao: OpenBao, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_ADDR", openbao.url)
    monkeypatch.setenv("VAULT_TOKEN", openbao.token)
    assert VaultKV2Store.from_env().mount == "secret"
    monkeypatch.delenv("VAULT_TOKEN")
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    with pytest.raises(BackendError, match="no Vault address or token"):
        VaultKV2Store.from_env()
