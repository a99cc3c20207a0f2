"""The checked rule set kept between runs: the same rules as parsing the files, a new entry
when a file or the parser changes, and a damaged entry is a miss, never a wrong rule; and the
decoders' marker database, kept like the keyword database."""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from leakguard.engine.matcher import Engine
from leakguard.engine.rulecache import RULES_SUFFIX, RuleCache
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
    entries[0]["title"] = "read from the cache"
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


@pytest.mark.parametrize(
    "damage",
    [
        b"not json",
        b'[{"id": {"severity": 99}}]',
        b'[{"id": {"unknown-tag": 1}}]',
        b'[{"no_such_field": 1}]',
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_a_damaged_entry_is_a_miss(tmp_path: Path, parsed: RuleSet, damage: bytes) -> None:
    cache = RuleCache(tmp_path)
    RuleSet.load(cache=cache)
    key = _entry(cache).name.removesuffix(RULES_SUFFIX)
    assert cache.store(key, damage, RULES_SUFFIX)  # well-formed file, bad content
    assert cache.load_rules(key) is None
    assert RuleSet.load(cache=cache) == parsed


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
