"""Private directories for what the git sources keep on disk (remote mirrors).

The incremental state (commits already scanned, repository signatures) is not kept here: a
source only reads it from ``options.state`` and reports what it saw in the scan result; the
caller writes it (see :mod:`leakguard.store.cursors`).
"""

from __future__ import annotations

from pathlib import Path


def private_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents 0700 (``mkdir(parents=True)`` would create the
    parents with the umask's mode: a directory readable by every user)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for p in reversed(missing):
        p.mkdir(mode=0o700, exist_ok=True)
