"""Files LeakGuard writes for people (reports, baselines, exports): private and atomic.

A neutral module: the report formats, the baseline and the CLI all write through it, and it
knows none of them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

from leakguard.errors import InputError


def write_private(path: Path, text: str) -> None:
    """Write a report, baseline or export readable by its owner only (0600), atomically: into a
    temporary file beside ``path``, then renamed over it. A full disk or an interrupt leaves the
    previous file as it was. ``path`` that is a device or a pipe (``/dev/stdout``) is written in
    place and never replaced; a symbolic link to a regular file is refused (it would be replaced
    by a file of ours, or let a planted link redirect the write)."""
    data = text.encode("utf-8", "backslashreplace")
    st: os.stat_result | None
    target: os.stat_result | None
    try:
        st = target = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            target = os.stat(path) if path.exists() else None
    except FileNotFoundError:
        st = target = None
    except OSError as exc:
        raise _write_error(path, exc) from None
    if st is not None and target is not None and stat.S_ISDIR(target.st_mode):
        raise InputError(f"cannot write {_shown(path)}: it is a directory")
    if (
        st is not None
        and stat.S_ISLNK(st.st_mode)
        and (target is None or stat.S_ISREG(target.st_mode))
    ):
        raise InputError(
            f"refusing to write {_shown(path)}: it is a symbolic link",
            hint="remove the link or choose another file name",
        )
    if target is not None and not stat.S_ISREG(target.st_mode):
        _write_in_place(path, data)
        return
    _write_atomically(path, data)


def _shown(path: Path) -> str:
    from leakguard.redact import terminal_safe

    return terminal_safe(str(path))


def _write_error(path: Path, exc: OSError) -> InputError:
    hint = None
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = "free some space and run again; an existing file there was left unchanged"
    return InputError(f"cannot write {_shown(path)}: {exc.strerror or exc}", hint=hint)


def _write_in_place(path: Path, data: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOCTTY)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise _write_error(path, exc) from None


def _write_atomically(path: Path, data: bytes) -> None:
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:100]}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:  # mkstemp: 0600 whatever the umask
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _write_error(path, exc) from None
        raise
