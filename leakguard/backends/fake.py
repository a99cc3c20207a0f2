"""In-memory :class:`SecretStore`, :class:`KeyIssuer` and :class:`Containment` for the dry-run
planner (and unit tests of code that calls backends). Nothing here talks to a network.

They follow the same contract as the real backends (the store contract tests run against all
three), so a plan computed against them shows the versions and keys a run would create. Every
mutating call is appended to ``writes`` so a planner can list them, and a test can prove that a
plan never reached a real backend.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from leakguard.backends.interface import (
    CURRENT_STAGE,
    PENDING_STAGE,
    PREVIOUS_STAGE,
    IssuedKey,
    KeyState,
    SecretData,
    StoredVersion,
    data_fingerprint,
)
from leakguard.errors import BackendError


@dataclass
class _Secret:
    versions: dict[str, SecretData] = field(default_factory=dict)
    stages: dict[str, set[str]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def holder(self, stage: str) -> str | None:
        return next((v for v, s in self.stages.items() if stage in s), None)

    def move(self, stage: str, version_id: str) -> None:
        for stages in self.stages.values():
            stages.discard(stage)
        self.stages[version_id].add(stage)


class FakeStore:
    kind = "fake"

    def __init__(self, secrets: Mapping[str, SecretData] | None = None) -> None:
        self._secrets: dict[str, _Secret] = {}
        self.writes: list[tuple[str, str, str]] = []
        for name, data in (secrets or {}).items():
            self.seed(name, data)

    def seed(self, name: str, data: SecretData) -> StoredVersion:
        """Create a secret whose only version is current (not recorded as a write)."""
        secret = self._secrets.setdefault(name, _Secret())
        version_id = self._add(secret, data)
        if secret.holder(CURRENT_STAGE) is not None:
            secret.move(PREVIOUS_STAGE, secret.holder(CURRENT_STAGE) or "")
        secret.move(CURRENT_STAGE, version_id)
        return self._version(secret, version_id)

    def _secret(self, name: str) -> _Secret:
        try:
            return self._secrets[name]
        except KeyError:
            raise BackendError(f"fake secret {name} does not exist") from None

    @staticmethod
    def _add(secret: _Secret, data: SecretData) -> str:
        version_id = str(len(secret.versions) + 1)
        secret.versions[version_id] = dict(data)
        secret.stages[version_id] = set()
        return version_id

    @staticmethod
    def _version(secret: _Secret, version_id: str) -> StoredVersion:
        return StoredVersion(
            version_id,
            tuple(sorted(secret.stages[version_id])),
            data_fingerprint(secret.versions[version_id]),
        )

    def _write_once(self, name: str, data: SecretData, token: str) -> tuple[_Secret, str, bool]:
        secret = self._secret(name)
        existing = secret.tokens.get(token)
        if existing is not None:
            if data_fingerprint(secret.versions[existing]) != data_fingerprint(data):
                raise BackendError(
                    f"version {existing} of {name} was written by this step with different data"
                )
            return secret, existing, False
        version_id = self._add(secret, data)
        secret.tokens[token] = version_id
        return secret, version_id, True

    def read_current(self, name: str) -> tuple[StoredVersion, SecretData]:
        secret = self._secret(name)
        version_id = secret.holder(CURRENT_STAGE)
        if version_id is None:
            raise BackendError(f"fake secret {name} has no current version")
        return self._version(secret, version_id), dict(secret.versions[version_id])

    def read_version(self, name: str, version_id: str) -> SecretData:
        secret = self._secret(name)
        if version_id not in secret.versions:
            raise BackendError(f"fake secret {name} has no version {version_id}")
        return dict(secret.versions[version_id])

    def list_versions(self, name: str) -> list[StoredVersion]:
        secret = self._secret(name)
        return [self._version(secret, v) for v in secret.versions]

    def put_pending(self, name: str, data: SecretData, token: str) -> StoredVersion:
        secret = self._secret(name)
        dangling = secret.holder(PENDING_STAGE)
        if dangling is not None and secret.tokens.get(token) != dangling:
            raise BackendError(f"fake secret {name} already has a pending version {dangling}")
        secret, version_id, fresh = self._write_once(name, data, token)
        if fresh:
            secret.move(PENDING_STAGE, version_id)
            self.writes.append(("put_pending", name, version_id))
        return self._version(secret, version_id)

    def pending(self, name: str) -> StoredVersion | None:
        secret = self._secret(name)
        version_id = secret.holder(PENDING_STAGE)
        return None if version_id is None else self._version(secret, version_id)

    def promote(self, name: str, version_id: str, token: str) -> StoredVersion:
        secret = self._secret(name)
        if version_id not in secret.versions:
            raise BackendError(f"fake secret {name} has no version {version_id}")
        current = secret.holder(CURRENT_STAGE)
        if current != version_id:
            if current is not None:
                secret.move(PREVIOUS_STAGE, current)
            secret.move(CURRENT_STAGE, version_id)
            self.writes.append(("promote", name, version_id))
        secret.stages[version_id].discard(PENDING_STAGE)
        return self._version(secret, version_id)

    def rollback(self, name: str, to_version_id: str, token: str) -> StoredVersion:
        data = self.read_version(name, to_version_id)
        secret, version_id, fresh = self._write_once(name, data, token)
        if fresh:
            self.writes.append(("rollback", name, version_id))
            current = secret.holder(CURRENT_STAGE)
            if current is not None:
                secret.move(PREVIOUS_STAGE, current)
            secret.move(CURRENT_STAGE, version_id)
        return self._version(secret, version_id)

    def discard_pending(self, name: str, version_id: str) -> None:
        secret = self._secret(name)
        stages = secret.stages.get(version_id, set())
        if PENDING_STAGE in stages:
            stages.discard(PENDING_STAGE)
            self.writes.append(("discard_pending", name, version_id))


@dataclass
class _Key:
    key: IssuedKey
    status: str = "active"


class FakeIssuer:
    """Issues obviously fake keys (``fake-<hash>``); ``works`` follows AWS: only an existing,
    active key authenticates. Also a :class:`Containment`."""

    def __init__(self, kind: str = "fake") -> None:
        self.kind = kind
        self._keys: dict[str, dict[str, _Key]] = {}
        self._tokens: dict[tuple[str, str], str] = {}
        self.contained: dict[str, set[str]] = {}
        self.writes: list[tuple[str, str, str]] = []

    def add_existing(self, subject: str, key_id: str, status: str = "active") -> None:
        secret = {"key_id": key_id, "secret": f"fake-existing-{key_id}"}
        key = IssuedKey(key_id, subject, secret, data_fingerprint(secret))
        self._keys.setdefault(subject, {})[key_id] = _Key(key, status)

    def list_keys(self, subject: str) -> list[KeyState]:
        return [KeyState(k, v.status) for k, v in self._keys.get(subject, {}).items()]

    def issue(self, subject: str, token: str) -> IssuedKey:
        known = self._tokens.get((subject, token))
        if known is not None and known in self._keys.get(subject, {}):
            return self._keys[subject][known].key
        digest = hashlib.sha256(f"{subject}\0{token}".encode()).hexdigest()
        key_id = "FAKE" + digest[:16].upper()
        secret = {"key_id": key_id, "secret": "fake-" + digest[16:48]}
        key = IssuedKey(key_id, subject, secret, data_fingerprint(secret))
        self._keys.setdefault(subject, {})[key_id] = _Key(key)
        self._tokens[(subject, token)] = key_id
        self.writes.append(("issue", subject, key_id))
        return key

    def works(self, key: IssuedKey | SecretData) -> bool:
        data = key.secret if isinstance(key, IssuedKey) else key
        for keys in self._keys.values():
            held = keys.get(data.get("key_id", ""))
            if held is not None and held.key.secret == data:
                return held.status == "active"
        return False

    def _key(self, subject: str, key_id: str) -> _Key:
        try:
            return self._keys[subject][key_id]
        except KeyError:
            raise BackendError(f"fake subject {subject} has no key {key_id}") from None

    def deactivate(self, subject: str, key_id: str) -> None:
        self._key(subject, key_id).status = "inactive"
        self.writes.append(("deactivate", subject, key_id))

    def activate(self, subject: str, key_id: str) -> None:
        self._key(subject, key_id).status = "active"
        self.writes.append(("activate", subject, key_id))

    def delete(self, subject: str, key_id: str) -> None:
        if self._keys.get(subject, {}).pop(key_id, None) is not None:
            self.writes.append(("delete", subject, key_id))

    def contain(self, subject: str, token: str) -> str:
        name = "leakguard-containment-" + hashlib.sha256(token.encode()).hexdigest()[:16]
        if name not in self.contained.setdefault(subject, set()):
            self.contained[subject].add(name)
            self.writes.append(("contain", subject, name))
        return name

    def release(self, subject: str, containment_id: str) -> None:
        if containment_id in self.contained.get(subject, set()):
            self.contained[subject].discard(containment_id)
            self.writes.append(("release", subject, containment_id))
