"""The compiled keyword database cache: used when intact and ours, ignored and rebuilt
otherwise, never a way to feed Hyperscan bytes nobody checked."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from leakguard.engine.matcher import Engine
from leakguard.engine.rulecache import RuleCache, database_key
from leakguard.engine.rules import RuleSet
from leakguard.model import Chunk, Location
from tests.support.keys import stripe_key

KEY = stripe_key("cache")
TEXT = f"STRIPE_SECRET_KEY={KEY}\n"

pytest.importorskip("hyperscan")


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return RuleSet.load()


def _secrets(engine: Engine) -> list[str]:
    return [f.redacted for f in engine.scan_text(TEXT)]


def _only_file(cache: RuleCache) -> Path:
    [path] = list(cache.directory.glob("*.hsdb"))
    return path


def test_store_and_load_round_trip_with_private_modes(tmp_path: Path) -> None:
    cache = RuleCache(tmp_path)
    key = database_key([b"a", b"b"])
    assert cache.load(key) is None
    assert cache.store(key, b"payload")
    assert cache.load(key) == b"payload"
    assert stat.S_IMODE(os.stat(cache.directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(cache.path(key)).st_mode) == 0o600
    assert cache.load(database_key([b"a", b"c"])) is None  # another key
    assert database_key([b"ab", b""]) != database_key([b"a", b"b"])  # parts are delimited


def test_an_engine_uses_the_cache_and_finds_the_same(tmp_path: Path, rules: RuleSet) -> None:
    plain = _secrets(Engine(rules, "hyperscan"))
    cache = RuleCache(tmp_path)
    first = Engine(rules, "hyperscan", rule_cache=cache)
    path = _only_file(cache)
    stored = path.read_bytes()
    second = Engine(rules, "hyperscan", rule_cache=cache)
    assert path.read_bytes() == stored  # loaded, not rebuilt
    assert _secrets(first) == _secrets(second) == plain == [plain[0]]


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-1] + bytes([data[-1] ^ 1]),  # one bit of the database
        lambda data: data[: len(data) // 2],  # truncated
        lambda data: b"",  # empty
        lambda data: data.replace(b"leakguard-hyperscan-cache 1", b"leakguard-hyperscan-cache 9"),
    ],
)
def test_a_corrupt_cache_file_is_rebuilt(tmp_path: Path, rules: RuleSet, damage: object) -> None:
    cache = RuleCache(tmp_path)
    Engine(rules, "hyperscan", rule_cache=cache)
    path = _only_file(cache)
    good = path.read_bytes()
    path.write_bytes(damage(good))  # type: ignore[operator]
    engine = Engine(rules, "hyperscan", rule_cache=cache)
    assert len(_secrets(engine)) == 1
    assert cache.load(path.stem) is not None  # written again, intact


def test_a_file_others_can_write_or_a_link_is_not_loaded(tmp_path: Path) -> None:
    cache = RuleCache(tmp_path)
    key = database_key([b"x"])
    assert cache.store(key, b"payload")
    path = cache.path(key)
    path.chmod(0o620)
    assert cache.load(key) is None
    path.chmod(0o600)
    elsewhere = tmp_path / "elsewhere.hsdb"
    os.replace(path, elsewhere)
    path.symlink_to(elsewhere)
    assert cache.load(key) is None
    path.unlink()
    os.replace(elsewhere, path)
    cache.directory.chmod(0o770)
    assert cache.load(key) is None
    cache.directory.chmod(0o700)
    assert cache.load(key) == b"payload"


def test_an_unwritable_cache_only_costs_the_compile(tmp_path: Path, rules: RuleSet) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    engine = Engine(rules, "hyperscan", rule_cache=RuleCache(blocker))
    assert len(_secrets(engine)) == 1


def test_the_decoding_markers_database_is_kept_in_the_cache_too(
    tmp_path: Path, rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leakguard.engine.decoders import marker_scanner

    monkeypatch.delenv("LEAKGUARD_ENGINE", raising=False)
    cache = RuleCache(tmp_path)
    text = b'{"v":"a\\u0041b"} q=%41%42 ' + base64.b64encode(TEXT.encode())
    plain = marker_scanner()(text)
    assert plain  # the text holds layers
    first = marker_scanner(cache)
    [path] = list(cache.directory.glob("*.hsdb"))
    stored = path.read_bytes()
    second = marker_scanner(cache)
    assert path.read_bytes() == stored  # loaded, not rebuilt
    assert first(text) == second(text) == plain
    chunk = Chunk(text, Location("f", 1, 1))
    engine = Engine(rules, "hyperscan", rule_cache=cache)
    decoded = Engine(rules, "hyperscan").scan(chunk, decode_depth=2)
    assert decoded and engine.scan(chunk, decode_depth=2) == decoded
    assert len(list(cache.directory.glob("*.hsdb"))) == 4  # the keywords and three decoders
