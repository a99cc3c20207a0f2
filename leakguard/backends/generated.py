"""Secrets the team owns and LeakGuard can mint itself: passwords, HMAC keys, webhook secrets.

There is nothing to revoke at a provider: the old value dies when every consumer has moved to
the new one and the store no longer serves it, so :meth:`deactivate` and :meth:`delete` only
record the request. :meth:`works` checks the value's shape; whether a consumer accepts it is a
playbook ``command`` check.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass

from leakguard.backends.interface import IssuedKey, KeyState, SecretData, data_fingerprint
from leakguard.errors import UsageError
from leakguard.redact import redact

ALPHABETS: Mapping[str, str] = {
    "alnum": string.ascii_letters + string.digits,
    "hex": "0123456789abcdef",
    "urlsafe": string.ascii_letters + string.digits + "-_",
    "password": string.ascii_letters + string.digits + "!#%+,-.:=@^_~",
}
MIN_LENGTH = 16


@dataclass(frozen=True)
class GeneratedSpec:
    """``alphabet`` is a name from :data:`ALPHABETS` or the literal characters to draw from."""

    length: int = 40
    alphabet: str = "alnum"
    prefix: str = ""
    field: str = "value"

    def __post_init__(self) -> None:
        if self.length < MIN_LENGTH:
            raise UsageError(
                f"a generated secret of {self.length} characters is too short",
                hint=f"use length {MIN_LENGTH} or more",
            )
        if len(set(self.characters)) < 16:
            raise UsageError(
                f"alphabet {self.alphabet!r} has fewer than 16 distinct characters",
                hint="use alnum, hex, urlsafe, password or a longer custom alphabet",
            )

    @property
    def characters(self) -> str:
        return ALPHABETS.get(self.alphabet, self.alphabet)

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> GeneratedSpec:
        """From playbook step parameters (``length``, ``alphabet``, ``prefix``, ``field``)."""
        unknown = set(params) - {"length", "alphabet", "prefix", "field"}
        if unknown:
            raise UsageError(f"unknown generated-secret parameter(s): {', '.join(sorted(unknown))}")
        try:
            length = int(str(params.get("length", 40)))
        except ValueError:
            raise UsageError("generated-secret length must be a number") from None
        return cls(
            length=length,
            alphabet=str(params.get("alphabet", "alnum")),
            prefix=str(params.get("prefix", "")),
            field=str(params.get("field", "value")),
        )


class GeneratedIssuer:
    kind = "generated"

    def __init__(self, spec: GeneratedSpec | None = None) -> None:
        self.spec = spec or GeneratedSpec()
        self._issued: dict[tuple[str, str], IssuedKey] = {}
        self.retired: list[tuple[str, str]] = []

    def generate(self) -> str:
        chars = self.spec.characters
        return self.spec.prefix + "".join(secrets.choice(chars) for _ in range(self.spec.length))

    def list_keys(self, subject: str) -> list[KeyState]:
        return [
            KeyState(key.key_id, "active")
            for (s, _), key in self._issued.items()
            if s == subject and (subject, key.key_id) not in self.retired
        ]

    def issue(self, subject: str, token: str) -> IssuedKey:
        """A fresh value; the same one again for the same token in this process. Values are
        never kept at rest: after a crash, read the staged value back from the store."""
        cached = self._issued.get((subject, token))
        if cached is not None:
            return cached
        value = self.generate()
        secret = {self.spec.field: value}
        key = IssuedKey(redact(value), subject, secret, data_fingerprint(secret))
        self._issued[(subject, token)] = key
        return key

    def works(self, key: IssuedKey | SecretData) -> bool:
        data = key.secret if isinstance(key, IssuedKey) else key
        value = data.get(self.spec.field)
        if value is None or not value.startswith(self.spec.prefix):
            return False
        body = value[len(self.spec.prefix) :]
        allowed = set(self.spec.characters)
        return len(body) >= self.spec.length and all(c in allowed for c in body)

    def deactivate(self, subject: str, key_id: str) -> None:
        self.retired.append((subject, key_id))

    def activate(self, subject: str, key_id: str) -> None:
        if (subject, key_id) in self.retired:
            self.retired.remove((subject, key_id))

    def delete(self, subject: str, key_id: str) -> None:
        self.deactivate(subject, key_id)
