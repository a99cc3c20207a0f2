"""Retries with exponential backoff and jitter for transient backend errors.

Only :class:`BackendError` with ``transient=True`` (throttling, 5xx, timeouts, dropped
connections, and ``NotYet`` checks) is retried; anything else is returned to the runner at once.
Attempts and the total time spent waiting are both bounded.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from leakguard.errors import BackendError
from leakguard.rotation.schema import RetryPolicy

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Backoff:
    policy: RetryPolicy
    max_total: float = 300.0  # never wait longer than this in all, whatever the attempts

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The wait after failed attempt ``attempt`` (1-based): base * 2^(n-1), capped, with
        jitter between half and the whole of it."""
        base = min(self.policy.max_backoff, self.policy.backoff * (2 ** (attempt - 1)))
        return float(base * (0.5 + rng.random() / 2))


def call_with_retry(
    fn: Callable[[int], T],
    backoff: Backoff,
    *,
    sleep: Callable[[float], None],
    rng: random.Random,
    on_retry: Callable[[int, BackendError, float], None] | None = None,
) -> T:
    """Call ``fn(attempt)`` until it returns, retrying transient BackendErrors.

    Raises the last error when attempts or the total wait are exhausted."""
    waited = 0.0
    attempt = 1
    while True:
        try:
            return fn(attempt)
        except BackendError as exc:
            if not exc.transient or attempt >= backoff.policy.attempts:
                raise
            delay = backoff.delay(attempt, rng)
            if waited + delay > backoff.max_total:
                raise
            if on_retry is not None:
                on_retry(attempt, exc, delay)
            sleep(delay)
            waited += delay
            attempt += 1
