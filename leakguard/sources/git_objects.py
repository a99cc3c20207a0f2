"""Object contents from one long-lived ``git cat-file`` process.

* :func:`list_objects` lists every object with its type and size from the object headers
  (``--batch-all-objects --unordered --batch-check``: pack order, without inflating contents);
  :func:`list_by_kind` the same for a few types, parsed in blocks (a history's listing is
  tens of thousands of lines, read before any blob is);
* :func:`objects_by_id` answers a list of object ids (``--batch --buffer``; the ids are
  written by a feeder thread so git never waits for us to read and we never wait for it to
  write). Given in pack order, blobs come out as fast as git can inflate them, with its
  delta-base cache warm.

A missing or unreadable object is reported as a ``GitObject`` with ``kind`` ``missing`` (git
prints ``<id> missing`` for both) or ``corrupt`` (git died while streaming it: the reader starts
a new process for the remaining ids). Blobs over ``max_bytes`` are drained from the pipe, never
held in memory: their ``data`` is None and ``oversized`` is set.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, NamedTuple

from leakguard.sources import git_run

PIPE_BYTES = 1024 * 1024
DRAIN_BYTES = 1024 * 1024
LIST_BLOCK_BYTES = 4 * 1024 * 1024


class GitObject(NamedTuple):
    """One object cat-file answered (a tuple: a history reads tens of thousands of them, and a
    tuple is made in a third of a frozen dataclass's time)."""

    oid: str
    kind: str  # blob | tree | commit | tag | missing | corrupt
    size: int
    data: bytes | None = None  # None when not a blob, oversized, missing or corrupt

    @property
    def oversized(self) -> bool:
        return self.kind == "blob" and self.data is None


class GitProcessDied(Exception):
    """cat-file exited mid-stream; ``oid`` is the object it was writing (if known)."""

    def __init__(self, oid: str | None) -> None:
        super().__init__(oid or "")
        self.oid = oid


def _popen(git_dir: Path, args: Sequence[str], stdin: bool) -> subprocess.Popen[bytes]:
    proc = git_run.popen(
        args,
        git_dir=git_dir,
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        bufsize=PIPE_BYTES,
    )
    _grow_pipe(proc.stdout)
    return proc


def _grow_pipe(stream: IO[bytes] | None) -> None:
    """A 1 MiB pipe instead of 64 KiB: fewer wake-ups between git and us."""
    if stream is None:
        return
    try:
        import fcntl

        fcntl.fcntl(stream.fileno(), 1031, PIPE_BYTES)  # F_SETPIPE_SZ (Linux)
    except (ImportError, OSError, ValueError):
        pass


_KINDS = {b"blob": "blob", b"tree": "tree", b"commit": "commit", b"tag": "tag"}


#: a blob the caller's ``quiet`` check took (see :func:`objects_by_id`): counted, never given
_TAKEN = GitObject("", "taken", 0)


def _read_objects(
    stdout: IO[bytes],
    max_bytes: int,
    wanted: Callable[[str, str], bool] | None = None,
    quiet: Callable[[memoryview], bool] | None = None,
    quiet_bytes: int = 0,
) -> Iterator[GitObject]:
    """Parse ``<oid> <type> <size>\\n<content>\\n`` records until EOF.

    ``wanted(oid, kind)`` says whether to keep the content (None: every object's); others are
    drained. ``quiet(view)`` (with no ``wanted``) is asked about each blob of 1 to
    ``quiet_bytes`` bytes (and no more than ``max_bytes``), read into a buffer reused for the
    next one: True yields ``_TAKEN`` in its place, False the blob with a copy of its content.
    A blob of a real history is often a few hundred bytes: the loop does as little as it can
    per object.
    """
    readline, read = stdout.readline, stdout.read
    readinto = stdout.readinto  # type: ignore[attr-defined]  # a buffered pipe (or BytesIO)
    kinds = _KINDS
    reused = min(quiet_bytes, max_bytes) if quiet is not None and wanted is None else 0
    buffer = memoryview(bytearray(reused))
    check = quiet or _not_quiet
    while True:
        header = readline()
        if not header:
            return
        parts = header.split()
        if len(parts) != 3 or header[-1] != 10:  # 10: the newline
            yield _odd_header(header, parts)
            continue
        size = int(parts[2])
        if size <= reused and size and parts[1] == b"blob":
            view = buffer[:size]
            if readinto(view) != size or read(1) != b"\n":
                raise GitProcessDied(parts[0].decode("ascii", "replace"))
            if check(view):
                yield _TAKEN
            else:
                yield GitObject(parts[0].decode("ascii", "replace"), "blob", size, view.tobytes())
            continue
        oid = parts[0].decode("ascii", "replace")
        kind = kinds.get(parts[1]) or parts[1].decode("ascii", "replace")
        if size <= max_bytes and (wanted is None or wanted(oid, kind)):
            data = read(size)
            if len(data) != size or read(1) != b"\n":
                raise GitProcessDied(oid)
            yield GitObject(oid, kind, size, data)
            continue
        left = size + 1
        while left:
            got = len(read(min(left, DRAIN_BYTES)))
            if not got:
                raise GitProcessDied(oid)
            left -= got
        yield GitObject(oid, kind, size)


def _not_quiet(_view: memoryview) -> bool:
    return False


def _odd_header(header: bytes, parts: list[bytes]) -> GitObject:
    """A header that is not ``<oid> <type> <size>``: a missing object, else git died."""
    if header[-1:] != b"\n":
        raise GitProcessDied(None)
    oid = parts[0].decode("ascii", "replace") if parts else ""
    if len(parts) == 2 and parts[1] in (b"missing", b"ambiguous"):
        return GitObject(oid, "missing", 0)
    raise GitProcessDied(oid or None)


def list_objects(git_dir: Path) -> Iterator[tuple[str, str, int]]:
    """(oid, type, size) of every object in pack order, from object headers only."""
    proc = _popen(
        git_dir,
        [
            "cat-file",
            "--batch-all-objects",
            "--unordered",
            "--batch-check=%(objectname) %(objecttype) %(objectsize)",
        ],
        False,
    )
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            parts = line.split()
            if len(parts) == 3:
                yield parts[0].decode("ascii"), parts[1].decode("ascii"), int(parts[2])
    finally:
        _stop(proc)


def list_by_kind(git_dir: Path, kinds: Sequence[str]) -> dict[str, list[tuple[str, int]]]:
    """(oid, size on disk) of every object of each of ``kinds``, in pack order (as
    list_objects). The size on disk (compressed, or the delta's) is what the listing is asked
    for: git finds it in the pack index without reading the object's header (a history's
    listing: 0.04 s of git's time instead of 0.06), and it weighs the blobs well enough to
    cut them into ranges of similar work."""
    listing = Listing(git_dir, kinds)
    try:
        return listing.result()
    finally:
        listing.close()


class Listing:
    """:func:`list_by_kind` started now and read later: git writes the listing to a temporary
    file, so it lists while the caller does other work (reads the refs, starts the log).
    ``started``: the process id and output file of that listing, started already
    (:mod:`git_early`, before this module was loaded)."""

    def __init__(
        self,
        git_dir: Path,
        kinds: Sequence[str],
        *,
        started: tuple[int, IO[bytes]] | None = None,
    ) -> None:
        self.kinds = tuple(kinds)
        self._proc: subprocess.Popen[bytes] | _Spawned
        if started is not None:
            self._proc, self._output = _Spawned(started[0]), started[1]
            return
        self._output = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        try:
            self._proc = git_run.popen(
                list(git_run.OBJECT_LISTING),
                git_dir=git_dir,
                stdin=subprocess.DEVNULL,
                stdout=self._output,
                stderr=subprocess.DEVNULL,
            )
        except BaseException:
            self._output.close()
            raise

    def result(self) -> dict[str, list[tuple[str, int]]]:
        self._proc.wait()
        self._output.seek(0)
        return _parse_listing(self._output, self.kinds)

    def close(self) -> None:
        _stop(self._proc)
        self._output.close()


class _Spawned:
    """A git process started by :func:`git_run.start_to_file`, seen as much like a
    :class:`subprocess.Popen` as :func:`_stop` and :class:`Listing` need."""

    stdin = stdout = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self._reap(os.WNOHANG)

    def wait(self) -> int:
        code = self._reap(0)
        assert code is not None
        return code

    def _reap(self, flags: int) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, flags)
            except ChildProcessError:  # reaped by someone else: gone, its status unknown
                self.returncode = 255
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)


def _parse_listing(stream: IO[bytes], kinds: Sequence[str]) -> dict[str, list[tuple[str, int]]]:
    """``<type> <oid> <size>`` lines, read in blocks, one regex per wanted type (over the bytes
    as read: decoding each block first doubled the memory a block takes and the time)."""
    patterns = {
        # a literal first (the type on a line's start): the regex engine skips to it at once
        kind: re.compile(rb"\n" + re.escape(kind.encode("ascii")) + rb" ([0-9a-f]+) ([0-9]+)")
        for kind in kinds
    }
    found: dict[str, list[tuple[str, int]]] = {kind: [] for kind in kinds}
    pending = b"\n"  # the newline before the first line, then the unfinished line
    while block := stream.read(LIST_BLOCK_BYTES):
        text = pending + block
        cut = text.rfind(b"\n")  # the newline ending the last whole line
        # (a line's pattern starts at the newline before it: one cut short stays pending)
        for kind, pattern in patterns.items():
            found[kind] += [
                (oid.decode("ascii"), int(size)) for oid, size in pattern.findall(text, 0, cut)
            ]
        pending = text[cut:]
    return found


class Lookups:
    """``cat-file --batch-check=%(objectname)`` processes started now and asked later: each
    query (``<commit>:<path>``, say) gets the id it names, or None.

    Asked at the end of a scan, when everything else is done and a core is idle: the queries
    are split among the processes, which answer at once (a history's 48 findings on 8 branches:
    376 queries, ~11 ms for one git process; the processes start while the log is read)."""

    def __init__(self, git_dir: Path, processes: int) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []
        try:
            for _ in range(max(1, processes)):
                self._procs.append(
                    git_run.popen(
                        ["cat-file", "--batch-check=%(objectname)", "--buffer"],
                        git_dir=git_dir,
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL,
                    )
                )
        except BaseException:
            self.close()
            raise

    def ask(self, queries: Sequence[bytes]) -> list[str | None]:
        """The answer to each query (none holds a newline), in order; once. None where the
        object is missing or git gave no answer (it died)."""
        procs, self._procs = self._procs, []
        share = -(-len(queries) // len(procs)) if procs else 0
        slices = [queries[i * share : (i + 1) * share] for i in range(len(procs))]
        outputs: list[bytes] = [b""] * len(procs)

        def answer(k: int) -> None:
            payload = b"".join(q + b"\n" for q in slices[k])
            with contextlib.suppress(OSError, ValueError):
                outputs[k] = procs[k].communicate(payload)[0] or b""

        helpers = [threading.Thread(target=answer, args=(k,)) for k in range(1, len(procs))]
        try:
            for t in helpers:
                t.start()
            if procs:
                answer(0)
        finally:
            for t in helpers:
                t.join()
            for proc in procs:
                _stop(proc)
        answers: list[str | None] = []
        for part, out in zip(slices, outputs, strict=True):
            lines = out.split(b"\n")
            for i in range(len(part)):
                line = lines[i] if i < len(lines) else b""
                answers.append(None if not line or line.endswith(b"missing") else line.decode())
        return answers

    def close(self) -> None:
        procs, self._procs = self._procs, []
        for proc in procs:
            _stop(proc)


def objects_by_id(
    git_dir: Path,
    oids: Iterable[str],
    max_bytes: int,
    quiet: Callable[[memoryview], bool] | None = None,
    quiet_bytes: int = 0,
) -> Iterator[GitObject]:
    """The objects named by ``oids``, in that order; a corrupt one does not stop the rest.

    ``quiet(view)``: asked about each blob of 1 to ``quiet_bytes`` bytes (within ``max_bytes``)
    with a view of its content: the first bytes of a ``bytearray`` (``view.obj``) read into
    again for the next blob (the view is not to be kept). A blob it answers True for is the
    caller's: it is not yielded, and its content is never copied out of the buffer (most
    blobs of a history, when the caller can tell those with nothing to find).

    git buffers its output (``--buffer``: a write per few KiB, not three per object) until it
    first dies; from then on it flushes after each object, so the object it died on is the one
    after the last it wrote, and only that one is reported corrupt.
    """
    pending = list(dict.fromkeys(oids))
    buffered = True
    while pending:
        done = 0
        try:
            for obj in _batch(git_dir, pending, max_bytes, buffered, quiet, quiet_bytes):
                done += 1
                if obj is not _TAKEN:
                    yield obj
            return
        except GitProcessDied:
            if buffered:  # what git held in its buffer was lost: ask again from there
                buffered = False
                pending = pending[done:]
                continue
            # git died on pending[done]: report it and go on with a fresh process
            yield GitObject(pending[done], "corrupt", 0)
            pending = pending[done + 1 :]


def _batch(
    git_dir: Path,
    oids: list[str],
    max_bytes: int,
    buffered: bool,
    quiet: Callable[[memoryview], bool] | None,
    quiet_bytes: int,
) -> Iterator[GitObject]:
    proc = _popen(git_dir, ["cat-file", "--batch", *(["--buffer"] if buffered else [])], True)
    assert proc.stdin is not None and proc.stdout is not None
    feeder = threading.Thread(target=_feed, args=(proc.stdin, oids), daemon=True)
    feeder.start()
    try:
        count = 0
        for obj in _read_objects(proc.stdout, max_bytes, None, quiet, quiet_bytes):
            count += 1
            yield obj
        if count < len(oids):
            raise GitProcessDied(None)
    finally:
        _stop(proc)
        feeder.join()


def _feed(stdin: IO[bytes], oids: list[str]) -> None:
    try:
        for start in range(0, len(oids), 512):
            stdin.write("".join(f"{o}\n" for o in oids[start : start + 512]).encode("ascii"))
        stdin.close()
    except (BrokenPipeError, OSError, ValueError):
        pass  # git died; the reader reports it


def _stop(proc: subprocess.Popen[bytes] | _Spawned) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
