"""What the playbook engine may ask of a secret store or a key issuer.

Two kinds of backend:

* a :class:`SecretStore` holds versions of a named secret and moves a "current" pointer between
  them (Vault/OpenBao KV v2, AWS Secrets Manager);
* a :class:`KeyIssuer` mints and revokes credentials for a subject (AWS IAM access keys, locally
  generated secrets, keys an operator rolls by hand in a provider's dashboard).

Every mutating call takes a ``token`` (run id + step id) and is idempotent per token: re-running
a step after a crash returns what the first attempt did and never writes twice. Backends raise
only :class:`leakguard.errors.BackendError`; ``transient=True`` means the caller may retry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from leakguard.redact import fingerprint

SecretData = dict[str, str]
"""A secret's fields. A plain-string Secrets Manager secret is ``{"value": s}`` and is written
back as a plain string."""

PLAIN_VALUE_KEY = "value"

PENDING_STAGE = "leakguard:pending"
CURRENT_STAGE = "leakguard:current"
PREVIOUS_STAGE = "leakguard:previous"


def data_fingerprint(data: Mapping[str, str]) -> str:
    """sha256 of the canonical JSON of a secret's fields: equal data, equal fingerprint."""
    canonical = json.dumps(dict(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return fingerprint(canonical)


@dataclass(frozen=True)
class StoredVersion:
    """One version of a stored secret, without its value."""

    version_id: str
    stages: tuple[str, ...]
    """e.g. ``("AWSCURRENT",)`` or ``("leakguard:pending",)``"""
    fingerprint: str
    created: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_current(self) -> bool:
        return "AWSCURRENT" in self.stages or CURRENT_STAGE in self.stages

    @property
    def is_pending(self) -> bool:
        return "AWSPENDING" in self.stages or PENDING_STAGE in self.stages


@runtime_checkable
class SecretStore(Protocol):
    kind: str
    """``"vault-kv2"`` | ``"aws-secretsmanager"`` | ``"fake"``"""

    def read_current(self, name: str) -> tuple[StoredVersion, SecretData]: ...

    def read_version(self, name: str, version_id: str) -> SecretData: ...

    def list_versions(self, name: str) -> list[StoredVersion]: ...

    def put_pending(self, name: str, data: SecretData, token: str) -> StoredVersion:
        """Stage ``data`` as a new, not yet current version. Idempotent per ``token``: a re-run
        returns the same version and never writes twice; the same token with different data
        raises :class:`BackendError`. Refuses while another token's pending version exists
        (find it with :meth:`pending`; promote or discard it first)."""
        ...

    def pending(self, name: str) -> StoredVersion | None:
        """The staged version not yet promoted, e.g. dangling from an earlier failed run."""
        ...

    def promote(self, name: str, version_id: str, token: str) -> StoredVersion:
        """Make ``version_id`` current; the previous current stays readable. Idempotent."""
        ...

    def rollback(self, name: str, to_version_id: str, token: str) -> StoredVersion:
        """Copy ``to_version_id`` forward as the current version. Idempotent per ``token``."""
        ...

    def discard_pending(self, name: str, version_id: str) -> None:
        """Unstage a pending version (its data stays in history until the store expires it)."""
        ...


@runtime_checkable
class SecretLister(Protocol):
    """Read-only enumeration of a store's secrets (the dependency graph's store builder)."""

    def list_names(self, prefix: str = "") -> list[str]: ...


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    subject: str
    secret: SecretData = field(repr=False)
    fingerprint: str


@dataclass(frozen=True)
class KeyState:
    key_id: str
    status: str
    """``"active"`` | ``"inactive"``"""
    created: str | None = None


@runtime_checkable
class KeyIssuer(Protocol):
    kind: str
    """``"aws-iam"`` | ``"generated"`` | ``"manual"``"""

    def list_keys(self, subject: str) -> list[KeyState]: ...

    def issue(self, subject: str, token: str) -> IssuedKey:
        """Mint a new credential for ``subject``. Idempotent per ``token``."""
        ...

    def works(self, key: IssuedKey | SecretData) -> bool:
        """Does the credential authenticate? (AWS: STS GetCallerIdentity.) A ``False`` from an
        inactive key is not proof it is dead on every backend: see ``IamKeyIssuer.proven_dead``."""
        ...

    def deactivate(self, subject: str, key_id: str) -> None: ...

    def activate(self, subject: str, key_id: str) -> None:
        """Compensation for :meth:`deactivate`."""
        ...

    def delete(self, subject: str, key_id: str) -> None: ...


@runtime_checkable
class Containment(Protocol):
    def contain(self, subject: str, token: str) -> str:
        """Restrict what ``subject`` can do; returns an id of what was attached (e.g. the IAM
        deny policy name). Idempotent per ``token``."""
        ...

    def release(self, subject: str, containment_id: str) -> None: ...
