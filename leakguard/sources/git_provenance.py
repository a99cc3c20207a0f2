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

import bisect
import codecs
import io
import mmap
import os
import re
import secrets
import subprocess
import tempfile
import time
from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from leakguard.sources import git_run

LOG_FIELDS = "%H %P%x00%an%x00%ae%x00%at%x00%aI"
COMMIT_MARK = b"\x01"  # then the pass's nonce (hex), then the commit id
READ_BYTES = 1024 * 1024
SURVEY_BYTES = 8 * 1024 * 1024  # the log is surveyed in blocks of about this size
CATALOGUE_STEP = 1024 * 1024  # a log being written is catalogued each time this much more is there
NAP_SECONDS = 0.005  # how long to wait for git to write more of the log
ENTRY_BYTES = 1024  # more than the head of a raw entry the gitlink pattern reads
GITLINK = b"160000"
# a raw entry (one colon per parent): its modes, ids and status; the last id is the new blob
_RAW_ENTRY = re.compile(rb"\0\n?:+(?:[0-7]{6} )+(?:[0-9a-f]{40,64} )*?([0-9a-f]{40,64}) [A-Z]")
# the same, in two branches the regex engine walks faster (~30% less time over a history's
# log): one parent's entry, where the old id is skipped without checking its digits, and a
# merge's (more colons, modes and ids)
_RAW_ENTRY_FAST = (
    rb"\0\n?:[0-7]{6} [0-7]{6} [^ ]+ ([0-9a-f]{40,64}) [A-Z]"
    rb"|\0\n?::+(?:[0-7]{6} )+(?:[0-9a-f]{40,64} )*?([0-9a-f]{40,64}) [A-Z]"
)
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

    def finished(self) -> bool:
        """Whether git is done writing the log (without waiting for it)."""
        return self._finished or self.proc is None or self.proc.poll() is not None

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
        cataloguer = _Cataloguer(self.marker, catalogue=False)
        self._feed(cataloguer)
        return cataloguer.finish(len(self._data)) is not None and not cataloguer.submodules

    def survey(self, blobs: Iterable[str], listed: Container[str] | None) -> Survey:
        """The commits walked, the introduced blobs ``listed`` lacks (when given), and every
        introduction of one of ``blobs``, in log order (only the commits that hold one are
        parsed), whether the log is plain or not."""
        cataloguer = _Cataloguer(self.marker, listed, need_plain=False)
        self._feed(cataloguer)
        catalogue = cataloguer.finish(len(self._data))
        assert catalogue is not None  # always given when plainness is not asked for
        records = catalogue.introductions(self, blobs)
        return Survey(catalogue.commits, catalogue.unlisted, records)

    def catalogue(self, listed: Container[str] | None) -> Catalogue | None:
        """The log's :class:`Catalogue` (one pass of a regex, block by block), or None when a
        byte is not UTF-8 (a whole parse must name its odd paths; the submodules are found by
        :meth:`Catalogue.submodules`)."""
        cataloguer = _Cataloguer(self.marker, listed)
        self._feed(cataloguer)
        return cataloguer.finish(len(self._data))

    def _feed(self, cataloguer: _Cataloguer, start: int = 0) -> None:
        """Hand ``data[start:]`` (whole records) to ``cataloguer`` in blocks of whole records,
        each released once read."""
        data = self._data
        while start < len(data) and cataloguer.wanted():
            end = data.find(self.marker, start + SURVEY_BYTES)
            end = len(data) if end == -1 else end
            cataloguer.feed(data, start, end)
            self._release(start, end)
            start = end

    def _release(self, start: int, end: int) -> None:
        if isinstance(self._data, mmap.mmap):
            _release(self._data, start, end)


def _release(data: mmap.mmap, start: int, end: int) -> None:
    """Let the kernel drop the pages of ``[start, end)`` once read: a long history's log never
    sits in memory whole (the pages are the file's, read again if needed)."""
    if hasattr(mmap, "MADV_DONTNEED"):
        aligned = start - start % mmap.PAGESIZE
        size = min(end, len(data)) - aligned
        if size > 0:
            data.madvise(mmap.MADV_DONTNEED, aligned, size)


class _Cataloguer:
    """Reads a log block by block (each block whole commit records, in order) and builds its
    :class:`Catalogue`: whether it is plain (no submodule, every byte UTF-8), the commits,
    where each starts, and which commits introduce each blob."""

    def __init__(
        self,
        marker: bytes,
        listed: Container[str] | None = None,
        *,
        catalogue: bool = True,
        need_plain: bool = True,
    ) -> None:
        self.marker = marker
        self.listed = listed
        self.catalogue = catalogue
        self.need_plain = need_plain
        self.plain = True
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        escaped = re.escape(marker)
        self._pattern = re.compile(escaped + rb"([0-9a-f]{40,64})|" + _RAW_ENTRY_FAST)
        self._heads = re.compile(escaped + rb"[0-9a-f]{40,64}")
        self.commits: list[bytes] = []
        self.heads: list[int] = []
        # hash of a blob id -> the number of the commit introducing it, or of each (a list):
        # a few dozen bytes a blob (ids stored whole would be four times more for a long
        # history); two ids of one hash only make a few more commits parsed, never fewer
        self.by_blob: dict[int, int | list[int]] = {}
        self.unlisted: set[str] = set()
        self.submodules = False  # a raw entry adds a submodule (a gitlink)
        self.gitlink_commits: list[int] = []  # the numbers of the commits that add one

    def wanted(self) -> bool:
        """Whether more blocks can change the result (not once the log is known not plain)."""
        return self.plain or not self.need_plain

    def feed(self, data: bytes | mmap.mmap, start: int, end: int, base: int = 0) -> None:
        """The records in ``data[start:end]``; ``base``: where ``data`` starts in the log."""
        if self.need_plain and self.plain:
            self.plain = self._plain(data, start, end)
        if not self.catalogue or not self.wanted():
            if self.need_plain and not self.submodules:
                self.submodules = _GITLINK_ENTRY.search(data, start, end) is not None
            return
        self.heads += [base + m.start() for m in self._heads.finditer(data, start, end)]
        # a submodule's commit is no blob of this repository: named by enrich, never listed
        gitlinks = self._gitlinks(data, start, end, base)
        by_blob = self.by_blob
        introduced: set[bytes] = set()
        number = len(self.commits) - 1  # the commit the entries found next belong to
        for commit, one, merged in self._pattern.findall(data, start, end):
            if commit:
                self.commits.append(commit)
                number += 1
                continue
            blob = one or merged
            introduced.add(blob)
            key = hash(blob)
            numbers = by_blob.get(key)
            if numbers is None:
                by_blob[key] = number
            elif isinstance(numbers, int):
                if numbers != number:
                    by_blob[key] = [numbers, number]
            elif numbers[-1] != number:
                numbers.append(number)
        if self.listed is not None:
            listed = self.listed
            introduced -= gitlinks
            fresh = (b.decode("ascii") for b in introduced if b.strip(b"0"))
            self.unlisted.update(oid for oid in fresh if oid not in listed)

    def _gitlinks(self, data: bytes | mmap.mmap, start: int, end: int, base: int) -> set[bytes]:
        """The commit ids named by the raw entries of ``data[start:end]`` that add a
        submodule; the commits holding those entries are noted in ``gitlink_commits`` (``heads``
        must already hold the block's records)."""
        ids: set[bytes] = set()
        if data.find(GITLINK, start, end) == -1:  # a memchr-fast search; the regex is slower
            return ids
        for m in _GITLINK_ENTRY.finditer(data, start, end):
            self.submodules = True
            number = bisect.bisect_right(self.heads, base + m.start()) - 1
            if not self.gitlink_commits or self.gitlink_commits[-1] != number:
                self.gitlink_commits.append(number)
            entry = _RAW_ENTRY.match(data, m.start())
            if entry is not None:
                ids.add(entry.group(1))
        return ids

    def _plain(self, data: bytes | mmap.mmap, start: int, end: int) -> bool:
        # a raw entry never spans two records, nor a UTF-8 character a record's start (ASCII)
        block = data[start:end]
        if block.isascii():  # most logs: valid UTF-8 without decoding (a copy as big saved)
            return True
        try:
            self._decoder.decode(block)
        except UnicodeDecodeError:
            return False
        return True

    def finish(self, size: int) -> Catalogue | None:
        """The catalogue of a log of ``size`` bytes, all fed; None when it is not plain (a
        byte is not UTF-8: a path the whole parse must name)."""
        if self.need_plain and self.plain:
            try:
                self._decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                self.plain = False
        if not self.wanted():
            return None
        commits = [c.decode("ascii") for c in self.commits]
        heads = [*self.heads, size]
        return Catalogue(commits, self.unlisted, heads, self.by_blob, self.gitlink_commits)


def read_log(log: LogPass, listed: Container[str] | None) -> tuple[LogIndex, Catalogue | None]:
    """The log mapped, and its :class:`Catalogue` (None when it is not plain), read while git
    is still writing it: every whole record written so far is catalogued each time a step
    more is there, so little is left to read once git is done (on a busy machine the log is
    often the last process of a scan to finish)."""
    cataloguer = _Cataloguer(log.marker, listed)
    fd = log.output.fileno()
    done = 0  # the log is catalogued up to here (the start of a record)
    looked = 0  # the log's size when its records were last looked for
    while not log.finished():
        size = os.fstat(fd).st_size
        if size - max(done, looked) >= CATALOGUE_STEP and cataloguer.wanted():
            looked = size
            done = _feed_written(cataloguer, fd, done, size)
        else:
            time.sleep(NAP_SECONDS)
    log.wait()
    index = log.index()
    try:
        index._feed(cataloguer, done)
        return index, cataloguer.finish(len(index.data))
    except BaseException:
        index.close()
        raise


def _feed_written(cataloguer: _Cataloguer, fd: int, done: int, size: int) -> int:
    """Catalogue the whole records git wrote from ``done`` to ``size``; where they end."""
    offset = done - done % mmap.ALLOCATIONGRANULARITY
    with mmap.mmap(fd, size - offset, offset=offset, access=mmap.ACCESS_READ) as data:
        # the last record may be half written: up to the start of the last one
        end = data.rfind(cataloguer.marker, done - offset + 1)
        if end == -1:
            return done
        start = done - offset
        while start < end:
            cut = data.find(cataloguer.marker, start + SURVEY_BYTES, end)
            cut = end if cut == -1 else cut
            cataloguer.feed(data, start, cut, offset)
            _release(data, start, cut)
            start = cut
    return offset + end


class Catalogue:
    """What :meth:`LogIndex.catalogue` found; valid while its index is open."""

    def __init__(
        self,
        commits: list[str],
        unlisted: set[str],
        heads: list[int],
        by_blob: dict[int, int | list[int]],
        gitlink_commits: Sequence[int] = (),
    ) -> None:
        self.commits = commits  # every commit walked, in log order
        self.unlisted = unlisted  # introduced blobs the object store's listing lacks
        self._heads = heads  # where each commit's record starts (and the log's end)
        self._by_blob = by_blob  # hash of a blob id -> the commit(s) introducing it
        self._gitlink_commits = gitlink_commits  # the commits that add a submodule, in order

    def submodules(self, index: LogIndex) -> list[Introduction]:
        """Every raw entry that adds a submodule (mode ``160000``), in log order: only the
        commits that hold one are parsed."""
        return [
            r
            for r in self._records(index, self._gitlink_commits)
            if isinstance(r, Introduction) and r.mode == GITLINK and not is_deletion(r.blob)
        ]

    def _records(self, index: LogIndex, numbers: Iterable[int]) -> Iterator[Commit | Introduction]:
        data, heads, marker = index.data, self._heads, index.marker
        for k in numbers:
            if 0 <= k < len(heads) - 1:
                yield from parse_log(io.BytesIO(data[heads[k] : heads[k + 1]]), marker)

    def introductions(self, index: LogIndex, blobs: Iterable[str]) -> list[Introduction]:
        """Every introduction of one of ``blobs``, in log order, read from the log ``index``
        maps: only the commits that introduce one are parsed."""
        names = set(blobs)
        numbers: set[int] = set()
        for blob in names:
            found = self._by_blob.get(hash(blob.encode("ascii")), ())
            numbers.update((found,) if isinstance(found, int) else found)
        records = self._records(index, sorted(numbers))
        return [r for r in records if isinstance(r, Introduction) and r.blob in names]


@dataclass
class Survey:
    """What :meth:`LogIndex.survey` found."""

    commits: list[str]
    unlisted: set[str]
    records: list[Introduction]


def is_deletion(blob: str) -> bool:
    return not blob.strip("0")
