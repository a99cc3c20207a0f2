"""Source maps lead a finding back to the original file and line."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from leakguard.model import ScanStats
from leakguard.sources.sourcemap import decode_data_url, map_chunks, source_mapping_url
from tests.support.keys import stripe_key
from tests.unit.sources.helpers import engine, scan_file

KEY = stripe_key(11)
ORIGINAL = (
    "import Stripe from 'stripe';\n"
    "\n"
    "// the server key, shipped by mistake\n"
    "export const client = new Stripe('" + KEY + "', {\n"
    "  apiVersion: '2024-06-20',\n"
    "});\n"
)


def _map(**extra: object) -> dict[str, object]:
    return {
        "version": 3,
        "file": "app.js",
        "sources": ["webpack://shop/./src/lib/stripe.ts", "webpack://shop/./src/index.ts"],
        "sourcesContent": ["export {};\n", ORIGINAL],
        "names": [],
        "mappings": "AAAA;AACA",
        **extra,
    }


def test_sibling_map_gives_original_path_and_line(tmp_path: Path) -> None:
    doc = _map()
    doc["sources"] = ["webpack://shop/./src/index.ts", "webpack://shop/./src/lib/stripe.ts"]
    (tmp_path / "app.js").write_text(
        '(()=>{console.log("hi")})();\n//# sourceMappingURL=app.js.map\n'
    )
    raw = json.dumps(doc)
    (tmp_path / "app.js.map").write_text(raw)
    findings, stats = scan_file(tmp_path / "app.js", "dist/app.js")
    [finding] = findings
    loc = finding.location
    assert loc.path == "dist/app.js.map"
    assert loc.get("original_path") == "src/lib/stripe.ts"
    assert loc.get("original_line") == 4
    assert (loc.line, loc.column) == (1, raw.index(KEY) + 1)  # where it sits in the map file
    assert stats.counters["followed_source_maps"] == 1


def test_map_scanned_on_its_own_gives_the_same_finding(tmp_path: Path) -> None:
    path = tmp_path / "app.js.map"
    path.write_text(json.dumps(_map(), indent=2))
    [finding] = scan_file(path, "dist/app.js.map")[0]
    assert finding.location.get("original_path") == "src/index.ts"  # second source
    assert finding.location.get("original_line") == 4


def test_inline_data_map_points_at_the_bundle(tmp_path: Path) -> None:
    encoded = base64.b64encode(json.dumps(_map()).encode()).decode()
    path = tmp_path / "bundle.js"
    path.write_text(
        f"var x=1;\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,{encoded}\n"
    )
    [finding] = scan_file(path)[0]
    loc = finding.location
    assert (loc.path, loc.line, loc.column) == ("bundle.js", 2, 22)
    assert loc.get("original_path") == "src/index.ts"
    assert loc.get("original_line") == 4
    assert loc.get("encoding") == "data-url"


def test_index_map_sections_and_escaped_content() -> None:
    section = {
        "version": 3,
        "sources": ["lib/a.js"],
        "sourcesContent": ['const q = "x";\nconst k = "' + KEY + '";\n'],
        "mappings": "",
    }
    doc = {"version": 3, "sections": [{"offset": {"line": 0, "column": 0}, "map": section}]}
    stats = ScanStats()
    raw = json.dumps(doc)
    chunks = list(map_chunks(raw.encode(), "i.map", stats))
    assert [c.data for c in chunks] == [section["sourcesContent"][0].encode()]  # one per source
    [finding] = [f for c in chunks for f in engine().scan(c)]
    loc = finding.location
    assert (loc.get("original_path"), loc.get("original_line")) == ("lib/a.js", 2)
    assert loc.get("original_column") == len('const k = "') + 1
    # where it sits in the map: the escapes before it (\" and \n) counted exactly
    assert (loc.line, loc.column) == (1, raw.index(KEY) + 1)


def test_not_json_falls_back_to_text(tmp_path: Path) -> None:
    path = tmp_path / "weird.map"
    path.write_text('{"version": 3, "sources": [], "mappings": "", broken ' + KEY + "\n")
    findings, stats = scan_file(path)
    assert [f.secret for f in findings] == [KEY]
    assert any("not valid JSON" in w for w in stats.warnings)


def test_mapping_url_helpers() -> None:
    data = b"code\n//# sourceMappingURL=old.map\nmore\n//# sourceMappingURL=app.js.map\n"
    assert source_mapping_url(data) == ("app.js.map", data.rindex(b"app.js.map"))
    assert source_mapping_url(b"/*# sourceMappingURL=style.css.map */") == ("style.css.map", 21)
    assert source_mapping_url(b"no map here") is None
    assert decode_data_url("data:application/json;base64,eyJhIjoxfQ==") == b'{"a":1}'
    assert decode_data_url("data:application/json,%7B%7D") == b"{}"
    assert decode_data_url("app.js.map") is None


def test_map_over_the_size_limit_is_streamed_as_text(tmp_path: Path) -> None:
    from leakguard.options import ScanOptions

    path = tmp_path / "big.js.map"
    raw = json.dumps(_map(names=["x" * 5000]))
    path.write_text(raw)
    findings, stats = scan_file(path, options=ScanOptions(max_file_bytes=len(raw) + 10))
    assert [f.location.get("original_path") for f in findings] == ["src/index.ts"]
    findings, stats = scan_file(path, options=ScanOptions(max_file_bytes=4096), chunk_bytes=1024)
    assert [f.secret for f in findings] == []  # over max_file_bytes and not a log: skipped
    log = tmp_path / "search.log"
    log.write_text(raw)
    findings, stats = scan_file(log, options=ScanOptions(max_file_bytes=4096))
    assert [f.secret for f in findings] == [KEY]  # a log is never skipped for size
    assert findings[0].location.get("original_path") is None
    assert any("scanned as text" in w for w in stats.warnings)


def test_json_that_only_mentions_mappings_is_not_a_map(tmp_path: Path) -> None:
    path = tmp_path / "index-template.json"
    path.write_text(json.dumps({"mappings": {"properties": {"k": KEY}}}))
    findings, stats = scan_file(path)
    assert [f.secret for f in findings] == [KEY]
    assert "source_maps" not in stats.counters


def test_mappings_decode_and_lookup() -> None:
    from leakguard.sources.sourcemap import Mappings

    # line 1: col 0 -> a.ts 1:1, col 4 -> a.ts 1:5; line 2: col 0 -> b.ts 2:5, col 10 -> b.ts 2:15
    mappings = Mappings("AAAA,IAAI;ACCA,UAAU", ["a.ts", "b.ts"])
    assert mappings.original(1, 1) == ("a.ts", 1, 1)
    assert mappings.original(1, 3) == ("a.ts", 1, 1)  # inside the first segment
    assert mappings.original(1, 9) == ("a.ts", 1, 5)
    assert mappings.original(2, 11) == ("b.ts", 2, 15)
    assert mappings.original(3, 1) is None
    assert Mappings("AAAA,!!!;AACA", ["a.ts"]).original(2, 1) == ("a.ts", 2, 1)  # bad segment
    doc = json.dumps({"version": 3, "sources": ["webpack://x/./s.ts"], "mappings": "AAAA"})
    loaded = Mappings.from_map(doc.encode())
    assert loaded is not None and loaded.original(1, 1) == ("s.ts", 1, 1)
    assert Mappings.from_map(b"not json") is None


def test_map_nested_too_deep_for_the_parser_is_scanned_as_text(tmp_path: Path) -> None:
    path = tmp_path / "deep.js.map"
    depth = 200_000
    path.write_text(
        '{"version": 3, "sources": [], "mappings": "", "k": "'
        + KEY
        + '", "x": '
        + "[" * depth
        + "]" * depth
        + "}"
    )
    findings, stats = scan_file(path)
    assert [f.secret for f in findings] == [KEY]
    assert any("not valid JSON" in w for w in stats.warnings)


def test_the_mapping_url_name_is_found_as_in_finds_it() -> None:
    from leakguard.sources.sourcemap import MAPPING_URL_NAME, _LiteralSearch, names_mapping_url

    texts = [
        b"",
        b"no map here",
        b"//# sourceMappingURL=app.js.map",
        b"x" * 100_000 + b"/*# sourceMappingURL=data:application/json;base64,e30= */",
        b"sourceMappingURL",  # the name without its "="
        b"SOURCEMAPPINGURL=a.map",  # the comment is case-sensitive
        b"sourceMappingURL=" + b"\0" * 10,
    ]
    for text in texts:
        assert names_mapping_url(text) is (MAPPING_URL_NAME in text), text[-40:]
    # a literal holding regex syntax is still a literal
    dotted = _LiteralSearch(b"a.b(c")
    assert dotted(b"xxa.b(cxx") and not dotted(b"axb(c") and not dotted(b"a.bc")
