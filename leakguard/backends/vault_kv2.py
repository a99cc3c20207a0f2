"""Vault / OpenBao KV version 2 as a :class:`SecretStore` (the only module that writes via hvac).

KV v2 has versions but no labels, so LeakGuard keeps its stages in the secret's
``custom_metadata`` (see docs/backends.md for the full model):

* ``leakguard_current_version``: the version LeakGuard considers current. Absent: the latest
  live version is current.
* ``leakguard_previous_version``: what was current before the last promote or rollback.
* ``leakguard_pending_version``: a staged version not yet promoted.
* ``leakguard_write_token`` / ``leakguard_write_base`` / ``leakguard_write_version``: the intent
  record of the last write, stored *before* writing. A re-run with the same token finds the
  version it wrote (or, after a crash between the write and the record, the version right after
  ``write_base`` with the same fingerprint) instead of writing again.
* ``leakguard_writes``: the last completed writes (token hash -> version), so a step re-run
  after later steps still finds its version.
* ``leakguard_run``: the token of the last LeakGuard operation on this secret.

Every data write uses check-and-set against the latest version, so a concurrent writer makes
LeakGuard stop rather than overwrite. Consumers that read the secret without a version get the
*latest* version: a staged version is visible to them as soon as it is written, which is why a
playbook stages only credentials that already work (the overlap window). LeakGuard never
destroys a version; it soft-deletes only a discarded pending version that is no longer latest.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import hvac
import hvac.exceptions
import requests

from leakguard.backends.errors import from_http_status, from_transport
from leakguard.backends.interface import (
    CURRENT_STAGE,
    PENDING_STAGE,
    PREVIOUS_STAGE,
    SecretData,
    StoredVersion,
    data_fingerprint,
)
from leakguard.errors import BackendError

CURRENT = "leakguard_current_version"
PREVIOUS = "leakguard_previous_version"
PENDING = "leakguard_pending_version"
WRITE_TOKEN = "leakguard_write_token"
WRITE_BASE = "leakguard_write_base"
WRITE_VERSION = "leakguard_write_version"
RUN = "leakguard_run"
WRITES = "leakguard_writes"
WRITES_KEPT = 16
LATEST_STAGE = "latest"

_STATUS_OF: dict[type[Exception], int] = {
    hvac.exceptions.InvalidRequest: 400,
    hvac.exceptions.Unauthorized: 401,
    hvac.exceptions.Forbidden: 403,
    hvac.exceptions.InvalidPath: 404,
    hvac.exceptions.PreconditionFailed: 412,
    hvac.exceptions.RateLimitExceeded: 429,
    hvac.exceptions.InternalServerError: 500,
    hvac.exceptions.VaultNotInitialized: 501,
    hvac.exceptions.BadGateway: 502,
    hvac.exceptions.VaultDown: 503,
}

T = TypeVar("T")


def _token_record(token: str) -> str:
    """custom_metadata values hold at most 512 bytes."""
    if len(token.encode()) <= 500:
        return token
    return data_fingerprint({"token": token})


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def _writes(custom: Mapping[str, str]) -> dict[str, int]:
    """The last :data:`WRITES_KEPT` writes as token hash -> version."""
    out: dict[str, int] = {}
    for item in custom.get(WRITES, "").split(","):
        digest, _, version = item.partition(":")
        if digest and version.isdigit():
            out[digest] = int(version)
    return out


def _record_write(custom: dict[str, str], token: str, version: int) -> dict[str, str]:
    writes = _writes(custom)
    writes.pop(_token_hash(token), None)
    writes[_token_hash(token)] = version
    kept = list(writes.items())[-WRITES_KEPT:]
    custom[WRITES] = ",".join(f"{d}:{v}" for d, v in kept)
    custom[WRITE_VERSION] = str(version)
    return custom


class VaultKV2Store:
    kind = "vault-kv2"

    def __init__(
        self,
        url: str,
        token: str,
        mount: str = "secret",
        timeout: float = 10.0,
        *,
        namespace: str | None = None,
        verify: bool | str | None = None,
    ) -> None:
        self.url = url
        self.mount = mount
        self.timeout = timeout
        self._client = hvac.Client(
            url=url, token=token, timeout=timeout, namespace=namespace, verify=verify
        )

    @classmethod
    def from_env(cls, mount: str | None = None, timeout: float = 10.0) -> VaultKV2Store:
        """``VAULT_ADDR``/``BAO_ADDR``, ``VAULT_TOKEN``/``BAO_TOKEN``, ``LEAKGUARD_VAULT_MOUNT``."""
        url = os.environ.get("VAULT_ADDR") or os.environ.get("BAO_ADDR")
        token = os.environ.get("VAULT_TOKEN") or os.environ.get("BAO_TOKEN")
        if not url or not token:
            raise BackendError(
                "no Vault address or token in the environment",
                hint="set VAULT_ADDR and VAULT_TOKEN (or BAO_ADDR and BAO_TOKEN)",
            )
        mount = mount or os.environ.get("LEAKGUARD_VAULT_MOUNT", "secret")
        return cls(url, token, mount, timeout, namespace=os.environ.get("VAULT_NAMESPACE"))

    # -- SDK seam: every hvac call goes through _call ---------------------------------------

    def _call(self, operation: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except hvac.exceptions.VaultError as exc:
            status = next((s for cls, s in _STATUS_OF.items() if isinstance(exc, cls)), 0)
            detail = "; ".join(str(e) for e in (exc.errors or []))[:200] if exc.errors else ""
            if status == 400 and "check-and-set" in detail:
                status = 412
            if not status:
                raise BackendError(f"{operation} failed: unexpected Vault response") from None
            raise from_http_status(status, operation, detail) from None
        except (requests.RequestException, OSError) as exc:
            raise from_transport(exc, operation) from None

    def _kv(self) -> Any:
        return self._client.secrets.kv.v2

    def _read_metadata(self, name: str) -> dict[str, Any] | None:
        def read() -> dict[str, Any] | None:
            try:
                response = self._kv().read_secret_metadata(path=name, mount_point=self.mount)
            except hvac.exceptions.InvalidPath:
                return None
            return dict(response["data"])

        return self._call(f"read metadata of {name}", read)

    def _require_metadata(self, name: str) -> dict[str, Any]:
        meta = self._read_metadata(name)
        if meta is None or not meta.get("versions"):
            raise BackendError(
                f"Vault secret {self.mount}/{name} does not exist",
                hint="check the path and the KV mount (LEAKGUARD_VAULT_MOUNT)",
            )
        return meta

    def _write_metadata(
        self, name: str, meta: Mapping[str, Any] | None, custom: dict[str, str]
    ) -> None:
        delete_after = (meta or {}).get("delete_version_after") or "0s"
        self._call(
            f"update metadata of {name}",
            lambda: self._kv().update_metadata(
                path=name,
                mount_point=self.mount,
                delete_version_after=delete_after,
                custom_metadata={k: v for k, v in custom.items() if v != ""},
            ),
        )

    def _read(self, name: str, version: int) -> SecretData:
        response = self._call(
            f"read version {version} of {name}",
            lambda: self._kv().read_secret_version(
                path=name, version=version, mount_point=self.mount, raise_on_deleted_version=True
            ),
        )
        data = response["data"]["data"] or {}
        return {str(k): v if isinstance(v, str) else _json(v) for k, v in data.items()}

    def _write(self, name: str, data: SecretData, cas: int) -> int:
        response = self._call(
            f"write {name}",
            lambda: self._kv().create_or_update_secret(
                path=name, secret=dict(data), cas=cas, mount_point=self.mount
            ),
        )
        return int(response["data"]["version"])

    # -- stage model ----------------------------------------------------------------------

    @staticmethod
    def _custom(meta: Mapping[str, Any] | None) -> dict[str, str]:
        return dict((meta or {}).get("custom_metadata") or {})

    @staticmethod
    def _live(meta: Mapping[str, Any]) -> list[int]:
        versions = meta.get("versions") or {}
        return sorted(int(v) for v, info in versions.items() if not _gone(info))

    def _current(self, meta: Mapping[str, Any]) -> int:
        custom = self._custom(meta)
        if custom.get(CURRENT):
            return int(custom[CURRENT])
        live = self._live(meta)
        if not live:
            raise BackendError(f"Vault secret {self.mount}/{self._name(meta)} has no live version")
        return live[-1]

    @staticmethod
    def _name(meta: Mapping[str, Any]) -> str:
        return str(meta.get("path", "?"))

    def _version(
        self, meta: Mapping[str, Any], version: int, data: SecretData | None
    ) -> StoredVersion:
        custom = self._custom(meta)
        info = (meta.get("versions") or {}).get(str(version), {})
        stages: list[str] = []
        if version == self._current(meta):
            stages.append(CURRENT_STAGE)
        if custom.get(PENDING) == str(version):
            stages.append(PENDING_STAGE)
        if custom.get(PREVIOUS) == str(version):
            stages.append(PREVIOUS_STAGE)
        if version == int(meta.get("current_version") or 0):
            stages.append(LATEST_STAGE)
        extra = {"mount": self.mount}
        if info.get("deletion_time"):
            extra["deletion_time"] = str(info["deletion_time"])
            if _gone(info):
                extra["deleted"] = "true"
        if info.get("destroyed"):
            extra["destroyed"] = "true"
        return StoredVersion(
            version_id=str(version),
            stages=tuple(stages),
            fingerprint=data_fingerprint(data) if data is not None else "",
            created=info.get("created_time"),
            metadata=extra,
        )

    def _write_forward(
        self, name: str, data: SecretData, token: str, meta: dict[str, Any] | None
    ) -> tuple[int, dict[str, Any]]:
        """Write ``data`` as a new version once per ``token``: record the intent, write with
        check-and-set, and on a re-run find the version instead of writing again."""
        custom = self._custom(meta)
        latest = int((meta or {}).get("current_version") or 0)
        wanted = data_fingerprint(data)
        record = _token_record(token)
        done = _writes(custom).get(_token_hash(token))
        if done is not None:
            self._same_data(name, done, wanted, token)
            return done, meta or {}
        if custom.get(WRITE_TOKEN) == record:
            if custom.get(WRITE_VERSION):
                version = int(custom[WRITE_VERSION])
                self._same_data(name, version, wanted, token)
                return version, meta or {}
            base = int(custom.get(WRITE_BASE) or 0)
            if latest > base:
                # crashed between the write and recording it: adopt our write, if it is ours
                self._same_data(name, base + 1, wanted, token)
                return base + 1, meta or {}
        else:
            base = latest
            custom.update(
                {WRITE_TOKEN: record, WRITE_BASE: str(base), WRITE_VERSION: "", RUN: record}
            )
            self._write_metadata(name, meta, custom)
        version = self._write(name, data, cas=base)
        fresh = self._read_metadata(name) or {}
        return version, fresh

    def _same_data(self, name: str, version: int, wanted: str, token: str) -> None:
        if data_fingerprint(self._read(name, version)) != wanted:
            raise BackendError(
                f"version {version} of {self.mount}/{name} was written by this step "
                "with different data",
                hint="the idempotency token was reused with a new value; start a new run or "
                "discard the pending version",
            )

    # -- SecretLister (read-only) -------------------------------------------------------------

    def list_names(self, prefix: str = "") -> list[str]:
        """Every secret path under the folder ``prefix`` of the mount (KV v2 LIST on metadata,
        recursively); an unknown folder lists nothing."""
        found: list[str] = []
        folders = [prefix.strip("/")]
        while folders:
            folder = folders.pop()

            def list_keys(folder: str = folder) -> list[str]:
                try:
                    response = self._kv().list_secrets(path=folder, mount_point=self.mount)
                except hvac.exceptions.InvalidPath:
                    return []
                return [str(k) for k in (response.get("data") or {}).get("keys") or []]

            for key in self._call(f"list {self.mount}/{folder}", list_keys):
                full = f"{folder}/{key}" if folder else key
                if key.endswith("/"):
                    folders.append(full.rstrip("/"))
                else:
                    found.append(full)
        return sorted(found)

    # -- SecretStore ------------------------------------------------------------------------

    def read_current(self, name: str) -> tuple[StoredVersion, SecretData]:
        meta = self._require_metadata(name)
        version = self._current(meta)
        data = self._read(name, version)
        return self._version(meta, version, data), data

    def read_version(self, name: str, version_id: str) -> SecretData:
        return self._read(name, _int(version_id, name))

    def list_versions(self, name: str) -> list[StoredVersion]:
        meta = self._require_metadata(name)
        live = set(self._live(meta))
        out = []
        for v in sorted(int(k) for k in (meta.get("versions") or {})):
            out.append(self._version(meta, v, self._read(name, v) if v in live else None))
        return out

    def put_pending(self, name: str, data: SecretData, token: str) -> StoredVersion:
        meta = self._read_metadata(name)
        custom = self._custom(meta)
        record = _token_record(token)
        done = _writes(custom).get(_token_hash(token))
        if meta is not None and done is not None:
            # this step already completed; later steps may have moved the stages since
            self._same_data(name, done, data_fingerprint(data), token)
            return self._version(meta, done, data)
        dangling = custom.get(PENDING)
        if dangling and custom.get(WRITE_TOKEN) != record:
            raise BackendError(
                f"{self.mount}/{name} already has pending version {dangling} from another run",
                hint="promote it or discard it (store.discard_pending) before staging a new one",
            )
        if meta is not None and meta.get("versions") and not custom.get(CURRENT):
            # pin "current" before the new version becomes latest
            custom[CURRENT] = str(self._current(meta))
            self._write_metadata(name, meta, custom)
            meta = self._read_metadata(name)
        version, meta = self._write_forward(name, data, token, meta)
        custom = self._custom(meta)
        wanted = _record_write(dict(custom), token, version)
        if custom.get(CURRENT) != str(version):
            wanted[PENDING] = str(version)
        if wanted != custom:
            self._write_metadata(name, meta, wanted)
            meta = self._read_metadata(name) or {}
        return self._version(meta, version, data)

    def pending(self, name: str) -> StoredVersion | None:
        meta = self._read_metadata(name)
        custom = self._custom(meta)
        if meta is None or not custom.get(PENDING):
            return None
        version = int(custom[PENDING])
        if version not in self._live(meta):
            return self._version(meta, version, None)
        return self._version(meta, version, self._read(name, version))

    def promote(self, name: str, version_id: str, token: str) -> StoredVersion:
        version = _int(version_id, name)
        meta = self._require_metadata(name)
        custom = self._custom(meta)
        current = self._current(meta)
        if current != version:
            if version not in self._live(meta):
                raise BackendError(f"version {version} of {self.mount}/{name} is not readable")
            latest = int(meta.get("current_version") or 0)
            if version != latest:
                raise BackendError(
                    f"cannot promote version {version} of {self.mount}/{name}: version {latest} "
                    "was written after it, and consumers read the latest version",
                    hint="inspect the secret; stage the value again in a new run",
                )
            custom.update(
                {PREVIOUS: str(current), CURRENT: str(version), RUN: _token_record(token)}
            )
        if custom.get(PENDING) == str(version):
            custom[PENDING] = ""
        if custom != self._custom(meta):
            self._write_metadata(name, meta, custom)
            meta = self._read_metadata(name) or meta
        return self._version(meta, version, self._read(name, version))

    def rollback(self, name: str, to_version_id: str, token: str) -> StoredVersion:
        target = _int(to_version_id, name)
        meta = self._require_metadata(name)
        record = _token_record(token)
        custom = self._custom(meta)
        done = _writes(custom).get(_token_hash(token))
        if done is not None:
            return self._version(meta, done, self._read(name, done))
        data = self._read(name, target)
        current = self._current(meta)
        pending = custom.get(PENDING)
        version, meta = self._write_forward(name, data, token, meta)
        custom = _record_write(self._custom(meta), token, version)
        custom.update({CURRENT: str(version), PREVIOUS: str(current), RUN: record})
        if pending:
            custom[PENDING] = ""
        self._write_metadata(name, meta, custom)
        meta = self._read_metadata(name) or meta
        return self._version(meta, version, data)

    def discard_pending(self, name: str, version_id: str) -> None:
        """Unstage ``version_id``. If it is the latest version (what consumers read), the current
        data is first copied forward so consumers read the current value again; the discarded
        version is then soft-deleted (``vault kv undelete`` brings it back), never destroyed."""
        version = _int(version_id, name)
        meta = self._read_metadata(name)
        custom = self._custom(meta)
        if meta is None or custom.get(PENDING) != str(version):
            return
        current = self._current(meta)
        if current == version:
            raise BackendError(f"version {version} of {self.mount}/{name} is current, not pending")
        latest = int(meta.get("current_version") or 0)
        token = f"leakguard:discard:{version}"
        resumed = custom.get(WRITE_TOKEN) == _token_record(token)
        if resumed or (version == latest and version in self._live(meta)):
            data = self._read(name, current)
            copied, meta = self._write_forward(name, data, token, meta)
            custom = _record_write(self._custom(meta), token, copied)
            custom[CURRENT] = str(copied)
            self._write_metadata(name, meta, custom)
        if version in self._live(meta or {}):
            self._call(
                f"delete pending version {version} of {name}",
                lambda: self._kv().delete_secret_versions(
                    path=name, versions=[version], mount_point=self.mount
                ),
            )
        custom[PENDING] = ""
        self._write_metadata(name, meta, custom)


def _gone(info: Mapping[str, Any]) -> bool:
    """Destroyed, or deleted: a deletion_time in the past (delete_version_after sets future
    ones on every version)."""
    if info.get("destroyed"):
        return True
    stamp = str(info.get("deletion_time") or "")
    if not stamp:
        return False
    # RFC 3339 with up to nanoseconds; Python parses microseconds
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", stamp)
    if match is None:
        return True
    head, fraction, zone = match.groups()
    fraction = (fraction or ".0")[:7]
    moment = datetime.fromisoformat(head + fraction + ("+00:00" if zone == "Z" else zone))
    return moment <= datetime.now(UTC)


def _int(version_id: str, name: str) -> int:
    try:
        return int(version_id)
    except ValueError:
        raise BackendError(f"{version_id!r} is not a Vault KV v2 version of {name}") from None


def _json(value: object) -> str:
    import json

    return json.dumps(value, sort_keys=True)
