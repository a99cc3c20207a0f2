"""Remote clones against servers on 127.0.0.1: deadlines, and credentials never kept.

* a server that accepts and never answers, and one that trickles a byte a second, end with one
  line and exit 2 in bounded time (``--git-idle-timeout``); a git:// server that never answers
  ends at ``--git-timeout`` (the total deadline, the process group killed);
* a password in an http URL reaches the server (which demands it) but never the mirror, the
  output or an error message; the mirror is private (0700 directories, no group/other bits).
"""

from __future__ import annotations

import base64
import os
import socket
import stat
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from leakguard.redact import fingerprint
from tests.integration.git_repos import Builder, key
from tests.support.cli import leakguard_app

pytestmark = pytest.mark.integration

BOUND_SECONDS = 60  # the bug was "never ends"; the deadlines below are 2-3 s
USER, TOKEN = "ci-bot", "tok3n-Zq81x"


def _cli(args: list[str]) -> Result:
    return CliRunner().invoke(leakguard_app(), args)


class _SilentServer:
    """Accepts connections, then either says nothing or trickles one byte a second."""

    def __init__(self, trickle: bytes | None) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.trickle = trickle
        self.stop = threading.Event()
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.trickle is not None:
                threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        data = self.trickle or b""
        i = 0
        while not self.stop.is_set():
            try:
                conn.sendall(data[i % len(data) : i % len(data) + 1])
            except OSError:
                return
            i += 1
            self.stop.wait(1.0)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        for conn in self.conns:
            conn.close()


@pytest.fixture()
def silent() -> Iterator[_SilentServer]:
    server = _SilentServer(None)
    yield server
    server.close()


@pytest.fixture()
def trickle() -> Iterator[_SilentServer]:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-git-upload-pack-advertisement\r\n"
    server = _SilentServer(head + b"Content-Length: 100000\r\n\r\n" + b"0" * 100000)
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
    srv: _SilentServer = request.getfixturevalue(server)
    url = f"http://127.0.0.1:{srv.port}/org/repo.git"
    started = time.monotonic()
    result = _cli(["scan", "--git-idle-timeout", "2", "--cache-dir", str(tmp_path), url])
    _assert_one_line_exit_2(result, started, "git clone failed")


def test_a_silent_git_protocol_server_ends_at_the_total_deadline(
    silent: _SilentServer, tmp_path: Path
) -> None:
    url = f"git://127.0.0.1:{silent.port}/repo.git"
    started = time.monotonic()
    result = _cli(["scan", "--git-timeout", "3", "--cache-dir", str(tmp_path), url])
    _assert_one_line_exit_2(result, started, "gave up after 3 s")
    assert time.monotonic() - started >= 3  # it was the total deadline that ended it
    assert not any(p.name.startswith(".clone-") for p in (tmp_path / "git").iterdir())


class _AuthHandler(SimpleHTTPRequestHandler):
    """Git's "dumb" HTTP protocol: static files, behind HTTP basic authentication."""

    protocol_version = "HTTP/1.1"
    expected = "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
    seen: list[str] = []

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization")
        if auth is not None:
            self.seen.append(auth)
        if auth != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def end_headers(self) -> None:
        # one request per connection: no keep-alive race between the server and curl
        self.send_header("Connection", "close")
        self.close_connection = True
        super().end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def private_http_repo(tmp_path: Path) -> Iterator[str]:
    b = Builder(tmp_path / "src")
    b.write("app.py", f"K = '{key('over-http')}'\n")
    b.commit("first", "app.py")
    served = tmp_path / "srv"
    served.mkdir()
    b.git("clone", "-q", "--bare", str(b.path), str(served / "repo.git"))
    bare = Builder.__new__(Builder)
    bare.path, bare.tick = served / "repo.git", 0
    bare.git("update-server-info")
    _AuthHandler.seen = []
    handler = partial(_AuthHandler, directory=str(served))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/repo.git"
    finally:
        server.shutdown()
        server.server_close()


def test_a_password_in_the_url_is_used_and_never_kept(
    private_http_repo: str, tmp_path: Path
) -> None:
    url = private_http_repo
    with_token = url.replace("http://", f"http://{USER}:{TOKEN}@")
    cache = tmp_path / "cache"
    for _ in range(2):  # the clone, then a fetch
        result = _cli(["scan", "-f", "json", "--cache-dir", str(cache), with_token])
        assert result.exit_code == 1, result.output
        assert fingerprint(key("over-http")) in result.output
        assert TOKEN not in result.output and f"{USER}:" not in result.output
    assert _AuthHandler.seen and all(a == _AuthHandler.expected for a in _AuthHandler.seen)
    files = list(cache.rglob("*"))
    assert files
    for path in files:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode & 0o077 == 0, (path, oct(mode))
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
            assert USER.encode() + b":" not in path.read_bytes(), path
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    config = next(cache.rglob("config")).read_text()
    assert f"url = {url}" in config


def test_a_wrong_password_is_one_line_that_never_echoes_it(
    private_http_repo: str, tmp_path: Path
) -> None:
    url = private_http_repo
    wrong = url.replace("http://", f"http://{USER}:wrong-{TOKEN}@")
    result = _cli(["scan", "--cache-dir", str(tmp_path / "c"), wrong])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert TOKEN not in result.output and f"{USER}:" not in result.output
    assert result.output.startswith("leakguard: error: http://127.0.0.1:")
    assert not [p for p in (tmp_path / "c").rglob("*") if p.is_file()]
    assert os.path.isdir(tmp_path / "c" / "git")
