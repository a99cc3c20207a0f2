"""The test servers themselves start, answer and keep state over HTTP."""

from __future__ import annotations

import boto3
import hvac

from tests.support.servers import Moto, OpenBao


def test_openbao_kv2_round_trip_and_audit(openbao: OpenBao) -> None:
    client = hvac.Client(url=openbao.url, token=openbao.token)
    client.secrets.kv.v2.create_or_update_secret(path="selftest/a", secret={"k": "v1"})
    read = client.secrets.kv.v2.read_secret_version(
        path="selftest/a", raise_on_deleted_version=True
    )
    assert read["data"]["data"] == {"k": "v1"}
    assert openbao.audit_log is not None
    assert "selftest/a" in openbao.audit_log.read_text()


def test_moto_secretsmanager_round_trip(moto: Moto) -> None:
    sm = boto3.client(
        "secretsmanager",
        endpoint_url=moto.url,
        region_name=moto.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    sm.create_secret(Name="selftest/moto", SecretString="v1")
    assert sm.get_secret_value(SecretId="selftest/moto")["SecretString"] == "v1"
