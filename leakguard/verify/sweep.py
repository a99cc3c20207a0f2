"""Verification inside a sweep (``leakguard sweep --verify``): each worker asks about the new
credentials of the target it just scanned, while their values are still in its memory.

A credential is asked about when the findings store does not know it yet and no fresh answer
(younger than the TTL) is cached for it. The worker only reads the store; the answers travel
back in the target's outcome and the sweep's parent alone writes them (the findings with their
answer and adjusted severity, and the cache). Values never leave the worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from leakguard.errors import LeakguardError
from leakguard.model import Finding, LiveCheck, ScanResult
from leakguard.verify.runner import ResultCache, VerifyOptions, apply, plan, verify_findings


@dataclass(frozen=True, slots=True)
class SweepVerify:
    """What a sweep worker does about live verification (``None`` in the settings: nothing)."""

    options: VerifyOptions = field(default_factory=VerifyOptions)
    dry_run: bool = False  # list what would be called, call nothing


@dataclass(frozen=True, slots=True)
class Verified:
    """A target's scan with its new credentials' answers applied (values dropped), the answers
    the provider gave during this sweep (to cache) and notes for the report: what a dry run
    would call, or why the target's credentials could not be verified."""

    result: ScanResult
    answers: Mapping[str, LiveCheck] = field(default_factory=dict)
    fresh: Mapping[str, LiveCheck] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


class _ReadOnlyCache:
    """The store's cached answers, read; new answers are kept here for the parent to write."""

    def __init__(self, cache: ResultCache) -> None:
        self.cache = cache
        self.fresh: dict[str, LiveCheck] = {}

    def get(self, fingerprint: str, max_age: float) -> LiveCheck | None:
        return self.cache.get(fingerprint, max_age)

    def put(self, fingerprint: str, result: LiveCheck) -> None:
        self.fresh[fingerprint] = result


def _known(db: Path, findings: tuple[Finding, ...]) -> set[str]:
    from leakguard.store.findings import CredentialFilter, FindingsStore

    wanted = tuple(sorted({f.fingerprint for f in findings}))
    if not wanted:
        return set()
    with FindingsStore.open(db) as store:
        found = store.credentials(CredentialFilter(fingerprints=wanted))
    return {c.fingerprint for c in found} & set(wanted)


def verify_new(result: ScanResult, db: Path, verify: SweepVerify) -> Verified:
    """Ask about the credentials of ``result`` (a scan that kept its values in memory) that
    ``db`` does not know yet; drop every value before returning. A failure to verify (the
    store cannot be read) keeps the scan, without values and without answers, and says why."""
    try:
        return _verify_new(result, db, verify)
    except LeakguardError as exc:
        label = ", ".join(result.targets)
        return Verified(without_values(result), notes=(f"{label}: not verified: {exc.message}",))


def _verify_new(result: ScanResult, db: Path, verify: SweepVerify) -> Verified:
    known = _known(db, result.findings)
    new = [f for f in result.findings if f.fingerprint not in known]
    if verify.dry_run:
        lines = tuple(
            f"{f.rule_id} {f.redacted}: would call "
            + (p.endpoint if p is not None else "nothing (no verifier for this format)")
            for f, p in plan(new, verify.options)
        )
        return Verified(apply(result, {}, keep_secrets=False), notes=lines)
    from leakguard.store.db import Database
    from leakguard.store.verifications import VerificationCache

    secrets = {f.fingerprint: f.secret for f in new if f.secret is not None}
    with Database.open(db) as database:
        cache = _ReadOnlyCache(VerificationCache(database))
        answers = verify_findings(new, secrets, verify.options, cache=cache)
    return Verified(apply(result, answers, keep_secrets=False), answers, dict(cache.fresh))


def without_values(result: ScanResult) -> ScanResult:
    """``result`` with every secret value dropped (a failed verification keeps none)."""
    return replace(result, findings=tuple(replace(f, secret=None) for f in result.findings))
