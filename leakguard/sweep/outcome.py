"""What a sweep produced, as read back from the store: the value the reports render."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from leakguard.model import Severity
from leakguard.store.findings import StoredCredential


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

    @property
    def new_fingerprints(self) -> set[str]:
        return {c.fingerprint for c in self.new}

    @property
    def failed(self) -> tuple[TargetReport, ...]:
        return tuple(t for t in self.targets if t.status != "ok")

    def alerting(self, floor: Severity = Severity.HIGH) -> list[StoredCredential]:
        """New credentials severe enough to alert on (exit code 1)."""
        return [c for c in self.new if c.severity >= floor]

    def by_severity(self) -> dict[str, int]:
        counts = Counter(c.severity for c in self.credentials)
        return {s.label: counts.get(s, 0) for s in sorted(Severity, reverse=True)}

    def by_provider(self) -> dict[str, int]:
        return dict(sorted(Counter(c.provider for c in self.credentials).items()))
