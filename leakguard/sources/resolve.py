"""Turn what the user typed (a path, a URL, ``-``) into sources.

A FIFO, a device or a socket is refused (reading it could block or never end), except a pipe
the shell hands over as ``/dev/fd/N`` (``leakguard scan <(cmd)``), which is read once as a
stream: opening it a second time would find it drained."""

from __future__ import annotations

import re
from pathlib import Path

from leakguard.errors import InputError
from leakguard.options import ScanOptions
from leakguard.sources.filesystem import (
    DirectorySource,
    FileSource,
    PipeSource,
    StdinSource,
    special_kind,
)
from leakguard.sources.git_layout import may_be_repository
from leakguard.sources.interface import Source

_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:(?!//)")


def resolve_target(target: str, options: ScanOptions) -> Source:
    # each source kind is imported when a target needs it: scanning one file (a pre-commit
    # hook) should not pay for git, sites and remotes
    if target == "-":
        return StdinSource()
    lowered = target.lower()
    if lowered.startswith(("ssh://", "git://", "file://")) or _SCP_LIKE.match(target):
        from leakguard.sources import remote

        return remote.remote_source(target, options)
    if lowered.startswith(("http://", "https://")):
        from leakguard.sources import remote, site

        if remote.looks_like_git_url(target):
            return remote.remote_source(target, options)
        return site.site_source(target, options)
    path = Path(target)
    try:
        exists = path.exists()
    except OSError as exc:  # a name too long, a loop of links: one line, not a traceback
        raise InputError(f"{target}: {exc.strerror or exc}") from None
    if not exists:
        if path.is_symlink():
            raise InputError(f"{target}: broken symbolic link")
        raise InputError(
            f"{target}: no such file or directory",
            hint="give a file, directory, git repository, .bundle file, URL, or - for stdin",
        )
    special = special_kind(path)
    if special is not None:
        if special == "pipe":
            return PipeSource(path, target)  # read once, as a stream: `scan <(cmd)`
        raise InputError(
            f"{target}: is a {special}, not a file; it is not read (it could block or never end)",
            hint="scan regular files and directories; pipe a stream into `leakguard scan -`",
        )
    if path.is_dir():
        if not may_be_repository(path) and not options.git.needs_repository:
            return DirectorySource(path, target)  # git's modules are never imported for it
        from leakguard.sources.git import git_source_for

        repo = git_source_for(path, target, options)
        return repo if repo is not None else DirectorySource(path, target)
    if _may_be_bundle(path):
        from leakguard.sources import bundle

        if bundle.is_bundle(path):
            return bundle.bundle_source(path, target, options)
    return FileSource(path, target)


def _may_be_bundle(path: Path) -> bool:
    """Whether the file starts like a git bundle (``# v2 git bundle``, ``# v3 ...``)."""
    try:
        with path.open("rb") as fh:
            return fh.read(3) == b"# v"
    except OSError:
        return False
