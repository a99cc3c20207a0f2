"""Verify credentials already in the findings store (``leakguard findings verify FP…``).

The store holds fingerprints, never values, so each credential's value is recovered the only
way it can be: its recorded targets are scanned again, in memory, and the match whose
fingerprint is the credential's is the value asked about. A credential no longer found where
it was recorded gets ``unknown`` ("not found in its targets"): nothing was asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from leakguard.model import Finding, LiveCheck, LiveStatus
from leakguard.options import ScanOptions
from leakguard.scanner import run_scan
from leakguard.store.findings import StoredCredential
from leakguard.verify.runner import ResultCache, VerifyOptions, verify_findings


def verify_stored(
    credentials: Sequence[StoredCredential],
    options: ScanOptions,
    verify_options: VerifyOptions,
    *,
    cache: ResultCache | None = None,
) -> list[tuple[StoredCredential, LiveCheck]]:
    wanted = {c.fingerprint for c in credentials}
    targets = sorted({t for c in credentials for t in c.targets})
    found: dict[str, Finding] = {}
    if targets:
        rescan = replace(options, show_secrets=True, baseline=None)
        for finding in run_scan(targets, rescan).findings:
            if finding.fingerprint in wanted and finding.secret is not None:
                found.setdefault(finding.fingerprint, finding)
    secrets = {fp: f.secret for fp, f in found.items() if f.secret is not None}
    answers = verify_findings(list(found.values()), secrets, verify_options, cache=cache)
    out = []
    for credential in credentials:
        answer = answers.get(credential.fingerprint)
        if answer is None:
            why = (
                "not found in its recorded targets (moved or removed): nothing was asked"
                if credential.fingerprint not in found
                else "no verifier for this format"
            )
            answer = LiveCheck(LiveStatus.UNKNOWN, "-", "-", detail=why)
        out.append((credential, answer))
    return out
