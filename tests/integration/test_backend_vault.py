"""What the Vault KV v2 store writes into OpenBao: the custom_metadata stage model, check-and-set,
recovery after a crash between recording a write and making it, and no destroyed versions."""

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


def test_stage_model_in_custom_metadata(client: hvac.Client, store: VaultKV2Store) -> None:
    name = _name()
    client.secrets.kv.v2.create_or_update_secret(path=name, secret={"password": "one"})
    client.secrets.kv.v2.update_metadata(
        path=name, custom_metadata={"owner": "team-a"}, delete_version_after="720h"
    )
    staged = store.put_pending(name, {"password": "two"}, "run:stage")
    custom = _meta(client, name)["custom_metadata"]
    assert custom["leakguard_current_version"] == "1"
    assert custom["leakguard_pending_version"] == "2"
    assert custom["owner"] == "team-a"
    # KV v2 has no labels: an unversioned read already returns the staged (latest) version
    latest = client.secrets.kv.v2.read_secret_version(path=name, raise_on_deleted_version=True)
    assert latest["data"]["data"] == {"password": "two"}
    assert store.read_current(name)[1] == {"password": "one"}

    store.promote(name, staged.version_id, "run:promote")
    meta = _meta(client, name)
    custom = meta["custom_metadata"]
    assert custom["leakguard_current_version"] == "2"
    assert custom["leakguard_previous_version"] == "1"
    assert "leakguard_pending_version" not in custom
    assert custom["owner"] == "team-a"
    assert meta["delete_version_after"] == "720h0m0s"
    assert not any(v["destroyed"] for v in meta["versions"].values())


def test_rerun_after_crash_between_intent_and_write(
    client: hvac.Client, store: VaultKV2Store
) -> None:
    name = _name()
    client.secrets.kv.v2.create_or_update_secret(path=name, secret={"k": "old"})
    # what a crashed put_pending leaves behind: the intent recorded, the write made, not recorded
    client.secrets.kv.v2.update_metadata(
        path=name,
        custom_metadata={
            "leakguard_write_token": "run:stage",
            "leakguard_write_base": "1",
            "leakguard_current_version": "1",
        },
    )
    client.secrets.kv.v2.create_or_update_secret(path=name, secret={"k": "new"}, cas=1)
    with pytest.raises(BackendError, match="different data"):
        store.put_pending(name, {"k": "not-what-was-written"}, "run:stage")
    staged = store.put_pending(name, {"k": "new"}, "run:stage")
    assert staged.version_id == "2" and staged.is_pending
    assert _meta(client, name)["current_version"] == 2


def test_concurrent_writer_stops_leakguard(openbao: OpenBao, client: hvac.Client) -> None:
    name = _name()
    client.secrets.kv.v2.create_or_update_secret(path=name, secret={"k": "old"})

    class RacedStore(VaultKV2Store):
        def _write(self, name: str, data: SecretData, cas: int) -> int:
            client.secrets.kv.v2.create_or_update_secret(path=name, secret={"k": "someone"})
            return super()._write(name, data, cas)

    raced = RacedStore(openbao.url, openbao.token, timeout=5)
    with pytest.raises(BackendError, match="HTTP 412") as info:
        raced.put_pending(name, {"k": "mine"}, "run:stage")
    assert not info.value.transient and info.value.hint
    versions = client.secrets.kv.v2.read_secret_metadata(path=name)["data"]["versions"]
    assert len(versions) == 2  # LeakGuard's write did not land


def test_promote_refuses_a_version_that_is_not_latest(
    client: hvac.Client, store: VaultKV2Store
) -> None:
    name = _name()
    client.secrets.kv.v2.create_or_update_secret(path=name, secret={"k": "one"})
    staged = store.put_pending(name, {"k": "two"}, "run:stage")
    client.secrets.kv.v2.create_or_update_secret(path=name, secret={"k": "three"})
    with pytest.raises(BackendError, match="written after it"):
        store.promote(name, staged.version_id, "run:promote")


def test_discard_restores_the_current_value_for_readers(
    client: hvac.Client, store: VaultKV2Store
) -> None:
    name = _name()
    client.secrets.kv.v2.create_or_update_secret(path=name, secret={"k": "current"})
    staged = store.put_pending(name, {"k": "abandoned"}, "crashed:stage")
    store.discard_pending(name, staged.version_id)
    latest = client.secrets.kv.v2.read_secret_version(path=name, raise_on_deleted_version=True)
    assert latest["data"]["data"] == {"k": "current"}
    meta = _meta(client, name)
    assert meta["versions"]["2"]["deletion_time"]  # soft-deleted, recoverable
    assert not any(v["destroyed"] for v in meta["versions"].values())
    assert store.read_current(name)[1] == {"k": "current"}


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
