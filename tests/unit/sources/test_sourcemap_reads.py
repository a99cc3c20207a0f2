"""Maps and bundles read in reads sized to the file (not a step of MBs each), yet read whole
when the file holds more than its size said (it grew since), and cut at the limit."""

from __future__ import annotations

import io
import json
from pathlib import Path

from leakguard.model import ScanStats
from leakguard.options import ScanOptions
from leakguard.sources import readers, sourcemap
from leakguard.sources.readers import file_chunks
from leakguard.sources.webbundle import ReadMaps
from tests.support.keys import stripe_key
from tests.support.sourcemaps import encode_mappings
from tests.unit.sources.helpers import engine

KEY = stripe_key("reads")


class _Recording(io.BytesIO):
    """A stream that records the size each read asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.asked: list[int] = []

    def read(self, n: int | None = -1) -> bytes:
        self.asked.append(-1 if n is None else n)
        return super().read(n)


def test_a_read_of_a_known_size_asks_for_that_size_and_sees_the_end() -> None:
    data = bytes(range(256)) * 40
    stream = _Recording(data)
    assert sourcemap.read_at_most(stream, 1 << 30, len(data)) == data
    assert stream.asked[0] == len(data) + 1
    assert max(stream.asked[1:]) <= 1  # the end seen without asking for a step of MBs


def test_a_stream_longer_than_its_size_is_read_to_its_end_or_its_limit() -> None:
    data = b"x" * 100_000
    assert sourcemap.read_at_most(_Recording(data), 1 << 30, 10) == data
    cut = sourcemap.read_at_most(_Recording(data), 50_000, 10)
    assert cut == data[:50_001]  # one byte over: the caller tells a map over its limit so


def test_a_stream_shorter_than_its_size_is_read_as_it_is() -> None:
    assert sourcemap.read_at_most(_Recording(b"abc"), 1 << 30, 1000) == b"abc"
    assert sourcemap.read_at_most(_Recording(b""), 1 << 30, 0) == b""


def test_sized_reads_ask_for_what_is_left_and_follow_a_file_that_grew() -> None:
    data = b"0123456789" * 1000
    stream = _Recording(data)
    sized = readers._SizedReads(stream, 4000)  # the file grew from 4000 to 10000 bytes
    got = sized.read(1 << 21)
    assert got == data[:4001] and stream.asked == [4001]
    rest = sized.read(1 << 21)
    assert got + rest == data and stream.asked[1] == 1 << 21


def _pair(tmp_path: Path, grow: int = 0) -> Path:
    original = f'export const stripe = "{KEY}";\n'
    bundle = "var a=1;" * 5000 + f'const s="{KEY}";'
    column = bundle.index(KEY) - 1
    source_map = {
        "version": 3,
        "sources": ["webpack://shop/./src/pay.ts"],
        "sourcesContent": [original],
        "names": [],
        "mappings": encode_mappings([[(0, 0, 0, 0), (column, 0, 0, 21)]]),
    }
    (tmp_path / "app.js").write_text(bundle + "\n//# sourceMappingURL=app.js.map\n")
    (tmp_path / "app.js.map").write_text(json.dumps(source_map) + " " * grow)
    return tmp_path / "app.js"


def test_a_bundle_and_its_map_read_in_sized_reads_find_the_key_in_both(tmp_path: Path) -> None:
    bundle = _pair(tmp_path)
    stats = ScanStats()
    maps = ReadMaps()
    findings = []
    for name in ("app.js", "app.js.map"):
        for chunk in file_chunks(
            tmp_path / name, name, ScanOptions(), stats, walked=lambda p, u: True, maps=maps
        ):
            findings += engine().scan(chunk, 0)
    places = sorted(
        (f.location.path, f.location.get("original_path"), f.location.get("original_line"))
        for f in findings
        if f.secret == KEY
    )
    assert places == [("app.js", "src/pay.ts", 1), ("app.js.map", "src/pay.ts", 1)]
    assert bundle.stat().st_size > 40_000


def test_a_bundle_and_its_map_are_never_cut_into_two_batches(tmp_path: Path) -> None:
    from dataclasses import replace

    from leakguard.sources.filesystem import MIN_BATCH_BYTES, DirectorySource, FileBatch

    part = MIN_BATCH_BYTES // 3 + 1  # a batch is full after three files
    names = []
    for n in range(12):
        names += [f"app-{n}.js", f"app-{n}.js.map"]
        if n % 3 == 0:  # what webpack writes between a bundle and its map
            names.insert(len(names) - 1, f"app-{n}.js.LICENSE.txt")
    for name in names:
        (tmp_path / name).write_bytes(b"x" * part)
    pieces = DirectorySource(tmp_path, "build").split(replace(ScanOptions(), jobs=2))
    batches = [p.relpaths for p in pieces if isinstance(p, FileBatch)]
    assert sorted(rel for batch in batches for rel in batch) == sorted(names)
    assert len(batches) > 4  # cut often enough to have met pairs at every cut
    for batch in batches:
        bundles = {rel for rel in batch if rel.endswith(".js")}
        maps = {rel[: -len(".map")] for rel in batch if rel.endswith(".map")}
        assert bundles == maps, batch


def test_a_text_file_read_from_its_start_is_cut_as_before(tmp_path: Path) -> None:
    """Chunks of a file read whole from its start: the same bytes, lines and columns as the
    head and the rest joined, every key found once where it is."""
    lines = []
    keys = []
    for n in range(400):
        if n % 37 == 5:
            keys.append(stripe_key(f"start-{n}"))
            lines.append(f"{'x' * (n % 50)} token = '{keys[-1]}' # line {n + 1}")
        else:
            lines.append(f"filler line {n} " + "y" * (n % 90))
    data = ("\n".join(lines) + "\n").encode()
    path = tmp_path / "settings.txt"
    path.write_bytes(data)
    chunk_bytes = 16_384  # over the sniffed head: the file is read from its start
    stats = ScanStats()
    chunks = list(file_chunks(path, "settings.txt", ScanOptions(), stats, chunk_bytes=chunk_bytes))
    assert len(chunks) > 1
    assert chunks[0].data == data[:chunk_bytes]
    assert b"".join(c.data[: c.report_until] for c in chunks[:-1]) + chunks[-1].data == data
    findings = [f for c in chunks for f in engine().scan(c, 0)]
    assert sorted(f.secret or "" for f in findings) == sorted(keys)
    for finding in findings:
        line = lines[finding.location.line - 1]
        assert line[finding.location.column - 1 :].startswith(finding.secret or "-")


def _bundle_naming(tmp_path: Path, url: str) -> Path:
    """A bundle holding KEY (past the sniffed head) whose comment names ``url``."""
    bundle = "var x=1;\n" * 1200 + f'const s="{KEY}";\n//# sourceMappingURL={url}\n'
    path = tmp_path / "app.js"
    path.write_text(bundle)
    return path


def test_a_bundle_naming_itself_as_its_map_is_scanned_once(tmp_path: Path) -> None:
    from leakguard.scanner import run_scan

    for url in ("app.js", "./app.js", "alias.js.map"):  # the last: a link to the bundle
        bundle = _bundle_naming(tmp_path, url)
        alias = tmp_path / "alias.js.map"
        alias.unlink(missing_ok=True)
        alias.symlink_to(bundle)
        for target in (tmp_path, bundle):
            result = run_scan([str(target)], ScanOptions(jobs=1, show_secrets=True))
            assert [f.secret for f in result.findings] == [KEY], url
            assert "followed_source_maps" not in result.stats.counters, url
            assert not result.stats.warnings, url


def test_a_mapping_url_holding_a_nul_never_stops_the_scan(tmp_path: Path) -> None:
    from leakguard.scanner import run_scan

    bundle = _bundle_naming(tmp_path, "app\0.js.map")
    for target in (tmp_path, bundle):
        result = run_scan([str(target)], ScanOptions(jobs=1, show_secrets=True))
        assert [f.secret for f in result.findings] == [KEY]
