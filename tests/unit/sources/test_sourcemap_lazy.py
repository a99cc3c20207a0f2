"""Source maps read lazily: bundle findings mapped back through ``mappings`` decoded only as far
as needed, whole original sources scanned from ``sourcesContent``, hostile maps bounded."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from leakguard.model import ScanStats
from leakguard.options import ScanOptions
from leakguard.scanner import run_scan
from leakguard.sources import sourcemap
from leakguard.sources.readers import file_chunks
from leakguard.sources.sourcemap import Mappings, map_chunks
from leakguard.sources.webbundle import ReadMaps
from tests.support.keys import stripe_key
from tests.support.sourcemaps import encode_mappings
from tests.unit.sources.helpers import engine, scan_file

KEY = stripe_key("lazy")
ROOT = Path(__file__).resolve().parents[3]


def _original(key: str) -> str:
    return (
        'import { api } from "./api";\n'
        "\n"
        "// shipped to every browser by mistake\n"
        f'export const stripe = api("{key}", {{ retries: 3 }});\n'
    )


QUOTE = _original(KEY).splitlines()[3].index(KEY)  # 1-based column of the quote before KEY


def _build(tmp_path: Path, *, with_content: bool = True) -> tuple[Path, str, int]:
    """A one-line bundle whose literal holding KEY was written at src/pay.ts line 4 (its
    opening quote at column QUOTE), its map, and the bundle's column of KEY."""
    filler = "".join(f'var a{i}="value number {i}";' for i in range(3000))
    bundle = filler + f'const s=api("{KEY}",{{retries:3}});'
    literal = bundle.index(KEY) - 1
    segments = [(0, 0, 0, 0), (100, 0, 0, 9), (literal, 1, 3, QUOTE - 1), (literal + 40, 1, 3, 70)]
    source_map: dict[str, object] = {
        "version": 3,
        "sources": ["webpack://shop/./src/api.ts", "webpack://shop/./src/pay.ts"],
        "names": [],
        "mappings": encode_mappings([segments]),
    }
    if with_content:
        source_map["sourcesContent"] = ["export const api = () => 0;\n", _original(KEY)]
    (tmp_path / "app.js").write_text(bundle + "\n//# sourceMappingURL=app.js.map\n")
    (tmp_path / "app.js.map").write_text(json.dumps(source_map))
    return tmp_path / "app.js", json.dumps(source_map), literal + 2


def test_finding_in_the_bundle_and_in_sources_content_both_carry_the_original(
    tmp_path: Path,
) -> None:
    bundle, raw_map, column = _build(tmp_path)
    findings, stats = scan_file(bundle, "dist/app.js")
    by_path = {f.location.path: f.location for f in findings if f.secret == KEY}
    in_bundle, in_map = by_path["dist/app.js"], by_path["dist/app.js.map"]
    assert (in_bundle.line, in_bundle.column) == (1, column)
    assert in_bundle.get("original_path") == "src/pay.ts"
    # written once in the map's sources: located there, at the key itself
    assert (in_bundle.get("original_line"), in_bundle.get("original_column")) == (4, QUOTE + 1)
    assert (in_map.line, in_map.column) == (1, raw_map.index(KEY) + 1)
    assert in_map.get("original_path") == "src/pay.ts"
    assert (in_map.get("original_line"), in_map.get("original_column")) == (4, QUOTE + 1)
    assert stats.counters["bundles_mapped_to_original"] == 1


def test_a_key_written_twice_is_located_through_mappings(tmp_path: Path) -> None:
    """Two original sources hold the key: which one the bundle's copy came from is the
    mappings' answer (the segment of the literal: its opening quote)."""
    bundle, raw_map, column = _build(tmp_path)
    doc = json.loads(raw_map)
    doc["sourcesContent"][0] = f"// an old copy: {KEY}\n"
    (tmp_path / "app.js.map").write_text(json.dumps(doc))
    findings, _ = scan_file(bundle, "app.js")
    [in_bundle] = [f.location for f in findings if f.location.path == "app.js"]
    assert in_bundle.column == column
    assert (in_bundle.get("original_path"), in_bundle.get("original_line")) == ("src/pay.ts", 4)
    assert in_bundle.get("original_column") == QUOTE


def test_each_original_source_is_one_chunk(tmp_path: Path) -> None:
    _bundle, raw_map, _ = _build(tmp_path)
    chunks = list(map_chunks(raw_map.encode(), "app.js.map", ScanStats()))
    assert [c.data.decode() for c in chunks] == [
        "export const api = () => 0;\n",
        _original(KEY),
    ]


def test_a_key_spread_over_original_lines_is_found_in_sources_content() -> None:
    rule = yaml.safe_load((ROOT / "detectors" / "private-key.yaml").read_text())["rules"][0]
    pem = rule["examples"][0].strip()
    content = f"// test fixture\nexport const KEY = `{pem}`;\n"
    raw = json.dumps({"version": 3, "sources": ["src/k.ts"], "sourcesContent": [content]})
    found = [f for c in map_chunks(raw.encode(), "k.js.map", ScanStats()) for f in engine().scan(c)]
    [finding] = [f for f in found if f.rule_id == "private-key"]
    loc = finding.location
    assert (loc.get("original_path"), loc.get("original_line"), loc.get("original_column")) == (
        "src/k.ts",
        2,
        21,
    )
    assert loc.column == raw.index("-----BEGIN") + 1  # after a JSON-escaped newline


def test_map_without_sources_content_still_maps_the_bundle(tmp_path: Path) -> None:
    bundle, _, column = _build(tmp_path, with_content=False)
    findings, _ = scan_file(bundle, "app.js")
    [finding] = [f for f in findings if f.secret == KEY]
    loc = finding.location
    assert (loc.path, loc.column, loc.get("original_path"), loc.get("original_line")) == (
        "app.js",
        column,
        "src/pay.ts",
        4,
    )


def test_index_map_sources_are_scanned_and_its_bundle_is_not_mapped(tmp_path: Path) -> None:
    other = stripe_key("section")
    sections = [
        {
            "offset": {"line": 0, "column": 0},
            "map": {
                "version": 3,
                "sources": ["a.ts"],
                "sourcesContent": [None],
                "mappings": "AAAA",
            },
        },
        {
            "offset": {"line": 1, "column": 0},
            "map": {
                "version": 3,
                "sources": ["b.ts"],
                "sourcesContent": [f'\nconst k = "{other}";\n'],
                "mappings": "AAAA",
            },
        },
    ]
    (tmp_path / "app.js").write_text(f'x();\nvar k="{KEY}";\n//# sourceMappingURL=app.js.map\n')
    (tmp_path / "app.js.map").write_text(json.dumps({"version": 3, "sections": sections}))
    findings, _ = scan_file(tmp_path / "app.js")
    where = {f.secret: f.location for f in findings}
    assert where[other].path == "app.js.map"
    assert (where[other].get("original_path"), where[other].get("original_line")) == ("b.ts", 2)
    # index maps carry no top-level mappings: the bundle finding keeps its bundle position only
    assert (where[KEY].path, where[KEY].line, where[KEY].get("original_path")) == (
        "app.js",
        2,
        None,
    )


@pytest.mark.parametrize(
    "mappings",
    [
        "!!!!",  # not base64
        "A" * 5000,  # one overlong segment
        "gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg",  # never ends
        "AAAA,/////////////////////////w",  # huge values
        "AAAA,ADAA",  # source index -1
        ";;;;,,,,;;",  # separators only
        "AAAA;" * 10 + "AAAA,AAAAA,AAAAAAAAA",  # odd segment lengths
    ],
)
def test_malformed_mappings_never_stop_the_scan(tmp_path: Path, mappings: str) -> None:
    doc = {"version": 3, "sources": ["a.ts"], "mappings": mappings}
    (tmp_path / "app.js").write_text(f'var k="{KEY}";\n//# sourceMappingURL=app.js.map\n')
    (tmp_path / "app.js.map").write_text(json.dumps(doc))
    findings, _ = scan_file(tmp_path / "app.js")
    [finding] = [f for f in findings if f.secret == KEY]
    assert (finding.location.line, finding.location.column) == (1, 8)
    original = finding.location.get("original_path")
    assert original in (None, "a.ts")


def test_malformed_segments_count_as_nothing() -> None:
    mappings = Mappings("AAAA,!!,CAAC;AACA", ["a.ts"])
    assert mappings.original(1, 1) == ("a.ts", 1, 1)
    assert mappings.original(1, 2) == ("a.ts", 1, 2)  # after the bad segment
    assert mappings.original(2, 1) == ("a.ts", 2, 2)
    assert Mappings("AAAA", ["a.ts"]).original(0, 1) is None
    assert Mappings("AAAA", ["a.ts"]).original(5, 1) is None
    assert Mappings("IAAA", ["a.ts"]).original(1, 2) is None  # before the first segment
    assert Mappings("AAAA,E", ["a.ts"]).original(1, 9) == ("a.ts", 1, 1)  # 1-field segment


@pytest.mark.parametrize("block", [7, 64, 1 << 16])
def test_lookups_agree_with_the_absolute_positions_encoded(
    monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    """Random dense mappings over many lines, looked up in random order (resume points, block
    cuts and line starts all exercised); the expected answers are the absolute positions the
    mappings were written from."""
    monkeypatch.setattr(sourcemap, "_BLOCK", block)
    rng = random.Random(block)
    lines: list[list[tuple[int, int, int, int]]] = []
    for _ in range(300):
        segments, gen = [], 0
        for _ in range(rng.choice((0, 1, 5, 40))):
            gen += rng.randint(1, 30)
            segments.append((gen, rng.randrange(4), rng.randrange(5000), rng.randrange(200)))
        lines.append(segments)
    mappings = Mappings(encode_mappings(lines), ["a", "b", "c", "d"])
    asks = [(n, s) for n, segments in enumerate(lines) for s in segments]
    rng.shuffle(asks)
    for number, (gen, src, orig_line, orig_column) in asks[:400]:
        expected = ("abcd"[src], orig_line + 1, orig_column + 1)
        assert mappings.original(number + 1, gen + 1) == expected
        assert mappings.original(number + 1, gen + 2) in (expected, None) or gen + 1 in [
            s[0] for s in lines[number]
        ]


def test_a_map_the_directory_walk_reaches_is_scanned_once(tmp_path: Path) -> None:
    _build(tmp_path)
    result = run_scan([str(tmp_path)], ScanOptions(jobs=1, show_secrets=True))
    paths = sorted(f.location.path for f in result.findings if f.secret == KEY)
    assert paths == ["app.js", "app.js.map"]
    assert result.stats.counters["source_maps"] == 1  # not parsed again when followed
    assert "followed_source_maps" not in result.stats.counters


def test_a_map_of_millions_of_empty_lists_is_scanned_as_text_in_bounded_memory(
    tmp_path: Path,
) -> None:
    """Issue #15's memory bomb, smaller: 12 MB of ``[]`` took ~300 MB parsed as Python lists."""
    path = tmp_path / "bomb.js.map"
    with path.open("w") as fh:
        fh.write('{"version": 3, "sources": ["a.ts"], "mappings": "AAAA", "x": [')
        fh.write("[]," * 4_000_000)
        fh.write(f'[]], "k": "{KEY}"}}')
    script = textwrap.dedent(
        f"""
        import resource, sys
        from pathlib import Path
        from leakguard.model import ScanStats
        from leakguard.options import ScanOptions
        from leakguard.sources.readers import file_chunks
        stats = ScanStats()
        chunks = file_chunks(Path({str(path)!r}), "bomb", ScanOptions(), stats)
        data = b"".join(c.data for c in chunks)
        assert {KEY!r}.encode() in data, "the text fallback must still scan the map"
        assert any("JSON values" in w for w in stats.warnings), stats.warnings
        # VmHWM: this program's own peak (ru_maxrss may carry the forking parent's over exec)
        status = Path("/proc/self/status")
        lines = status.read_text().splitlines() if status.exists() else []
        peaks = [int(line.split()[1]) for line in lines if line.startswith("VmHWM:")]
        print((peaks or [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss])[0] // 1024)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    peak_mb = int(proc.stdout.split()[-1])
    assert peak_mb < 150, f"peak RSS {peak_mb} MB"


def test_a_map_of_distinct_segments_stops_answering_within_its_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every segment different (nothing to reuse): past the budget a lookup gives up (the
    finding keeps its bundle position) instead of decoding without end."""
    rng = random.Random("budget")

    def distinct() -> list[tuple[int, int, int, int]]:
        return [(i * 3, 0, rng.randrange(10**7), rng.randrange(10**6)) for i in range(3000)]

    segments = distinct()
    last = segments[-1]
    expected = ("a.ts", last[2] + 1, last[3] + 1)
    assert Mappings(encode_mappings([segments]), ["a.ts"]).original(1, last[0] + 1) == expected
    monkeypatch.setattr(sourcemap, "MAX_DECODED", 100)
    hostile = Mappings(encode_mappings([distinct()]), ["a.ts"])  # none decoded before
    assert hostile.original(1, last[0] + 1) is None


def test_a_large_map_whose_commas_sit_in_its_sources_is_still_parsed() -> None:
    code = "const a = [1, 2, 3], b = {x: 1, y: [4, 5]};\n" * 150_000  # 8 of , [ { a line
    doc = {"version": 3, "sources": ["big.ts", "k.ts"], "sourcesContent": [code, code + KEY]}
    raw = json.dumps(doc).encode()
    assert raw.count(b",") + raw.count(b"[") + raw.count(b"{") > sourcemap.MAX_JSON_VALUES
    stats = ScanStats()
    chunks = list(map_chunks(raw, "big.js.map", stats))
    assert [c.location.get("original_path") for c in chunks] == [None, None]  # set per finding
    assert [len(c.data) for c in chunks] == [len(code), len(code) + len(KEY)]
    assert stats.warnings == []


#: quotes, a tab, a backslash and non-ASCII before the key's line; one more on its own line
ESCAPED = (
    'const title = "Caf\u00e9 \\"na\u00efve\\"\t\\\\ \U0001f600 \u2713";\n'
    'export const stripe = api("\u00e9 ' + KEY + '");\n'
)


@pytest.mark.parametrize("ensure_ascii", [True, False], ids=["u-escapes", "utf-8"])
def test_escapes_before_a_key_in_sources_content_keep_it_found_and_located(
    tmp_path: Path, ensure_ascii: bool
) -> None:
    """``\\n``, ``\\"``, ``\\\\``, ``\\t`` and ``\\u00XX`` escapes (an emoji is two, a surrogate
    pair) before a key: it is found in the bundle and in the map, each at its own place, with
    the original line and column where it was written."""
    doc = {"version": 3, "sources": ["src/pay.ts"], "sourcesContent": [ESCAPED], "names": []}
    doc["mappings"] = encode_mappings([[(0, 0, 1, 0)]])
    raw = json.dumps(doc, ensure_ascii=ensure_ascii)
    (tmp_path / "app.js.map").write_text(raw, encoding="utf-8")
    bundle = 'const s=api("' + KEY + '");\n//# sourceMappingURL=app.js.map\n'
    (tmp_path / "app.js").write_text(bundle)
    findings, _ = scan_file(tmp_path / "app.js", "app.js")
    by_path = {f.location.path: f.location for f in findings if f.secret == KEY}
    written = len('export const stripe = api("\u00e9 ') + 1
    for where in ("app.js", "app.js.map"):
        loc = by_path[where]
        assert (loc.get("original_path"), loc.get("original_line")) == ("src/pay.ts", 2), where
        assert loc.get("original_column") == written, where
    assert by_path["app.js"].column == bundle.index(KEY) + 1
    in_map = by_path["app.js.map"]
    assert (in_map.line, in_map.column) == (1, len(raw[: raw.index(KEY)]) + 1)


def test_a_key_whose_characters_the_map_escapes_is_found_with_its_original_position(
    tmp_path: Path,
) -> None:
    """A serializer may escape any character (``\\u005f`` for ``_``, ``\\/``): the key is
    still found in ``sourcesContent``, and the bundle's copy still gets its original line."""
    content = 'import x from "y";\nexport const stripe = api("' + KEY + '");\n'
    doc = {"version": 3, "sources": ["src/pay.ts"], "sourcesContent": [content], "names": []}
    doc["mappings"] = encode_mappings([[(0, 0, 1, 0)]])
    raw = json.dumps(doc).replace("sk_live_", "sk\\u005flive\\u005f").replace("/", "\\/")
    assert KEY not in raw and json.loads(raw)["sourcesContent"] == [content]
    (tmp_path / "app.js.map").write_text(raw)
    (tmp_path / "app.js").write_text(
        'const s=api("' + KEY + '");\n//# sourceMappingURL=app.js.map\n'
    )
    findings, _ = scan_file(tmp_path / "app.js", "app.js")
    by_path = {f.location.path: f.location for f in findings if f.secret == KEY}
    assert set(by_path) == {"app.js", "app.js.map"}
    for loc in by_path.values():
        assert (loc.get("original_path"), loc.get("original_line")) == ("src/pay.ts", 2)
    assert by_path["app.js.map"].get("original_column") == content.splitlines()[1].index(KEY) + 1
    assert by_path["app.js.map"].column == raw.index("sk\\u005flive") + 1


@pytest.mark.parametrize("target", ["directory", "bundle"])
def test_a_map_whose_bundle_had_it_read_is_opened_once(tmp_path: Path, target: str) -> None:
    """The bundle's finding has its map read (to locate it); the map's own scan, later in the
    walk or followed from the bundle, uses those bytes instead of reading the file again.
    Counted with the interpreter's ``open`` audit events, in a process of its own."""
    _build(tmp_path)
    # webpack writes this one; it sorts between the bundle and its map in the walk
    (tmp_path / "app.js.LICENSE.txt").write_text("/*! react.production.min.js | MIT */\n")
    scanned = tmp_path if target == "directory" else tmp_path / "app.js"
    script = textwrap.dedent(
        f"""
        import sys
        from collections import Counter
        from leakguard.options import ScanOptions
        from leakguard.scanner import run_scan
        opened = Counter()
        def audit(event, args):
            if event == "open":
                opened[str(args[0]).rsplit("/", 1)[-1]] += 1
        sys.addaudithook(audit)
        result = run_scan([{str(scanned)!r}], ScanOptions(jobs=1, show_secrets=True))
        places = sorted(
            (f.location.path.rsplit("/", 1)[-1], f.location.get("original_path"),
             f.location.get("original_line"))
            for f in result.findings if f.secret == {KEY!r}
        )
        print(opened["app.js.map"], places)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    map_opens, places = proc.stdout.strip().split(" ", 1)
    assert places == str([("app.js", "src/pay.ts", 4), ("app.js.map", "src/pay.ts", 4)])
    assert int(map_opens) == 1


def test_a_map_changed_after_its_bundle_had_it_read_is_read_again(tmp_path: Path) -> None:
    bundle, raw_map, _ = _build(tmp_path)
    maps = ReadMaps()
    stats = ScanStats()
    walk_reaches_the_map = lambda path, url: True  # noqa: E731 - as in a directory walk
    chunks = file_chunks(
        bundle, "app.js", ScanOptions(), stats, walked=walk_reaches_the_map, maps=maps
    )
    assert [f.secret for c in chunks for f in engine().scan(c)] == [KEY]  # the map was read
    other = stripe_key("changed")
    doc = json.loads(raw_map)
    doc["sourcesContent"][0] = f"export const old = '{other}';\n"
    (tmp_path / "app.js.map").write_text(json.dumps(doc))
    chunks = file_chunks(tmp_path / "app.js.map", "app.js.map", ScanOptions(), stats, maps=maps)
    assert sorted(f.secret for c in chunks for f in engine().scan(c)) == sorted([KEY, other])
