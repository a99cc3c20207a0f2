"""Pool teardown: workers are killed at once, and stop signals are held only while forking."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor, wait
from pathlib import Path

from leakguard.scanner import bind_to_parent, spawning_workers, stop_pool


def _sleep_forever() -> None:
    while True:
        time.sleep(1)


def _dispositions() -> tuple[object, object, bool]:
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    return (
        signal.getsignal(signal.SIGINT),
        signal.getsignal(signal.SIGTERM),
        bool(blocked & {signal.SIGINT, signal.SIGTERM}),
    )


def _gone(pid: int | None, within: float = 10.0) -> bool:
    """The process no longer runs: reaped, or a zombie waiting to be."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/status") as status:
                if "State:\tZ" in status.read():
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.02)
    return False


def test_stop_pool_kills_busy_workers_without_waiting_for_them() -> None:
    pool = ProcessPoolExecutor(2, initializer=bind_to_parent, initargs=(os.getpid(),))
    with spawning_workers():
        futures = [pool.submit(_sleep_forever) for _ in range(3)]
    deadline = time.monotonic() + 60
    while not all(f.running() for f in futures[:2]) and time.monotonic() < deadline:
        time.sleep(0.02)
    workers = list(pool._processes.values())
    assert len(workers) == 2
    started = time.monotonic()
    stop_pool(pool)
    pool.shutdown(wait=True)
    assert time.monotonic() - started < 30  # never the forever the tasks would take
    # asked of the system, not of Process.is_alive(): the executor's own thread may reap a
    # killed worker first, and a Process that lost that race still reads as alive
    assert all(_gone(w.pid) for w in workers)
    # cancelled, or failed with the broken pool: the executor's own thread marks them, a moment
    # after the kill, so give it a bounded while (the tasks themselves would run forever)
    wait(futures, timeout=30)
    assert all(f.done() for f in futures)


def test_workers_leave_stop_signals_to_the_parent() -> None:
    with (
        ProcessPoolExecutor(1, initializer=bind_to_parent, initargs=(os.getpid(),)) as pool,
        spawning_workers(),
    ):
        future = pool.submit(_dispositions)
    sigint, sigterm, blocked = future.result(timeout=60)
    assert sigint == signal.SIG_IGN and sigterm == signal.SIG_DFL and not blocked


def test_spawning_workers_restores_the_mask() -> None:
    before = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    with spawning_workers():
        held = signal.pthread_sigmask(signal.SIG_BLOCK, set())
        assert {signal.SIGINT, signal.SIGTERM} <= held
    assert signal.pthread_sigmask(signal.SIG_BLOCK, set()) == before


def test_a_parent_that_died_unreaped_is_not_alive() -> None:
    """A worker checks its parent once its death signal is armed: a parent that died and is
    not reaped yet (a zombie) must count as gone, or the worker would outlive it."""
    from leakguard.scanner import _alive

    pid = os.fork()
    if pid == 0:
        os._exit(0)
    try:
        deadline = time.monotonic() + 30
        while "State:\tZ" not in Path(f"/proc/{pid}/status").read_text():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert _alive(pid) is False
        assert _alive(os.getpid()) is True
    finally:
        os.waitpid(pid, 0)
    assert _alive(pid) is False
