"""Vault / OpenBao KV version 2 as a :class:`SecretStore` (the only module that writes via hvac).

Consumers read a secret's *latest* version, so LeakGuard never writes an untested value there.
A staged value lives in a sibling entry under the mount's staging folder (default
``.leakguard/staged/<path>``; deny consumers that folder in their policies) and reaches the path
consumers read only at :meth:`VaultKV2Store.promote`. See docs/backends.md for the full model:

* the **current** version is what consumers read: the latest live version of the path, read
  from the store at every call, never a pointer LeakGuard remembers;
* the staging entry's ``custom_metadata`` is LeakGuard's ledger for the path:
  ``leakguard_pending`` (the staged value: token hash, staging-entry version, the path's version
  when it was staged), ``leakguard_intent`` (a write about to happen: token hash, target, base
  version, data fingerprint; recorded *before* the write) and ``leakguard_writes`` (completed
  writes by token hash, so each step stays idempotent after later steps ran);
* the path's own ``custom_metadata`` gets ``leakguard_previous_version`` and
  ``leakguard_written_versions`` (what LeakGuard wrote there; any other version was written
  outside LeakGuard and is never overwritten or reverted).

Every data write uses check-and-set against the base recorded in the intent, so a re-run after a
crash (or a failed metadata write) either adopts the version it already wrote (same fingerprint
at ``base + 1``) or writes it once; a version at ``base + 1`` with other data was written by
someone else and stops LeakGuard. LeakGuard never destroys a version.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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

STAGING_FOLDER = ".leakguard/staged"
PENDING = "leakguard_pending"
INTENT = "leakguard_intent"
WRITES = "leakguard_writes"
PREVIOUS = "leakguard_previous_version"
WRITTEN = "leakguard_written_versions"
STAGE_BASE = "leakguard_stage_base"
WRITES_KEPT = 12
LATEST_STAGE = "latest"
LEGACY_KEYS = (
    "leakguard_current_version",
    "leakguard_pending_version",
    "leakguard_write_token",
    "leakguard_write_base",
    "leakguard_write_version",
    "leakguard_run",
)
"""Keys of the former stage model (a remembered "current" pointer): dropped on the next write."""

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


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def _short(fp: str) -> str:
    return fp.removeprefix("sha256:")[:16]


@dataclass(frozen=True)
class _Pending:
    token: str  # token hash
    staged: int  # version of the staging entry
    base: int  # the path's latest version when staged

    @property
    def promised(self) -> int:
        """The version the path gets when this value is promoted (its version id)."""
        return self.base + 1

    def encode(self) -> str:
        return f"{self.token}:{self.staged}:{self.base}"

    @classmethod
    def decode(cls, raw: str | None) -> _Pending | None:
        parts = (raw or "").split(":")
        if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
            return None
        return cls(parts[0], int(parts[1]), int(parts[2]))


@dataclass(frozen=True)
class _Intent:
    token: str
    target: str  # "staged" | "path"
    base: int
    fingerprint: str  # _short(data fingerprint)

    def encode(self) -> str:
        return f"{self.token}:{self.target}:{self.base}:{self.fingerprint}"

    @classmethod
    def decode(cls, raw: str | None) -> _Intent | None:
        parts = (raw or "").split(":")
        if len(parts) != 4 or not parts[2].isdigit():
            return None
        return cls(parts[0], parts[1], int(parts[2]), parts[3])


def _writes(custom: Mapping[str, str]) -> dict[str, tuple[str, int, int]]:
    """token hash -> (target, version written, version promised to the path)."""
    out: dict[str, tuple[str, int, int]] = {}
    for item in custom.get(WRITES, "").split(","):
        parts = item.split(":")
        if len(parts) == 4 and parts[2].isdigit() and parts[3].isdigit():
            out[parts[0]] = (parts[1], int(parts[2]), int(parts[3]))
    return out


def _with_write(
    custom: dict[str, str], token: str, target: str, version: int, promised: int
) -> None:
    writes = _writes(custom)
    writes.pop(token, None)
    writes[token] = (target, version, promised)
    kept = list(writes.items())[-WRITES_KEPT:]
    custom[WRITES] = ",".join(f"{t}:{a}:{v}:{p}" for t, (a, v, p) in kept)


def _versions_list(raw: str | None) -> list[int]:
    return [int(v) for v in (raw or "").split(",") if v.isdigit()]


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
        staging: str = STAGING_FOLDER,
    ) -> None:
        self.url = url
        self.mount = mount
        self.timeout = timeout
        self.staging = staging.strip("/")
        self._client = hvac.Client(
            url=url, token=token, timeout=timeout, namespace=namespace, verify=verify
        )

    @classmethod
    def from_env(
        cls, mount: str | None = None, timeout: float = 10.0, staging: str | None = None
    ) -> VaultKV2Store:
        """``VAULT_ADDR``/``BAO_ADDR``, ``VAULT_TOKEN``/``BAO_TOKEN``, ``LEAKGUARD_VAULT_MOUNT``."""
        url = os.environ.get("VAULT_ADDR") or os.environ.get("BAO_ADDR")
        token = os.environ.get("VAULT_TOKEN") or os.environ.get("BAO_TOKEN")
        if not url or not token:
            raise BackendError(
                "no Vault address or token in the environment",
                hint="set VAULT_ADDR and VAULT_TOKEN (or BAO_ADDR and BAO_TOKEN)",
            )
        mount = mount or os.environ.get("LEAKGUARD_VAULT_MOUNT", "secret")
        return cls(
            url,
            token,
            mount,
            timeout,
            namespace=os.environ.get("VAULT_NAMESPACE"),
            staging=staging or STAGING_FOLDER,
        )

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
        self, name: str, meta: Mapping[str, Any] | None, custom: Mapping[str, str]
    ) -> None:
        delete_after = (meta or {}).get("delete_version_after") or "0s"
        kept = {k: v for k, v in custom.items() if v != "" and k not in LEGACY_KEYS}
        self._call(
            f"update metadata of {name}",
            lambda: self._kv().update_metadata(
                path=name,
                mount_point=self.mount,
                delete_version_after=delete_after,
                custom_metadata=kept,
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

    # -- the model ----------------------------------------------------------------------------

    def staging_path(self, name: str) -> str:
        """Where a value for ``name`` is staged: never the path consumers read."""
        return f"{self.staging}/{name.strip('/')}"

    @staticmethod
    def _custom(meta: Mapping[str, Any] | None) -> dict[str, str]:
        return dict((meta or {}).get("custom_metadata") or {})

    @staticmethod
    def _live(meta: Mapping[str, Any] | None) -> list[int]:
        versions = (meta or {}).get("versions") or {}
        return sorted(int(v) for v, info in versions.items() if not _gone(info))

    @staticmethod
    def _latest(meta: Mapping[str, Any] | None) -> int:
        return int((meta or {}).get("current_version") or 0)

    def _current(self, name: str, meta: Mapping[str, Any]) -> int:
        live = self._live(meta)
        if not live:
            raise BackendError(f"Vault secret {self.mount}/{name} has no live version")
        return live[-1]

    def _version(
        self,
        name: str,
        meta: Mapping[str, Any] | None,
        version: int,
        data: SecretData | None,
        *,
        pending: bool = False,
    ) -> StoredVersion:
        custom = self._custom(meta)
        info = ((meta or {}).get("versions") or {}).get(str(version), {})
        stages: list[str] = []
        live = self._live(meta)
        if live and version == live[-1] and not pending:
            stages.append(CURRENT_STAGE)
        if pending:
            stages.append(PENDING_STAGE)
        if custom.get(PREVIOUS) == str(version):
            stages.append(PREVIOUS_STAGE)
        if version == self._latest(meta) and not pending:
            stages.append(LATEST_STAGE)
        extra = {"mount": self.mount}
        written = _versions_list(custom.get(WRITTEN))
        if version <= self._latest(meta):
            extra["written_by"] = "leakguard" if version in written else "outside"
        if written:
            extra["last_leakguard_version"] = str(written[-1])
        if custom.get(PREVIOUS):
            extra["previous_version"] = custom[PREVIOUS]
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

    def _check_fingerprint(self, path: str, version: int, wanted: str, why: str) -> None:
        if _short(data_fingerprint(self._read(path, version))) != wanted:
            raise BackendError(
                f"version {version} of {self.mount}/{path} {why}",
                hint="someone else wrote the secret meanwhile (or the step's token was reused "
                "with a new value): inspect it; LeakGuard will not overwrite it",
            )

    def _write_once(
        self,
        ledger_path: str,
        target: str,
        path: str,
        data: SecretData,
        token: str,
        base: int,
        extra: Mapping[str, str] | None = None,
    ) -> int:
        """Write ``data`` at ``path`` with check-and-set ``base``, once per ``token``: the
        intent is recorded in the ledger (the staging entry) *before* the write; a re-run adopts
        the version the first attempt wrote (a crash, or a failed metadata write, in between)."""
        ledger = self._read_metadata(ledger_path)
        custom = self._custom(ledger)
        wanted = _short(data_fingerprint(data))
        intent = _Intent.decode(custom.get(INTENT))
        mine = intent is not None and intent.token == token and intent.target == target
        if mine and intent is not None and intent.fingerprint != wanted:
            landed = self._latest(self._read_metadata(path)) > intent.base
            if landed and target == "path":
                raise BackendError(
                    f"this step already wrote {self.mount}/{path} with different data",
                    hint="the idempotency token was reused with a new value; start a new run",
                )
            # the first attempt's value never reached consumers (not written, or only staged,
            # which no one reads): record the new intent and write it
            if landed:
                base = self._latest(self._read_metadata(path))
            mine = False
        if mine and intent is not None:
            base = intent.base
        else:
            custom[INTENT] = _Intent(token, target, base, wanted).encode()
            custom.update(extra or {})
            self._write_metadata(ledger_path, ledger, custom)
        meta = self._read_metadata(path)
        if self._latest(meta) > base:
            self._check_fingerprint(path, base + 1, wanted, "was not written by this step")
            return base + 1
        return self._write(path, data, cas=base)

    def _settle(self, name: str, ledger: dict[str, str]) -> None:
        """An interrupted write to the path by another token: if it landed, it is LeakGuard's."""
        intent = _Intent.decode(ledger.get(INTENT))
        if intent is None or intent.target != "path":
            return
        meta = self._read_metadata(name)
        if self._latest(meta) > intent.base:
            data = self._read(name, intent.base + 1)
            if _short(data_fingerprint(data)) == intent.fingerprint:
                self._mark_written(name, meta, intent.base + 1, None)

    def _mark_written(
        self, name: str, meta: Mapping[str, Any] | None, version: int, previous: int | None
    ) -> None:
        custom = self._custom(meta)
        written = _versions_list(custom.get(WRITTEN))
        changed = False
        if version not in written:
            written = [*written, version][-WRITES_KEPT:]
            custom[WRITTEN] = ",".join(str(v) for v in written)
            changed = True
        if previous is not None and custom.get(PREVIOUS) != str(previous):
            custom[PREVIOUS] = str(previous)
            changed = True
        if changed or any(k in custom for k in LEGACY_KEYS):
            self._write_metadata(name, meta, custom)

    def _finish(
        self, ledger_path: str, token: str, target: str, version: int, promised: int,
        pending: _Pending | None,
    ) -> None:  # fmt: skip
        ledger = self._read_metadata(ledger_path)
        custom = self._custom(ledger)
        _with_write(custom, token, target, version, promised)
        intent = _Intent.decode(custom.get(INTENT))
        if intent is not None and intent.token == token:
            custom[INTENT] = ""
        if target == "staged":
            custom[PENDING] = pending.encode() if pending is not None else ""
        elif _Pending.decode(custom.get(PENDING)) is not None and pending is None:
            custom[PENDING] = ""
        self._write_metadata(ledger_path, ledger, custom)

    # -- SecretLister (read-only) -------------------------------------------------------------

    def list_names(self, prefix: str = "") -> list[str]:
        """Every secret path under the folder ``prefix`` of the mount (KV v2 LIST on metadata,
        recursively), without LeakGuard's staging folder; an unknown folder lists nothing."""
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
                if full.rstrip("/") == self.staging or full.startswith(self.staging + "/"):
                    continue
                if key.endswith("/"):
                    folders.append(full.rstrip("/"))
                else:
                    found.append(full)
        return sorted(found)

    # -- SecretStore ------------------------------------------------------------------------

    def read_current(self, name: str) -> tuple[StoredVersion, SecretData]:
        meta = self._require_metadata(name)
        version = self._current(name, meta)
        data = self._read(name, version)
        return self._version(name, meta, version, data), data

    def _staged(self, name: str) -> tuple[dict[str, Any] | None, dict[str, str], _Pending | None]:
        ledger = self._read_metadata(self.staging_path(name))
        custom = self._custom(ledger)
        return ledger, custom, _Pending.decode(custom.get(PENDING))

    def read_version(self, name: str, version_id: str) -> SecretData:
        version = _int(version_id, name)
        meta = self._read_metadata(name)
        if version > self._latest(meta):
            ledger, custom, pending = self._staged(name)
            pending = pending or self._unrecorded_stage(name, ledger, custom)
            if pending is not None and pending.promised == version:
                return self._read(self.staging_path(name), pending.staged)
        return self._read(name, version)

    def list_versions(self, name: str) -> list[StoredVersion]:
        meta = self._require_metadata(name)
        live = set(self._live(meta))
        out = []
        for v in sorted(int(k) for k in (meta.get("versions") or {})):
            out.append(self._version(name, meta, v, self._read(name, v) if v in live else None))
        found = self.pending(name)
        if found is not None:
            out.append(found)
        return out

    def put_pending(self, name: str, data: SecretData, token: str) -> StoredVersion:
        tok = _token_hash(token)
        staging = self.staging_path(name)
        meta = self._read_metadata(name)
        ledger, custom, pending = self._staged(name)
        wanted = _short(data_fingerprint(data))
        done = _writes(custom).get(tok)
        if done is not None and done[0] == "staged":
            # this step already completed; later steps may have promoted it since
            self._check_fingerprint(staging, done[1], wanted, "was staged with different data")
            still = pending is not None and pending.token == tok
            if still:
                return self._version(name, meta, done[2], data, pending=True)
            return self._version(name, meta, done[2], data)
        if pending is not None and pending.token != tok:
            staged_live = pending.staged in self._live(ledger)
            if staged_live:
                raise BackendError(
                    f"{self.mount}/{name} already has a pending value (version "
                    f"{pending.promised}) from another run",
                    hint="promote it or discard it (store.discard_pending), then stage again",
                )
        self._settle(name, custom)
        intent = _Intent.decode(custom.get(INTENT))
        if intent is not None and intent.token == tok and intent.target == "staged":
            base = int(custom.get(STAGE_BASE) or 0)
        else:
            base = self._latest(self._read_metadata(name))
        staged = self._write_once(
            staging, "staged", staging, data, tok, self._latest(ledger), {STAGE_BASE: str(base)}
        )
        new = _Pending(tok, staged, base)
        self._finish(staging, tok, "staged", staged, new.promised, new)
        return self._version(name, self._read_metadata(name), new.promised, data, pending=True)

    def pending(self, name: str) -> StoredVersion | None:
        ledger, custom, pending = self._staged(name)
        if pending is None:
            pending = self._unrecorded_stage(name, ledger, custom)
        if pending is None:
            return None
        meta = self._read_metadata(name)
        data = None
        if pending.staged in self._live(ledger):
            data = self._read(self.staging_path(name), pending.staged)
        return self._version(name, meta, pending.promised, data, pending=True)

    def _unrecorded_stage(
        self, name: str, ledger: Mapping[str, Any] | None, custom: Mapping[str, str]
    ) -> _Pending | None:
        """A staging write that landed before its record (a crash in between): still pending."""
        intent = _Intent.decode(custom.get(INTENT))
        if intent is None or intent.target != "staged" or self._latest(ledger) <= intent.base:
            return None
        staging = self.staging_path(name)
        if _short(data_fingerprint(self._read(staging, intent.base + 1))) != intent.fingerprint:
            return None
        return _Pending(intent.token, intent.base + 1, int(custom.get(STAGE_BASE) or 0))

    def promote(self, name: str, version_id: str, token: str) -> StoredVersion:
        version = _int(version_id, name)
        tok = _token_hash(token)
        staging = self.staging_path(name)
        _, custom, pending = self._staged(name)
        done = _writes(custom).get(tok)
        if done is not None and done[0] == "path":
            meta = self._read_metadata(name)
            self._mark_written(name, meta, done[1], done[1] - 1)
            meta = self._read_metadata(name)
            return self._version(name, meta, done[1], self._read(name, done[1]))
        if pending is None or pending.promised != version:
            raise BackendError(
                f"version {version} of {self.mount}/{name} is not staged",
                hint="stage the value again (store.put_pending) in a new run",
            )
        data = self._read(staging, pending.staged)
        meta = self._read_metadata(name)
        latest = self._latest(meta)
        intent = _Intent.decode(custom.get(INTENT))
        mine = intent is not None and intent.token == tok
        if latest != pending.base and not mine:
            raise BackendError(
                f"cannot promote version {version} of {self.mount}/{name}: version {latest} was "
                f"written after it was staged (outside LeakGuard), and promoting would revert it",
                hint="inspect the secret; discard the staged value (roll the run back) and "
                "start a new run, which stages from the new current value",
            )
        written = self._write_once(staging, "path", name, data, tok, pending.base)
        self._mark_written(name, self._read_metadata(name), written, pending.base)
        self._finish(staging, tok, "path", written, written, None)
        meta = self._read_metadata(name)
        return self._version(name, meta, written, data)

    def rollback(self, name: str, to_version_id: str, token: str) -> StoredVersion:
        target = _int(to_version_id, name)
        tok = _token_hash(token)
        staging = self.staging_path(name)
        _, custom, _ = self._staged(name)
        data = self._read(name, target)
        done = _writes(custom).get(tok)
        if done is not None and done[0] == "path":
            version = done[1]
        else:
            meta = self._require_metadata(name)
            current = self._current(name, meta)
            intent = _Intent.decode(custom.get(INTENT))
            mine = intent is not None and intent.token == tok
            current_data = self._read(name, current)
            if data_fingerprint(current_data) == data_fingerprint(data) and not mine:
                version = current  # already restored
            else:
                written = _versions_list(self._custom(meta).get(WRITTEN))
                if current not in written and not mine:
                    raise BackendError(
                        f"version {current} of {self.mount}/{name} was written outside "
                        "LeakGuard: rolling back would revert it",
                        hint="inspect the secret; restore it by hand if that is what you want",
                    )
                version = self._write_once(staging, "path", name, data, tok, self._latest(meta))
                self._mark_written(name, self._read_metadata(name), version, current)
            self._finish(staging, tok, "path", version, version, None)
        meta = self._require_metadata(name)
        now = self._current(name, meta)
        served = self._read(name, now)
        if data_fingerprint(served) != data_fingerprint(data):
            raise BackendError(
                f"rolled {self.mount}/{name} back to version {target}, but version {now} with "
                "other data is what consumers read",
                hint="someone wrote the secret meanwhile: inspect it",
            )
        return self._version(name, meta, now, data)

    def discard_pending(self, name: str, version_id: str) -> None:
        """Unstage ``version_id``: the staged value is soft-deleted from the staging entry
        (``bao kv undelete`` brings it back); the path consumers read is never touched."""
        version = _int(version_id, name)
        staging = self.staging_path(name)
        ledger, custom, pending = self._staged(name)
        if pending is None or pending.promised != version:
            return
        if pending.staged in self._live(ledger):
            self._call(
                f"delete staged value of {name}",
                lambda: self._kv().delete_secret_versions(
                    path=staging, versions=[pending.staged], mount_point=self.mount
                ),
            )
        custom[PENDING] = ""
        self._write_metadata(staging, ledger, custom)


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
    return json.dumps(value, sort_keys=True)
