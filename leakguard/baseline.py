"""Baselines: a file of credential fingerprints to stop reporting (never the secrets)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from leakguard.errors import InputError
from leakguard.model import Finding

BASELINE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Baseline:
    fingerprints: frozenset[str]

    @classmethod
    def load(cls, path: Path) -> Baseline:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"baseline not found: {path}", hint="create one with `leakguard baseline create`") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"baseline {path} is not readable JSON: {exc}") from None
        if not isinstance(doc, dict) or doc.get("version") != BASELINE_VERSION:
            raise InputError(f"baseline {path}: unsupported format (expected version {BASELINE_VERSION})")
        entries = doc.get("credentials", [])
        if not isinstance(entries, list):
            raise InputError(f"baseline {path}: 'credentials' must be a list")
        return cls(frozenset(e["fingerprint"] for e in entries if isinstance(e, dict) and "fingerprint" in e))

    @staticmethod
    def write(path: Path, findings: Iterable[Finding]) -> int:
        entries: dict[str, dict[str, str]] = {}
        for f in findings:
            entries.setdefault(f.fingerprint, {"fingerprint": f.fingerprint, "rule_id": f.rule_id})
        doc = {"version": BASELINE_VERSION, "credentials": sorted(entries.values(), key=lambda e: e["fingerprint"])}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
        return len(entries)

    def suppresses(self, finding: Finding) -> bool:
        return finding.fingerprint in self.fingerprints
