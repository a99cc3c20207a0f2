"""An original source repeated across the maps of one walk is matched once, and every place
it is at is still reported, where a scan of that place alone reports it."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from leakguard.model import Finding, ScanStats
from leakguard.options import ScanOptions
from leakguard.scanner import run_scan
from leakguard.sources.sourcemap import PLACE_COST, RepeatedSources, map_chunks
from tests.support.keys import stripe_key
from tests.unit.sources.helpers import scan_file

KEY = stripe_key(23)
OTHER_KEY = stripe_key(24)
# escapes before the key (a quote, a tab, a non-ASCII letter, an emoji) move its column in the
# map's text; the base64 line holds a key only a decoded layer shows
SHARED = (
    '// vendor: "payments" \u00e9\t\U0001f600 helper\n'
    "import Stripe from 'stripe';\n"
    f"export const encoded = '{base64.b64encode(OTHER_KEY.encode()).decode()}';\n"
    f"export const client = new Stripe('{KEY}');\n"
)
FILLER = "export const answer = 42; // nothing to see here\n"


def _write_map(path: Path, sources: list[tuple[str, str]], **dump: object) -> str:
    doc = {
        "version": 3,
        "file": path.name.removesuffix(".map"),
        "sources": [f"webpack://app/./{name}" for name, _ in sources],
        "sourcesContent": [text for _, text in sources],
        "names": [],
        "mappings": "AAAA",
    }
    text = json.dumps(doc, **dump)  # type: ignore[arg-type]
    path.write_text(text, encoding="utf-8")
    return text


def _place(finding: Finding) -> tuple[object, ...]:
    loc = finding.location
    return (finding.secret, loc.path, loc.line, loc.column, loc.extras)


def _alone(root: Path, rel: str) -> list[tuple[object, ...]]:
    """The places a scan of the one map file reports (no walk, so no repeats)."""
    return sorted(_place(f) for f in scan_file(root / rel, rel)[0])


def _at(text: str, needle: str) -> tuple[int, int]:
    """Line and column (1-based) of ``needle`` in a map's text, found by the test itself."""
    index = text.index(needle)
    return text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)


def _build(root: Path) -> tuple[str, str, str]:
    (root / "a").mkdir()
    (root / "b").mkdir()
    first = _write_map(root / "a/one.js.map", [("src/filler.ts", FILLER), ("src/pay.ts", SHARED)])
    # the same source again: another name, another position, other escapes and layout
    second = _write_map(
        root / "b/two.js.map",
        [("src/x.ts", FILLER + "//"), ("src/y.ts", "let y = 1;\n"), ("lib/pay.ts", SHARED)],
        indent=2,
        ensure_ascii=False,
    )
    third = _write_map(root / "b/three.js.map", [("vendor/pay.ts", SHARED)], indent=1)
    return first, second, third


def test_a_repeated_source_is_reported_at_each_place_as_a_scan_of_that_map_alone(
    tmp_path: Path,
) -> None:
    first, second, third = _build(tmp_path)
    result = run_scan([str(tmp_path)], ScanOptions(jobs=1, show_secrets=True))
    assert result.stats.counters["repeated_sources"] == 2  # matched once, found at three places
    walked = sorted(_place(f) for f in result.findings)
    alone = sorted(
        place
        for rel in ("a/one.js.map", "b/two.js.map", "b/three.js.map")
        for place in _alone(tmp_path, rel)
    )
    assert walked == alone
    by_map = {(f.location.path, f.secret): f.location for f in result.findings}
    for rel, text, name in (
        ("a/one.js.map", first, "src/pay.ts"),
        ("b/two.js.map", second, "lib/pay.ts"),
        ("b/three.js.map", third, "vendor/pay.ts"),
    ):
        loc = by_map[(rel, KEY)]
        assert (loc.line, loc.column) == _at(text, KEY)
        assert (loc.get("original_path"), loc.get("original_line")) == (name, 4)
        assert loc.get("original_column") == SHARED.splitlines()[3].index(KEY) + 1
        assert by_map[(rel, OTHER_KEY)].get("original_line") == 3  # the decoded layer's too


def test_with_the_pool_each_batch_reports_every_place(tmp_path: Path) -> None:
    _build(tmp_path)
    pooled = run_scan([str(tmp_path)], ScanOptions(jobs=2, show_secrets=True))
    single = run_scan([str(tmp_path)], ScanOptions(jobs=1, show_secrets=True))
    assert sorted(map(_place, pooled.findings)) == sorted(map(_place, single.findings))
    assert len({f.location.path for f in pooled.findings}) == 3


def test_a_name_given_twice_in_one_map_is_never_taken_for_a_repeat(tmp_path: Path) -> None:
    # both sources of one.js.map are called src/pay.ts: a finding there could not be told
    # apart, so neither is recorded, and two.js.map's copy is scanned
    _write_map(tmp_path / "one.js.map", [("src/pay.ts", FILLER), ("src/pay.ts", SHARED)])
    _write_map(tmp_path / "two.js.map", [("lib/pay.ts", SHARED)])
    result = run_scan([str(tmp_path)], ScanOptions(jobs=1, show_secrets=True))
    assert "repeated_sources" not in result.stats.counters
    assert sorted(f.location.path for f in result.findings if f.secret == KEY) == [
        "one.js.map",
        "two.js.map",
    ]


def _chunks(text: str, display: str, repeated: RepeatedSources) -> list[object]:
    return list(map_chunks(text.encode(), display, ScanStats(), repeated=repeated))


def test_what_is_kept_stays_within_the_budget(tmp_path: Path) -> None:
    one = _write_map(tmp_path / "one.js.map", [("src/pay.ts", SHARED)])
    two = _write_map(tmp_path / "two.js.map", [("lib/pay.ts", SHARED)])
    tight = RepeatedSources(budget=len(one))  # not enough for the map's text and the source
    assert len(_chunks(one, "one.js.map", tight)) == 1
    assert len(_chunks(two, "two.js.map", tight)) == 1  # scanned again: nothing was kept
    roomy = RepeatedSources()
    assert len(_chunks(one, "one.js.map", roomy)) == 1
    assert _chunks(two, "two.js.map", roomy) == []


def test_a_map_of_many_identical_sources_records_only_what_the_budget_allows(
    tmp_path: Path,
) -> None:
    sources = [(f"src/copy{i}.ts", SHARED) for i in range(1000)]
    text = _write_map(tmp_path / "many.js.map", sources)
    budget = len(text) + len(SHARED.encode()) + 10 * PLACE_COST  # the first and 10 places
    chunks = _chunks(text, "many.js.map", RepeatedSources(budget=budget))
    assert len(chunks) == 1000 - 10  # the rest are matched where they are


def test_inline_maps_and_lone_scans_never_skip_a_source(tmp_path: Path) -> None:
    encoded = base64.b64encode(_write_map(tmp_path / "x.map", [("src/pay.ts", SHARED)]).encode())
    for name in ("one.js", "two.js"):
        (tmp_path / name).write_text(
            f"var x=1;\n//# sourceMappingURL=data:application/json;base64,{encoded.decode()}\n"
        )
    (tmp_path / "x.map").unlink()
    result = run_scan([str(tmp_path)], ScanOptions(jobs=1, show_secrets=True))
    alone = _alone(tmp_path, "one.js") + _alone(tmp_path, "two.js")
    assert sorted(map(_place, result.findings)) == sorted(alone)
    assert sorted(f.location.path for f in result.findings if f.secret == KEY) == [
        "one.js",
        "two.js",
    ]


def test_a_source_repeated_inside_one_map_is_reported_at_both_entries(tmp_path: Path) -> None:
    text = _write_map(
        tmp_path / "one.js.map", [("src/a/pay.ts", SHARED), ("src/b/pay.ts", SHARED)], indent=1
    )
    result = run_scan([str(tmp_path)], ScanOptions(jobs=1, show_secrets=True))
    assert result.stats.counters["repeated_sources"] == 1
    assert sorted(map(_place, result.findings)) == _alone(tmp_path, "one.js.map")
    second = text.index(KEY, text.index(KEY) + 1)  # the second entry's key, found by the test
    line, column = text.count("\n", 0, second) + 1, second - text.rfind("\n", 0, second)
    [loc] = [
        f.location
        for f in result.findings
        if f.secret == KEY and f.location.get("original_path") == "src/b/pay.ts"
    ]
    assert (loc.line, loc.column) == (line, column)
