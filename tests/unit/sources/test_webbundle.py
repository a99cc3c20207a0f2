"""String literals of a bundle carry the original position from its map."""

from __future__ import annotations

from leakguard.sources.sourcemap import Mappings
from leakguard.sources.webbundle import mapped_literal_chunks
from tests.support.keys import stripe_key
from tests.unit.sources.helpers import engine

KEY = stripe_key(41)


def test_literal_chunks_locate_exactly_and_own_only_the_literal() -> None:
    other = stripe_key(42)
    bundle = f'var x="{other}";\nvar a=1,b={{NEXT_PUBLIC_K:"{KEY}"}},c=\'short\';'.encode()
    # line 2: column 0 -> app.ts 10:1; the literal at column 25 -> app.ts 12:7
    mappings = Mappings("AAAA;AASA,yBAEM", ["src/app.ts"])
    chunks = list(mapped_literal_chunks(bundle, "dist/app.js", mappings))
    assert len(chunks) == 2  # both long literals; 'short' is skipped
    found = [f for c in chunks for f in engine().scan(c)]
    by_secret = {f.secret: f for f in found}
    assert set(by_secret) == {KEY, other}
    mapped = by_secret[KEY]
    line2 = bundle.split(b"\n")[1]
    assert (mapped.location.line, mapped.location.column) == (2, line2.index(KEY.encode()) + 1)
    assert mapped.location.get("original_path") == "src/app.ts"
    assert (mapped.location.get("original_line"), mapped.location.get("original_column")) == (12, 7)
    assert mapped.attribute("exposed_by") == "NEXT_PUBLIC_"  # context before the literal kept
    assert by_secret[other].location.get("original_line") == 1


def test_unmapped_literals_are_left_to_the_ordinary_chunks() -> None:
    bundle = f'\n\nvar k="{KEY}";'.encode()
    assert list(mapped_literal_chunks(bundle, "a.js", Mappings("AAAA", ["a.ts"]))) == []
