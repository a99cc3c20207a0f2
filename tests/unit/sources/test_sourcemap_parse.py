"""A map's top-level members read without decoding ``mappings`` and ``names``: what a scan reads
(``sources``, ``sourceRoot``, ``sourcesContent``) is what ``json.loads`` gives, anything unusual
is parsed whole, and hostile text never fools it into reading the wrong member."""

from __future__ import annotations

import json
import random

import pytest

from leakguard.model import ScanStats
from leakguard.sources import sourcemap
from leakguard.sources.sourcemap import MAX_SPANS, map_chunks, parse_map, source_mapping_url
from tests.support.keys import stripe_key
from tests.support.sourcemaps import encode_mappings
from tests.unit.sources.helpers import engine

KEY = stripe_key("parse")
SCANNED = ("sources", "sourceRoot", "sourcesContent")


def _original(n: int) -> str:
    return (
        f'import {{ api }} from "./api-{n}";\n'
        "// an emoji 🚀, a tab\tand quotes \"' and a backslash \\ and a slash </script>\n"
        f'export const key{n} = api("{KEY if n == 2 else "none"}", {{ retries: {n} }});\n'
    )


def _real_shaped(**members: object) -> dict[str, object]:
    """A map shaped like a bundler's: mappings first, then sources, their content, names."""
    doc: dict[str, object] = {
        "version": 3,
        "file": "index-0001.js",
        "mappings": encode_mappings([[(c * 7, c % 3, c, c % 11) for c in range(400)]] * 3),
        "sources": [f"webpack://app/./src/module-{n}.ts" for n in range(3)],
        "sourcesContent": [_original(n) for n in range(3)],
        "names": [f"name{n}" for n in range(500)],
        "x_google_ignoreList": [0],
    }
    doc.update(members)
    return doc


def _expected(text: str) -> dict[str, object]:
    doc = json.loads(text)
    assert isinstance(doc, dict)
    return {key: doc[key] for key in SCANNED if key in doc}


def _check_spans(text: str, parsed: sourcemap.ParsedMap) -> None:
    """Each ``sourcesContent`` string sits at its span: decoding the span gives it back."""
    assert isinstance(parsed.doc, dict)
    content = parsed.doc.get("sourcesContent")
    assert isinstance(content, list)
    for entry, value in enumerate(content):
        span = parsed.raw.span(0, entry)
        if isinstance(value, str):
            assert span is not None
            assert json.loads('"' + text[span[0] : span[1]] + '"') == value
        else:
            assert span is None


@pytest.mark.parametrize(
    "dump",
    [
        lambda d: json.dumps(d),
        lambda d: json.dumps(d, ensure_ascii=False),
        lambda d: json.dumps(d, indent=2),
        lambda d: json.dumps(d, separators=(",", ":")).replace("/", "\\/"),
        lambda d: " \n" + json.dumps(d, indent="\t") + "\r\n ",
    ],
    ids=["ascii", "utf8", "indented", "escaped-slashes", "blank-around"],
)
def test_a_real_shaped_map_gives_what_json_loads_gives(dump: object) -> None:
    text = dump(_real_shaped())  # type: ignore[operator]
    parsed = parse_map(text.encode())
    assert parsed.doc == _expected(text)
    _check_spans(text, parsed)


def test_members_in_any_order_with_a_source_root_and_nulls() -> None:
    doc = {
        "sourcesContent": [None, _original(1), 7, ""],
        "names": [],
        "sourceRoot": "webpack://app/",
        "sources": ["a.ts", None, "c.ts", "d.ts"],
        "mappings": "",
        "version": 3,
    }
    text = json.dumps(doc)
    parsed = parse_map(text.encode())
    assert parsed.doc == _expected(text)
    _check_spans(text, parsed)


def test_mappings_and_names_are_never_made_python_values() -> None:
    text = json.dumps(_real_shaped())
    members = sourcemap._scanned_members(text)
    assert members is not None
    assert set(members[0]) == set(SCANNED) - {"sourceRoot"}


@pytest.mark.parametrize(
    "text",
    [
        # the words of the members inside strings: escaped quotes never end a string
        json.dumps(
            _real_shaped(
                sourcesContent=[
                    'const m = {"mappings": "AAAA", "sources": ["x"], "sections": []};\n',
                    '"sourcesContent": ["' + KEY + '"]',
                ],
                file='"sourcesContent": [',
            )
        ),
        # a key whose value holds the members' words
        json.dumps(_real_shaped(x_note={"sourcesContent": ["decoy"], "sources": ["decoy.ts"]})),
        json.dumps(_real_shaped(names=["sourcesContent", "mappings", "sections"])),
        # every JSON escape and a surrogate pair in a source
        json.dumps(_real_shaped(sourcesContent=['\\ " / \b \f \n \r \t \u0001 é 😀 \ud7ff'])),
        "{}",
        '{"sourcesContent": []}',
        '{"sourcesContent": null, "sources": "not a list"}',
        '{"version": 3, "mappings": "", "sources": [], "sourcesContent": [], "names": []}',
        '{"n": NaN, "sources": ["a"], "sourcesContent": ["' + "x" * 20 + '"]}',
    ],
    ids=[
        "words-in-strings",
        "decoy-object",
        "words-as-names",
        "escapes",
        "empty",
        "empty-content",
        "odd-types",
        "empty-lists",
        "nan",
    ],
)
def test_hostile_but_valid_maps_give_what_json_loads_gives(text: str) -> None:
    parsed = parse_map(text.encode())
    assert parsed.doc == _expected(text)
    if isinstance(parsed.doc, dict) and isinstance(parsed.doc.get("sourcesContent"), list):
        _check_spans(text, parsed)


@pytest.mark.parametrize(
    "text",
    [
        '{"sourcesContent": ["first one here"], "sourcesContent": ["second one here"]}',
        '{"version": 3, "sections": [{"offset": {"line": 0, "column": 0}, "map": {}}]}',
        "[1, 2]",
        '"a string"',
    ],
    ids=["duplicate-key", "index-map", "array", "string"],
)
def test_unusual_maps_are_parsed_whole(text: str) -> None:
    assert sourcemap._scanned_members(text) is None
    assert parse_map(text.encode()).doc == json.loads(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"sources": ["a"],}',
        '{"sources": ["a"]} extra',
        '{"sources": ["a"]}{}',
        '{"mappings": "AA\nAA", "sources": []}',  # a raw control character in a string
        '{"mappings": "AAAA, "sources": []}',
        '{"sources": ["a"], "sourcesContent": ["x",]}',
        '{"sources" ["a"]}',
        '{sources: ["a"]}',
        '{"names": [' + "[" * 100_000 + "]" * 100_000 + "]}",
        '{"sourcesContent": ["\\x41"]}',
        "",
        "{",
    ],
    ids=[
        "trailing-comma",
        "trailing-text",
        "two-objects",
        "control-character",
        "unterminated",
        "trailing-comma-in-content",
        "no-colon",
        "bare-key",
        "nested-too-deep",
        "bad-escape",
        "nothing",
        "unclosed",
    ],
)
def test_invalid_json_is_refused_as_json_loads_refuses_it(text: str) -> None:
    with pytest.raises((ValueError, RecursionError)):
        json.loads(text)
    assert sourcemap._scanned_members(text) is None
    parsed = parse_map(text.encode())
    assert parsed.doc is None and parsed.problem == "is not valid JSON"


def test_more_sources_than_are_walked_one_by_one_are_parsed_whole() -> None:
    text = json.dumps({"sources": [], "sourcesContent": ["ab"] * (MAX_SPANS + 1)})
    assert sourcemap._scanned_members(text) is None
    parsed = parse_map(text.encode())
    assert parsed.doc == json.loads(text)
    assert parsed.raw.span(0, MAX_SPANS) is not None  # found when asked, as before


def test_random_damage_never_gives_anything_json_loads_would_not() -> None:
    """Any text the fast read accepts, ``json.loads`` accepts with the same members; damage
    it refuses is refused (or parsed whole, to the same end)."""
    rng = random.Random(20261203)
    base = json.dumps(_real_shaped(names=["a", {"b": [1, 2.5, None, True]}]))
    significant = '{}[],:"\\ \n0aeE-+.tfnu/'
    accepted = refused = 0
    for _ in range(1500):
        text = list(base)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(text))
            edit = rng.randrange(3)
            if edit == 0:
                del text[at]
            elif edit == 1:
                text.insert(at, rng.choice(significant))
            else:
                text[at] = rng.choice(significant)
        damaged = "".join(text)
        try:
            expected: object = _expected(damaged)
        except (ValueError, RecursionError, AssertionError, KeyError):
            expected = None
        members = sourcemap._scanned_members(damaged)
        if members is not None:
            accepted += 1
            assert expected is not None, damaged[:200]
            assert members[0] == expected
        else:
            refused += 1
            parsed = parse_map(damaged.encode())
            assert (parsed.doc is None) == (expected is None)
    assert accepted > 100 and refused > 100  # both paths exercised


def test_a_decoy_sources_content_before_the_real_one_never_misplaces_a_finding() -> None:
    """The position in the map comes from the top-level member, not from the first text that
    looks like it (a nested object's key of the same name, earlier in the map)."""
    real = f'export const stripe = "{KEY}";\n'
    doc = {
        "version": 3,
        "x_decoy": {"sourcesContent": ["padding " * 20 + real]},
        "sources": ["src/pay.ts"],
        "sourcesContent": [real],
        "mappings": "AAAA",
    }
    text = json.dumps(doc)
    stats = ScanStats()
    findings = [
        f for chunk in map_chunks(text.encode(), "app.js.map", stats) for f in engine().scan(chunk)
    ]
    [finding] = [f for f in findings if f.secret == KEY]
    assert (finding.location.line, finding.location.column) == (1, text.rindex(KEY) + 1)
    assert finding.location.get("original_path") == "src/pay.ts"
    assert (finding.location.get("original_line"), finding.location.get("original_column")) == (
        1,
        real.index(KEY) + 1,
    )


def test_the_mapping_url_at_the_end_far_before_it_or_across_the_tail() -> None:
    body = b"var a=1;" * 2000
    tail = b"\n//# sourceMappingURL=app.js.map\n"
    data = body + tail
    assert source_mapping_url(data) == ("app.js.map", data.rindex(b"app.js.map"))
    early = b"//# sourceMappingURL=early.js.map\n" + body
    assert source_mapping_url(early) == ("early.js.map", early.index(b"early.js.map"))
    both = early + tail
    assert source_mapping_url(both) == ("app.js.map", both.rindex(b"app.js.map"))
    for shift in range(0, 40, 3):  # the comment straddling where the tail looked at starts
        cut = len(body) - sourcemap._URL_TAIL + shift
        data = body[:cut] + tail + b"x" * (sourcemap._URL_TAIL - shift - len(tail) + 5)
        assert source_mapping_url(data) == ("app.js.map", data.index(b"app.js.map")), shift
    assert source_mapping_url(body) is None


def test_a_map_of_many_members_is_parsed_whole() -> None:
    members = {f"x_{n}": n for n in range(sourcemap.MAX_MEMBERS)}
    text = json.dumps({**members, "sources": ["a.ts"], "sourcesContent": ["a" * 20]})
    assert sourcemap._scanned_members(text) is None
    assert parse_map(text.encode()).doc == json.loads(text)
    few = json.dumps({"x": 1, "sources": ["a.ts"], "sourcesContent": ["a" * 20]})
    assert sourcemap._scanned_members(few) is not None


@pytest.mark.parametrize(
    "members",
    [
        {"sources": ["webpack://app/./src/a.ts", "vite://x/b.ts", "./c.ts"]},
        {"sources": ["a.ts", None, "c.ts"], "sourceRoot": "src"},
        {"sources": ["a.ts", 3, "c.ts"], "sourceRoot": "webpack://app/"},
        {"sources": ["a.ts"], "sourceRoot": 7},
        {"sources": "a.ts"},
        {},
    ],
    ids=["prefixes", "null-and-root", "number-stops", "odd-root", "not-a-list", "none"],
)
def test_names_from_the_parsed_map_are_those_read_from_its_text(
    members: dict[str, object],
) -> None:
    text = json.dumps({"version": 3, **members, "sourcesContent": ["x" * 20], "mappings": "AAAA"})
    unparsed = sourcemap.MapText(text)
    from_text = unparsed.names()
    parsed = sourcemap.MapText(text)
    parsed.parsed()
    assert parsed.names() == from_text
