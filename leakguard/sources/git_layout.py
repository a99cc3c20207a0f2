"""What a directory's layout says before git is asked: whether it could be a repository. Cheap
(two ``stat`` calls, no git module imported), so a plain directory is scanned as one without
loading git's sources."""

from __future__ import annotations

from pathlib import Path


def may_be_repository(path: Path) -> bool:
    """Whether ``path`` could be a work tree's top (a ``.git``) or a bare repository (a ``HEAD``
    file); when this is False, :func:`leakguard.sources.git_repo.discover` finds none there."""
    try:
        return (path / ".git").exists() or (path / "HEAD").is_file()
    except OSError:
        return True  # let git say what is wrong
