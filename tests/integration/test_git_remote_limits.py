"""Remote clones against servers on 127.0.0.1 that stall: each ends at its deadline.

A server that accepts and never answers, and one that trickles a byte a second, end with one
  line and exit 2 in bounded time (``--git-idle-timeout``); a git:// server that never answers
  ends at ``--git-timeout`` (the total deadline, the process group killed).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.support.cli import leakguard_app
from tests.support.silent import SilentServer

pytestmark = pytest.mark.integration

BOUND_SECONDS = 60  # the bug was "never ends"; the deadlines below are 2-3 s


def _cli(args: list[str]) -> Result:
    return CliRunner().invoke(leakguard_app(), args)


@pytest.fixture()
def trickle() -> Iterator[SilentServer]:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-git-upload-pack-advertisement\r\n"
    server = SilentServer(head + b"Content-Length: 100000\r\n\r\n" + b"0" * 100000)
    yield server
    server.close()


def _assert_one_line_exit_2(result: Result, started: float, *words: str) -> None:
    elapsed = time.monotonic() - started
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("leakguard: error:")
    assert elapsed < BOUND_SECONDS
    for word in words:
        assert word in result.output


@pytest.mark.parametrize("server", ["silent", "trickle"])
def test_a_stalled_http_server_ends_at_the_idle_deadline(
    server: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    srv: SilentServer = request.getfixturevalue(server)
    url = f"http://127.0.0.1:{srv.port}/org/repo.git"
    started = time.monotonic()
    result = _cli(["scan", "--git-idle-timeout", "2", "--cache-dir", str(tmp_path), url])
    _assert_one_line_exit_2(result, started, "git clone failed")


def test_a_silent_git_protocol_server_ends_at_the_total_deadline(
    silent: SilentServer, tmp_path: Path
) -> None:
    url = f"git://127.0.0.1:{silent.port}/repo.git"
    started = time.monotonic()
    result = _cli(["scan", "--git-timeout", "3", "--cache-dir", str(tmp_path), url])
    _assert_one_line_exit_2(result, started, "gave up after 3 s")
    assert time.monotonic() - started >= 3  # it was the total deadline that ended it
    assert not any(p.name.startswith(".clone-") for p in (tmp_path / "git").iterdir())
