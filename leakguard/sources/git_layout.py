"""What a directory's layout says before git is asked: whether it could be a repository. Cheap
(two ``stat`` calls, no git module imported), so a plain directory is scanned as one without
loading git's sources."""

from __future__ import annotations

import os
from pathlib import Path


def may_be_repository(path: Path) -> bool:
    """Whether ``path`` could be a work tree's top (a ``.git``) or a bare repository (a ``HEAD``
    file); when this is False, :func:`leakguard.sources.git_repo.discover` finds none there."""
    try:
        return (path / ".git").exists() or (path / "HEAD").is_file()
    except OSError:
        return True  # let git say what is wrong


def plain_layout(path: Path) -> tuple[str, Path | None] | None:
    """The git directory and work tree of the repository at ``path`` when it has the plain
    layout (a ``.git`` directory, or a bare repository); None for anything else (linked work
    trees, ``.git`` files, not a repository). Only a hint: git may still refuse it."""
    top = os.fspath(path)
    dot_git = os.path.join(top, ".git")
    if os.path.isdir(dot_git) and not os.path.islink(dot_git):
        git_dir, work_tree = dot_git, path
    elif os.path.isfile(os.path.join(top, "HEAD")) and os.path.isdir(os.path.join(top, "objects")):
        git_dir, work_tree = top, None
    else:
        return None
    if not os.path.isfile(os.path.join(git_dir, "HEAD")):
        return None
    return os.path.realpath(git_dir), work_tree
