"""Compiled keyword databases kept on disk, so a scan of one small file does not recompile them.

A database is stored under ``<cache dir>/rules/<key>.hsdb``; the key is a SHA-256 of everything
the compiled bytes depend on: this format's version, the Hyperscan package version, the engine
mode, and the exact expressions, ids and flags compiled (so a changed rule file, an added
``--rules`` directory or an upgrade gives a new key, and nothing ever has to be invalidated).

The cache is input like any other file. A database is loaded only from a regular file (not a
link) owned by this user and writable by no one else, in a directory with the same properties;
its header must name the same key and its SHA-256 must match its bytes. Anything else (missing,
foreign, truncated, corrupt, mismatched) is ignored and the database compiled again, then
written atomically (a temporary file, mode 0600, renamed into place; the directory is 0700).
Nothing is unpickled: the bytes go to Hyperscan's own deserialiser, and only after these checks.
Writing is best effort: a read-only or full disk only costs the compile next time.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any

FORMAT = b"leakguard-hyperscan-cache 1\n"
#: a keyword database is a few hundred kilobytes; anything far larger is not ours
MAX_BYTES = 64 * 1024 * 1024
_HEADER = len(FORMAT) + 64 + 1 + 64 + 1  # format, key, newline, payload digest, newline


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/leakguard`` (``~/.cache/leakguard``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "leakguard"


def database_key(parts: list[bytes]) -> str:
    digest = hashlib.sha256(FORMAT)
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class RuleCache:
    """Compiled databases under ``root/rules``."""

    def __init__(self, root: Path) -> None:
        self.directory = root / "rules"

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.hsdb"

    def load(self, key: str) -> bytes | None:
        """The stored payload for ``key`` when every check passes, else None."""
        if not _private_dir(self.directory):
            return None
        try:
            fd = os.open(self.path(key), os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return None
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())
            if not _private_file(info) or info.st_size > MAX_BYTES + _HEADER:
                return None
            data = fh.read(MAX_BYTES + _HEADER + 1)
        header, payload = data[:_HEADER], data[_HEADER:]
        expected = FORMAT + key.encode() + b"\n" + hashlib.sha256(payload).hexdigest().encode()
        if header != expected + b"\n":
            return None
        return payload

    def store(self, key: str, payload: bytes) -> bool:
        """Write ``payload`` for ``key`` atomically; False when the cache cannot be written."""
        if len(payload) > MAX_BYTES:
            return False
        import tempfile  # only when writing: most runs only read the cache

        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not _private_dir(self.directory):
                return False
            digest = hashlib.sha256(payload).hexdigest().encode()
            header = FORMAT + key.encode() + b"\n" + digest + b"\n"
            fd, temporary = tempfile.mkstemp(prefix=".tmp-", dir=self.directory)  # mode 0600
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(header + payload)
                os.replace(temporary, self.path(key))
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError:
            return False
        return True


def _private_dir(path: Path) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and _ours_alone(info)


def _private_file(info: os.stat_result) -> bool:
    return stat.S_ISREG(info.st_mode) and _ours_alone(info)


def _ours_alone(info: os.stat_result) -> bool:
    """Owned by this user and writable by no one else."""
    owner = getattr(os, "getuid", lambda: info.st_uid)()
    return info.st_uid == owner and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def block_database(
    expressions: list[bytes], ids: list[int], flags: list[int], cache: RuleCache | None
) -> Any:
    """A Hyperscan block-mode database of ``expressions``, loaded from ``cache`` when it holds
    one for exactly these expressions, ids and flags, else compiled (and stored there)."""
    import hyperscan

    def compiled() -> Any:
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        db.compile(expressions=expressions, ids=ids, elements=len(expressions), flags=flags)
        return db

    if cache is None:
        return compiled()
    version = getattr(hyperscan, "__version__", "?").encode()
    key = database_key([version, b"block", *expressions, repr(ids).encode(), repr(flags).encode()])
    db = _loaded(cache, key, hyperscan)
    if db is None:
        db = compiled()
        cache.store(key, hyperscan.dumpb(db))
    return db


def _loaded(cache: RuleCache, key: str, hyperscan: Any) -> Any:
    """The database stored for ``key`` (checked by the cache before Hyperscan sees it), or
    None to compile it again."""
    payload = cache.load(key)
    if payload is None:
        return None
    try:
        db = hyperscan.loadb(payload, hyperscan.HS_MODE_BLOCK)
        db.scratch = hyperscan.Scratch(db)
    except Exception:  # another Hyperscan build's format: compile it again
        return None
    return db
