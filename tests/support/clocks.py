"""Clocks a test hands the rotation runner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class QuickClock:
    """Real time, but waits (retry backoff, polls) pass at once: each is recorded and moves
    this clock's ``now`` forward, so the schedule is still what a real run would follow."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.offset += timedelta(seconds=seconds)
