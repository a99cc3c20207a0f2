from __future__ import annotations

from collections.abc import Callable

import pytest

from leakguard.backends.fake import FakeIssuer, FakeStore
from leakguard.backends.interface import Containment, KeyIssuer, SecretStore
from tests.unit.backends.store_contract import CHECKS, Backend


def _backend() -> Backend:
    store = FakeStore()
    return Backend(store, store.seed, lambda name: len(store.list_versions(name)))


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_fake_store_honours_the_store_contract(check: Callable[[Backend], None]) -> None:
    check(_backend())


def test_fakes_satisfy_the_protocols() -> None:
    assert isinstance(FakeStore(), SecretStore)
    assert isinstance(FakeIssuer(), KeyIssuer)
    assert isinstance(FakeIssuer(), Containment)


def test_fake_store_records_every_write() -> None:
    store = FakeStore({"db": {"password": "old"}})
    assert store.writes == []
    staged = store.put_pending("db", {"password": "new"}, "t1")
    store.put_pending("db", {"password": "new"}, "t1")
    store.promote("db", staged.version_id, "t2")
    assert store.writes == [("put_pending", "db", "2"), ("promote", "db", "2")]


def test_fake_issuer_is_idempotent_and_follows_aws_auth() -> None:
    issuer = FakeIssuer("aws-iam")
    issuer.add_existing("app", "OLDKEY")
    new = issuer.issue("app", "run:issue")
    assert issuer.issue("app", "run:issue") == new
    assert issuer.works(new)
    issuer.deactivate("app", new.key_id)
    assert not issuer.works(new)
    issuer.delete("app", new.key_id)
    assert [k.key_id for k in issuer.list_keys("app")] == ["OLDKEY"]
    policy = issuer.contain("app", "run:contain")
    assert issuer.contain("app", "run:contain") == policy
    issuer.release("app", policy)
    assert issuer.contained["app"] == set()
