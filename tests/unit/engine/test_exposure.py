"""Values frameworks inline into client code are marked publicly exposed."""

from __future__ import annotations

import pytest

from leakguard.engine.exposure import Exposure, exposure_attributes
from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet
from leakguard.engine.ruletest import available_engines
from tests.support.keys import stripe_key

SECRET = b"sk_live_4eC39HqLyjWDarjtT1zdp7dc9f2cAbCd"


def _attrs(before: bytes, after: bytes = b"") -> dict[str, object]:
    data = before + SECRET + after
    return dict(exposure_attributes(data, len(before), len(before) + len(SECRET)))


@pytest.mark.parametrize(
    ("before", "prefix"),
    [
        (b"NEXT_PUBLIC_STRIPE_KEY=", "NEXT_PUBLIC_"),
        (b'const env = {"NEXT_PUBLIC_STRIPE_KEY":"', "NEXT_PUBLIC_"),
        (b"VITE_STRIPE_SECRET: '", "VITE_"),
        (b'export REACT_APP_PAYMENTS_KEY="', "REACT_APP_"),
        (b'a.b;process.env.NEXT_PUBLIC_PAY = "', "NEXT_PUBLIC_"),
        (b"EXPO_PUBLIC_STRIPE_KEY=", "EXPO_PUBLIC_"),
        (b"NUXT_PUBLIC_PAYMENTS=", "NUXT_PUBLIC_"),
        (b"GATSBY_STRIPE_KEY=", "GATSBY_"),
        (b"PUBLIC_STRIPE_KEY=", "PUBLIC_"),
    ],
)
def test_public_prefixes(before: bytes, prefix: str) -> None:
    assert _attrs(before, b'"') == {"exposure": "public", "exposed_by": prefix}


def test_next_data_script() -> None:
    before = b'<html><script id="__NEXT_DATA__" type="application/json">{"props":{"key":"'
    assert _attrs(before, b'"}}</script>') == {"exposure": "public", "exposed_by": "__NEXT_DATA__"}


@pytest.mark.parametrize(
    "before",
    [
        b"STRIPE_SECRET_KEY=",
        b"MY_PUBLIC_KEY=",  # not a framework prefix
        b"INVITE_CODE=",  # VITE_ inside another name
        b"NEXT_PUBLIC_URL=https://x\nSTRIPE_KEY=",  # the public name is on another line
        b"// VITE_ docs mention\nconst k = ",
        b'<script id="__NEXT_DATA__">{}</script><script>var k="',
    ],
)
def test_not_public(before: bytes) -> None:
    assert _attrs(before) == {}


def test_many_matches_of_one_chunk_search_for_next_data_as_one_match_would() -> None:
    """Exposure resumes its __NEXT_DATA__ search from the previous match: every match, in order
    or not, gets what a search of its own reach gives."""
    script = b'<script id="__NEXT_DATA__">{"k":"'
    parts = [b"x" * 50, script, b"v1", b'"}</script>', b"y" * 70, script, b"v2", b"z" * 30]
    data = b"".join(parts)
    starts = [i for i in range(0, len(data), 7)]
    exposure = Exposure(data)
    seen = [exposure.attributes(s, s + 2) for s in starts]

    def inside(start: int) -> bool:  # the last script opened before the match is still open
        opened = data[:start].rfind(b"__NEXT_DATA__")
        return opened != -1 and b"</script" not in data[opened:start]

    assert [bool(attrs) for attrs in seen] == [inside(s) for s in starts]
    assert any(seen) and not all(seen)
    first_open = data.find(script) + len(script)
    assert Exposure(data).attributes(first_open, first_open + 2) != ()  # inside the first one
    closed = data.find(b"y" * 70) + 5
    assert Exposure(data).attributes(closed, closed + 2) == ()  # after its </script>
    later = Exposure(data)
    later.attributes(len(data) - 3, len(data) - 1)
    assert later.attributes(closed, closed + 2) == ()  # out of order: searched on its own
    assert later.attributes(first_open, first_open + 2) != ()


def test_a_next_data_script_opened_beyond_the_lookback_is_out_of_reach() -> None:
    script = b'<script id="__NEXT_DATA__">{"k":"'
    near = script + b"v" * 100
    data = script + b"x" * (300 * 1024) + near + b"y" * 10
    exposure = Exposure(data)
    far_match = len(script) + 290 * 1024  # 290 KiB after the first script opened
    assert exposure.attributes(far_match, far_match + 2) == ()
    near_match = len(data) - 20  # the second script opened just before it
    assert dict(exposure.attributes(near_match, near_match + 2))["exposed_by"] == "__NEXT_DATA__"


@pytest.mark.parametrize("kind", available_engines())
def test_the_engine_marks_page_props_on_both_engines(kind: str) -> None:
    """The engine's keyword pass says whether a chunk holds ``__NEXT_DATA__`` or a public
    prefix at all; a key inside the script or after the prefix is marked, the same key in a
    chunk without either is not."""
    engine = Engine(RuleSet.load(), kind)
    key = stripe_key(5)
    inside = f'<script id="__NEXT_DATA__" type="application/json">{{"k":"{key}"}}</script>'
    elsewhere = f'<script>window.k = "{key}"</script>'
    vite = f'const k = {{VITE_STRIPE_KEY: "{key}"}}'
    cases = ((inside, "__NEXT_DATA__"), (elsewhere, None), (vite, "VITE_"))
    for text, exposed in cases:
        [finding] = engine.scan_text(text)
        assert finding.attribute("exposed_by") == exposed, (kind, text)
