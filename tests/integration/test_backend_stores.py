"""Both real stores (OpenBao KV v2, moto Secrets Manager) honour the SecretStore contract:
stage, promote, roll back, re-run without writing twice, clean up a dangling pending version."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import boto3
import hvac
import pytest

from leakguard.backends.aws_secretsmanager import SecretsManagerStore
from leakguard.backends.interface import SecretData
from leakguard.backends.vault_kv2 import VaultKV2Store
from tests.support.servers import Moto, OpenBao
from tests.unit.backends.store_contract import CHECKS, Backend


def _vault(openbao: OpenBao) -> Backend:
    client = hvac.Client(url=openbao.url, token=openbao.token)

    def seed(name: str, data: SecretData) -> None:
        client.secrets.kv.v2.create_or_update_secret(path=name, secret=data)

    store = VaultKV2Store(openbao.url, openbao.token, timeout=5)

    def count(name: str) -> int:
        total = 0
        for path in (name, store.staging_path(name)):
            with contextlib.suppress(hvac.exceptions.InvalidPath):
                total += len(
                    client.secrets.kv.v2.read_secret_metadata(path=path)["data"]["versions"]
                )
        return total

    return Backend(store, seed, count)


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


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_store_contract(backend: Backend, check: Callable[[Backend], None]) -> None:
    check(backend)
