"""The checked rule set kept between runs: the same rules as parsing the files, a new entry
when a file or the parser changes, and a damaged entry is a miss, never a wrong rule; and the
decoders' marker database, kept like the keyword database."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from leakguard.engine.matcher import Engine
from leakguard.engine.rulecache import RULES_SUFFIX, STATUS_SUFFIX, RuleCache, status_key
from leakguard.engine.rules import RuleSet
from leakguard.model import Chunk, Location, Severity

USER_RULE = """\
provider: acme
rules:
  - id: acme-token
    title: Acme token
    severity: high
    keywords: [acme_]
    pattern: '(?P<secret>acme_[0-9a-f]{32})'
    validator: {name: entropy, params: {min: 3.0, skip: 5}}
    examples: ['token = "acme_0123456789abcdef0123456789abcdef"']
"""


@pytest.fixture(scope="module")
def parsed() -> RuleSet:
    return RuleSet.load()


def _entry(cache: RuleCache) -> Path:
    [path] = list(cache.directory.glob(f"*{RULES_SUFFIX}"))
    return path


def test_cached_rules_are_the_parsed_rules(tmp_path: Path, parsed: RuleSet) -> None:
    cache = RuleCache(tmp_path)
    first = RuleSet.load(cache=cache)
    stored = _entry(cache).read_bytes()
    second = RuleSet.load(cache=cache)
    assert _entry(cache).read_bytes() == stored
    assert first == second == parsed  # every field of every rule, patterns and params too
    assert len(parsed.rules) > 100


def test_a_load_reads_the_stored_entry(tmp_path: Path, parsed: RuleSet) -> None:
    cache = RuleCache(tmp_path)
    RuleSet.load(cache=cache)
    key = _entry(cache).name.removesuffix(RULES_SUFFIX)
    entries = json.loads(cache.load(key, RULES_SUFFIX) or b"")
    entries["rules"][0][entries["fields"].index("title")] = "read from the cache"
    assert cache.store(key, json.dumps(entries).encode(), RULES_SUFFIX)
    assert RuleSet.load(cache=cache).rules[0].title == "read from the cache"
    assert RuleSet.load().rules[0].title == parsed.rules[0].title


def test_a_changed_user_rule_file_is_a_new_entry(tmp_path: Path) -> None:
    cache = RuleCache(tmp_path / "cache")
    user = tmp_path / "rules"
    user.mkdir()
    (user / "acme.yaml").write_text(USER_RULE)
    before = RuleSet.load([user], cache=cache).by_id()["acme-token"]
    assert before.user_supplied and before.severity is Severity.HIGH
    (user / "acme.yaml").write_text(USER_RULE.replace("severity: high", "severity: low"))
    after = RuleSet.load([user], cache=cache).by_id()["acme-token"]
    assert after.severity is Severity.LOW
    assert len(list(cache.directory.glob(f"*{RULES_SUFFIX}"))) == 2
    # the shipped rules alone are another entry again: a user rule never leaks into them
    assert "acme-token" not in RuleSet.load(cache=cache).by_id()


DAMAGE: dict[str, Callable[[Any], Any]] = {
    "not json": lambda entries: b"not json",
    "the old format": lambda entries: [{"id": "x"}],
    "another format": lambda entries: {**entries, "format": 99},
    "other fields": lambda entries: {**entries, "fields": entries["fields"][:-1]},
    "a short rule": lambda entries: {**entries, "rules": [entries["rules"][0][:-1]]},
    "a rule not a list": lambda entries: {**entries, "rules": [{"id": "x"}]},
    "no rules list": lambda entries: {**entries, "rules": {"id": "x"}},
    "deep nesting": lambda entries: b"[" * 100_000 + b"]" * 100_000,
}
FIELD_DAMAGE = [
    ("severity", 99),
    ("id", ["a", "list"]),  # a plain field holding no JSON scalar
    ("title", {"dict": {}}),
    ("keywords", "abc"),
    ("keywords", [1, 2]),
    ("examples", ["ok", 3]),
    ("examples", "not a list"),
    ("validator_params", {"unknown-tag": 1}),
    ("validator_params", {"dict": {"p": {"pattern": "abc", "flags": 0}}}),
    ("rotation_cases", [["abc", 0]]),
    ("rotation_cases", [["abc", 0, 7]]),
]


def _stored(cache: RuleCache) -> tuple[str, Any]:
    key = _entry(cache).name.removesuffix(RULES_SUFFIX)
    return key, json.loads(cache.load(key, RULES_SUFFIX) or b"")


def _damaged_is_a_miss(cache: RuleCache, parsed: RuleSet, key: str, damaged: object) -> None:
    payload = damaged if isinstance(damaged, bytes) else json.dumps(damaged).encode()
    assert cache.store(key, payload, RULES_SUFFIX)  # a well-formed file, bad content
    assert cache.load_rules(key) is None
    assert RuleSet.load(cache=cache) == parsed  # the status record leads to it: a miss too


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_entry_is_a_miss(
    tmp_path: Path, parsed: RuleSet, damage: Callable[[Any], Any]
) -> None:
    cache = RuleCache(tmp_path)
    RuleSet.load(cache=cache)
    key, entries = _stored(cache)
    _damaged_is_a_miss(cache, parsed, key, damage(entries))


@pytest.mark.parametrize(("name", "value"), FIELD_DAMAGE)
def test_a_damaged_field_is_a_miss(
    tmp_path: Path, parsed: RuleSet, name: str, value: object
) -> None:
    cache = RuleCache(tmp_path)
    RuleSet.load(cache=cache)
    key, entries = _stored(cache)
    entries["rules"][0][entries["fields"].index(name)] = value
    _damaged_is_a_miss(cache, parsed, key, entries)


def test_rules_that_do_not_come_back_equal_are_not_stored(tmp_path: Path, parsed: RuleSet) -> None:
    cache = RuleCache(tmp_path)
    odd = replace(parsed.rules[0], validator_params={"when": object()})
    assert not cache.store_rules("0" * 64, [odd])
    assert not list(tmp_path.rglob(f"*{RULES_SUFFIX}"))


def test_the_decoders_marker_database_is_cached_too(tmp_path: Path, parsed: RuleSet) -> None:
    pytest.importorskip("hyperscan")
    from tests.support.keys import stripe_key

    key = stripe_key("markers")
    data = f"kind: Secret\ndata:\n  API_KEY: {base64.b64encode(key.encode()).decode()}\n"
    chunk = Chunk(data.encode(), Location("secret.yaml", 1, 1))
    cache = RuleCache(tmp_path)
    found: list[list[str]] = []

    def scan_in_a_new_thread() -> None:  # a new engine each time: its databases from the cache
        engine = Engine(parsed, "hyperscan", rule_cache=cache)
        found.append([f"{f.redacted} {f.location.get('encoding')}" for f in engine.scan(chunk, 2)])

    for _ in range(2):
        worker = threading.Thread(target=scan_in_a_new_thread)
        worker.start()
        worker.join()
        stored = {p.name: p.read_bytes() for p in cache.directory.glob("*.hs*")}
        assert len(stored) == 4  # the keywords, the decoders' markers, triggers and prefixes
    assert {p.name: p.read_bytes() for p in cache.directory.glob("*.hs*")} == stored
    assert found[0] == found[1] and len(found[0]) == 1 and found[0][0].endswith(" base64")


# -- rule files known by their status ---------------------------------------------------------
SETTLE_NS = 200_000_000  # a short settling time for these tests (a real one is seconds)


def _user_rule(tmp_path: Path) -> Path:
    path = tmp_path / "rules" / "acme.yaml"
    path.parent.mkdir()
    path.write_text(USER_RULE)
    return path


def _severity(path: Path, cache: RuleCache) -> Severity:
    return RuleSet.from_files([path], cache=cache).by_id()["acme-token"].severity


def _same_size_and_time_edit(path: Path) -> None:
    """An edit a file's size and modification time do not show (mtime put back, as a
    `touch -r` or an archive extraction would)."""
    before = os.stat(path)
    path.write_text(USER_RULE.replace("severity: high", "severity: info"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )


def test_unchanged_files_are_known_by_their_status(tmp_path: Path) -> None:
    cache = RuleCache(tmp_path / "cache", settled_ns=SETTLE_NS)
    path = _user_rule(tmp_path)
    time.sleep(3 * SETTLE_NS / 1e9)  # the file settles before its status is recorded
    parsed = RuleSet.from_files([path], cache=cache)
    [record] = list(cache.directory.glob(f"*{STATUS_SUFFIX}"))
    known = cache.known_rules(status_key([path], 0))
    assert known is not None and known == (list(parsed.rules), parsed.version)
    assert RuleSet.from_files([path], cache=cache) == parsed
    assert record.name == f"{status_key([path], 0)[0]}{STATUS_SUFFIX}"  # type: ignore[index]


def test_an_edit_that_keeps_size_and_mtime_is_seen(tmp_path: Path) -> None:
    cache = RuleCache(tmp_path / "cache", settled_ns=SETTLE_NS)
    path = _user_rule(tmp_path)
    time.sleep(3 * SETTLE_NS / 1e9)
    assert _severity(path, cache) is Severity.HIGH
    assert cache.known_rules(status_key([path], 0)) is not None  # recorded and trusted
    _same_size_and_time_edit(path)  # its change time moves on: another status
    assert _severity(path, cache) is Severity.INFO


def test_a_status_recorded_just_after_a_change_is_not_trusted(tmp_path: Path) -> None:
    cache = RuleCache(tmp_path / "cache", settled_ns=3600 * 10**9)  # nothing has settled
    path = _user_rule(tmp_path)
    assert _severity(path, cache) is Severity.HIGH
    assert list(cache.directory.glob(f"*{STATUS_SUFFIX}"))  # recorded...
    assert cache.known_rules(status_key([path], 0)) is None  # ...but not trusted
    _same_size_and_time_edit(path)  # may fall in the tick of the recorded change time
    assert _severity(path, cache) is Severity.INFO


@pytest.mark.parametrize(
    "record",
    [b"", b"not a record", b"0" * 64 + b" " + b"0" * 16, b"0" * 64 + b" " + b"0" * 16 + b"\n"],
)
def test_a_damaged_or_dangling_status_record_is_a_miss(tmp_path: Path, record: bytes) -> None:
    cache = RuleCache(tmp_path / "cache", settled_ns=0)
    path = _user_rule(tmp_path)
    parsed = RuleSet.from_files([path], cache=cache)
    status = status_key([path], 0)
    assert status is not None and cache.known_rules(status) is not None
    assert cache.store(status[0], record, STATUS_SUFFIX)
    assert cache.known_rules(status) is None
    assert RuleSet.from_files([path], cache=cache) == parsed
    assert cache.known_rules(status) is not None  # recorded again
