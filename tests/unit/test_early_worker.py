"""Workers forked before a scan has planned (:mod:`leakguard.early_worker`), with real forked
processes: the scan claims them only for the plan it made, each piece is scanned once, what a
helper raises or its death reaches the scan, and nothing is left running."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from leakguard import early_worker
from leakguard.errors import EXIT_USAGE
from tests.support.processes import gone

KEY = ("plan", 1, ("pieces",))
PIECES = 40


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    early_worker._started = None
    yield
    early_worker.end()
    early_worker._started = None


def _helpers() -> list[int]:
    started = early_worker._started
    assert started is not None
    return [h.pid for h in started.helpers]


def _wait_for(path: Path, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.01)


def _tagged(index: int) -> tuple[int, int]:
    time.sleep(0.002)  # long enough for the helpers to take some pieces
    return index, os.getpid()


def _prepared(
    scan: Callable[[int], object] = _tagged, key: object = KEY, count: int = PIECES
) -> Callable[[], early_worker.Prepared]:
    return lambda: (key, count, scan)  # type: ignore[return-value]


@pytest.mark.parametrize("workers", [2, 4])
def test_the_scan_and_its_helpers_scan_every_piece_once(workers: int) -> None:
    assert early_worker.begin(_prepared(), workers) == workers - 1
    helpers = _helpers()
    claimed = early_worker.claim(KEY, PIECES)
    assert claimed is not None and claimed.helpers == workers - 1
    done: list[object] = []
    results = claimed.run(_tagged, done.append)
    assert [index for index, _ in results] == list(range(PIECES))  # each once, in order
    assert len(done) == PIECES and sorted(done) == sorted(results)  # type: ignore[type-var]
    assert {pid for _, pid in results} <= {os.getpid(), *helpers}
    assert all(gone(pid) for pid in helpers)  # each ends once the queue is empty
    early_worker.end()  # at exit: reaped, so their time counts as the scan's (wait4)
    assert all(_reaped(pid) for pid in helpers)


def _reaped(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_another_plan_is_not_claimed_and_its_helpers_are_stopped() -> None:
    assert early_worker.begin(_prepared(), 3) == 2
    helpers = _helpers()
    assert early_worker.claim(("plan", 2, ("pieces",)), PIECES) is None
    assert all(gone(pid) for pid in helpers)
    early_worker.end()
    assert all(_reaped(pid) for pid in helpers)
    assert early_worker.claim(KEY, PIECES) is None  # once per process


def test_another_number_of_pieces_is_not_claimed() -> None:
    assert early_worker.begin(_prepared(), 2) == 1
    assert early_worker.claim(KEY, PIECES + 1) is None


def test_a_helper_that_plans_nothing_is_not_claimed() -> None:
    assert early_worker.begin(lambda: None, 2) == 1
    helpers = _helpers()
    started = time.monotonic()
    assert early_worker.claim(KEY, PIECES) is None
    assert time.monotonic() - started < early_worker.PLAN_WAIT  # its end says so at once
    assert all(gone(pid) for pid in helpers)


def test_a_helper_that_raises_while_planning_is_not_claimed() -> None:
    def prepare() -> early_worker.Prepared:
        raise ValueError("bad configuration")

    assert early_worker.begin(prepare, 2) == 1
    assert early_worker.claim(KEY, PIECES) is None


def test_what_a_helper_raises_is_raised_by_the_scan(tmp_path: Path) -> None:
    marker = tmp_path / "took-0"

    def scan(index: int) -> object:
        if index == 0:  # the first piece, taken by the helper before the scan claims it
            marker.touch()
            raise LookupError("piece 0 could not be read")
        return _tagged(index)

    assert early_worker.begin(_prepared(scan), 2) == 1
    helpers = _helpers()
    _wait_for(marker)
    claimed = early_worker.claim(KEY, PIECES)
    assert claimed is not None
    with pytest.raises(LookupError, match="piece 0"):
        claimed.run(_tagged, lambda _: None)
    assert all(gone(pid) for pid in helpers)


def test_an_exception_that_cannot_be_pickled_still_reaches_the_scan(tmp_path: Path) -> None:
    marker = tmp_path / "took-0"

    class Local(Exception):  # a class pickle cannot find by name
        pass

    def scan(index: int) -> object:
        if index == 0:
            marker.touch()
            raise Local("no")
        return _tagged(index)

    assert early_worker.begin(_prepared(scan), 2) == 1
    _wait_for(marker)
    claimed = early_worker.claim(KEY, PIECES)
    assert claimed is not None
    with pytest.raises(RuntimeError, match="Local in a scan worker"):
        claimed.run(_tagged, lambda _: None)


def test_a_helper_that_dies_mid_piece_is_an_error_not_a_hang(tmp_path: Path) -> None:
    marker = tmp_path / "took-0"

    def scan(index: int) -> object:
        if index == 0:
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer would
        return _tagged(index)

    assert early_worker.begin(_prepared(scan), 2) == 1
    _wait_for(marker)
    claimed = early_worker.claim(KEY, PIECES)
    assert claimed is not None
    with pytest.raises(early_worker.WorkerDied) as raised:
        claimed.run(_tagged, lambda _: None)
    assert raised.value.exit_code == EXIT_USAGE  # the environment's doing, not a bug (3)


def test_an_error_in_the_scans_own_piece_stops_the_helpers() -> None:
    def slow(index: int) -> object:
        time.sleep(0.05)
        return index

    assert early_worker.begin(_prepared(slow), 3) == 2
    helpers = _helpers()
    claimed = early_worker.claim(KEY, PIECES)
    assert claimed is not None

    def failing(index: int) -> object:
        raise OSError(5, "Input/output error")

    with pytest.raises(OSError, match="Input/output"):
        claimed.run(failing, lambda _: None)
    assert all(gone(pid, within=5) for pid in helpers)  # killed, not left to finish


def test_end_stops_helpers_never_claimed() -> None:
    def forever() -> early_worker.Prepared:
        while True:
            time.sleep(1)

    assert early_worker.begin(forever, 2) == 1
    helpers = _helpers()
    early_worker.end()
    assert all(gone(pid, within=5) for pid in helpers)


@pytest.mark.parametrize("workers", [0, 1, early_worker.MAX_WORKERS + 1])
def test_no_helper_outside_the_range_of_workers(workers: int) -> None:
    assert early_worker.begin(_prepared(), workers) == 0
    assert early_worker._started is None


def test_more_pieces_than_the_queue_holds_are_left_to_a_pool() -> None:
    many = early_worker.MAX_PIECES + 1
    assert many * 4 > 4096 >= early_worker.MAX_PIECES * 4  # PIPE_BUF: one write, never split
    assert early_worker.begin(_prepared(count=many), 2) == 1
    helpers = _helpers()
    assert early_worker.claim(KEY, many) is None
    assert all(gone(pid) for pid in helpers)


def test_a_plan_that_cannot_be_sent_is_not_claimed() -> None:
    key = ("plan", lambda: None)  # a lambda cannot be pickled
    assert early_worker.begin(_prepared(key=key), 2) == 1
    assert early_worker.claim(key, PIECES) is None
