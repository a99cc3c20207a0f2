"""A small :class:`ActionContext` of our own for action tests: named backends, the engine's
in-memory secret handles, a fake clock that ``sleep`` advances, collected log lines and scripted
answers."""

from __future__ import annotations

import itertools
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from leakguard.backends.aws_iam import Revocation
from leakguard.backends.interface import (
    Containment,
    IssuedKey,
    KeyIssuer,
    KeyState,
    SecretData,
    SecretStore,
    data_fingerprint,
)
from leakguard.errors import BackendError, PlaybookError
from leakguard.graph.interface import GraphQueries
from leakguard.rotation.context import SecretHandleStore
from leakguard.rotation.interface import Action, Mode, Outputs


@dataclass
class Ctx:
    stores: dict[str, SecretStore] = field(default_factory=dict)
    issuers: dict[str, KeyIssuer] = field(default_factory=dict)
    graph: GraphQueries | None = None
    mode: Mode = Mode.RUN
    time_scale: float = 1.0
    run_id: str = "run-1"
    step_id: str = "step"
    attempt: int = 1
    answers: list[str] = field(default_factory=list)
    clock: datetime = field(default_factory=lambda: datetime(2026, 5, 1, 12, 0, tzinfo=UTC))
    secrets: SecretHandleStore = field(default_factory=SecretHandleStore)
    logs: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    slept: list[float] = field(default_factory=list)
    real_time: bool = False  # integration tests: now() is the wall clock, sleep really sleeps

    @property
    def token(self) -> str:
        return f"{self.run_id}:{self.step_id}"

    def store(self, name: str) -> SecretStore:
        return self.stores[name]

    def issuer(self, name: str) -> KeyIssuer:
        return self.issuers[name]

    def containment(self, name: str) -> Containment:
        found = self.issuers[name]
        assert isinstance(found, Containment)
        return found

    def now(self) -> datetime:
        return datetime.now(UTC) if self.real_time else self.clock

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if self.real_time:
            time.sleep(seconds)
        else:
            self.clock += timedelta(seconds=seconds)

    def log(self, message: str) -> None:
        self.logs.append(message)

    def ask(self, prompt: str, *, secret: bool = False) -> str:
        self.asked.append(prompt)
        if not self.answers:
            raise PlaybookError("not interactive")
        return self.answers.pop(0)

    def run(self, action: Action, params: Mapping[str, Any], step: str | None = None) -> Outputs:
        if step is not None:
            self.step_id = step
        return action.run(self, params)


@dataclass
class _Key:
    key_id: str
    secret: str
    status: str = "active"
    last_used: datetime | None = None


class FakeIam:
    """IAM's rules that LeakGuard relies on: two keys per user, deleting only what exists,
    and a last-used date per key (set by tests to play a consumer presenting the key)."""

    kind = "aws-iam"

    def __init__(self) -> None:
        self.users: dict[str, list[_Key]] = {}
        self.policies: dict[str, set[str]] = {}
        self._issued: dict[str, IssuedKey] = {}
        self._ids = itertools.count(1)

    def add_user(self, user: str, keys: int = 1, status: str = "active") -> list[str]:
        self.users.setdefault(user, [])
        return [self._create(user, status).key_id for _ in range(keys)]

    def _create(self, user: str, status: str = "active") -> _Key:
        if len(self.users[user]) >= 2:
            raise BackendError(f"{user} already has two keys (LimitExceeded)")
        n = next(self._ids)
        key = _Key(f"AKIAFAKE{n:012d}", f"secret-{n}", status)
        self.users[user].append(key)
        return key

    def _key(self, user: str, key_id: str) -> _Key | None:
        return next((k for k in self.users[user] if k.key_id == key_id), None)

    def list_keys(self, subject: str) -> list[KeyState]:
        return [KeyState(k.key_id, k.status) for k in self.users[subject]]

    def free_slot(self, subject: str, *, keep: Collection[str] = ()) -> str | None:
        keys = self.users[subject]
        if len(keys) < 2:
            return None
        victims = [k for k in keys if k.status == "inactive" and k.key_id not in keep]
        if not victims:
            raise BackendError(f"{subject} has two keys and none may be deleted safely")
        keys.remove(victims[0])
        return victims[0].key_id

    def issue(self, subject: str, token: str, *, keep: Collection[str] = ()) -> IssuedKey:
        if token in self._issued:
            return self._issued[token]
        self.free_slot(subject, keep=keep)
        key = self._create(subject)
        data = {"aws_access_key_id": key.key_id, "aws_secret_access_key": key.secret}
        issued = IssuedKey(key.key_id, subject, data, data_fingerprint(data))
        self._issued[token] = issued
        return issued

    def works(self, key: IssuedKey | SecretData) -> bool:
        data = key.secret if isinstance(key, IssuedKey) else key
        for keys in self.users.values():
            for k in keys:
                if k.key_id == data.get("aws_access_key_id"):
                    return k.status == "active" and k.secret == data.get("aws_secret_access_key")
        return False

    def deactivate(self, subject: str, key_id: str, *, force: bool = False) -> None:
        key = self._key(subject, key_id)
        if key is None:
            raise BackendError(f"no key {key_id}")
        others = [k for k in self.users[subject] if k.key_id != key_id and k.status == "active"]
        if key.status == "active" and not others and not force:
            raise BackendError("the only active key")
        key.status = "inactive"

    def activate(self, subject: str, key_id: str) -> None:
        key = self._key(subject, key_id)
        assert key is not None
        key.status = "active"

    def delete(self, subject: str, key_id: str) -> None:
        key = self._key(subject, key_id)
        if key is None:
            return
        if key.status == "active":
            raise BackendError("refusing to delete an active key")
        self.users[subject].remove(key)

    def proven_dead(self, subject: str, key_id: str, deactivated_at: datetime) -> Revocation:
        key = self._key(subject, key_id)
        if key is None:
            return Revocation(key_id, True, "deleted", None, "gone")
        used = key.last_used.isoformat() if key.last_used else None
        if key.status == "active":
            return Revocation(key_id, False, "active", used, "still active")
        if key.last_used and key.last_used > deactivated_at:
            return Revocation(key_id, False, "inactive", used, "used after deactivation")
        return Revocation(key_id, True, "inactive", used, "inactive and unused since")

    def contain(self, subject: str, token: str) -> str:
        name = f"leakguard-containment-{abs(hash(token)) % 10**8}"
        self.policies.setdefault(subject, set()).add(name)
        return name

    def release(self, subject: str, containment_id: str) -> None:
        self.policies.get(subject, set()).discard(containment_id)
