"""Git bundle files (see issue: git history)."""

from __future__ import annotations

from pathlib import Path

from leakguard.errors import InputError
from leakguard.options import ScanOptions
from leakguard.sources.interface import Source


def is_bundle(path: Path) -> bool:
    return False


def bundle_source(path: Path, label: str, options: ScanOptions) -> Source:
    raise InputError(f"{label}: git bundles are not supported yet")
