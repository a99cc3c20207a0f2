"""A cheap fingerprint of everything an incremental scan of a repository depends on.

Computed from files alone, without running git: ``HEAD``, ``packed-refs``, every loose ref
(names and contents: branches, tags, remotes, notes, ``refs/stash``), the stash reflog, the
index's size and modification time, every work-tree file's (path, size, mtime, ctime, inode)
and the rule set and options that change results. When it equals the signature stored after the
previous scan, nothing a scan could read has changed and the scan is skipped.

It errs on the side of scanning: ignored files are walked too, and any unreadable part makes a
different signature (see :func:`state_signature`).
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from leakguard.options import ScanOptions
from leakguard.sources.git_repo import Repository

VERSION = b"leakguard git state v1\n"
# files directly in the git directory whose content names what history holds
_GIT_FILES = ("HEAD", "packed-refs", "shallow", "logs/refs/stash")


def fast_path_applies(options: ScanOptions) -> bool:
    """Only incremental scans skip unchanged repositories; unreachable objects carry no ref to
    watch, so ``--include-unreachable`` always scans."""
    return options.git.incremental and not options.git.include_unreachable


def state_signature(repo: Repository, options: ScanOptions, ruleset_version: str) -> str | None:
    """The signature, or None when part of the repository cannot be read (then: scan)."""
    try:
        return _signature(repo, options, ruleset_version)
    except OSError:
        return None


def _signature(repo: Repository, options: ScanOptions, ruleset_version: str) -> str:
    h = hashlib.sha256(VERSION)
    _field(h, b"rules", ruleset_version.encode())
    _field(h, b"options", _options_text(options).encode())
    for name in _GIT_FILES:
        _field(h, name.encode(), _read(repo.git_dir / name))
    _refs(h, repo.git_dir / "refs")
    if repo.work_tree is not None:
        _field(h, b"index", _stat_text(repo.git_dir / "index").encode())
        _work_tree(h, repo.work_tree)
    return "sha256:" + h.hexdigest()


def _options_text(options: ScanOptions) -> str:
    git = options.git
    return repr(
        (
            git.history,
            git.include_unreachable,
            git.refs,
            git.max_blob_bytes,
            options.max_file_bytes,
            options.archives,
            options.decode_depth,
            int(options.min_severity),
            str(options.baseline) if options.baseline else None,
        )
    )


def _field(h: hashlib._Hash, name: bytes, value: bytes) -> None:
    h.update(b"%d:%s%d:" % (len(name), name, len(value)))
    h.update(value)


def _read(path: Path) -> bytes:
    try:
        return b"file\0" + path.read_bytes()
    except FileNotFoundError:
        return b"absent"
    except OSError as exc:  # unreadable: a value no readable state can produce
        return b"error\0" + str(exc.errno).encode() + os.urandom(16)


def _stat_text(path: Path) -> str:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "absent"
    except OSError as exc:
        return f"error {exc.errno} {os.urandom(8).hex()}"
    text = f"{st.st_mode} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {st.st_ino}"
    if stat.S_ISLNK(st.st_mode):  # what it points to, and that file's own state
        try:
            target = os.stat(path)
            text += f" -> {os.readlink(path)!r} {target.st_size} {target.st_mtime_ns}"
            text += f" {target.st_ctime_ns} {target.st_ino}"
        except OSError:
            text += f" -> {os.readlink(path)!r} dangling"
    return text


def _refs(h: hashlib._Hash, root: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(root, onerror=_raise):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath, name)
            _field(h, os.fsencode(path.relative_to(root)), _read(path))


def _work_tree(h: hashlib._Hash, top: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(top, onerror=_raise):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in dirnames:
            path = Path(dirpath, name)
            if path.is_symlink():  # os.walk does not follow it: its target counts
                _field(h, os.fsencode(path.relative_to(top)), os.fsencode(os.readlink(path)))
        for name in sorted(filenames):
            if name == ".git":  # a linked work tree's or submodule's pointer file
                continue
            path = Path(dirpath, name)
            _field(h, os.fsencode(path.relative_to(top)), _stat_text(path).encode())


def _raise(exc: OSError) -> None:
    raise exc
