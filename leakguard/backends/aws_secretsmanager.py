"""AWS Secrets Manager as a :class:`SecretStore`, driving the rotation flow itself (no Lambda).

The four rotation steps map onto the protocol: createSecret = :meth:`put_pending` (a new version
labelled ``AWSPENDING``, written with a ``ClientRequestToken`` derived from the run token),
setSecret/testSecret are the playbook's own steps, finishSecret = :meth:`promote` (move
``AWSCURRENT``; AWS moves ``AWSPREVIOUS`` to the old current version, then ``AWSPENDING`` is
removed). A secret string that is a JSON object of strings reads as its fields; any other string
reads as ``{"value": s}`` and a ``{"value": s}`` secret is written back as the plain string.

AWS refuses a reused ``ClientRequestToken`` with different data, but moto overwrites the version
instead; LeakGuard looks the version up first and raises itself, so both behave like AWS.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import boto3

from leakguard.backends._aws import make_client
from leakguard.backends.errors import aws_error_code, from_botocore
from leakguard.backends.interface import (
    PLAIN_VALUE_KEY,
    SecretData,
    StoredVersion,
    data_fingerprint,
)
from leakguard.errors import BackendError

AWSCURRENT = "AWSCURRENT"
AWSPENDING = "AWSPENDING"
AWSPREVIOUS = "AWSPREVIOUS"
TOKEN_NAMESPACE = uuid.UUID("6f1c2a8e-2f5b-5d0e-9a51-1ea6c0a7d001")

T = TypeVar("T")


def request_token(token: str) -> str:
    """The ``ClientRequestToken`` (a UUID, 32-64 chars) for a LeakGuard step token."""
    return str(uuid.uuid5(TOKEN_NAMESPACE, token))


def decode(secret_string: str) -> SecretData:
    try:
        parsed = json.loads(secret_string)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed and all(isinstance(v, str) for v in parsed.values()):
        return {str(k): v for k, v in parsed.items()}
    return {PLAIN_VALUE_KEY: secret_string}


def encode(data: Mapping[str, str]) -> str:
    if set(data) == {PLAIN_VALUE_KEY}:
        return data[PLAIN_VALUE_KEY]
    return json.dumps(dict(data), sort_keys=True)


class SecretsManagerStore:
    kind = "aws-secretsmanager"

    def __init__(
        self,
        session: boto3.session.Session | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        timeout: float = 10.0,
        *,
        client: Any = None,
    ) -> None:
        self._client = client or make_client(
            "secretsmanager",
            session=session,
            endpoint_url=endpoint_url,
            region=region,
            timeout=timeout,
        )

    @classmethod
    def from_env(cls, timeout: float = 10.0) -> SecretsManagerStore:
        """The default boto3 credential chain; ``AWS_ENDPOINT_URL`` points it elsewhere."""
        return cls(timeout=timeout)

    def _call(self, operation: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except BackendError:
            raise
        except Exception as exc:
            raise from_botocore(exc, operation) from None

    def _stages(self, name: str) -> dict[str, tuple[str, ...]]:
        described = self._call(
            f"describe secret {name}", lambda: self._client.describe_secret(SecretId=name)
        )
        raw = described.get("VersionIdsToStages") or {}
        return {str(k): tuple(v) for k, v in raw.items()}

    def _get(self, name: str, version_id: str) -> tuple[dict[str, Any], SecretData]:
        response = self._call(
            f"read version {version_id} of {name}",
            lambda: self._client.get_secret_value(SecretId=name, VersionId=version_id),
        )
        return response, self._data(name, response)

    @staticmethod
    def _data(name: str, response: Mapping[str, Any]) -> SecretData:
        if "SecretString" not in response:
            raise BackendError(
                f"secret {name} holds binary data",
                hint="LeakGuard rotates SecretString secrets only",
            )
        return decode(str(response["SecretString"]))

    @staticmethod
    def _version(
        version_id: str, stages: tuple[str, ...], data: SecretData | None, created: Any = None
    ) -> StoredVersion:
        return StoredVersion(
            version_id=version_id,
            stages=stages,
            fingerprint=data_fingerprint(data) if data is not None else "",
            created=created.isoformat() if hasattr(created, "isoformat") else created,
        )

    # -- SecretLister (read-only) -------------------------------------------------------------

    def list_names(self, prefix: str = "") -> list[str]:
        """The names of every secret (not scheduled for deletion) starting with ``prefix``."""

        def list_all() -> list[str]:
            names: list[str] = []
            token: str | None = None
            while True:
                kwargs: dict[str, Any] = {"MaxResults": 100}
                if token:
                    kwargs["NextToken"] = token
                page = self._client.list_secrets(**kwargs)
                for entry in page.get("SecretList") or []:
                    if not entry.get("DeletedDate"):
                        names.append(str(entry["Name"]))
                token = page.get("NextToken")
                if not token:
                    return names

        return sorted(n for n in self._call("list secrets", list_all) if n.startswith(prefix))

    # -- SecretStore ------------------------------------------------------------------------

    def read_current(self, name: str) -> tuple[StoredVersion, SecretData]:
        response = self._call(
            f"read secret {name}",
            # explicit stage: moto's default-version lookup lags update_secret_version_stage
            lambda: self._client.get_secret_value(SecretId=name, VersionStage=AWSCURRENT),
        )
        data = self._data(name, response)
        stages = tuple(response.get("VersionStages") or (AWSCURRENT,))
        version = self._version(
            str(response["VersionId"]), stages, data, response.get("CreatedDate")
        )
        return version, data

    def read_version(self, name: str, version_id: str) -> SecretData:
        return self._get(name, version_id)[1]

    def list_versions(self, name: str) -> list[StoredVersion]:
        listed = self._call(
            f"list versions of {name}",
            lambda: self._client.list_secret_version_ids(SecretId=name, IncludeDeprecated=True),
        )
        out = []
        for v in listed.get("Versions") or []:
            version_id = str(v["VersionId"])
            try:
                data: SecretData | None = self._get(name, version_id)[1]
            except BackendError as exc:
                if exc.transient:
                    raise
                data = None  # a deprecated version AWS already removed
            out.append(
                self._version(
                    version_id, tuple(v.get("VersionStages") or ()), data, v.get("CreatedDate")
                )
            )
        return out

    def put_pending(self, name: str, data: SecretData, token: str) -> StoredVersion:
        version_id = request_token(token)
        stages = self._stages(name)
        if version_id in stages:
            existing = self._get(name, version_id)[1]
            if data_fingerprint(existing) != data_fingerprint(data):
                raise BackendError(
                    f"version {version_id} of {name} was written by this step with different data",
                    hint="the idempotency token was reused with a new value; start a new run",
                )
            return self._version(version_id, stages[version_id], existing)
        dangling = _pending_id(stages)
        if dangling is not None:
            raise BackendError(
                f"secret {name} already has a pending version {dangling} (AWSPENDING) "
                "from another run",
                hint="promote it or discard it (store.discard_pending) before staging a new one",
            )

        def put() -> Any:
            try:
                return self._client.put_secret_value(
                    SecretId=name,
                    ClientRequestToken=version_id,
                    SecretString=encode(data),
                    VersionStages=[AWSPENDING],
                )
            except Exception as exc:
                if aws_error_code(exc) == "ResourceExistsException":
                    raise BackendError(
                        f"AWS refused version {version_id} of {name}: its token was already "
                        "used with different data",
                        hint="start a new run",
                    ) from None
                raise

        response = self._call(f"stage a new version of {name}", put)
        return self._version(
            str(response["VersionId"]), tuple(response.get("VersionStages") or (AWSPENDING,)), data
        )

    def pending(self, name: str) -> StoredVersion | None:
        version_id = _pending_id(self._stages(name))
        if version_id is None:
            return None
        response, data = self._get(name, version_id)
        return self._version(
            version_id,
            tuple(response.get("VersionStages") or ()),
            data,
            response.get("CreatedDate"),
        )

    def promote(self, name: str, version_id: str, token: str) -> StoredVersion:
        stages = self._stages(name)
        if version_id not in stages:
            raise BackendError(f"secret {name} has no version {version_id}")
        current = next((v for v, s in stages.items() if AWSCURRENT in s), None)
        if current != version_id:
            kwargs = {"SecretId": name, "VersionStage": AWSCURRENT, "MoveToVersionId": version_id}
            if current is not None:
                kwargs["RemoveFromVersionId"] = current
            self._call(
                f"promote version {version_id} of {name}",
                lambda: self._client.update_secret_version_stage(**kwargs),
            )
        if AWSPENDING in stages[version_id]:
            self._remove_pending(name, version_id)
        stages = self._stages(name)
        return self._version(version_id, stages.get(version_id, ()), self._get(name, version_id)[1])

    def rollback(self, name: str, to_version_id: str, token: str) -> StoredVersion:
        data = self._get(name, to_version_id)[1]
        version_id = request_token(token)
        stages = self._stages(name)
        if version_id in stages:
            existing = self._get(name, version_id)[1]
            if data_fingerprint(existing) != data_fingerprint(data):
                raise BackendError(
                    f"rollback version {version_id} of {name} holds different data",
                    hint="the idempotency token was reused; start a new run",
                )
        else:
            self._call(
                f"roll back {name} to version {to_version_id}",
                lambda: self._client.put_secret_value(
                    SecretId=name,
                    ClientRequestToken=version_id,
                    SecretString=encode(data),
                    VersionStages=[AWSPENDING],
                ),
            )
        # staged then promoted, so AWS (and moto) move AWSPREVIOUS exactly as in a rotation
        restored = self.promote(name, version_id, token)
        _, served = self.read_current(name)
        if data_fingerprint(served) != data_fingerprint(data):
            raise BackendError(
                f"rolled {name} back to version {to_version_id}, but AWSCURRENT holds other data",
                hint="someone wrote the secret meanwhile: inspect it",
            )
        return restored

    def discard_pending(self, name: str, version_id: str) -> None:
        stages = self._stages(name).get(version_id)
        if stages is None or AWSPENDING not in stages:
            return
        if AWSCURRENT in stages:
            raise BackendError(f"version {version_id} of {name} is current, not pending")
        self._remove_pending(name, version_id)

    def _remove_pending(self, name: str, version_id: str) -> None:
        self._call(
            f"unstage version {version_id} of {name}",
            lambda: self._client.update_secret_version_stage(
                SecretId=name, VersionStage=AWSPENDING, RemoveFromVersionId=version_id
            ),
        )


def _pending_id(stages: Mapping[str, tuple[str, ...]]) -> str | None:
    return next((v for v, s in stages.items() if AWSPENDING in s and AWSCURRENT not in s), None)
