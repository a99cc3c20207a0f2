"""Hostile HTTP servers on 127.0.0.1 free ports: a trickler, one that never answers, and a small
routing server for redirects. Each runs in threads and stops when its context exits."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# a connection handler gets the accepted socket and an event set when the server stops
Handler = Callable[[socket.socket, threading.Event], None]


@contextmanager
def raw_server(handle: Handler) -> Iterator[str]:
    """A TCP server calling ``handle`` for each connection; yields its ``http://`` base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            worker = threading.Thread(target=_guarded, args=(handle, conn, stop), daemon=True)
            threads.append(worker)
            worker.start()

    acceptor = threading.Thread(target=serve, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        acceptor.join(5)
        listener.close()
        for worker in threads:
            worker.join(5)


def _guarded(handle: Handler, conn: socket.socket, stop: threading.Event) -> None:
    with conn:
        try:
            _read_request(conn, stop)
            handle(conn, stop)
        except OSError:
            pass  # the client gave up: what a hostile server sees when a deadline works


def _read_request(conn: socket.socket, stop: threading.Event) -> None:
    conn.settimeout(0.2)
    data = b""
    while b"\r\n\r\n" not in data and not stop.is_set():
        try:
            block = conn.recv(4096)
        except TimeoutError:
            continue
        if not block:
            return
        data += block


def trickle(payload: bytes, every: float = 1.0) -> Handler:
    """Send ``payload`` (status line, headers and body) one byte per ``every`` seconds."""

    def handle(conn: socket.socket, stop: threading.Event) -> None:
        for i in range(len(payload)):
            conn.sendall(payload[i : i + 1])
            if stop.wait(every):
                return

    return handle


def silent(conn: socket.socket, stop: threading.Event) -> None:
    """Accept and never answer."""
    stop.wait()


def response(body: bytes, *, content_type: str = "text/html") -> bytes:
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class Routes:
    """A server answering each path from a table: (status, headers, body). Records every path
    requested, so a test can prove a URL was never fetched."""

    def __init__(self) -> None:
        self.table: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.requested: list[str] = []
        routes = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                routes.requested.append(self.path)
                route = self.path.split("?", 1)[0]
                status, headers, body = routes.table.get(route, (404, {}, b"not found"))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def page(self, path: str, body: str, content_type: str = "text/html") -> None:
        self.table[path] = (200, {"Content-Type": content_type}, body.encode())

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.table[path] = (status, {"Location": location}, b"")

    def __enter__(self) -> Routes:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
