"""Findings in a bundle carry the original position from its map, looked up only for them."""

from __future__ import annotations

from leakguard.model import Chunk, Location
from leakguard.sources.sourcemap import Mappings
from leakguard.sources.webbundle import mapped_chunks
from tests.support.keys import stripe_key
from tests.unit.sources.helpers import engine

KEY = stripe_key(41)


class _CountingMappings:
    """A fake of the lookup that records what it was asked."""

    def __init__(self, mappings: Mappings) -> None:
        self.mappings = mappings
        self.asked: list[tuple[int, int]] = []

    def original(
        self, line: int, column: int, literal: str | None = None
    ) -> tuple[str, int, int] | None:
        self.asked.append((line, column))
        return self.mappings.original(line, column)


def test_findings_locate_exactly_and_carry_the_original_position() -> None:
    other = stripe_key(42)
    bundle = f'var x="{other}";\nvar a=1,b={{NEXT_PUBLIC_K:"{KEY}"}},c=\'short\';'.encode()
    # line 2: column 0 -> app.ts 10:1; the literal at column 25 -> app.ts 12:7
    mappings = Mappings("AAAA;AASA,yBAEM", ["src/app.ts"])
    lookup = _CountingMappings(mappings)
    chunk = Chunk(bundle, Location("dist/app.js", 1, 1))
    found = [f for c in mapped_chunks([chunk], lookup) for f in engine().scan(c)]
    by_secret = {f.secret: f for f in found}
    assert set(by_secret) == {KEY, other}
    mapped = by_secret[KEY]
    line2 = bundle.split(b"\n")[1]
    assert (mapped.location.line, mapped.location.column) == (2, line2.index(KEY.encode()) + 1)
    assert mapped.location.get("original_path") == "src/app.ts"
    assert (mapped.location.get("original_line"), mapped.location.get("original_column")) == (12, 7)
    assert mapped.attribute("exposed_by") == "NEXT_PUBLIC_"  # the bundle's context is kept
    assert by_secret[other].location.get("original_line") == 1
    # the map is consulted for the two findings only, never for the rest of the bundle
    assert sorted(lookup.asked) == [(1, 8), (2, line2.index(KEY.encode()) + 1)]


def test_positions_the_map_does_not_cover_stay_as_they_are() -> None:
    bundle = f'\n\nvar k="{KEY}";'.encode()
    chunk = Chunk(bundle, Location("a.js", 1, 1))
    [finding] = [
        f for c in mapped_chunks([chunk], Mappings("AAAA", ["a.ts"])) for f in engine().scan(c)
    ]
    assert (finding.location.line, finding.location.column) == (3, 8)
    assert finding.location.get("original_path") is None


def test_other_chunk_kinds_pass_unchanged() -> None:
    from leakguard.sources.sourcemap import SourceTextChunk

    inner = SourceTextChunk(b"x" * 10, Location("a.js.map", 1, 1), original_path="a.ts")
    assert list(mapped_chunks([inner], Mappings("AAAA", ["a.ts"]))) == [inner]
