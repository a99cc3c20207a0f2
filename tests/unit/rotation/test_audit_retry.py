from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from leakguard.errors import BackendError
from leakguard.rotation.audit import GENESIS, AuditHead, AuditLog, line_hash, verify
from leakguard.rotation.retry import Backoff, call_with_retry
from leakguard.rotation.schema import RetryPolicy


def _trail(tmp_path: Path, n: int = 5) -> tuple[Path, AuditHead]:
    log = AuditLog(tmp_path / "audit" / "r.jsonl")
    head = log.head
    for i in range(n):
        head = log.append({"event": "step", "i": i})
    return log.path, head


def test_entries_chain_to_the_one_before(tmp_path: Path) -> None:
    path, head = _trail(tmp_path)
    lines = path.read_bytes().splitlines()
    entries = [json.loads(line) for line in lines]
    assert entries[0]["prev"] == GENESIS and [e["n"] for e in entries] == [1, 2, 3, 4, 5]
    for before, entry in zip(lines, entries[1:], strict=False):
        assert entry["prev"] == line_hash(before)
    assert head == AuditHead(5, line_hash(lines[-1]))
    assert verify(path, head).ok
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    # reopened, it continues the chain
    AuditLog(path).append({"event": "more"})
    assert verify(path).ok and verify(path).entries == 6


@pytest.mark.parametrize(
    "tamper",
    ["change", "remove-middle", "remove-first", "swap", "garbage"],
)
def test_verify_detects_tampering(tmp_path: Path, tamper: str) -> None:
    path, _ = _trail(tmp_path)
    lines = path.read_text().splitlines()
    if tamper == "change":
        lines[2] = lines[2].replace('"i":2', '"i":7')
    elif tamper == "remove-middle":
        del lines[2]
    elif tamper == "remove-first":
        del lines[0]
    elif tamper == "swap":
        lines[1], lines[2] = lines[2], lines[1]
    else:
        lines[1] = "not json"
    path.write_text("\n".join(lines) + "\n")
    result = verify(path)
    assert not result.ok and result.problems


def test_removing_the_tail_needs_the_journals_head(tmp_path: Path) -> None:
    path, head = _trail(tmp_path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-2]) + "\n")
    assert verify(path).ok  # a shorter chain is still a chain...
    result = verify(path, head)
    assert not result.ok and "removed at the end" in result.problems[0]


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    backoff = Backoff(RetryPolicy(attempts=10, backoff=1.0, max_backoff=8.0))
    rng = random.Random(7)
    delays = [backoff.delay(n, rng) for n in range(1, 8)]
    for n, delay in enumerate(delays, start=1):
        base = min(8.0, 2 ** (n - 1))
        assert base / 2 <= delay <= base
    assert len({round(d, 6) for d in delays}) == len(delays)  # jittered


def test_only_transient_errors_are_retried_and_attempts_are_bounded() -> None:
    slept: list[float] = []
    calls: list[int] = []

    def flaky(attempt: int) -> str:
        calls.append(attempt)
        if attempt < 3:
            raise BackendError("503", transient=True)
        return "ok"

    policy = Backoff(RetryPolicy(attempts=5, backoff=0.5, max_backoff=4.0))
    rng = random.Random(1)
    assert call_with_retry(flaky, policy, sleep=slept.append, rng=rng) == "ok"
    assert calls == [1, 2, 3] and len(slept) == 2

    def denied(attempt: int) -> str:
        raise BackendError("403")

    with pytest.raises(BackendError, match="403"):
        call_with_retry(denied, policy, sleep=slept.append, rng=rng)

    def down(attempt: int) -> str:
        calls.append(attempt)
        raise BackendError("down", transient=True)

    calls.clear()
    with pytest.raises(BackendError, match="down"):
        call_with_retry(down, policy, sleep=slept.append, rng=rng)
    assert calls == [1, 2, 3, 4, 5]
    # the total wait is bounded too
    calls.clear()
    short = Backoff(RetryPolicy(attempts=50, backoff=1.0, max_backoff=1.0), max_total=3.0)
    with pytest.raises(BackendError):
        call_with_retry(down, short, sleep=lambda s: None, rng=rng)
    assert len(calls) <= 7


def test_a_changed_last_entry_is_caught_by_the_journals_head(tmp_path: Path) -> None:
    path, head = _trail(tmp_path)
    lines = path.read_text().splitlines()
    lines[-1] = lines[-1].replace('"i":4', '"i":9')
    path.write_text("\n".join(lines) + "\n")
    assert verify(path).ok  # nothing follows the last entry to notice...
    result = verify(path, head)
    assert not result.ok and "differs from the one the journal recorded" in result.problems[0]
