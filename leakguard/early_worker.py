"""Workers forked before LeakGuard loads, for a scan whose pieces can be guessed.

A pool's workers start once the scan has planned and built its engine: on a web build, the
first 0.14 s of a 0.44 s scan passed with one of two cores idle while LeakGuard loaded. The
console script instead forks helpers first thing (:func:`begin`; the guess is made by
:mod:`leakguard.cli.early`). Each helper loads what a scan needs, makes the guessed scan's
plan, builds its engine and starts on the pieces at once, while the command line is still
being parsed. The scan, once it has planned, claims the helpers (:func:`claim`) only when each
planned exactly what it did (the same key: options, rules version, engine, pieces). It then
scans pieces from the same queue as they do (its own process is a worker too: no pool is
started) and collects their results (:meth:`Claimed.run`). Helpers not claimed are killed and
their work is never read: a wrong guess costs a core's idle time, never a result.

The queue is a pipe holding every piece's index as 4 bytes, written at once by the first
helper; each worker reads 4 bytes at a time (reads from a pipe are atomic), so each piece is
scanned by exactly one. Each helper sends its plan's key, then each piece's result (or the
exception its scan raised), as length-prefixed pickles on a pipe of its own. A helper never
writes to the terminal, ignores Ctrl-C (the scan stops it), and dies with the scan: the
``prepare`` it runs is expected to bind it to its parent (``PR_SET_PDEATHSIG``, a watchdog).

This module knows nothing of scans (it imports no other part of LeakGuard but its errors): what
a helper does is the ``prepare`` function given to :func:`begin`, which returns the key, the
number of pieces and how to scan one.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import struct
import time

from leakguard.errors import LeakguardError

# loaded before anything else by the console script: no typing, dataclasses, pickle or
# threading at import (together ~15 ms); they are loaded where they are used
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Iterator
    from typing import Any

    #: what a helper prepares: the key its plan must share with the scan's, the number of
    #: pieces, and the function that scans one piece by its index
    Prepared = tuple[Hashable, int, Callable[[int], Any]]

#: workers of a scan (its own process and the helpers) up to which helpers are started: each
#: loads LeakGuard on its own (~50 MB), where a pool's forked workers share the parent's pages
MAX_WORKERS = 4
#: pieces the queue can hold: 4 bytes each, written at once, within the size POSIX writes into
#: a pipe whole (``PIPE_BUF``, 4096 bytes): a reader never sees part of one (a 40 GB tree is cut
#: into about 1,200 batches: its scan starts a pool)
MAX_PIECES = 1024
#: seconds a scan waits for a helper's plan before it gives up on the helpers
PLAN_WAIT = 10.0
#: seconds the scan's exit waits for a helper that worked to end on its own (it ends once the
#: queue is empty: it is killed past this)
REAP_WAIT = 5.0

_INDEX = struct.Struct("<I")
_LENGTH = struct.Struct("<Q")


class WorkerDied(LeakguardError):
    """A helper ended (killed, out of memory) before it sent the result of a piece it took: the
    scan cannot report what that piece holds (exit 2, as any environment error)."""

    def __init__(self) -> None:
        super().__init__(
            "a scan worker ended before it sent the result of the files it took (killed?"
            " out of memory?): no report was made",
            hint="run the scan again; with --jobs 1 it runs in one process",
        )


class _Helper:
    __slots__ = ("pid", "results")

    def __init__(self, pid: int, results: int) -> None:
        self.pid = pid
        self.results = results  # the read end of the pipe it sends its messages on


class _Started:
    __slots__ = ("closed", "done", "draining", "helpers", "queue", "reaped")

    def __init__(self, helpers: list[_Helper], queue: int) -> None:
        self.helpers = helpers
        self.queue = queue  # the queue's read end
        self.done = False  # claimed, or stopped
        #: the results pipes are read (and closed at their end) by the scan's threads
        self.draining = False
        self.closed = False
        self.reaped = False


def _reads(helpers: list[_Helper]) -> list[int]:
    return [h.results for h in helpers]


_started: _Started | None = None


def begin(prepare: Callable[[], Prepared | None], workers: int) -> int:
    """Fork ``workers - 1`` helpers (none unless 2 to :data:`MAX_WORKERS` workers), each running
    ``prepare`` and then the pieces; how many were started. Called before anything else is
    loaded or any thread is started. Never raises."""
    global _started
    if _started is not None or not 2 <= workers <= MAX_WORKERS or not hasattr(os, "fork"):
        return 0
    try:
        queue_r, queue_w = os.pipe()
    except OSError:
        return 0
    helpers: list[_Helper] = []
    # Ctrl-C is held while forking: landing in a helper before it ignores it, it would print a
    # traceback there (the scan gets it once the helpers are started)
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        for number in range(workers - 1):
            try:
                results_r, results_w = os.pipe()
            except OSError:
                break
            try:
                pid = os.fork()
            except OSError:
                os.close(results_r)
                os.close(results_w)
                break
            if pid == 0:
                reads = [results_r, *_reads(helpers)]
                _helper(prepare, number, queue_r, queue_w, results_w, reads, held)
            os.close(results_w)
            helpers.append(_Helper(pid, results_r))
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    os.close(queue_w)  # only the first helper writes the queue
    if not helpers:
        os.close(queue_r)
        return 0
    _started = _Started(helpers, queue_r)
    import atexit

    atexit.register(end)
    return len(helpers)


def _helper(
    prepare: Callable[[], Prepared | None],
    number: int,
    queue_r: int,
    queue_w: int,
    out: int,
    others: list[int],
    mask: set[int | signal.Signals],
) -> None:
    """A helper's life, in the forked child; never returns. ``others``: the read ends of the
    results pipes (its own and earlier helpers'), which are the scan's; ``mask``: the signal
    mask to restore once Ctrl-C is ignored."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the scan's to handle
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for other in others:
            os.close(other)
        if number:
            os.close(queue_w)
            queue_w = -1
        _serve(prepare, queue_r, queue_w, out)
    except BaseException:  # the scan learns of it from the closed pipe
        code = 1
    os._exit(code)


def _serve(prepare: Callable[[], Prepared | None], queue_r: int, queue_w: int, out: int) -> None:
    prepared = prepare()
    if prepared is None or not 2 <= prepared[1] <= MAX_PIECES:
        return  # the scan finds no plan on the pipe and starts its own workers
    key, count, scan = prepared
    _send(out, ("plan", key, count))
    if queue_w >= 0:
        _write_all(queue_w, b"".join(_INDEX.pack(i) for i in range(count)))
        os.close(queue_w)
    for index in _indices(queue_r):
        try:
            result = scan(index)
        except Exception as exc:  # the scan raises it
            _send(out, ("error", index, exc))
            return
        _send(out, ("result", index, result))


def _indices(queue: int) -> Iterator[int]:
    """The piece indices this worker takes from the queue, until it is empty."""
    while True:
        record = os.read(queue, _INDEX.size)
        if len(record) < _INDEX.size:
            return
        yield _INDEX.unpack(record)[0]


def _send(out: int, message: tuple[Any, ...]) -> None:
    import pickle

    try:
        data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    except Exception:
        if message[0] != "error":
            raise
        index, exc = message[1:]  # an exception that cannot be pickled: its name then
        substitute = RuntimeError(f"{type(exc).__name__} in a scan worker")
        data = pickle.dumps(("error", index, substitute), pickle.HIGHEST_PROTOCOL)
    _write_all(out, _LENGTH.pack(len(data)) + data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_message(fd: int) -> tuple[Any, ...] | None:
    """The next message on ``fd``; None once the helper is gone (or sent garbage)."""
    import pickle

    try:
        head = _read_exactly(fd, _LENGTH.size)
        body = None if head is None else _read_exactly(fd, _LENGTH.unpack(head)[0])
        message = None if body is None else pickle.loads(body)
    except Exception:  # a helper cut off mid-message
        return None
    return message if isinstance(message, tuple) else None


def _read_exactly(fd: int, size: int) -> bytes | None:
    parts = []
    while size:
        part = os.read(fd, min(size, 1 << 20))
        if not part:
            return None
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def claim(key: Hashable, count: int) -> Claimed | None:
    """The helpers, once each has sent a plan of ``key`` and ``count`` pieces (waiting up to
    :data:`PLAN_WAIT` seconds for each); else None, and they are stopped. Once per process."""
    started = _started
    if started is None or started.done:
        return None
    started.done = True
    try:
        if not 2 <= count <= MAX_PIECES:
            _stop(started)
            return None
        for helper in started.helpers:
            ready, _, _ = select.select([helper.results], [], [], PLAN_WAIT)
            message = _read_message(helper.results) if ready else None
            if message != ("plan", key, count):
                _stop(started)
                return None
    except BaseException:  # Ctrl-C while waiting for a plan
        _stop(started)
        raise
    return Claimed(started, count)


class Claimed:
    """Helpers a scan claimed, scanning the pieces of its plan with it."""

    def __init__(self, started: _Started, count: int) -> None:
        self._started = started
        self._count = count
        #: how many helpers scan beside the scan's own process
        self.helpers = len(started.helpers)

    def stop(self) -> None:
        """Kill the helpers (the scan failed before it could collect their results)."""
        _stop(self._started)

    def run(self, scan: Callable[[int], Any], done: Callable[[Any], None]) -> list[Any]:
        """Scan pieces from the queue with ``scan`` until it is empty, collect the helpers'
        results meanwhile and then the rest; ``done`` is called with each result as it is in.
        The results come back in the pieces' order. Raises what a helper's scan raised, or
        :class:`WorkerDied`; the helpers are stopped when anything is raised here."""
        try:
            results = self._run(scan, done)
        except BaseException:
            _stop(self._started)
            raise
        _close(self._started)  # each helper ends once the queue is empty; reaped at exit
        return results

    def _run(self, scan: Callable[[int], Any], done: Callable[[Any], None]) -> list[Any]:
        self._started.draining = True
        inbox = _Inbox(self._started.helpers)
        results: dict[int, Any] = {}
        for index in _indices(self._started.queue):
            results[index] = result = scan(index)
            done(result)
            for index_, result_ in inbox.take(block=False):
                results[index_] = result_
                done(result_)
        while len(results) < self._count:
            for index_, result_ in inbox.take(block=True):
                results[index_] = result_
                done(result_)
        return [results[i] for i in range(self._count)]


class _Inbox:
    """What the helpers send, read by one thread per helper (a helper never waits on a full
    pipe while the scan's process is busy with a piece of its own); each thread closes its
    pipe at its end (closed by another thread, the descriptor could be reused under it)."""

    def __init__(self, helpers: list[_Helper]) -> None:
        import threading

        self._messages: list[tuple[Any, ...]] = []
        self._open = len(helpers)
        self._arrived = threading.Condition()
        for helper in helpers:
            thread = threading.Thread(
                target=self._drain, args=(helper,), name="leakguard-early-worker", daemon=True
            )
            thread.start()

    def _drain(self, helper: _Helper) -> None:
        while True:
            message = _read_message(helper.results)
            if message is None:
                with contextlib.suppress(OSError):
                    os.close(helper.results)
            with self._arrived:
                if message is None:
                    self._open -= 1
                else:
                    self._messages.append(message)
                self._arrived.notify()
            if message is None:
                return

    def take(self, *, block: bool) -> list[tuple[int, Any]]:
        """The results in so far (when ``block``: at least one, waiting for it)."""
        with self._arrived:
            while block and not self._messages and self._open:
                self._arrived.wait()
            messages, self._messages = self._messages, []
            gone = block and not messages and not self._open
        if gone:
            raise WorkerDied()
        out = []
        for kind, index, payload in messages:
            if kind == "error":
                raise payload
            out.append((index, payload))
        return out


def stop() -> None:
    """Kill the helpers unless a scan claimed them (the scan needs none); reaped at exit."""
    started = _started
    if started is not None and not started.done:
        started.done = True
        _stop(started)


def end() -> None:
    """At exit: kill helpers never claimed, and reap every helper, so none outlives the scan
    and the time they worked is the scan's (``wait4``, ``time``). A helper that worked has
    ended by then, or ends within :data:`REAP_WAIT` seconds; it is killed past that."""
    started = _started
    if started is None or started.reaped:
        return
    stop()
    started.reaped = True
    deadline = time.monotonic() + REAP_WAIT
    for helper in started.helpers:
        while True:
            try:
                pid, _ = os.waitpid(helper.pid, os.WNOHANG)
            except ChildProcessError:  # reaped already
                break
            if pid:
                break
            if time.monotonic() > deadline:
                with contextlib.suppress(OSError):
                    os.kill(helper.pid, signal.SIGKILL)
                    os.waitpid(helper.pid, 0)
                break
            time.sleep(0.001)


def _stop(started: _Started) -> None:
    """Kill every helper now (its results are not needed, or cannot be used)."""
    for helper in started.helpers:
        with contextlib.suppress(OSError):
            os.kill(helper.pid, signal.SIGKILL)
    _close(started)


def _close(started: _Started) -> None:
    if started.closed:
        return
    started.closed = True
    fds = [] if started.draining else _reads(started.helpers)
    for fd in (*fds, started.queue):
        with contextlib.suppress(OSError):
            os.close(fd)
