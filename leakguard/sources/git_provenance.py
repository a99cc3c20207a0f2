"""Where each blob entered history, from one ``git log --raw`` pass.

Every blob in the tree of a commit is either inherited from a parent at the same path or shown
by that commit's raw diff (against the empty tree for a root commit; combined diff ``-c`` for a
merge, which lists exactly the paths that differ from every parent). So one
``git log --raw -c --root --no-renames`` over the starting commits lists every reachable blob
with each (commit, path) that introduced it, without reading a single blob.

The log is written to a temporary file while the objects are being scanned (git runs on the
other core), then parsed twice at most: once for the list of blobs when the scan is targeted
(``--ref``, ``--incremental``), once for the provenance of the blobs that held findings.

A full scan needs the provenance of a few blobs only (those with findings): :class:`LogIndex`
maps the finished log, runs one regex over it (commit ids, introduced blob ids) and parses
just the commits that introduce one of them. Each commit's header starts with a marker holding
a random nonce, so a path or an author name (the repository's own text) can never pass for the
start of a commit.
"""

from __future__ import annotations

import codecs
import io
import mmap
import re
import secrets
import subprocess
import tempfile
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from leakguard.sources import git_run

LOG_FIELDS = "%H %P%x00%an%x00%ae%x00%at%x00%aI"
COMMIT_MARK = b"\x01"  # then the pass's nonce (hex), then the commit id
READ_BYTES = 1024 * 1024
SURVEY_BYTES = 8 * 1024 * 1024  # the log is surveyed in blocks of about this size
ENTRY_BYTES = 1024  # more than the head of a raw entry the gitlink pattern reads
GITLINK = b"160000"
# a raw entry (one colon per parent): its modes, ids and status; the last id is the new blob
_RAW_ENTRY = re.compile(rb"\0\n?:+(?:[0-7]{6} )+(?:[0-9a-f]{40,64} )*?([0-9a-f]{40,64}) [A-Z]")
# a raw entry whose new mode is a gitlink (the new mode is the last one, followed by an id)
_GITLINK_ENTRY = re.compile(rb"\0\n?:+(?:[0-7]{6} )*160000 [0-9a-f]{40}")


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
    marker: bytes = COMMIT_MARK  # what starts each commit's header in this pass's output
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
        return parse_log(self.output, self.marker)

    def index(self) -> LogIndex:
        """The finished log, mapped for searches (see :class:`LogIndex`)."""
        self.wait()
        return LogIndex(self.output, self.marker)

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
    marker = COMMIT_MARK + secrets.token_hex(8).encode()
    if not lines:  # git log would fall back to HEAD
        return LogPass(None, output, errors, marker)
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
            f"--format=%x01{marker[1:].decode()}{LOG_FIELDS}",
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
    return LogPass(proc, output, errors, marker)


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


def parse_log(stream: IO[bytes], marker: bytes = COMMIT_MARK) -> Iterator[Commit | Introduction]:
    """Commits, each followed by the blobs it introduced (deletions and gitlinks included:
    a deletion has an all-zero blob id, a submodule the mode ``160000``). ``marker`` starts
    each commit header."""
    tokens = _tokens(stream)
    skip = len(marker)
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
        elif token.startswith(marker):
            head = token[skip:].decode("ascii", "replace").split()
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


class LogIndex:
    """A finished log pass mapped read-only: the commits it walked, the blobs its raw entries
    introduce, and the records of the commits that name given blobs, without parsing the rest.
    """

    def __init__(self, output: IO[bytes], marker: bytes) -> None:
        self.marker = marker
        self._data: bytes | mmap.mmap = b""
        output.seek(0, io.SEEK_END)
        if output.tell():
            self._data = mmap.mmap(output.fileno(), 0, access=mmap.ACCESS_READ)

    @property
    def data(self) -> bytes | mmap.mmap:
        return self._data

    def close(self) -> None:
        if isinstance(self._data, mmap.mmap):
            self._data.close()

    def plain(self) -> bool:
        """No raw entry adds a submodule and every byte is UTF-8 (so every path is): a full
        parse would report nothing about paths or submodules."""
        decoder = codecs.getincrementaldecoder("utf-8")()
        data = self._data
        try:
            for start in range(0, len(data), READ_BYTES):
                end = start + READ_BYTES
                # an entry that starts in this block ends within ENTRY_BYTES after it
                if _GITLINK_ENTRY.search(data, start, end + ENTRY_BYTES):
                    return False
                decoder.decode(data[start:end])
                self._release(start, end)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
        return True

    def survey(self, blobs: Iterable[str], listed: Container[str] | None) -> Survey:
        """The commits walked, the introduced blobs ``listed`` lacks (when given), and every
        introduction of one of ``blobs``, in log order (only the commits that hold one are
        parsed): :meth:`catalogue` and its :meth:`~Catalogue.introductions` at once."""
        catalogue = self.catalogue(listed)
        return Survey(catalogue.commits, catalogue.unlisted, catalogue.introductions(blobs))

    def catalogue(self, listed: Container[str] | None) -> Catalogue:
        """One pass of a regex over the log, block by block: the commits walked, the
        introduced blobs ``listed`` lacks (when given), and which commits introduce each blob,
        so that the introductions of any blobs are found later without parsing the rest.

        It needs no blob named in advance: a scan runs it while the blobs are being scanned,
        before their findings are known."""
        data = self._data
        pattern = re.compile(re.escape(self.marker) + rb"([0-9a-f]{40,64})|" + _RAW_ENTRY.pattern)
        heads_pattern = re.compile(re.escape(self.marker) + rb"[0-9a-f]{40,64}")
        commits: list[bytes] = []
        heads: list[int] = []
        by_blob: dict[bytes, list[int]] = {}
        start = 0
        while start < len(data):
            end = data.find(self.marker, start + SURVEY_BYTES)
            end = len(data) if end == -1 else end
            heads += [m.start() for m in heads_pattern.finditer(data, start, end)]
            number = len(commits) - 1  # the commit the entries found next belong to
            for commit, blob in pattern.findall(data, start, end):
                if commit:
                    commits.append(commit)
                    number += 1
                elif (numbers := by_blob.get(blob)) is None:
                    by_blob[blob] = [number]
                elif numbers[-1] != number:
                    numbers.append(number)
            self._release(start, end)
            start = end
        heads.append(len(data))
        unlisted: set[str] = set()
        if listed is not None:
            introduced = (b.decode("ascii") for b in by_blob if b.strip(b"0"))
            unlisted = {oid for oid in introduced if oid not in listed}
        return Catalogue([c.decode("ascii") for c in commits], unlisted, self, heads, by_blob)

    def _release(self, start: int, end: int) -> None:
        """Let the kernel drop the pages of ``[start, end)`` once read: a long history's log
        never sits in memory whole (the pages are the file's, read again if needed)."""
        if isinstance(self._data, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
            aligned = start - start % mmap.PAGESIZE
            size = min(end, len(self._data)) - aligned
            if size > 0:
                self._data.madvise(mmap.MADV_DONTNEED, aligned, size)


class Catalogue:
    """What :meth:`LogIndex.catalogue` found; valid while its index is open."""

    def __init__(
        self,
        commits: list[str],
        unlisted: set[str],
        index: LogIndex,
        heads: list[int],
        by_blob: dict[bytes, list[int]],
    ) -> None:
        self.commits = commits  # every commit walked, in log order
        self.unlisted = unlisted  # introduced blobs the object store's listing lacks
        self._index = index
        self._heads = heads  # where each commit's record starts (and the log's end)
        self._by_blob = by_blob  # blob id -> the numbers of the commits introducing it

    def introductions(self, blobs: Iterable[str]) -> list[Introduction]:
        """Every introduction of one of ``blobs``, in log order: only the commits that
        introduce one are parsed."""
        names = set(blobs)
        numbers: set[int] = set()
        for blob in names:
            numbers.update(self._by_blob.get(blob.encode("ascii"), ()))
        data, heads, marker = self._index.data, self._heads, self._index.marker
        out: list[Introduction] = []
        for k in sorted(numbers):
            if 0 <= k < len(heads) - 1:
                records = parse_log(io.BytesIO(data[heads[k] : heads[k + 1]]), marker)
                out += (r for r in records if isinstance(r, Introduction) and r.blob in names)
        return out


@dataclass
class Survey:
    """What :meth:`LogIndex.survey` found."""

    commits: list[str]
    unlisted: set[str]
    records: list[Introduction]


def is_deletion(blob: str) -> bool:
    return not blob.strip("0")
