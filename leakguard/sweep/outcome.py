"""What a sweep produced, as read back from the store: the value the reports render."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from leakguard.errors import EXIT_FINDINGS, EXIT_OK
from leakguard.model import LiveCheck, LiveStatus, Severity
from leakguard.store.findings import StoredCredential

PLAYBOOK_PLAN = "leakguard playbook plan {playbook} -i credential={fingerprint}"


def rotation_playbook(credential: StoredCredential) -> str | None:
    """The playbook its rule names for rotation (carried in every stored finding)."""
    for occurrence in credential.occurrences:
        playbook = occurrence.finding.get("rotation")
        if isinstance(playbook, str) and playbook:
            return playbook
    return None


def next_command(credential: StoredCredential) -> str | None:
    """The exact command that plans this credential's rotation (a dry run), when its rule
    names a playbook."""
    playbook = rotation_playbook(credential)
    if playbook is None:
        return None
    return PLAYBOOK_PLAN.format(playbook=playbook, fingerprint=credential.fingerprint)


@dataclass(frozen=True, slots=True)
class TargetReport:
    target: str
    status: str  # ok | failed
    error: str | None
    findings: int
    new_credentials: int
    stats: dict[str, object]

    def to_dict(self) -> dict[str, object]:
        return {
            "target": self.target,
            "status": self.status,
            "error": self.error,
            "findings": self.findings,
            "new_credentials": self.new_credentials,
            "stats": self.stats,
        }


@dataclass(frozen=True, slots=True)
class SweepReport:
    sweep_id: int
    config: str
    db: str
    started_at: str
    finished_at: str
    seconds: float
    ruleset_version: str
    targets: tuple[TargetReport, ...]
    credentials: tuple[StoredCredential, ...]  # every credential seen in a swept target
    new: tuple[StoredCredential, ...]  # first seen by this sweep
    # --verify: the provider's answer about each new credential (severity already adjusted:
    # live raised one level, revoked lowered to low); notes: what a dry run would have called,
    # targets whose credentials could not be verified
    verified: bool = False
    verifications: Mapping[str, LiveCheck] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def new_fingerprints(self) -> set[str]:
        return {c.fingerprint for c in self.new}

    @property
    def failed(self) -> tuple[TargetReport, ...]:
        return tuple(t for t in self.targets if t.status != "ok")

    def alerting(self, floor: Severity = Severity.HIGH) -> list[StoredCredential]:
        """New credentials severe enough to alert on (exit code 1)."""
        return [c for c in self.new if c.severity >= floor]

    def exit_code(self, *, fail_on_target_error: bool = False) -> int:
        """1 when new critical/high credentials appeared (or, when asked, a target failed)."""
        if self.alerting() or (fail_on_target_error and self.failed):
            return EXIT_FINDINGS
        return EXIT_OK

    def for_responder(self) -> tuple[StoredCredential, ...]:
        """Every credential, in the order a responder acts on them: new before known, most
        severe first, still present before removed."""
        new = self.new_fingerprints
        return tuple(
            sorted(
                self.credentials,
                key=lambda c: (c.fingerprint not in new, -c.severity, not c.present, c.rule_id),
            )
        )

    def verification(self, credential: StoredCredential) -> LiveCheck | None:
        return self.verifications.get(credential.fingerprint)

    def by_live_status(self) -> dict[str, int]:
        """How many new credentials the provider said are live, revoked or unknown."""
        counts = Counter(a.status for a in self.verifications.values())
        return {str(s): counts.get(s, 0) for s in LiveStatus}

    def by_severity(self) -> dict[str, int]:
        counts = Counter(c.severity for c in self.credentials)
        return {s.label: counts.get(s, 0) for s in sorted(Severity, reverse=True)}

    def by_provider(self) -> dict[str, int]:
        return dict(sorted(Counter(c.provider for c in self.credentials).items()))
