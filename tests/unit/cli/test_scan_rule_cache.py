"""`leakguard scan` with its rule cache (``--cache-dir``): a second run reads the cache and
reports the same; a damaged, tampered or foreign cache entry costs only the rebuild, never a
finding, and is written again intact."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakguard.engine import filters
from leakguard.engine.rulecache import RULES_SUFFIX, RuleCache
from tests.support.cli import leakguard_app
from tests.support.keys import stripe_key

KEY = stripe_key("rule-cache-cli")


def _scan(target: Path, cache: Path) -> tuple[int, list[tuple[str, str]]]:
    """One ``leakguard scan`` as its own process would run it: the shipped allowlist, which a
    process parses once (from the cache when it can), is forgotten first. Without this, which
    cache entries a scan reads and writes depended on whether an earlier test in the same
    process had parsed the allowlist."""
    filters._documentation = None
    args = ["scan", str(target), "-f", "json", "--no-config", "--cache-dir", str(cache)]
    result = CliRunner().invoke(leakguard_app(), args)
    assert result.exit_code in (0, 1), result.output
    found = json.loads(result.stdout)["findings"]
    return result.exit_code, [(f["rule_id"], f["fingerprint"]) for f in found]


def _entries(cache: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted((cache / "rules").iterdir())}


def _flip_a_byte(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x20]) + data[middle + 1 :]


def _edit_keeping_the_digest(data: bytes) -> bytes:
    """Still well-formed (JSON that decodes to rules; a database Hyperscan may accept)."""
    if b'"rules": [["' in data:  # the first rule's id
        return data.replace(b'"rules": [["', b'"rules": [["edited-', 1)
    return data[:-1] + bytes([data[-1] ^ 1])


DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "edited, digest kept": _edit_keeping_the_digest,
    "one byte flipped": _flip_a_byte,
    "truncated": lambda data: data[: len(data) // 3],
    "empty": lambda data: b"",
    "another format": lambda data: b"leakguard-hyperscan-cache 0\n" + data[28:],
}


@pytest.fixture
def target(tmp_path: Path) -> Path:
    path = tmp_path / "settings.env"
    path.write_text(f"DEBUG=true\nSTRIPE_SECRET_KEY={KEY}\n")
    return path


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_cache_is_rebuilt_and_finds_the_same(
    tmp_path: Path, target: Path, damage: Callable[[bytes], bytes]
) -> None:
    cache = tmp_path / "cache"
    code, first = _scan(target, cache)
    assert code == 1 and len(first) == 1
    written = _entries(cache)
    assert any(p.name.endswith(RULES_SUFFIX) for p in written)  # the rule set
    assert any(p.suffix == ".hsdb" for p in written) or not _has_hyperscan()
    assert _scan(target, cache) == (1, first)
    assert _entries(cache) == written  # read, not rebuilt
    for path, data in written.items():
        path.write_bytes(damage(data))
    assert _scan(target, cache) == (1, first)
    assert _entries(cache) == written  # each entry written again, byte for byte


def test_an_entry_others_could_have_written_is_not_read(tmp_path: Path, target: Path) -> None:
    cache = tmp_path / "cache"
    _, first = _scan(target, cache)
    [rules] = [p for p in _entries(cache) if p.name.endswith(RULES_SUFFIX)]
    key = rules.name.removesuffix(RULES_SUFFIX)
    store = RuleCache(cache)
    entries = json.loads(store.load(key, RULES_SUFFIX) or b"")
    for entry in entries["rules"]:
        entry[entries["fields"].index("title")] = "changed by someone else"
    assert store.store(key, json.dumps(entries).encode(), RULES_SUFFIX)
    os.chmod(rules, 0o666)  # a well-formed entry, but anyone could have written it
    assert store.load_rules(key) is None
    assert _scan(target, cache) == (1, first)
    assert store.load_rules(key) is not None  # replaced by our own, private again
    assert "changed by someone else" not in rules.read_text()


def _has_hyperscan() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True
