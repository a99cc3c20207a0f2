"""The rule cache stays bounded: old entries go once there are too many (RuleCache.prune)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from leakguard.engine.rulecache import RuleCache, database_key

HOUR_NS = 3600 * 1_000_000_000


def _stored(cache: RuleCache, count: int, start: int = 0) -> list[str]:
    """``count`` entries, each written a second after the one before (by their mtimes)."""
    keys = []
    now = time.time_ns()
    for n in range(start, start + count):
        key = database_key([str(n).encode()])
        assert cache.store(key, f"payload {n}".encode(), ".rules" if n % 2 else ".hsdb")
        when = now - (1000 - n) * 1_000_000_000
        os.utime(cache.path(key, ".rules" if n % 2 else ".hsdb"), ns=(when, when))
        keys.append(key)
    return keys


def _names(cache: RuleCache) -> set[str]:
    return {p.name for p in cache.directory.iterdir()}


def test_up_to_the_cap_nothing_is_removed(tmp_path: Path) -> None:
    cache = RuleCache(tmp_path, max_entries=8)
    _stored(cache, 8)
    assert len(_names(cache)) == 8


def test_past_the_cap_the_oldest_entries_go_and_nothing_else(tmp_path: Path) -> None:
    cache = RuleCache(tmp_path, max_entries=8)
    keys = _stored(cache, 8)
    (cache.directory / "notes.txt").write_text("not the cache's")
    (cache.directory / ("a" * 64)).write_text("no suffix: not named as the cache names")
    newest = database_key([b"newest"])
    assert cache.store(newest, b"the ninth", ".hsmarkers")
    # nine entries: the oldest go until six (three quarters of eight) are left
    left = {n for n in _names(cache) if n.endswith((".hsdb", ".rules", ".hsmarkers"))}
    assert len(left) == 6
    assert cache.load(newest, ".hsmarkers") == b"the ninth"
    for n, key in enumerate(keys):
        suffix = ".rules" if n % 2 else ".hsdb"
        assert (cache.load(key, suffix) is None) == (n < 3), n
    assert {"notes.txt", "a" * 64} <= _names(cache)


def test_a_temporary_file_left_by_a_killed_write_goes_once_an_hour_old(tmp_path: Path) -> None:
    cache = RuleCache(tmp_path)
    _stored(cache, 1)
    old, fresh = cache.directory / ".tmp-old", cache.directory / ".tmp-fresh"
    old.write_bytes(b"half a database")
    fresh.write_bytes(b"being written by another run")
    then = time.time_ns() - 2 * HOUR_NS
    os.utime(old, ns=(then, then))
    cache.store(database_key([b"another"]), b"payload")
    assert not old.exists()
    assert fresh.exists()
