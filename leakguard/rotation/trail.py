"""Verify an audit trail against its chain and its anchor: the head the run journal recorded."""

from __future__ import annotations

from pathlib import Path

from leakguard.rotation.audit import Verification, verify
from leakguard.rotation.journal import Journal


def verify_trail(path: Path, journal: Journal | None) -> tuple[Verification, bool]:
    """The verification, and whether the trail was checked against its journal anchor."""
    expected = None
    if journal is not None:
        run_id = journal.run_for_audit(path)
        if run_id is not None:
            _, expected = journal.audit_head(run_id)
    return verify(path, expected), expected is not None
