"""The dependency graph's public face: node and edge kinds, the values its queries return, and
the :class:`GraphQueries` protocol the playbook engine codes against.

Identities are strings with a scheme, so evidence from different sources compares equal:

* ``vault-approle:<role_name>`` — a Vault/OpenBao AppRole login (audit ``auth.metadata.role_name``)
* ``vault-entity:<entity_id>`` — a Vault/OpenBao identity entity (audit ``auth.entity_id``)
* ``vault-token:<display_name>`` — a token with neither (audit ``auth.display_name``)
* ``aws:<arn>`` — an IAM user or role (CloudTrail ``userIdentity.arn``; an assumed-role session
  ARN ``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`` is normalised to the role ARN
  ``arn:aws:iam::ACCOUNT:role/ROLE``)

Store entries are named by :class:`StoreRef`; its ``id`` is the graph node id.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


class NodeKind(enum.StrEnum):
    CREDENTIAL = "credential"
    LEAK = "leak"  # a leak location: repository+commit+path+line, bundle, log, URL
    STORE_ENTRY = "store_entry"  # a Vault KV v2 path or an AWS Secrets Manager secret
    CONSUMER = "consumer"  # service, job, CI pipeline, function, third party
    IDENTITY = "identity"  # IAM user/role, Vault entity, AppRole role
    ENVIRONMENT = "environment"


class EdgeKind(enum.StrEnum):
    LEAKED_AT = "leaked_at"  # credential -> leak
    STORED_IN = "stored_in"  # credential -> store_entry
    READS = "reads"  # consumer -> store_entry
    USES = "uses"  # consumer -> credential
    AUTHENTICATES_AS = "authenticates_as"  # consumer -> identity (or credential -> identity)
    RUNS_IN = "runs_in"  # consumer -> environment


@dataclass(frozen=True, slots=True)
class Evidence:
    """Who said an edge exists, and when. ``source`` names the builder and its input, e.g.
    ``inventory:leakguard.yaml``, ``vault-audit:/var/log/bao/audit.log``, ``scan:repo``."""

    source: str
    observed_at: str  # ISO 8601, UTC
    detail: str = ""


@dataclass(frozen=True, slots=True)
class StoreRef:
    """A secret-store entry: ``backend`` is ``vault-kv2`` or ``aws-secretsmanager``; for Vault,
    ``mount`` and ``path`` (``secret``, ``payments/stripe``); for Secrets Manager ``mount`` is
    None and ``path`` is the secret name (or ARN as given)."""

    backend: str
    path: str
    mount: str | None = None

    @property
    def id(self) -> str:
        where = f"{self.mount}/{self.path}" if self.mount else self.path
        return f"store:{self.backend}:{where}"


@dataclass(frozen=True, slots=True)
class Reload:
    """How a consumer picks up a new secret version."""

    kind: str = "none"  # command | webhook | none
    target: str | None = None  # the command line or URL


@dataclass(frozen=True, slots=True)
class ConsumerInfo:
    id: str  # graph node id, e.g. "consumer:payments-api"
    name: str
    kind: str = "service"  # service | job | ci | function | third-party
    reload: Reload = Reload()
    identities: tuple[str, ...] = ()  # schemed identity strings (see module doc)
    environment: str | None = None


@dataclass(frozen=True, slots=True)
class ReadEvent:
    """One read of a store entry, from a Vault audit log or a CloudTrail GetSecretValue event."""

    store: StoreRef
    identity: str  # schemed identity string
    at: str  # ISO 8601, UTC
    version: str | None = None  # the version read, when the evidence shows it
    source: str = ""
    remote_address: str | None = None
    display_name: str | None = None  # the audit entry's auth.display_name, shown with an entity


@dataclass(frozen=True, slots=True)
class KeyUse:
    """A request signed with an AWS access key (CloudTrail ``userIdentity.accessKeyId``): the
    key id's fingerprint (never the id), and the IAM identity and account AWS names for it."""

    key_id: str  # fingerprint of the access key id: matches a credential's aws_access_key_id part
    at: str  # ISO 8601, UTC
    identity: str | None = None  # aws:<arn>, an assumed-role session as its role
    account: str | None = None
    user: str | None = None  # the IAM user name, when the key is a user's
    event: str = ""  # e.g. s3:ListBuckets
    source: str = ""


@dataclass(frozen=True, slots=True)
class BlastRadius:
    credential: str  # fingerprint
    consumers: tuple[ConsumerInfo, ...] = ()
    stores: tuple[StoreRef, ...] = ()
    identities: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    leaks: tuple[str, ...] = ()  # leak node ids
    unknown_consumers: bool = False  # no consumer is known: close the gap before rotating


@dataclass(frozen=True, slots=True)
class RotationOrder:
    """Groups to rotate in order: each group is credentials that share consumers; within a
    step, stores come before the consumers that reload from them. Cycles are reported."""

    groups: tuple[tuple[str, ...], ...] = ()
    steps: tuple[str, ...] = ()  # node ids in a safe order
    cycles: tuple[tuple[str, ...], ...] = field(default_factory=tuple)
    # one line per credential with no known store or no known consumer: rotating it blind
    # leaves copies unrotated or consumers broken
    warnings: tuple[str, ...] = ()


@runtime_checkable
class GraphQueries(Protocol):
    """What the playbook engine asks of the graph (``graph.consumers`` and verify)."""

    def blast_radius(self, credential: str) -> BlastRadius:
        """Everything that depends on the credential (a fingerprint or unique prefix)."""
        ...

    def consumers_of(self, credential: str) -> list[ConsumerInfo]: ...

    def consumers_of_store(self, store: StoreRef) -> list[ConsumerInfo]: ...

    def stores_of(self, credential: str) -> list[StoreRef]: ...

    def stale_consumers(
        self, store: StoreRef, since: str, version: str | None = None
    ) -> list[ConsumerInfo]:
        """Consumers of ``store`` with no read since ``since`` (ISO 8601), or, when ``version``
        is given and the evidence carries versions, no read of that version since then."""
        ...

    def rotation_order(self, credentials: Sequence[str]) -> RotationOrder: ...

    def unknown_consumers(self) -> list[str]:
        """Fingerprints of credentials with no known consumer."""
        ...

    def add_reads(self, events: Iterable[ReadEvent]) -> int:
        """Record read evidence (reads edges with last read time and version); returns how
        many events were new."""
        ...


@runtime_checkable
class PartsQueries(Protocol):
    """What the graph knows about a credential with parts, and which fields of a store entry
    hold it: both graph implementations (in memory, and the stored view) provide it. Kept apart
    from :class:`GraphQueries` so that existing implementations and fakes stay valid."""

    def fields_holding(self, credential: str, store: StoreRef) -> dict[str, str]:
        """field -> part name (``""`` for the whole credential) of the fields of ``store``
        that held the credential or a part of it when the store was last listed."""
        ...

    def parts_of(self, credential: str) -> dict[str, str]:
        """part name -> fingerprint of the credential's parts (empty for a one-part secret)."""
        ...
