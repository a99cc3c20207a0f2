"""A TCP server on 127.0.0.1 that accepts connections and then says nothing (or trickles one
byte a second): a remote that stalls, for deadlines, and a target that holds a sweep at a known
point."""

from __future__ import annotations

import contextlib
import socket
import threading


class SilentServer:
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
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() of the serving thread
        self.sock.close()
        for conn in self.conns:
            conn.close()
