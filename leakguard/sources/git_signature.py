"""A cheap fingerprint of everything an incremental scan of a repository depends on.

Computed from files alone, without running git: ``HEAD``, ``packed-refs``, every loose ref
(names and contents: branches, tags, remotes, notes, ``refs/stash``), the stash reflog, the
repository's configuration and ignore rules (``config``, ``info/exclude``, the user's
``~/.gitconfig`` and ``~/.config/git/ignore``), the index's stat, every work-tree file's
(path, mode, size, mtime, ctime, inode) and the rule set and options that change results.
When it equals the signature stored after the previous scan, nothing a scan could read has
changed and the scan is skipped.

It errs on the side of scanning: ignored files are walked too, an unreadable part gives no
signature, and so does a work-tree file (or the index) modified in the last two seconds: a file
rewritten with the same size within one tick of the file-system clock keeps its timestamps, so
a fresh timestamp proves nothing (git's "racy" entries). Such a repository is scanned, and its
next scan can use the fast path.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import Iterator

from leakguard.options import ScanOptions
from leakguard.sources.git_repo import Repository

VERSION = b"leakguard git state v1\n"
RACY_NS = 2_000_000_000
# files directly in the git directory whose content names what history holds
# files in the git directory whose content changes what history holds or which work-tree
# files git status lists (ignore rules, configuration)
_GIT_FILES = (
    b"HEAD",
    b"packed-refs",
    b"shallow",
    b"logs/refs/stash",
    b"config",
    b"info/exclude",
    b"info/grafts",
    b"info/sparse-checkout",
)


def fast_path_applies(options: ScanOptions) -> bool:
    """Only incremental scans skip unchanged repositories; unreachable objects carry no ref to
    watch, so ``--include-unreachable`` always scans."""
    return options.git.incremental and not options.git.include_unreachable


def state_signature(repo: Repository, options: ScanOptions, ruleset_version: str) -> str | None:
    """The signature, or None when part of the repository cannot be read or was modified too
    recently to be trusted (then: scan, and record nothing)."""
    started = time.time_ns()
    try:
        signature, newest = _signature(repo, options, ruleset_version)
    except OSError:
        return None
    return None if newest >= started - RACY_NS else signature


def _signature(repo: Repository, options: ScanOptions, ruleset_version: str) -> tuple[str, int]:
    """The signature and the newest modification time (ns) of a file it took by its stat."""
    h = hashlib.sha256(VERSION)
    newest = [0]
    _field(h, b"rules", ruleset_version.encode())
    _field(h, b"options", _options_text(options).encode())
    git_dir = os.fsencode(repo.git_dir) + b"/"
    if os.path.exists(git_dir + b"commondir"):  # a linked work tree: its refs live elsewhere
        raise FileNotFoundError("linked work tree")
    for name in _GIT_FILES:
        _field(h, name, _read(git_dir + name))
    _refs(h, git_dir + b"refs")
    if repo.work_tree is not None:
        _field(h, b"index", _stat_text(git_dir + b"index", newest).encode())
        for path in _global_git_files():
            _field(h, path, _read(path))
        _work_tree(h, os.fsencode(repo.work_tree), newest)
    return "sha256:" + h.hexdigest(), newest[0]


def _global_git_files() -> list[bytes]:
    """The user's git configuration and ignore file at their default places (which untracked
    files git status lists depends on them)."""
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    paths = [os.path.join(home, ".gitconfig"), os.path.join(xdg, "git", "config")]
    paths.append(os.path.join(xdg, "git", "ignore"))
    return [os.fsencode(p) for p in paths]


def _options_text(options: ScanOptions) -> str:
    git = options.git
    return repr(
        (
            git.history,
            git.include_unreachable,
            git.refs,
            git.staged,
            git.range_from,
            git.range_to,
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


def _read(path: bytes) -> bytes:
    try:
        with open(path, "rb") as f:
            return b"file\0" + f.read()
    except FileNotFoundError:
        return b"absent"
    except OSError as exc:  # unreadable: a value no readable state can produce
        return b"error\0" + str(exc.errno).encode() + os.urandom(16)


def _stat_text(path: bytes, newest: list[int]) -> str:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "absent"
    except OSError as exc:
        return f"error {exc.errno} {os.urandom(8).hex()}"
    return _entry_text(path, st, newest)


def _entry_text(path: bytes, st: os.stat_result, newest: list[int]) -> str:
    newest[0] = max(newest[0], st.st_mtime_ns)
    text = f"{st.st_mode} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {st.st_ino}"
    if stat.S_ISLNK(st.st_mode):  # what it points to, and that file's own state
        try:
            target = os.stat(path)
            newest[0] = max(newest[0], target.st_mtime_ns)
            text += f" -> {os.readlink(path)!r} {target.st_size} {target.st_mtime_ns}"
            text += f" {target.st_ctime_ns} {target.st_ino}"
        except OSError:
            text += f" -> {os.readlink(path)!r} dangling"
    return text


def _refs(h: hashlib._Hash, root: bytes) -> None:
    """Every loose ref by name and content (directories sorted, so the order is stable)."""
    for rel, entry in _walk(root, b""):
        if entry.is_file(follow_symlinks=False) or entry.is_symlink():
            _field(h, rel, _read(entry.path))


def _work_tree(h: hashlib._Hash, top: bytes, newest: list[int]) -> None:
    """Every entry but ``.git`` (the repository, or a linked work tree's pointer file): its
    path and (mode, size, mtime, ctime, inode); directories are listed, not described."""
    for rel, entry in _walk(top, b""):
        if entry.is_dir(follow_symlinks=False):
            continue
        _field(h, rel, _entry_text(entry.path, entry.stat(follow_symlinks=False), newest).encode())


def _walk(top: bytes, prefix: bytes) -> Iterator[tuple[bytes, os.DirEntry[bytes]]]:
    """(relative path, entry) of everything under ``top``, depth first, sorted by name; a
    directory that cannot be listed raises (no signature then)."""
    with os.scandir(top) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        if entry.name == b".git":
            continue
        rel = prefix + entry.name
        yield rel, entry
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(entry.path, rel + b"/")
