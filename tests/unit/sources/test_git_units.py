"""Pure pieces of the git source: log parsing, object stream parsing, state, ranges, URLs."""

from __future__ import annotations

import base64
import functools
import io
import random
import subprocess
import sys
from pathlib import Path

import pytest

from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet
from leakguard.errors import InputError
from leakguard.model import ScanStats, SourceKind
from leakguard.options import ScanOptions
from leakguard.sources import git_objects, git_provenance
from leakguard.sources.bundle import is_bundle, read_header
from leakguard.sources.git_objects import GitObject, GitProcessDied, _read_objects
from leakguard.sources.git_pieces import Problems, blob_chunks, display_path, ranges_by_size
from leakguard.sources.git_provenance import (
    Commit,
    Introduction,
    LogIndex,
    is_deletion,
    parse_log,
)
from leakguard.sources.interface import offering
from leakguard.sources.readers import SNIFF_BYTES, stream_chunks_for
from leakguard.sources.remote import looks_like_git_url, mirror_path, public_url

A = "a" * 40
B = "b" * 40
Z = "0" * 40
BLOB1 = "1" * 40
BLOB2 = "2" * 40


def _header(oid: str, parents: str, name: str = "Ann") -> bytes:
    return f"\x01{oid} {parents}\0{name}\0ann@example.com\0{1700000000}\0".encode() + (
        b"2023-11-14T22:13:20+00:00\0"
    )


def test_parse_log_reads_commits_plain_and_combined_entries_and_odd_paths() -> None:
    stream = (
        _header(A, B)
        + b"\n:100644 100644 "
        + f"{Z} {BLOB1} M".encode()
        + b"\0dir/caf\xe9 name.py\0"
        + f":100644 000000 {BLOB1} {Z} D".encode()
        + b"\0gone.py\0"
        + _header(B, f"{A} {A}")
        + b"\n::000000 000000 160000 "
        + f"{Z} {Z} {BLOB2} AA".encode()
        + b"\0vendor/lib\0"
    )
    records = list(parse_log(io.BytesIO(stream)))
    assert [type(r).__name__ for r in records] == [
        "Commit",
        "Introduction",
        "Introduction",
        "Commit",
        "Introduction",
    ]
    first = records[0]
    assert isinstance(first, Commit)
    assert (first.oid, first.parents, first.author_name, first.author_time) == (
        A,
        (B,),
        "Ann",
        1700000000,
    )
    added = records[1]
    assert isinstance(added, Introduction)
    assert (added.blob, added.path, added.mode, added.commit.oid) == (
        BLOB1,
        b"dir/caf\xe9 name.py",
        b"100644",
        A,
    )
    deleted = records[2]
    assert isinstance(deleted, Introduction) and is_deletion(deleted.blob)
    merge_entry = records[4]
    assert isinstance(merge_entry, Introduction)
    assert (merge_entry.blob, merge_entry.mode, merge_entry.commit.oid) == (BLOB2, b"160000", B)


def test_parse_log_names_what_a_change_replaced_and_skips_a_malformed_entry() -> None:
    stream = (
        _header(A, B)
        + b"\n:100644 100644 "
        + f"{BLOB1} {BLOB2} M".encode()
        + b"\0app.py\0"
        + b":100644 100644 short\0bad.py\0"
        + f":000000 100755 {Z} {BLOB1} A".encode()
        + b"\0run.sh\0"
    )
    records = [r for r in parse_log(io.BytesIO(stream)) if isinstance(r, Introduction)]
    assert [(r.path, r.blob, r.mode, r.replaced) for r in records] == [
        (b"app.py", BLOB2, b"100644", (BLOB1,)),
        (b"run.sh", BLOB1, b"100755", ()),
    ]


def test_read_objects_keeps_every_object_when_no_filter_is_given() -> None:
    out = f"{B} tree 3\nabc\n{BLOB1} blob 2\nhi\n".encode()
    objs = list(_read_objects(io.BytesIO(out), 10))
    assert [(o.kind, o.data) for o in objs] == [("tree", b"abc"), ("blob", b"hi")]


def test_read_objects_parses_missing_drained_and_kept_objects() -> None:
    out = (
        f"{BLOB1} blob 5\nhello\n".encode()
        + f"{A} missing\n".encode()
        + f"{BLOB2} blob 12\n".encode()
        + b"x" * 12
        + b"\n"
        + f"{B} tree 3\nabc\n".encode()
    )
    objs = list(_read_objects(io.BytesIO(out), 10, lambda _o, kind: kind == "blob"))
    assert [(o.oid, o.kind, o.size, o.data) for o in objs] == [
        (BLOB1, "blob", 5, b"hello"),
        (A, "missing", 0, None),
        (BLOB2, "blob", 12, None),  # over the limit: drained
        (B, "tree", 3, None),
    ]
    assert objs[2].oversized and not objs[0].oversized


def test_read_objects_reports_the_object_git_died_on() -> None:
    with pytest.raises(GitProcessDied) as died:
        list(_read_objects(io.BytesIO(f"{BLOB1} blob 50\nshort".encode()), 100, lambda *_: True))
    assert died.value.oid == BLOB1


@pytest.mark.parametrize(
    ("out", "oid"),
    [
        (b"\n", None),  # an empty header
        (f"{BLOB1} blob".encode(), None),  # cut before its newline
        (f"{BLOB1} blob 5 extra\n".encode(), BLOB1),  # not three fields
        (f"{BLOB1} blob 5\nhello".encode(), BLOB1),  # no newline after the content
    ],
)
def test_read_objects_names_the_object_of_an_odd_header(out: bytes, oid: str | None) -> None:
    with pytest.raises(GitProcessDied) as died:
        list(_read_objects(io.BytesIO(out), 100))
    assert died.value.oid == oid


def test_read_objects_asks_quiet_about_each_small_blob_from_a_reused_buffer() -> None:
    """``quiet`` sees each blob of 1 to ``quiet_bytes`` bytes (no more than the limit), its
    content in a buffer read into again for the next one (a shorter blob after a longer one
    shows only its own bytes); True puts ``_TAKEN`` in the blob's place, False yields it with
    a copy of its content. Other objects, empty blobs and larger blobs go as before."""
    out = (
        f"{BLOB1} blob 11\nhello world\n".encode()
        + f"{BLOB2} blob 3\nkey\n".encode()
        + f"{A} missing\n".encode()
        + f"{B} tree 3\nabc\n".encode()
        + f"{Z} blob 0\n\n".encode()
        + f"{'3' * 40} blob 9\nover five\n".encode()  # over the limit and quiet_bytes below
        + f"{'4' * 40} blob 2\nhi\n".encode()
    )
    seen: list[bytes] = []

    def quiet(view: memoryview) -> bool:
        seen.append(view.tobytes())
        return view != b"key"

    objs = list(_read_objects(io.BytesIO(out), 100, quiet=quiet, quiet_bytes=20))
    assert seen == [b"hello world", b"key", b"over five", b"hi"]
    taken = git_objects._TAKEN
    assert [(o.oid, o.kind, o.data) if o is not taken else "taken" for o in objs] == [
        "taken",
        (BLOB2, "blob", b"key"),
        (A, "missing", None),
        (B, "tree", b"abc"),
        (Z, "blob", b""),
        "taken",
        "taken",
    ]
    # blobs over quiet_bytes, or over the limit, are read (or drained) as without quiet
    seen.clear()
    objs = list(_read_objects(io.BytesIO(out), 5, quiet=quiet, quiet_bytes=20))
    assert seen == [b"key", b"hi"]
    assert [(o.oid, o.data) for o in objs[:2]] == [(BLOB1, None), (BLOB2, b"key")]
    assert objs[0].oversized
    seen.clear()
    objs = list(_read_objects(io.BytesIO(out), 100, quiet=quiet, quiet_bytes=4))
    assert seen == [b"key", b"hi"]
    assert objs[0].data == b"hello world" and objs[5].data == b"over five"


def test_read_objects_with_quiet_reports_the_blob_git_died_on() -> None:
    for out in (f"{BLOB1} blob 50\nshort".encode(), f"{BLOB1} blob 5\nhelloX".encode()):
        with pytest.raises(GitProcessDied) as died:
            list(_read_objects(io.BytesIO(out), 100, quiet=lambda _view: True, quiet_bytes=64))
        assert died.value.oid == BLOB1


def test_ranges_cut_by_size_in_order_and_cover_everything() -> None:
    blobs = [(f"{i:040d}", size) for i, size in enumerate([10, 10, 10, 70, 5, 5, 90])]
    ranges = ranges_by_size(blobs, 4)
    assert [oid for r in ranges for oid in r] == [oid for oid, _ in blobs]
    assert [len(r) for r in ranges] == [4, 1, 2]  # cut where the running total passes 50, 100, 150
    assert ranges_by_size([], 4) == []
    assert len(ranges_by_size([(A, 0), (B, 0)], 8)) == 2


def test_display_path_escapes_bytes_that_are_not_utf8() -> None:
    assert display_path("naïve.py".encode()) == "naïve.py"
    assert display_path(b"caf\xe9.py") == "caf\\xe9.py"


def test_bundle_header_and_signature(tmp_path: Path) -> None:
    bundle = tmp_path / "x.bundle"
    bundle.write_bytes(
        b"# v3 git bundle\n@object-format=sha1\n"
        + f"-{A} prerequisite commit\n{B} refs/heads/main\n\nPACK".encode()
    )
    assert is_bundle(bundle)
    header = read_header(bundle, "x.bundle")
    assert header.prerequisites == (A,) and header.refs == ((B, "refs/heads/main"),)
    assert bundle.read_bytes()[header.pack_offset :] == b"PACK"
    other = tmp_path / "y.bundle"
    other.write_text("hello")
    assert not is_bundle(other)
    with pytest.raises(InputError, match="not a git bundle"):
        read_header(other, "y.bundle")


def test_remote_urls_lose_their_credentials_and_map_to_a_stable_mirror(tmp_path: Path) -> None:
    url = "https://user:tok3n@git.example.com/org/api.git"
    assert public_url(url) == "https://git.example.com/org/api.git"
    options = ScanOptions(cache_dir=tmp_path)
    path = mirror_path(url, options)
    assert path == mirror_path("https://git.example.com/org/api.git", options)
    assert path.parent == tmp_path / "git" and path.name.endswith("-api.git")
    assert "tok3n" not in str(path)


@pytest.mark.parametrize(
    ("url", "git"),
    [
        ("https://git.example.com/org/api.git", True),
        ("https://github.com/org/api", True),
        ("https://gitlab.com/org/api/", True),
        ("https://github.com/org/api/blob/main/x.py", False),
        ("https://example.com/app.js", False),
    ],
)
def test_which_http_urls_are_repositories(url: str, git: bool) -> None:
    assert looks_like_git_url(url) is git


_MAP = b'{"version":3,"sources":["a.js"],"sourcesContent":["k=1"],"mappings":"AAAA"}'


@functools.cache
def _engine() -> Engine:
    return Engine(RuleSet.load(), "hyperscan")


@pytest.mark.parametrize(
    "data",
    [
        b"plain = 1\nsecond line\n",
        b"x",
        b"",
        b"a" * (2 * 1024 * 1024),  # exactly one chunk
        b"line\n" * (450 * 1024),  # over one chunk: overlapping chunks
        b"var x = 1;\n//# sourceMappingURL=app.js.map\n",
        b"var x;\n//# sourceMappingURL=data:application/json;base64," + base64.b64encode(_MAP),
        # an inline map named mid-file, text after it: the general reader still follows it
        b"var x;\n//# sourceMappingURL=data:application/json;base64,"
        + base64.b64encode(_MAP)
        + b"\nvar y = 2;\n" * 3,
        b"the words sourceMappingURL= in prose, no comment\n",
        _MAP,
        b"\x1f\x8b\x08\x00" + b"\0" * 40,  # gzip magic (corrupt)
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",  # binary
        b"text\0with a NUL",
        b"log\n" + b"\0" * 64 + b"after the padding\n",  # NUL padding: still text
    ],
    ids=lambda d: repr(d[:12]),
)
@pytest.mark.parametrize("probed", [False, True], ids=["searched", "probed"])
def test_blob_chunks_fast_path_equals_the_general_reader(data: bytes, probed: bool) -> None:
    """A plain text blob skips the general reader's dispatch: its chunks and statistics must be
    exactly what the general reader (stream_chunks_for) makes of the same bytes, whether the
    source map's name is searched for or the scan's engine answers it (``probed``)."""
    options = ScanOptions()
    oid = "c" * 40
    fast_stats, general_stats = ScanStats(), ScanStats()
    probe = None
    if probed:
        pytest.importorskip("hyperscan")
        probe = _engine().probe
    with offering(probe, None):
        fast = list(
            blob_chunks(
                GitObject(oid, "blob", len(data), data), options, fast_stats, Problems(fast_stats)
            )
        )
    general_stats.count("git_blobs")
    general_stats.files += 1
    general_stats.bytes += len(data)
    stream = io.BytesIO(data)
    general = list(
        stream_chunks_for(
            stream,
            stream.read(SNIFF_BYTES),
            oid,
            options,
            general_stats,
            commit=oid,
            source_kind=SourceKind.GIT,
        )
    )
    if any(s.reason == "binary" for s in general_stats.skipped):  # named the git way
        general_stats.skipped = [s for s in general_stats.skipped if s.reason != "binary"]
        general_stats.count("git_binary_blobs")
        general_stats.skip(oid, "binary")
    assert fast == general
    assert (fast_stats.counters, fast_stats.skipped, fast_stats.warnings) == (
        general_stats.counters,
        general_stats.skipped,
        general_stats.warnings,
    )
    assert (fast_stats.files, fast_stats.bytes) == (general_stats.files, general_stats.bytes)


MARK = b"\x01" + b"5eed" * 4  # a pass's marker: \x01 and its nonce


def _marked(oid: str, parents: str) -> bytes:
    return _header(oid, parents).replace(b"\x01", MARK, 1)


def _log_file(tmp_path: Path, data: bytes) -> io.BufferedRandom:
    out = (tmp_path / "log").open("w+b")
    out.write(data)
    out.flush()
    return out


def test_survey_lists_commits_and_parses_only_the_commits_that_introduce_wanted_blobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    C = "c" * 40
    data = (
        _marked(A, B)
        + f"\n:000000 100644 {Z} {BLOB1} A".encode()
        + b"\0one.py\0"
        # a path shaped like a commit header with the default marker and like a raw entry
        + f":000000 100644 {Z} {C} A".encode()
        + f"\0\x01{B} {B}\0".encode()
        + _marked(B, "")
        + f"\n:100644 100644 {BLOB1} {BLOB2} M".encode()
        + b"\0one.py\0"
        + _marked(C, f"{A} {B}")
        + f"\n::100644 100644 100644 {BLOB1} {BLOB2} {BLOB2} MM".encode()
        + b"\0merged.py\0"
    )
    for block in (8 * 1024 * 1024, 1):  # one block, or a block per commit
        monkeypatch.setattr(git_provenance, "SURVEY_BYTES", block)
        with _log_file(tmp_path, data) as out:
            index = LogIndex(out, MARK)
            assert index.plain()
            survey = index.survey([BLOB2], listed={BLOB1, BLOB2, C})
            assert survey.commits == [A, B, C] and survey.unlisted == set()
            assert [(r.commit.oid, r.path, r.blob) for r in survey.records] == [
                (B, b"one.py", BLOB2),
                (C, b"merged.py", BLOB2),
            ]
            assert index.survey([], listed={BLOB1}).unlisted == {BLOB2, C}
            assert index.survey([BLOB1], listed=None).records[0].commit == Commit(
                A, (B,), "Ann", "ann@example.com", 1700000000, "2023-11-14T22:13:20+00:00"
            )
            index.close()


def test_a_catalogue_finds_what_a_survey_of_the_same_blobs_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The catalogue is built before the blobs with findings are known; asked for any set of
    blobs afterwards, it gives exactly the survey's introductions, in log order."""
    C = "c" * 40
    data = (
        _marked(A, "")
        + f"\n:000000 100644 {Z} {BLOB1} A".encode()
        + b"\0one.py\0"
        + f":000000 100644 {Z} {BLOB1} A".encode()
        + b"\0copy.py\0"
        + _marked(B, A)
        + f"\n:100644 100644 {BLOB1} {BLOB2} M".encode()
        + b"\0one.py\0"
        + _marked(C, B)
        + f"\n:100644 000000 {BLOB2} {Z} D".encode()
        + b"\0one.py\0"
        + f":000000 100644 {Z} {BLOB2} A".encode()
        + b"\0moved.py\0"
    )
    for block in (8 * 1024 * 1024, 1):
        monkeypatch.setattr(git_provenance, "SURVEY_BYTES", block)
        with _log_file(tmp_path, data) as out:
            index = LogIndex(out, MARK)
            catalogue = index.catalogue(listed={BLOB1})
            assert catalogue is not None
            assert catalogue.commits == [A, B, C] and catalogue.unlisted == {BLOB2}
            for blobs in ([], [BLOB1], [BLOB2], [BLOB1, BLOB2], [Z], ["f" * 40]):
                survey = index.survey(blobs, listed=None)
                assert catalogue.introductions(index, blobs) == survey.records
            found = catalogue.introductions(index, [BLOB1, BLOB2])
            assert [(r.commit.oid, r.path) for r in found] == [
                (A, b"one.py"),
                (A, b"copy.py"),
                (B, b"one.py"),
                (C, b"moved.py"),
            ]
            index.close()


def test_a_catalogue_names_the_submodules_the_whole_parse_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log whose commits add, move and drop submodules is still catalogued: its submodules
    are the entries of mode 160000 the whole parse reports (added, changed, in a merge, a
    file turned into one; not one dropped or turned into a file), in log order, and their
    commits, which are not objects of this repository, are never counted as missing."""
    C, D = "c" * 40, "d" * 40
    sub1, sub2, sub3 = "5" * 40, "6" * 40, "7" * 40
    data = (
        _marked(A, "")
        + f"\n:000000 160000 {Z} {sub1} A".encode()
        + b"\0vendor/lib\0"
        + f":000000 100644 {Z} {BLOB1} A".encode()
        + b"\0caf\xc3\xa9.py\0"
        + _marked(B, A)
        + f"\n:160000 160000 {sub1} {sub2} M".encode()
        + b"\0vendor/lib\0"
        + f":100644 160000 {BLOB1} {sub3} T".encode()
        + b"\0caf\xc3\xa9.py\0"
        + _marked(C, f"{A} {B}")
        + f"\n::160000 160000 160000 {sub1} {sub2} {sub3} MM".encode()
        + b"\0vendor/lib\0"
        + _marked(D, C)
        + f"\n:160000 000000 {sub3} {Z} D".encode()
        + b"\0vendor/lib\0"
        + f":160000 100644 {sub3} {BLOB2} T".encode()
        + b"\0other\0"
    )
    expected = [
        r
        for r in parse_log(io.BytesIO(data), MARK)
        if isinstance(r, Introduction) and r.mode == b"160000" and not is_deletion(r.blob)
    ]
    assert [(r.commit.oid, r.path, r.blob) for r in expected] == [
        (A, b"vendor/lib", sub1),
        (B, b"vendor/lib", sub2),
        (B, "café.py".encode(), sub3),
        (C, b"vendor/lib", sub3),
    ]
    for block in (8 * 1024 * 1024, 1):
        monkeypatch.setattr(git_provenance, "SURVEY_BYTES", block)
        with _log_file(tmp_path, data) as out:
            index = LogIndex(out, MARK)
            assert not index.plain()  # a whole parse would name submodules
            catalogue = index.catalogue(listed={BLOB1})
            assert catalogue is not None
            assert catalogue.commits == [A, B, C, D]
            assert catalogue.unlisted == {BLOB2}  # not the submodules' commits
            assert catalogue.submodules(index) == expected
            index.close()
        with _log_file(tmp_path, data.replace(b"160000", b"100644")) as out:
            index = LogIndex(out, MARK)
            catalogue = index.catalogue(listed={BLOB1, BLOB2, sub1, sub2, sub3})
            assert catalogue is not None and catalogue.submodules(index) == []
            index.close()


def test_a_log_with_a_submodule_or_a_path_that_is_not_utf8_is_not_plain(tmp_path: Path) -> None:
    gitlink = _marked(A, "") + f"\n:000000 160000 {Z} {BLOB1} A".encode() + b"\0vendor/x\0"
    latin1 = _marked(A, "") + f"\n:000000 100644 {Z} {BLOB1} A".encode() + b"\0caf\xe9\0"
    plain = _marked(A, "") + f"\n:160000 100644 {BLOB2} {BLOB1} T".encode() + b"\0caf\xc3\xa9\0"
    for data, expected in ((gitlink, False), (latin1, False), (plain, True), (b"", True)):
        with _log_file(tmp_path, data) as out:
            index = LogIndex(out, MARK)
            assert index.plain() is expected
            index.close()


@pytest.mark.parametrize("block", [7, 64, 1 << 20])
def test_listing_is_parsed_the_same_whatever_the_block_size(
    block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(git_objects, "LIST_BLOCK_BYTES", block)
    lines = f"blob {BLOB1} 12\ntree {A} 99\ncommit {B} 250\nblob {BLOB2} 0\ntag {Z} 7\n"
    found = git_objects._parse_listing(io.BytesIO(lines.encode()), ("blob", "commit"))
    assert found == {"blob": [(BLOB1, 12), (BLOB2, 0)], "commit": [(B, 250)]}


_WRITER = """
import sys, time
data = open(sys.argv[1], "rb").read()
out = sys.stdout.buffer
for start in range(0, len(data), 97):  # pieces that cut records anywhere
    out.write(data[start : start + 97])
    out.flush()
    time.sleep(0.0005)
"""


def _many_commits(count: int, odd_path_at: int | None = None) -> bytes:
    out = b""
    for n in range(count):
        oid, blob, again = f"{n:040x}", f"{n + 1:040x}", f"{n // 3 + 1:040x}"
        path = b"caf\xe9.py" if n == odd_path_at else f"dir/file {n}.py".encode()
        out += (
            _marked(oid, f"{n - 1:040x}" if n else "")
            + f"\n:100644 100644 {Z} {blob} M".encode()
            + b"\0"
            + path
            + b"\0"
            + f":000000 100644 {Z} {again} A".encode()
            + f"\0copy {n}.py\0".encode()
        )
    return out


@pytest.mark.parametrize("odd_path_at", [None, 150])
def test_a_log_catalogued_while_git_writes_it_is_catalogued_as_the_finished_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, odd_path_at: int | None
) -> None:
    """read_log catalogues whole records as they are written (a process writes the log in
    pieces that cut records anywhere): the result is the finished log's catalogue."""
    monkeypatch.setattr(git_provenance, "CATALOGUE_STEP", 300)
    monkeypatch.setattr(git_provenance, "SURVEY_BYTES", 1000)
    monkeypatch.setattr(git_provenance, "NAP_SECONDS", 0.001)
    data = _many_commits(400, odd_path_at)
    source = tmp_path / "source"
    source.write_bytes(data)
    output = (tmp_path / "log").open("w+b")
    errors = (tmp_path / "errors").open("w+b")
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(source)], stdout=output)
    log = git_provenance.LogPass(proc, output, errors, MARK)
    listed = {f"{n:040x}" for n in range(1, 300)}
    index, catalogue = git_provenance.read_log(log, listed)
    try:
        assert index.data[:] == data
        expected = index.catalogue(listed)
        if odd_path_at is not None:
            assert catalogue is None and expected is None
            return
        assert catalogue is not None and expected is not None
        assert catalogue.commits == expected.commits and len(catalogue.commits) == 400
        assert catalogue.unlisted == expected.unlisted == {f"{n:040x}" for n in range(300, 401)}
        for blobs in ([f"{n:040x}" for n in range(1, 401)], [f"{7:040x}"], [f"{399:040x}"]):
            records = catalogue.introductions(index, blobs)
            assert records == expected.introductions(index, blobs) and records
    finally:
        index.close()
        log.close()


def test_records_written_so_far_are_catalogued_up_to_the_last_ones_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Half a log on disk, cut inside a record: the whole records before it are catalogued
    (in blocks), the cut one is left for later; the rest then completes the same catalogue."""
    monkeypatch.setattr(git_provenance, "SURVEY_BYTES", 500)
    data = _many_commits(50)
    cut = len(data) // 2 + 7
    last_start = data.rfind(MARK, 0, cut)
    with _log_file(tmp_path, data[:cut]) as out:
        cataloguer = git_provenance._Cataloguer(MARK)
        done = git_provenance._feed_written(cataloguer, out.fileno(), 0, cut)
        assert done == last_start
        # nothing new after the last record's start: nothing more is read
        assert git_provenance._feed_written(cataloguer, out.fileno(), done, cut) == done
        out.write(data[cut:])
        out.flush()
        index = LogIndex(out, MARK)
        index._feed(cataloguer, done)
        catalogue = cataloguer.finish(len(data))
        expected = index.catalogue(None)
        assert catalogue is not None and expected is not None
        assert catalogue.commits == expected.commits and len(catalogue.commits) == 50
        every = [f"{n:040x}" for n in range(1, 51)]
        assert catalogue.introductions(index, every) == expected.introductions(index, every)
        index.close()


@pytest.mark.parametrize("seed", range(6))
def test_a_catalogue_agrees_with_the_whole_parse_of_a_random_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Known answers from the other reader: over a random log (blobs added, changed, deleted,
    copied to a second path, brought back by a later commit, merged), read in one block or in
    many, the catalogue gives every introduction :func:`parse_log` reads for any set of blobs,
    in log order, and the introduced blobs the listing lacks."""
    rng = random.Random(seed)
    pool = [f"{rng.getrandbits(160):040x}" for _ in range(60)]
    commits = [f"{rng.getrandbits(160):040x}" for _ in range(40)]
    data = b""
    for i, oid in enumerate(commits):
        parents = " ".join(commits[i + 1 : i + 1 + rng.choice((0, 1, 1, 1, 2))])
        data += _marked(oid, parents) + b"\n"
        for k in range(rng.randint(0, 5)):
            blob, old = rng.choice(pool), rng.choice([Z, *pool])
            path = f"d{k}/{rng.choice('abc')}.py".encode()
            if parents.count(" ") == 1:  # a merge: a combined entry
                line = f"::100644 100644 100644 {old} {old} {blob} MM"
            elif rng.random() < 0.15:  # a deletion
                line = f":100644 000000 {blob} {Z} D"
            elif old == Z:  # an addition
                line = f":000000 100644 {Z} {blob} A"
            else:
                line = f":100644 100644 {old} {blob} M"
            data += line.encode() + b"\0" + path + b"\0"
    listed = set(rng.sample(pool, 45))
    for block in (8 * 1024 * 1024, 1, 300):
        monkeypatch.setattr(git_provenance, "SURVEY_BYTES", block)
        with _log_file(tmp_path, data) as out:
            records = list(parse_log(io.BytesIO(data), MARK))
            intros = [r for r in records if isinstance(r, Introduction)]
            index = LogIndex(out, MARK)
            catalogue = index.catalogue(listed=listed)
            assert catalogue is not None
            assert catalogue.commits == [r.oid for r in records if isinstance(r, Commit)]
            assert catalogue.unlisted == {r.blob for r in intros if r.blob != Z} - listed
            for size in (1, 2, 5, 60):
                wanted = set(rng.sample(pool, size))
                expected = [r for r in intros if r.blob in wanted]
                assert catalogue.introductions(index, wanted) == expected
            index.close()
