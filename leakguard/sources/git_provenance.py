"""Where each blob entered history, from one ``git log --raw`` pass.

Every blob in the tree of a commit is either inherited from a parent at the same path or shown
by that commit's raw diff (against the empty tree for a root commit; combined diff ``-c`` for a
merge, which lists exactly the paths that differ from every parent). So one
``git log --raw -c --root --no-renames`` over the starting commits lists every reachable blob
with each (commit, path) that introduced it, without reading a single blob.

The log is written to a temporary file while the objects are being scanned (git runs on the
other core), then parsed twice at most: once for the list of blobs when the scan is targeted
(``--ref``, ``--incremental``), once for the provenance of the blobs that held findings.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from leakguard.sources import git_run

LOG_FORMAT = "--format=%x01%H %P%x00%an%x00%ae%x00%at%x00%aI"
READ_BYTES = 1024 * 1024
GITLINK = b"160000"


@dataclass(frozen=True, slots=True)
class Commit:
    oid: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    author_time: int
    author_date: str  # ISO 8601 with the author's offset


@dataclass(frozen=True, slots=True)
class Introduction:
    """``blob`` appeared at ``path`` in ``commit`` (the path as raw bytes from git)."""

    commit: Commit
    path: bytes
    blob: str
    mode: bytes
    replaced: tuple[str, ...] = ()  # the blobs at this path in the parents (none when added)


@dataclass
class LogPass:
    """A running ``git log`` whose output goes to a temporary file."""

    proc: subprocess.Popen[bytes] | None  # None: nothing to walk (no starting commit)
    output: IO[bytes]
    errors: IO[bytes]
    _finished: bool = field(default=False)
    returncode: int = 0

    def wait(self) -> int:
        if not self._finished:
            self.returncode = self.proc.wait() if self.proc is not None else 0
            self._finished = True
        return self.returncode

    def error_text(self) -> str:
        self.errors.seek(0)
        text = self.errors.read().decode("utf-8", "replace").strip()
        return text.splitlines()[-1] if text else f"git log exited with {self.returncode}"

    def records(self) -> Iterator[Commit | Introduction]:
        self.wait()
        self.output.seek(0)
        return parse_log(self.output)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.output.close()
        self.errors.close()


def start_log(
    git_dir: Path, tips: Iterable[str], exclude: Iterable[str] = (), tmp_dir: Path | None = None
) -> LogPass:
    """Start ``git log`` over ``tips`` minus everything reachable from ``exclude``."""
    output = tempfile.TemporaryFile(dir=tmp_dir)  # noqa: SIM115 - closed by LogPass.close
    errors = tempfile.TemporaryFile(dir=tmp_dir)  # noqa: SIM115
    lines = [f"{t}\n" for t in tips]
    if not lines:  # git log would fall back to HEAD
        return LogPass(None, output, errors)
    proc = git_run.popen(
        [
            "log",
            "--stdin",
            "--ignore-missing",
            "--raw",
            "--root",
            "--no-renames",
            "--no-abbrev",
            "--no-textconv",
            "--no-ext-diff",
            "--no-show-signature",
            "--no-mailmap",
            "--diff-merges=combined",
            "-z",
            LOG_FORMAT,
        ],
        git_dir=git_dir,
        stdin=subprocess.PIPE,
        stdout=output,
        stderr=errors,
    )
    assert proc.stdin is not None
    excluded = [f"^{e}\n" for e in exclude]
    try:
        proc.stdin.write("".join(lines).encode())
        if excluded:
            proc.stdin.write("".join(excluded).encode())
        proc.stdin.close()
    except (BrokenPipeError, OSError):
        pass
    return LogPass(proc, output, errors)


def _tokens(stream: IO[bytes]) -> Iterator[bytes]:
    rest = b""
    while True:
        block = stream.read(READ_BYTES)
        if not block:
            break
        parts = (rest + block).split(b"\0")
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


def parse_log(stream: IO[bytes]) -> Iterator[Commit | Introduction]:
    """Commits, each followed by the blobs it introduced (deletions and gitlinks included:
    a deletion has an all-zero blob id, a submodule the mode ``160000``)."""
    tokens = _tokens(stream)
    commit: Commit | None = None
    for token in tokens:
        first = token[:1]
        if first == b"\n":  # the blank line between a commit's header and its raw diff
            token = token.lstrip(b"\n")
            first = token[:1]
        if first == b":" and commit is not None:
            path = next(tokens, b"")
            if token[1:2] != b":":
                # one parent (or a root commit): ":<mode> <mode> <old id> <new id> <status>"
                fields = token[1:].split()
                if len(fields) < 4:
                    continue
                old = fields[2]
                replaced = (old.decode("ascii", "replace"),) if old.strip(b"0") else ()
                yield Introduction(
                    commit, path, fields[3].decode("ascii", "replace"), fields[1], replaced
                )
                continue
            intro = _combined(commit, token, path)
            if intro is not None:
                yield intro
        elif first == b"\x01":
            head = token[1:].decode("ascii", "replace").split()
            name = next(tokens, b"").decode("utf-8", "replace")
            email = next(tokens, b"").decode("utf-8", "replace")
            when = next(tokens, b"0").decode("ascii", "replace")
            date = next(tokens, b"").decode("ascii", "replace")
            commit = Commit(
                head[0] if head else "",
                tuple(head[1:]),
                name,
                email,
                int(when) if when.isdigit() else 0,
                date,
            )
            yield commit


def _combined(commit: Commit, token: bytes, path: bytes) -> Introduction | None:
    """A merge's combined raw entry: one colon, mode and id per parent, then the result's."""
    colons = len(token) - len(token.lstrip(b":"))
    fields = token[colons:].split()
    # colons+1 modes, colons+1 ids, then the status letters
    if len(fields) < 2 * (colons + 1):
        return None
    mode = fields[colons]
    blob = fields[2 * colons + 1].decode("ascii", "replace")
    parents = fields[colons + 1 : 2 * colons + 1]
    replaced = tuple(p.decode("ascii", "replace") for p in parents if p.strip(b"0"))
    return Introduction(commit, path, blob, mode, replaced)


def is_deletion(blob: str) -> bool:
    return not blob.strip("0")
