"""The SecretStore contract, run against every store: the fake here, OpenBao and moto in
tests/integration/test_backend_stores.py."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from leakguard.backends.interface import SecretData, SecretStore, data_fingerprint
from leakguard.errors import BackendError


@dataclass
class Backend:
    store: SecretStore
    seed: Callable[[str, SecretData], None]
    count_versions: Callable[[str], int]
    """every version the store holds for the secret, staged ones included"""


def _name() -> str:
    return f"lg-test/{uuid.uuid4().hex[:12]}"


def check_stage_promote_keeps_previous_readable(backend: Backend) -> None:
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


def check_rerun_with_same_token_writes_nothing(backend: Backend) -> None:
    store, name = backend.store, _name()
    backend.seed(name, {"value": "plain-old"})
    first = store.put_pending(name, {"value": "plain-new"}, "run2:stage")
    staged = backend.count_versions(name)
    again = store.put_pending(name, {"value": "plain-new"}, "run2:stage")
    assert again.version_id == first.version_id
    assert backend.count_versions(name) == staged
    store.promote(name, first.version_id, "run2:promote")
    promoted = backend.count_versions(name)
    store.promote(name, first.version_id, "run2:promote")
    # a re-run of the stage step after promotion still finds its version
    rerun = store.put_pending(name, {"value": "plain-new"}, "run2:stage")
    assert rerun.version_id == first.version_id
    assert backend.count_versions(name) == promoted
    with pytest.raises(BackendError, match="different data"):
        store.put_pending(name, {"value": "something-else"}, "run2:stage")
    assert backend.count_versions(name) == promoted


def check_rollback_copies_previous_forward(backend: Backend) -> None:
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
    # every step of the run stays idempotent after later steps ran
    rerun = store.put_pending(name, {"user": "app", "password": "v2-secret"}, "run3:stage")
    assert rerun.version_id == staged.version_id
    assert not rerun.is_current and not rerun.is_pending
    assert store.rollback(name, old.version_id, "run3:rollback").version_id == back.version_id
    assert backend.count_versions(name) == count
    # nothing was destroyed: the rotated-away version is still readable
    assert store.read_version(name, staged.version_id)["password"] == "v2-secret"


def check_dangling_pending_is_found_and_discarded(backend: Backend) -> None:
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


def check_missing_secret_is_a_permanent_error(backend: Backend) -> None:
    with pytest.raises(BackendError) as info:
        backend.store.read_current(_name())
    assert not info.value.transient


CHECKS = [
    check_stage_promote_keeps_previous_readable,
    check_rerun_with_same_token_writes_nothing,
    check_rollback_copies_previous_forward,
    check_dangling_pending_is_found_and_discarded,
    check_missing_secret_is_a_permanent_error,
]
