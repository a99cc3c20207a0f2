"""Baselines: a file of credential fingerprints to stop reporting (never the secrets).

The file is JSON, versioned, and keyed by the secret's fingerprint only, so a baselined
credential stays suppressed when its line moves, its file is renamed or its commit is rebased::

    {"version": 2, "tool": "leakguard 0.1.0",
     "credentials": [{"fingerprint": "sha256:…", "rule_id": "stripe-live-secret-key",
                      "audit": {"verdict": "false-positive", "reason": "test fixture",
                                "by": "dana", "at": "2026-12-03T08:00:00Z"}}]}

``audit`` is optional (an entry nobody has looked at yet). Every older version this LeakGuard
knows is migrated when read (:data:`MIGRATIONS`); writing always produces the current version.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leakguard import __version__
from leakguard.errors import InputError, UsageError
from leakguard.model import Finding
from leakguard.privatefile import write_private
from leakguard.yamlfile import read_config_text

BASELINE_VERSION = 2
MAX_BASELINE_BYTES = 256 * 1024 * 1024  # about two million credentials
VERDICTS = ("true-positive", "false-positive")
_FINGERPRINT = re.compile(r"^sha256:[0-9a-f]{64}$")
_HINT = "create one with `leakguard baseline create TARGET -o FILE`"


def _from_v1(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 1 had fingerprints and rule ids only: the same entries, none audited."""
    return dict(doc, version=2)


#: version -> the function that turns a document of that version into the next version
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _from_v1}


@dataclass(frozen=True, slots=True)
class Audit:
    """A person's verdict on a baselined credential."""

    verdict: str  # true-positive | false-positive
    reason: str
    by: str
    at: str

    def to_dict(self) -> dict[str, str]:
        return {"verdict": self.verdict, "reason": self.reason, "by": self.by, "at": self.at}


@dataclass(frozen=True, slots=True)
class Entry:
    fingerprint: str
    rule_id: str
    audit: Audit | None = None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"fingerprint": self.fingerprint, "rule_id": self.rule_id}
        if self.audit is not None:
            out["audit"] = self.audit.to_dict()
        return out


@dataclass(frozen=True, slots=True)
class Update:
    """What ``baseline update`` changed."""

    baseline: Baseline
    added: int
    pruned: int
    kept: int


@dataclass(frozen=True, slots=True)
class Baseline:
    fingerprints: frozenset[str]
    entries: tuple[Entry, ...] = ()
    migrated_from: int | None = None  # the version read, when it was older than the current

    @classmethod
    def of(cls, entries: Iterable[Entry]) -> Baseline:
        unique = {e.fingerprint: e for e in entries}
        ordered = tuple(sorted(unique.values(), key=lambda e: e.fingerprint))
        return cls(frozenset(unique), ordered)

    @classmethod
    def from_findings(cls, findings: Iterable[Finding]) -> Baseline:
        entries: dict[str, Entry] = {}
        for f in findings:
            entries.setdefault(f.fingerprint, Entry(f.fingerprint, f.rule_id))
        return cls.of(entries.values())

    @classmethod
    def load(cls, path: Path) -> Baseline:
        text = read_config_text(
            path, InputError, what="baseline", limit=MAX_BASELINE_BYTES, hint=_HINT
        )
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"baseline {path} is not readable JSON: {exc}", hint=_HINT) from None
        except RecursionError:
            raise InputError(f"baseline {path} is nested too deeply to be a baseline") from None
        found = doc.get("version") if isinstance(doc, dict) else None
        if not isinstance(doc, dict) or (
            found != BASELINE_VERSION and (type(found) is not int or found not in MIGRATIONS)
        ):
            raise InputError(
                f"baseline {path}: unsupported format version {found!r} "
                f"(this LeakGuard reads versions 1 to {BASELINE_VERSION})",
                hint=_HINT,
            )
        while doc["version"] != BASELINE_VERSION:
            doc = MIGRATIONS[doc["version"]](doc)
        entries = doc.get("credentials", [])
        if not isinstance(entries, list):
            raise InputError(f"baseline {path}: 'credentials' must be a list", hint=_HINT)
        parsed = [_entry(path, i, e) for i, e in enumerate(entries)]
        baseline = cls.of(parsed)
        return replace(baseline, migrated_from=found if found != BASELINE_VERSION else None)

    def save(self, path: Path) -> None:
        """Write the current version (mode 0600, atomically)."""
        doc = {
            "version": BASELINE_VERSION,
            "tool": f"leakguard {__version__}",
            "credentials": [e.to_dict() for e in self.entries],
        }
        write_private(path, json.dumps(doc, indent=2) + "\n")

    @staticmethod
    def write(path: Path, findings: Iterable[Finding]) -> int:
        """Write the fingerprints of ``findings`` to ``path`` (mode 0600); return how many."""
        baseline = Baseline.from_findings(findings)
        baseline.save(path)
        return len(baseline.entries)

    def updated(self, findings: Iterable[Finding]) -> Update:
        """Add the credentials of ``findings`` not yet here, drop the entries no longer found,
        and keep every audit mark of what stays."""
        now = Baseline.from_findings(findings)
        mine = {e.fingerprint: e for e in self.entries}
        kept = [mine[e.fingerprint] for e in now.entries if e.fingerprint in mine]
        added = [e for e in now.entries if e.fingerprint not in mine]
        result = Baseline.of([*kept, *added])
        return Update(result, len(added), len(self.entries) - len(kept), len(kept))

    def audited(self, prefix: str, verdict: str, reason: str, by: str) -> Baseline:
        """Mark the entry whose fingerprint starts with ``prefix``."""
        if verdict not in VERDICTS:
            raise UsageError(f"unknown verdict {verdict!r}", hint=f"use {' or '.join(VERDICTS)}")
        if not reason.strip():
            raise UsageError("an audit needs a reason", hint="pass --reason 'why'")
        target = self.find(prefix)
        mark = Audit(verdict, reason, by, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        return Baseline.of(
            replace(e, audit=mark) if e.fingerprint == target.fingerprint else e
            for e in self.entries
        )

    def find(self, prefix: str) -> Entry:
        full = prefix if prefix.startswith("sha256:") else "sha256:" + prefix
        matches = [e for e in self.entries if e.fingerprint.startswith(full)]
        if len(full) < len("sha256:") + 6:
            matches = []
        if len(matches) != 1:
            what = "no entry" if not matches else "several entries"
            raise UsageError(
                f"{what} in the baseline match fingerprint {prefix!r}",
                hint="give at least 6 hex digits of a fingerprint the baseline holds "
                "(`leakguard baseline audit FILE --list`)",
            )
        return matches[0]

    def suppresses(self, finding: Finding) -> bool:
        return finding.fingerprint in self.fingerprints


def _entry(path: Path, index: int, raw: object) -> Entry:
    where = f"baseline {path}: credential #{index + 1}"
    value = raw.get("fingerprint") if isinstance(raw, dict) else None
    if not isinstance(raw, dict) or not isinstance(value, str) or not _FINGERPRINT.match(value):
        raise InputError(f"{where} has no valid 'sha256:' fingerprint", hint=_HINT)
    rule_id = raw.get("rule_id", "")
    audit = raw.get("audit")
    if audit is None:
        return Entry(value, str(rule_id))
    fields = ("verdict", "reason", "by", "at")
    if (
        not isinstance(audit, dict)
        or audit.get("verdict") not in VERDICTS
        or not all(isinstance(audit.get(k), str) for k in fields)
    ):
        raise InputError(
            f"{where}: 'audit' needs a verdict ({' or '.join(VERDICTS)}), reason, by and at"
        )
    return Entry(value, str(rule_id), Audit(*(str(audit[k]) for k in fields)))
