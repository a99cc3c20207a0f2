"""A password in an http URL reaches the server (which demands it) but never the mirror, the
output or an error message; the mirror is private (0700 directories, no group/other bits)."""

from __future__ import annotations

import base64
import os
import socket
import stat
import threading
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

USER, TOKEN = "lg-remote-tester", "tok3n-Zq81x"  # in no rule example: the cache keeps those


def _cli(args: list[str]) -> Result:
    return CliRunner().invoke(leakguard_app(), args)


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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        """Close with a FIN, never a RST: read what the client still sends until it closes
        (a close with unread bytes resets the connection, which curl reports as an error)."""
        try:
            request.shutdown(socket.SHUT_WR)
            request.settimeout(5)
            while request.recv(65536):
                pass
        except OSError:
            pass
        request.close()


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
    server = _Server(("127.0.0.1", 0), handler)
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
    assert not [p for p in (tmp_path / "c" / "git").rglob("*") if p.is_file()]  # no mirror kept
    assert os.path.isdir(tmp_path / "c" / "git")
