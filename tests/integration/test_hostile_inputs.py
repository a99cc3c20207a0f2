"""Hostile input for the non-git sources and the engine (issue 15): special files, pipes, sites
that trickle, stall or redirect, truncated and padded containers, entry bombs, catastrophic
user rules and config-like files that never end.

Every case runs the real command in a subprocess and asserts its exit code, no traceback, a
generous bound on time, that no planted secret reaches the output, and, where the issue says a
key was lost, that it is found (by fingerprint: the report never holds the key itself).
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import shlex
import socket
import subprocess
import sys
import tarfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from leakguard.errors import InputError
from leakguard.options import ArchiveLimits, ScanOptions, WebOptions
from leakguard.redact import fingerprint
from leakguard.scanner import run_scan
from tests.support.hostile_http import Routes, raw_server, response, silent, trickle
from tests.support.keys import stripe_key as key

pytestmark = pytest.mark.integration

_MAIN = "import sys; from leakguard.cli.app import main; main(sys.argv[1:])"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str
    seconds: float

    @property
    def text(self) -> str:
        return self.out + self.err

    def fingerprints(self) -> set[str]:
        return {f["fingerprint"] for f in json.loads(self.out)["findings"]}


def leakguard(*args: str, timeout: float = 120, stdin: bytes | None = None) -> Run:
    """``leakguard ARGS`` in a subprocess (a hang fails the test instead of the suite)."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _MAIN, *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
    )
    return Run(
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
        time.monotonic() - started,
    )


def clean(run: Run, *secrets: str, code: int, within: float = 60) -> None:
    """The common assertions: exit code, no traceback, bounded time, no secret shown."""
    assert run.code == code, run.text
    assert "Traceback" not in run.text
    assert run.seconds < within
    for secret in secrets:
        assert secret not in run.text


# -- special files and pipes --------------------------------------------------------------------


@pytest.fixture()
def specials(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "tree"
    root.mkdir()
    (root / "ok.env").write_text(f"STRIPE={key(1)}\n")
    os.mkfifo(root / "fifo")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "sock"))
    try:
        yield root
    finally:
        sock.close()


@pytest.mark.parametrize("name", ["fifo", "sock", "/dev/zero"])
def test_a_special_file_given_as_a_target_is_refused_with_one_line(
    specials: Path, name: str
) -> None:
    target = name if name.startswith("/") else str(specials / name)
    run = leakguard("scan", target)
    clean(run, code=2)
    kind = {"fifo": "named pipe (FIFO)", "sock": "socket", "/dev/zero": "device"}[name]
    assert f"{target}: is a {kind}, not a file" in run.err
    assert len(run.err.strip().splitlines()) == 2  # the error and its hint


def test_special_files_in_a_directory_are_skipped_with_a_warning(specials: Path) -> None:
    run = leakguard("scan", str(specials), "-f", "json")
    clean(run, key(1), code=1)
    assert run.fingerprints() == {fingerprint(key(1))}
    stats = json.loads(run.out)["stats"]
    assert {s["path"] for s in stats["skipped"]} == {"fifo", "sock"}


def test_a_pipe_given_as_dev_fd_is_read_once_and_its_key_found(tmp_path: Path) -> None:
    """`leakguard scan <(echo KEY)` lost the key: the pipe was read to sniff it, then reopened."""
    plain = f"printf 'STRIPE=%s\\n' {key(2)}"
    packed = f"{plain} | gzip -c"
    for producer in (plain, packed):
        command = (
            f"{shlex.quote(sys.executable)} -c {shlex.quote(_MAIN)} scan -f json <({producer})"
        )
        started = time.monotonic()
        done = subprocess.run(["bash", "-c", command], capture_output=True, timeout=120)
        run = Run(done.returncode, done.stdout.decode(), done.stderr.decode(), 0)
        clean(run, key(2), code=1)
        assert time.monotonic() - started < 60
        assert run.fingerprints() == {fingerprint(key(2))}


# -- sites: deadlines, redirects, addresses ------------------------------------------------------


def _fast_web(**kwargs: object) -> ScanOptions:
    web = WebOptions(read_timeout_seconds=5, request_timeout_seconds=3, **kwargs)  # type: ignore[arg-type]
    return ScanOptions(jobs=1, web=web)


def test_a_page_trickled_one_byte_a_second_ends_at_its_deadline() -> None:
    body = f"<html><!-- {key(3)} -->".encode() + b" " * 100_000
    with raw_server(trickle(response(body), every=1.0)) as url:
        started = time.monotonic()
        with pytest.raises(InputError, match=r"cannot fetch the page \(time limit reached"):
            run_scan([url + "/"], _fast_web())
    assert time.monotonic() - started < 60


@pytest.mark.slow
def test_a_trickled_page_through_the_cli_is_one_line_and_exit_2() -> None:
    """With the documented defaults (30 s per request): ends, one line, no traceback."""
    with raw_server(trickle(response(b"<html>" + b" " * 100_000), every=1.0)) as url:
        run = leakguard("scan", url + "/?token=PaGeToKeN", timeout=180)
    clean(run, "PaGeToKeN", code=2, within=120)
    assert "cannot fetch the page (time limit reached (30s))" in run.err


def test_a_trickled_script_is_skipped_and_the_page_still_scanned() -> None:
    with raw_server(trickle(response(b"var x=1;" * 10_000), every=1.0)) as slow, Routes() as site:
        site.page("/", f'<script src="{slow}/app.js"></script><!-- {key(4)} -->')
        options = _fast_web(allow_origins=frozenset({slow}))
        started = time.monotonic()
        result = run_scan([site.url + "/"], options)
    assert time.monotonic() - started < 60
    assert {f.fingerprint for f in result.findings} == {fingerprint(key(4))}
    assert {s.path: s.reason for s in result.stats.skipped} == {
        f"{slow}/app.js": "time limit reached (3s)"
    }


def test_a_server_that_accepts_and_never_answers_ends_at_the_read_timeout() -> None:
    options = ScanOptions(jobs=1, web=WebOptions(read_timeout_seconds=1))
    with raw_server(silent) as url:
        started = time.monotonic()
        with pytest.raises(InputError, match=r"no data for 1s"):
            run_scan([url + "/"], options)
    assert time.monotonic() - started < 60


def test_a_page_redirecting_to_another_origin_is_refused() -> None:
    with Routes() as other, Routes() as site:
        other.page("/", f"<!-- {key(5)} -->")
        site.redirect("/", f"{other.url}/?sig=SiGnAtUrE")
        run = leakguard("scan", site.url + "/", "-f", "json")
        assert other.requested == []
        clean(run, key(5), "SiGnAtUrE", code=2)
        assert f"redirect to {other.url}/?sig=… refused: another origin" in run.err
        widened = leakguard("scan", site.url + "/", "-f", "json", "--allow-origin", other.url)
        clean(widened, key(5), "SiGnAtUrE", code=1)
        assert widened.fingerprints() == {fingerprint(key(5))}


def test_a_redirect_to_the_metadata_address_is_refused_before_connecting() -> None:
    with Routes() as site:
        site.redirect("/", "http://169.254.169.254/latest/meta-data/")
        run = leakguard("scan", site.url + "/", "--allow-origin", "http://169.254.169.254")
    clean(run, code=2, within=30)  # connecting to it from here would take the connect timeout
    assert "refused: the host resolves to a cloud metadata address" in run.err


def test_a_same_origin_script_redirecting_elsewhere_is_not_followed() -> None:
    with Routes() as other, Routes() as site:
        other.page("/lib.js", f"var k='{key(6)}';", "text/javascript")
        site.redirect("/app.js", f"{other.url}/lib.js")
        site.redirect("/meta.js", "http://169.254.169.254/latest/")
        site.page("/", f'<script src="/app.js"></script><script src="/meta.js"></script>{key(7)}')
        run = leakguard("scan", site.url + "/", "-f", "json", "-v")
        assert other.requested == []
    clean(run, key(6), key(7), code=1)
    assert run.fingerprints() == {fingerprint(key(7))}
    skipped = {s["path"]: s["reason"] for s in json.loads(run.out)["stats"]["skipped"]}
    assert skipped[f"{site.url}/app.js"].startswith(f"redirect to {other.url}/lib.js refused")
    assert "refused" in skipped[f"{site.url}/meta.js"]


# -- configuration-like inputs ------------------------------------------------------------------


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
@pytest.mark.parametrize("where", ["--baseline", "--rules", "sweep"])
def test_a_device_or_fifo_given_as_a_config_file_is_refused(
    specials: Path, special: str, where: str
) -> None:
    path = special if special.startswith("/") else str(specials / special)
    target = str(specials / "ok.env")
    args = ["sweep", path] if where == "sweep" else ["scan", target, where, path]
    run = leakguard(*args)
    clean(run, key(1), code=2, within=30)  # hung forever before
    assert f"{path} is not a regular file (a pipe or device is not read)" in run.err


def test_a_fifo_named_like_a_rule_file_in_a_rules_dir_is_refused(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    os.mkfifo(rules / "custom.yaml")
    (tmp_path / "a.txt").write_text(f"{key(8)}\n")
    run = leakguard("scan", str(tmp_path / "a.txt"), "--rules", str(rules))
    clean(run, key(8), code=2, within=30)
    assert "custom.yaml is not a regular file" in run.err


# -- user rules: a matching budget ---------------------------------------------------------------

_CUSTOM_RULE = """\
provider: custom
rules:
  - id: custom-runaway
    title: Runaway
    severity: high
    keywords: [aa]
    pattern: '{pattern}'
    examples: ['aab']
"""


def _rules_dir(tmp_path: Path, pattern: str) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "custom.yaml").write_text(_CUSTOM_RULE.format(pattern=pattern))
    target = tmp_path / "line.txt"
    target.write_text("a" * 100_000 + f"\nSTRIPE={key(9)}\n")
    return rules


def test_a_catastrophic_user_rule_is_rejected_at_load(tmp_path: Path) -> None:
    rules = _rules_dir(tmp_path, "(a+)+b")
    run = leakguard("scan", str(tmp_path / "line.txt"), "--rules", str(rules))
    clean(run, key(9), code=2, within=30)  # hung past 180 s before
    assert f"{rules / 'custom.yaml'}:7: rule 'custom-runaway': pattern has a repetition" in run.err


@pytest.mark.slow
def test_a_backtracking_user_rule_the_check_misses_runs_out_of_time(tmp_path: Path) -> None:
    rules = _rules_dir(tmp_path, "(?:a|aa)+b")
    run = leakguard("scan", str(tmp_path / "line.txt"), "--rules", str(rules), "-f", "json")
    clean(run, key(9), code=1, within=90)
    assert run.fingerprints() == {fingerprint(key(9))}
    (warning,) = json.loads(run.out)["stats"]["warnings"]
    assert warning.startswith(f"rule 'custom-runaway' ({rules / 'custom.yaml'}:3) took over 5s")


# -- nothing lost at a boundary: truncated and padded containers --------------------------------

_FILLER_SEED = 15


def _filler(size: int, seed: int = _FILLER_SEED) -> bytes:
    """Incompressible text (hex of random bytes), so a cut falls where the test puts it."""
    import random

    rng = random.Random(seed)
    return rng.randbytes(size // 2).hex().encode()


def _shortest_prefix(compressed: bytes, want: bytes, decompress: object) -> int:
    """The shortest prefix of ``compressed`` from which a streaming decompressor already
    yields ``want``: a cut there leaves the key just before it."""
    lo, hi = 1, len(compressed)
    while lo < hi:
        mid = (lo + hi) // 2
        obj = decompress()  # type: ignore[operator]
        try:
            out = obj.decompress(compressed[:mid])
        except Exception:
            out = b""
        if want in out:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _planted(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _assert_found_with_warning(path: Path, secret: str, warning: str) -> None:
    run = leakguard("scan", str(path), "-f", "json")
    clean(run, secret, code=1)
    assert fingerprint(secret) in run.fingerprints()
    warnings = json.loads(run.out)["stats"].get("warnings", [])
    assert any(warning in w for w in warnings), warnings


@pytest.mark.parametrize(
    ("fmt", "compress", "decompressor"),
    [
        ("gz", lambda d: gzip.compress(d, 6), lambda: zlib.decompressobj(31)),
        ("xz", lzma.compress, lzma.LZMADecompressor),
    ],
)
def test_a_truncated_stream_yields_the_key_just_before_the_cut(
    tmp_path: Path, fmt: str, compress: object, decompressor: object
) -> None:
    line = f"\nSTRIPE={key(10)}\n".encode()
    data = _filler(300_000) + line + _filler(300_000, seed=2)
    packed = compress(data)  # type: ignore[operator]
    cut = _shortest_prefix(packed, line, decompressor)
    assert cut < len(packed) - 1000  # the cut is well inside the stream
    path = _planted(tmp_path, f"app.log.{fmt}", packed[:cut])
    name = {"gz": "gzip", "xz": "xz"}[fmt]
    _assert_found_with_warning(path, key(10), f"truncated {name} stream")


def test_a_truncated_bzip2_yields_every_whole_block_before_the_cut(tmp_path: Path) -> None:
    """bzip2 decodes whole blocks (100 KB at level 1): the key in the last block before the
    one the cut falls in is found."""
    data = _filler(60_000) + f"\nSTRIPE={key(11)}\n".encode() + _filler(300_000, seed=3)
    packed = bz2.compress(data, 1)
    first_block_out = _shortest_prefix(packed, key(11).encode(), bz2.BZ2Decompressor)
    assert first_block_out < len(packed) // 2
    path = _planted(tmp_path, "dump.sql.bz2", packed[: len(packed) * 2 // 3])
    _assert_found_with_warning(path, key(11), "truncated bzip2 stream")


def _tar(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_a_tar_cut_inside_a_member_yields_the_key_just_before_the_cut(tmp_path: Path) -> None:
    head = _filler(20_000) + f"\nSTRIPE={key(12)}\n".encode()
    raw = _tar([("first.txt", b"hello\n"), ("config/app.env", head + _filler(50_000))])
    cut = raw.index(key(12).encode()) + len(key(12)) + 1
    path = _planted(tmp_path, "backup.tar", raw[:cut])
    _assert_found_with_warning(path, key(12), "app.env: truncated tar member")
    gz = _planted(tmp_path, "backup.tgz", gzip.compress(raw[:cut]))
    _assert_found_with_warning(gz, key(12), "app.env: truncated tar member")


def test_gzip_members_across_nul_padding_are_all_read(tmp_path: Path) -> None:
    """A member, 4 KiB of NUL padding (tape blocks), a second member: the second was lost."""
    first = gzip.compress(f"A={key(13)}\n".encode())
    second = gzip.compress(f"B={key(14)}\n".encode())
    path = _planted(tmp_path, "rotated.log.gz", first + b"\0" * 4096 + second)
    run = leakguard("scan", str(path), "-f", "json")
    clean(run, key(13), key(14), code=1)
    assert run.fingerprints() == {fingerprint(key(13)), fingerprint(key(14))}
    assert json.loads(run.out)["stats"].get("warnings", []) == []


def test_a_truncated_zip_yields_the_key_just_before_the_cut(tmp_path: Path) -> None:
    buf = io.BytesIO()
    line = f"\nSTRIPE={key(15)}\n".encode()
    member = _filler(40_000) + line + _filler(40_000, seed=4)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.md", "hello\n")
        archive.writestr("conf/prod.env", member)
    raw = buf.getvalue()
    start = raw.index(b"conf/prod.env") + len("conf/prod.env")  # the member's data follows
    cut = start + _shortest_prefix(raw[start:], line, lambda: zlib.decompressobj(-15))
    path = _planted(tmp_path, "site.zip", raw[:cut])
    _assert_found_with_warning(path, key(15), "prod.env: truncated zip member")


# -- bounded memory and time for containers -----------------------------------------------------


def _dir_entries_tar_gz(count: int, then: bytes = b"") -> bytes:
    """A tar.gz of ``count`` directory headers (then, optionally, a member holding ``then``)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1) as gz:
        for i in range(count):
            info = tarfile.TarInfo(f"d{i}/")
            info.type = tarfile.DIRTYPE
            gz.write(info.tobuf())
        if then:
            info = tarfile.TarInfo("late.env")
            info.size = len(then)
            gz.write(info.tobuf() + then + b"\0" * (-len(then) % 512))
        gz.write(b"\0" * 1024)
    return out.getvalue()


def _limited(max_entries: int) -> ScanOptions:
    return ScanOptions(jobs=1, archives=ArchiveLimits(max_entries=max_entries))


def test_directory_entries_count_against_the_entry_limit(tmp_path: Path) -> None:
    path = _planted(tmp_path, "dirs.tar.gz", _dir_entries_tar_gz(500, f"K={key(16)}\n".encode()))
    result = run_scan([str(path)], _limited(100))
    assert result.findings == ()
    assert f"{path}: more than 100 archive entries; the rest of the archive is skipped" in (
        result.stats.warnings
    )
    found = run_scan([str(path)], _limited(1000))  # within the limit the late member is read
    assert {f.fingerprint for f in found.findings} == {fingerprint(key(16))}


# Peak RSS from VmHWM: ru_maxrss of an exec'd child starts at its parent's (pytest's) size.
_RSS_PROBE = """
import sys
from leakguard.options import ScanOptions
from leakguard.scanner import run_scan
result = run_scan([sys.argv[1]], ScanOptions(jobs=1))
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(peak // 1024, len(result.stats.warnings))
"""


@pytest.mark.slow
def test_a_tar_gz_of_many_directory_entries_stays_small(tmp_path: Path) -> None:
    """3M directory entries took 1.4 GB: headers were all kept and directories not counted.
    With the default limit (100,000 entries) 150,000 stop early, in bounded memory."""
    path = _planted(tmp_path, "dirs.tar.gz", _dir_entries_tar_gz(150_000))
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, str(path)], capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr.decode()
    rss_mib, warnings = map(int, done.stdout.split())
    assert time.monotonic() - started < 120
    assert warnings == 1
    assert rss_mib < 100  # about 55 MiB (before: about 115 MiB, and every entry read)


def _zip_of(count: int, secret_at: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        for i in range(count):
            body = f"K={key(17)}\n" if i == secret_at else "x\n"
            archive.writestr(f"f{i}.txt", body)
    return buf.getvalue()


def test_a_zip_listing_more_entries_than_the_limit_is_read_in_order_up_to_it(
    tmp_path: Path,
) -> None:
    """zipfile parses the whole central directory (2M entries) into memory before reading a
    member: over the limit, members are read from their local headers, up to the limit."""
    early = _planted(tmp_path, "early.zip", _zip_of(400, secret_at=10))
    result = run_scan([str(early)], _limited(100))
    assert {f.fingerprint for f in result.findings} == {fingerprint(key(17))}
    assert result.stats.counters["archive_members"] == 100
    assert any(
        "the central directory lists 400 entries (over 100)" in w for w in (result.stats.warnings)
    )
    late = _planted(tmp_path, "late.zip", _zip_of(400, secret_at=300))
    assert run_scan([str(late)], _limited(100)).findings == ()
    assert {f.fingerprint for f in run_scan([str(late)], _limited(1000)).findings} == {
        fingerprint(key(17))
    }


def test_one_long_line_gives_the_same_keys_with_one_or_two_workers(tmp_path: Path) -> None:
    """Keys astride every 2 MiB read boundary of a single 5 MiB line, and in other files: the
    pool finds exactly what one process finds."""
    from leakguard.sources.streaming import CHUNK_BYTES

    line = bytearray(b"x" * (5 * 1024 * 1024))
    planted = [key(30 + i) for i in range(4)]
    for boundary, secret in zip((1, 2), planted[:2], strict=True):
        at = boundary * CHUNK_BYTES - 20  # the key crosses the boundary
        line[at - 1 : at + len(secret) + 1] = f" {secret} ".encode()
    (tmp_path / "one-line.txt").write_bytes(bytes(line))
    for i, secret in enumerate(planted[2:]):
        (tmp_path / f"other{i}.env").write_text(f"K={secret}\n" + "y\n" * 300_000)
    expected = {fingerprint(s) for s in planted}
    for jobs in ("1", "2"):
        run = leakguard("scan", str(tmp_path), "-j", jobs, "-f", "json", "--max-file-size", "1GB")
        clean(run, *planted, code=1)
        assert run.fingerprints() == expected


def _zip_with_a_huge_central_directory(entries: int) -> bytes:
    """One real member, then a central directory listing ``entries`` entries (all pointing at
    it): what zipfile would parse whole before reading anything."""
    import struct

    body = f"K={key(18)}\n".encode()
    crc = zlib.crc32(body)
    local = (
        struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0, crc, len(body), len(body), 5, 0)
        + b"a.env"
        + body
    )
    record = (
        struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            20,
            20,
            0,
            0,
            0,
            0,
            crc,
            len(body),
            len(body),
            5,
            0,
            0,
            0,
            0,
            0,
            0,
        )
        + b"a.env"
    )
    directory = record * entries
    zip64_end = struct.pack(
        "<4sQHHIIQQQQ",
        b"PK\x06\x06",
        44,
        45,
        45,
        0,
        0,
        entries,
        entries,
        len(directory),
        len(local),
    )
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, len(local) + len(directory), 1)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return local + directory + zip64_end + locator + end


@pytest.mark.slow
def test_a_zip_central_directory_of_many_entries_is_not_parsed_whole(tmp_path: Path) -> None:
    path = _planted(tmp_path, "huge-cd.zip", _zip_with_a_huge_central_directory(600_000))
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, str(path)], capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr.decode()
    rss_mib, warnings = map(int, done.stdout.split())
    assert time.monotonic() - started < 120
    assert warnings == 1  # the directory lists 600000 entries (over 100000)
    assert rss_mib < 100  # about 35 MiB (zipfile parsing it all: about 340 MiB, 10 s)
    result = run_scan([str(path)], ScanOptions(jobs=1))
    assert {f.fingerprint for f in result.findings} == {fingerprint(key(18))}


def test_allow_origin_takes_origins_only_and_never_echoes_credentials() -> None:
    run = leakguard("scan", "http://127.0.0.1:9/", "--allow-origin", "https://u:SeCrEt@cdn.x/")
    clean(run, "SeCrEt", code=2, within=30)
    assert "--allow-origin https://cdn.x/: not an origin" in run.err


def test_a_path_component_too_long_is_one_line(tmp_path: Path) -> None:
    run = leakguard("scan", str(tmp_path / ("a" * 300) / "x"))
    clean(run, code=2, within=30)
    assert run.err.rstrip().endswith("File name too long")
