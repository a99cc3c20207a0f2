"""Baselines: a file of credential fingerprints to stop reporting (never the secrets).

The file is JSON, versioned, and keyed by the secret's fingerprint only, so a baselined
credential stays suppressed when its line moves, its file is renamed or its commit is rebased::

    {"version": 1, "tool": "leakguard 0.1.0",
     "credentials": [{"fingerprint": "sha256:…", "rule_id": "stripe-live-secret-key"}]}
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from leakguard import __version__
from leakguard.errors import InputError
from leakguard.model import Finding
from leakguard.reports import write_private
from leakguard.yamlfile import read_config_text

BASELINE_VERSION = 1
MAX_BASELINE_BYTES = 256 * 1024 * 1024  # about two million credentials
_FINGERPRINT = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class Baseline:
    fingerprints: frozenset[str]

    @classmethod
    def load(cls, path: Path) -> Baseline:
        hint = "create one with `leakguard baseline create TARGET -o FILE`"
        text = read_config_text(
            path, InputError, what="baseline", limit=MAX_BASELINE_BYTES, hint=hint
        )
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"baseline {path} is not readable JSON: {exc}", hint=hint) from None
        except RecursionError:
            raise InputError(f"baseline {path} is nested too deeply to be a baseline") from None
        if not isinstance(doc, dict) or doc.get("version") != BASELINE_VERSION:
            found = doc.get("version") if isinstance(doc, dict) else None
            raise InputError(
                f"baseline {path}: unsupported format version {found!r} "
                f"(this LeakGuard reads version {BASELINE_VERSION})",
                hint=hint,
            )
        entries = doc.get("credentials", [])
        if not isinstance(entries, list):
            raise InputError(f"baseline {path}: 'credentials' must be a list", hint=hint)
        fingerprints = set()
        for i, entry in enumerate(entries):
            value = entry.get("fingerprint") if isinstance(entry, dict) else None
            if not isinstance(value, str) or not _FINGERPRINT.match(value):
                raise InputError(
                    f"baseline {path}: credential #{i + 1} has no valid 'sha256:' fingerprint",
                    hint=hint,
                )
            fingerprints.add(value)
        return cls(frozenset(fingerprints))

    @staticmethod
    def write(path: Path, findings: Iterable[Finding]) -> int:
        """Write the fingerprints of ``findings`` to ``path`` (mode 0600); return how many."""
        entries: dict[str, dict[str, str]] = {}
        for f in findings:
            entries.setdefault(f.fingerprint, {"fingerprint": f.fingerprint, "rule_id": f.rule_id})
        doc = {
            "version": BASELINE_VERSION,
            "tool": f"leakguard {__version__}",
            "credentials": sorted(entries.values(), key=lambda e: e["fingerprint"]),
        }
        write_private(path, json.dumps(doc, indent=2) + "\n")
        return len(entries)

    def suppresses(self, finding: Finding) -> bool:
        return finding.fingerprint in self.fingerprints
