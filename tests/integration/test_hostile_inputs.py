"""Hostile input for the non-git sources and the engine (issue 15): special files, pipes, sites
that trickle, stall or redirect, truncated and padded containers, entry bombs, catastrophic
user rules and config-like files that never end.

Every case runs the real command in a subprocess and asserts its exit code, no traceback, a
generous bound on time, that no planted secret reaches the output, and, where the issue says a
key was lost, that it is found (by fingerprint: the report never holds the key itself).
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from leakguard.options import ScanOptions, WebOptions
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
        with pytest.raises(Exception, match=r"cannot fetch the page \(time limit reached"):
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
        with pytest.raises(Exception, match=r"no data for 1s"):
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
