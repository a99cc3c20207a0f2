from __future__ import annotations

import pytest

from leakguard.backends.fake import FakeIssuer, FakeStore
from leakguard.backends.generated import GeneratedIssuer
from leakguard.backends.interface import KeyIssuer, SecretStore
from leakguard.backends.manual import ManualIssuer
from leakguard.backends.registry import make_issuer, make_store
from leakguard.backends.vault_kv2 import VaultKV2Store
from leakguard.errors import UsageError


def test_dry_run_always_gives_fakes() -> None:
    assert isinstance(make_store("vault-kv2", {"url": "http://x"}, dry_run=True), FakeStore)
    issuer = make_issuer("aws-iam", dry_run=True)
    assert isinstance(issuer, FakeIssuer) and issuer.kind == "aws-iam"


def test_real_kinds() -> None:
    store = make_store("vault-kv2", {"url": "http://127.0.0.1:1", "token": "t", "mount": "kv"})
    assert isinstance(store, VaultKV2Store) and isinstance(store, SecretStore)
    assert store.mount == "kv"
    generated = make_issuer("generated", {"length": 24, "prefix": "whsec_"})
    assert isinstance(generated, GeneratedIssuer) and isinstance(generated, KeyIssuer)
    manual = make_issuer("manual", {"provider": "stripe"}, prompt=lambda _: "")
    assert isinstance(manual, ManualIssuer)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: make_store("consul"), "unknown secret store"),
        (lambda: make_issuer("ldap"), "unknown key issuer"),
        (lambda: make_store("vault-kv2", {"url": "u", "token": "t", "path": "p"}), "path"),
        (lambda: make_issuer("manual", {}), "needs a provider"),
        (lambda: make_store("aws-secretsmanager", {"timeout": "soon"}), "timeout"),
    ],
)
def test_bad_configuration_is_a_usage_error(build: object, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        build()  # type: ignore[operator]
