"""Verify an audit trail against its chain and, when the run is in the journal, its length."""

from __future__ import annotations

from pathlib import Path

from leakguard.rotation.audit import Verification, verify
from leakguard.rotation.journal import Journal


def verify_trail(path: Path, journal: Journal | None) -> Verification:
    expected = None
    if journal is not None:
        run_id = journal.run_for_audit(path)
        if run_id is not None:
            _, expected = journal.audit_head(run_id)
    return verify(path, expected)
