"""Verify stage: the new credential works, every consumer moved, the old one is dead, and the
leak locations were scanned again.

``verify.consumers_moved`` reads Vault/OpenBao audit logs and CloudTrail files (parsed by
:mod:`leakguard.graph.evidence`) for reads of the store entry since the promotion, records them
in the graph, and blocks with :class:`NotYet` while any consumer of the entry has no such read:
``wait_until`` polls it, and the error names the consumers still on the old version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from leakguard.backends.interface import SecretData
from leakguard.errors import BackendError, PlaybookError
from leakguard.graph.interface import ReadEvent, StoreRef
from leakguard.redact import redact
from leakguard.rotation.actions._common import (
    flag,
    optional,
    parse_time,
    same_entry,
    secret,
    store_ref,
    strings,
    text,
)
from leakguard.rotation.actions.aws_iam import IamLike
from leakguard.rotation.actions.graph import graph_of
from leakguard.rotation.interface import (
    Action,
    ActionContext,
    ActionSpec,
    NotYet,
    Outputs,
    Param,
)

_OTHER_STAGES = frozenset({"AWSPENDING", "AWSPREVIOUS"})

EvidenceReader = Callable[[str, datetime], Iterator[ReadEvent]]


def _vault_reads(path: str, since: datetime) -> Iterator[ReadEvent]:
    from leakguard.graph import evidence

    return evidence.vault_audit_reads(Path(path), since=since.isoformat())


def _cloudtrail_reads(path: str, since: datetime) -> Iterator[ReadEvent]:
    from leakguard.graph import evidence

    return evidence.cloudtrail_reads([Path(path)], since=since.isoformat())


def read_events(
    params: Mapping[str, Any],
    since: datetime,
    readers: Mapping[str, EvidenceReader] | None = None,
) -> list[ReadEvent]:
    readers = readers or {"audit_log": _vault_reads, "cloudtrail": _cloudtrail_reads}
    events: list[ReadEvent] = []
    for key, reader in readers.items():
        for path in strings(params, key):
            if not Path(path).exists():
                raise PlaybookError(
                    f"evidence file {path} does not exist", hint=f"check the {key}: parameter"
                )
            events.extend(reader(path, since))
    return events


def _at_least(read: str | None, wanted: str) -> bool:
    """A read of ``wanted`` or a later version (KV v2 numbers; a rollback copies forward).
    A read without a version, or of AWSCURRENT, happened after the promotion: it is new."""
    if read is None or read in ("", "AWSCURRENT") or read == wanted:
        return True
    return read.isdigit() and wanted.isdigit() and int(read) >= int(wanted)


def moved_since(
    ref: StoreRef, events: Iterable[ReadEvent], since: datetime, version: str | None
) -> set[str]:
    """Identities with a read of ``ref`` at or after ``since`` (of ``version``, when the
    evidence shows which version was read)."""
    seen: set[str] = set()
    for event in events:
        if not same_entry(event.store, ref):
            continue
        if parse_time(event.at, "read time") < since:
            continue
        if event.version in _OTHER_STAGES:
            continue
        if version is not None and not _at_least(event.version, version):
            continue
        seen.add(event.identity)
    return seen


def consumers_moved(
    ctx: ActionContext,
    params: Mapping[str, Any],
    readers: Mapping[str, EvidenceReader] | None = None,
) -> Outputs:
    store = ctx.store(text(params, "backend"))
    name = text(params, "name")
    ref = store_ref(store, name)
    since = parse_time(text(params, "since"), "since")
    version = optional(params, "version") or store.read_current(name)[0].version_id
    events = read_events(params, since, readers)
    if ctx.graph is None and not flag(params, "require_consumers"):
        ctx.log("no dependency graph is loaded: no consumer can be checked")
        consumers = []
    else:
        graph = graph_of(ctx)
        if events:
            graph.add_reads(events)
        consumers = graph.consumers_of_store(ref)
    if not consumers:
        if flag(params, "require_consumers"):
            raise PlaybookError(
                f"no consumer of {ref.id} is known, so none can be shown to have moved",
                hint="add its consumers to the inventory, then resume",
            )
        return {
            "moved": [],
            "stale": [],
            "consumers": 0,
            "unknown_consumers": True,
            "version": version,
            "events": len(events),
        }
    readers_seen = moved_since(ref, events, since, version)
    moved = sorted(c.name for c in consumers if readers_seen & set(c.identities))
    stale = sorted(c.name for c in consumers if not readers_seen & set(c.identities))
    if stale:
        raise NotYet(
            f"{len(stale)} consumer(s) of {ref.id} have not read version {version} since "
            f"{since.isoformat()}: {', '.join(stale)}",
            hint="reload them (or check their audit/CloudTrail evidence), then resume",
            details={"stale": stale, "moved": moved},
        )
    return {
        "moved": moved,
        "stale": [],
        "consumers": len(consumers),
        "unknown_consumers": False,
        "version": version,
        "events": len(events),
    }


def _staged_holds(staged: SecretData, issued: SecretData, field: str | None) -> bool:
    if field:
        return len(issued) == 1 and staged.get(field) == next(iter(issued.values()))
    return all(staged.get(k) == v for k, v in issued.items())


def new_credential_works(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    """With ``secret``: that credential; with ``store``/``name`` (and ``version``): the staged
    or current version. With both, the stored version must hold the issued value (testSecret)."""
    issuer = ctx.issuer(text(params, "backend"))
    issued = secret(ctx, params.get("secret"), "secret") if params.get("secret") else None
    stored: SecretData | None = None
    if params.get("store"):
        store = ctx.store(text(params, "store"))
        name = text(params, "name")
        version = optional(params, "version")
        stored = store.read_version(name, version) if version else store.read_current(name)[1]
        if issued is not None and not _staged_holds(stored, issued, optional(params, "field")):
            raise BackendError(
                f"the stored version of {name} does not hold the new credential",
                hint="the secret changed under LeakGuard; inspect it, then resume",
            )
    credential = issued if issued is not None else stored
    if credential is None:
        raise PlaybookError("verify.new_credential_works needs secret:, or store: and name:")
    if not issuer.works(credential):
        raise NotYet(
            f"the new credential does not work yet ({issuer.kind})",
            hint="new keys can take seconds to propagate; if it persists, check the issuer",
        )
    return {"works": True, "checked_with": issuer.kind}


def old_revoked(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    key_id = optional(params, "key_id")
    if key_id:
        issuer = ctx.issuer(text(params, "backend"))
        if not isinstance(issuer, IamLike):
            raise PlaybookError(
                f"{issuer.kind} issuers cannot prove a key dead",
                hint="check the old version in the store instead (store:, name:, old_version:)",
            )
        since = parse_time(text(params, "deactivated_at"), "deactivated_at")
        proof = issuer.proven_dead(text(params, "user"), key_id, since)
        if not proof.dead:
            raise BackendError(
                f"old key {redact(key_id)} is not proven dead: {proof.reason}",
                hint="find the consumer still presenting it (CloudTrail), move it, then resume",
            )
        return {
            "dead": True,
            "status": proof.status,
            "last_used": proof.last_used,
            "reason": proof.reason,
        }
    store = ctx.store(text(params, "store"))
    name, old = text(params, "name"), text(params, "old_version")
    current, _ = store.read_current(name)
    if current.version_id == old:
        raise BackendError(
            f"version {old} of {name} is still the current version",
            hint="the promotion did not happen or was rolled back; inspect the store",
        )
    return {
        "dead": True,
        "status": "superseded",
        "current_version": current.version_id,
        "reason": f"version {old} is no longer served as current",
    }


def rescan(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    from leakguard.options import ScanOptions
    from leakguard.scanner import run_scan

    targets = strings(params, "targets")
    if not targets:
        return {"scanned": [], "still_present": False, "locations": [], "skipped": True}
    credential = text(params, "credential")
    result = run_scan(targets, ScanOptions(jobs=1))
    hits = [f for f in result.findings if f.fingerprint.startswith(credential)]
    locations = sorted({f"{f.location.path}:{f.location.line}" for f in hits})
    if hits:
        ctx.log(f"the credential is still present at {len(locations)} location(s)")
    if hits and flag(params, "fail_if_present"):
        raise BackendError(
            f"the leaked credential is still present at {len(locations)} location(s)",
            hint="remove it from those files (and rewrite history if needed), then resume",
        )
    return {
        "scanned": targets,
        "still_present": bool(hits),
        "locations": locations,
        "skipped": False,
    }


STORE = Param("string", help="a store backend name")

ACTIONS = (
    Action(
        ActionSpec(
            "verify.new_credential_works",
            "The new credential authenticates (IAM: STS GetCallerIdentity; others: shape); "
            "not yet working is retried",
            mutating=False,
            params={
                "backend": Param("string", help="the issuer that checks it"),
                "secret": Param("string", False, "a secret handle; or read it from a store"),
                "store": Param("string", False, "a store backend, with name"),
                "name": Param("string", False),
                "version": Param("string", False, "a staged version (testSecret)"),
                "field": Param("string", False, "the store field holding a one-field secret"),
            },
        ),
        new_credential_works,
    ),
    Action(
        ActionSpec(
            "verify.consumers_moved",
            "Every consumer of the store entry read the new version since promotion (audit "
            "log / CloudTrail evidence); the rest block completion",
            mutating=False,
            params={
                "backend": STORE,
                "name": Param("string"),
                "since": Param("string", help="promoted_at of store.promote"),
                "version": Param("string", False, "default: the current version"),
                "audit_log": Param("list", False, "Vault/OpenBao file audit logs"),
                "cloudtrail": Param("list", False, "CloudTrail JSON files (.json/.json.gz)"),
                "require_consumers": Param("bool", False, "fail when no consumer is known"),
            },
        ),
        consumers_moved,
    ),
    Action(
        ActionSpec(
            "verify.old_revoked",
            "IAM: the old key is proven dead (deleted, or inactive and unused since); "
            "stores: the old version is no longer current",
            mutating=False,
            params={
                "backend": Param("string", False, "aws-iam issuer (with user, key_id)"),
                "user": Param("string", False),
                "key_id": Param("string", False),
                "deactivated_at": Param("string", False, "from aws.iam.deactivate_access_key"),
                "store": Param("string", False, "a store backend (with name, old_version)"),
                "name": Param("string", False),
                "old_version": Param("string", False),
            },
        ),
        old_revoked,
    ),
    Action(
        ActionSpec(
            "verify.rescan",
            "Scan the leak locations again and record whether the credential is still there",
            mutating=False,
            params={
                "targets": Param("list", False, "files, directories or repositories"),
                "credential": Param("string", help="fingerprint (or prefix) of the credential"),
                "fail_if_present": Param("bool", False, "block completion while it is present"),
            },
        ),
        rescan,
    ),
)
