"""Secrets Manager store against a tiny fake of the boto3 client that behaves like AWS where
moto does not: a reused ClientRequestToken with different data is refused
(ResourceExistsException), where moto would overwrite the version."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest

from leakguard.backends.aws_secretsmanager import SecretsManagerStore, decode, encode, request_token
from leakguard.errors import BackendError


def _error(code: str, status: int = 400) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "op",
    )


class AwsLikeClient:
    """Enough of the secretsmanager client, with AWS's token semantics."""

    def __init__(self, *, hide_versions: bool = False) -> None:
        self.values: dict[str, str] = {"v0": "old"}
        self.stages: dict[str, list[str]] = {"v0": ["AWSCURRENT"]}
        self.puts = 0
        self.hide_versions = hide_versions  # a racing writer LeakGuard's look-up cannot see

    def describe_secret(self, SecretId: str) -> dict[str, Any]:
        shown = {} if self.hide_versions else self.stages
        return {"VersionIdsToStages": {k: list(v) for k, v in shown.items() if v}}

    def get_secret_value(
        self, SecretId: str, VersionId: str | None = None, VersionStage: str | None = None
    ) -> dict[str, Any]:
        if VersionId is None:
            VersionId = next(
                k for k, v in self.stages.items() if (VersionStage or "AWSCURRENT") in v
            )
        if VersionId not in self.values:
            raise _error("ResourceNotFoundException")
        return {
            "VersionId": VersionId,
            "SecretString": self.values[VersionId],
            "VersionStages": list(self.stages[VersionId]),
        }

    def put_secret_value(
        self, SecretId: str, ClientRequestToken: str, SecretString: str, VersionStages: list[str]
    ) -> dict[str, Any]:
        self.puts += 1
        if ClientRequestToken in self.values:
            if self.values[ClientRequestToken] != SecretString:
                raise _error("ResourceExistsException")
            return {
                "VersionId": ClientRequestToken,
                "VersionStages": self.stages[ClientRequestToken],
            }
        for stages in self.stages.values():
            for stage in VersionStages:
                if stage in stages:
                    stages.remove(stage)
        self.values[ClientRequestToken] = SecretString
        self.stages[ClientRequestToken] = list(VersionStages)
        return {"VersionId": ClientRequestToken, "VersionStages": list(VersionStages)}

    def update_secret_version_stage(
        self,
        SecretId: str,
        VersionStage: str,
        MoveToVersionId: str | None = None,
        RemoveFromVersionId: str | None = None,
    ) -> dict[str, Any]:
        if RemoveFromVersionId:
            self.stages[RemoveFromVersionId].remove(VersionStage)
            if VersionStage == "AWSCURRENT":
                for stages in self.stages.values():
                    if "AWSPREVIOUS" in stages:
                        stages.remove("AWSPREVIOUS")
                self.stages[RemoveFromVersionId].append("AWSPREVIOUS")
        if MoveToVersionId:
            self.stages[MoveToVersionId].append(VersionStage)
        return {}


class MotoLikeClient(AwsLikeClient):
    """moto: a reused token silently overwrites the version's value."""

    def put_secret_value(
        self, SecretId: str, ClientRequestToken: str, SecretString: str, VersionStages: list[str]
    ) -> dict[str, Any]:
        self.puts += 1
        self.values[ClientRequestToken] = SecretString
        self.stages.setdefault(ClientRequestToken, list(VersionStages))
        return {"VersionId": ClientRequestToken, "VersionStages": list(VersionStages)}


@pytest.mark.parametrize("client_class", [AwsLikeClient, MotoLikeClient])
def test_reused_token_with_different_data_is_refused_before_writing(client_class: type) -> None:
    client = client_class()
    store = SecretsManagerStore(client=client)
    first = store.put_pending("s", {"value": "new"}, "run:stage")
    assert first.version_id == request_token("run:stage")
    assert store.put_pending("s", {"value": "new"}, "run:stage") == first
    with pytest.raises(BackendError, match="different data") as info:
        store.put_pending("s", {"value": "other"}, "run:stage")
    assert not info.value.transient
    assert client.puts == 1
    assert client.values[first.version_id] == "new"  # moto would have overwritten it


def test_aws_refusal_of_a_reused_token_is_a_permanent_error() -> None:
    client = AwsLikeClient(hide_versions=True)
    client.values[request_token("run:stage")] = "written-by-a-racing-process"
    client.stages[request_token("run:stage")] = []
    store = SecretsManagerStore(client=client)
    with pytest.raises(BackendError, match="already used") as info:
        store.put_pending("s", {"value": "mine"}, "run:stage")
    assert not info.value.transient


def test_promote_moves_current_and_previous_like_aws() -> None:
    client = AwsLikeClient()
    store = SecretsManagerStore(client=client)
    staged = store.put_pending("s", {"user": "u", "password": "p2"}, "run:stage")
    promoted = store.promote("s", staged.version_id, "run:promote")
    assert promoted.stages == ("AWSCURRENT",)
    assert client.stages["v0"] == ["AWSPREVIOUS"]
    assert store.read_current("s")[1] == {"user": "u", "password": "p2"}


def test_a_throttled_call_is_transient() -> None:
    class Throttled(AwsLikeClient):
        def describe_secret(self, SecretId: str) -> dict[str, Any]:
            raise _error("ThrottlingException", 400)

    with pytest.raises(BackendError) as info:
        SecretsManagerStore(client=Throttled()).pending("s")
    assert info.value.transient


@pytest.mark.parametrize(
    ("raw", "data"),
    [
        ("plain", {"value": "plain"}),
        ('{"user": "u", "password": "p"}', {"user": "u", "password": "p"}),
        ('{"port": 5432}', {"value": '{"port": 5432}'}),
        ("[1, 2]", {"value": "[1, 2]"}),
    ],
)
def test_secret_string_round_trip(raw: str, data: dict[str, str]) -> None:
    assert decode(raw) == data
    assert decode(encode(data)) == data
