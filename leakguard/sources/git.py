"""Git repositories: work tree and full history (see issue: git history)."""

from __future__ import annotations

from pathlib import Path

from leakguard.options import ScanOptions
from leakguard.sources.interface import Source


def git_source_for(path: Path, label: str, options: ScanOptions) -> Source | None:
    """A source for ``path`` if it is a git work tree or bare repository, else None."""
    return None
