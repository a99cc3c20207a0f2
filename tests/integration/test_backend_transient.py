"""A backend that drops connections, hangs or answers 503 gives BackendError(transient=True)
quickly (client timeouts, no SDK retries), and a retry after it recovers completes the step
without writing twice. The backends sit behind a tiny local TCP proxy."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse

import boto3
import hvac
import pytest

from leakguard.backends.aws_iam import IamKeyIssuer
from leakguard.backends.aws_secretsmanager import SecretsManagerStore
from leakguard.backends.vault_kv2 import VaultKV2Store
from leakguard.errors import BackendError
from tests.support.servers import Moto, OpenBao, free_port

TIMEOUT = 0.5
UNAVAILABLE = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class Proxy:
    """Forwards to ``upstream``, or, by ``mode``: ``close`` accepts and closes at once, ``hang``
    accepts and never answers, ``503`` answers 503. Changing mode cuts open connections."""

    def __init__(self, upstream: str) -> None:
        parsed = urlparse(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.mode = "forward"
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._open: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def set(self, mode: str) -> None:
        self.mode = mode
        for sock in self._open:
            _close(sock)
        self._open.clear()

    def close(self) -> None:
        self._stop.set()
        self.set("close")
        self._thread.join(2)
        self._server.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                continue
            self._open.append(conn)
            if self.mode == "close":
                _close(conn)
            elif self.mode == "503":
                threading.Thread(target=self._answer_503, args=(conn,), daemon=True).start()
            elif self.mode == "forward":
                try:
                    up = socket.create_connection(self.upstream, timeout=5)
                except OSError:
                    _close(conn)
                    continue
                self._open.append(up)
                for a, b in ((conn, up), (up, conn)):
                    threading.Thread(target=_pipe, args=(a, b), daemon=True).start()
            # "hang": keep the socket open and never answer

    @staticmethod
    def _answer_503(conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            conn.sendall(UNAVAILABLE)
        except OSError:
            pass
        _close(conn)


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    _close(dst)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@pytest.fixture()
def vault_proxy(openbao: OpenBao) -> Iterator[Proxy]:
    proxy = Proxy(openbao.url)
    yield proxy
    proxy.close()


@pytest.fixture()
def moto_proxy(moto: Moto) -> Iterator[Proxy]:
    proxy = Proxy(moto.url)
    yield proxy
    proxy.close()


def _session() -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )


def _transient(call: Callable[[], Any]) -> BackendError:
    started = time.monotonic()
    with pytest.raises(BackendError) as info:
        call()
    assert info.value.transient, info.value.diagnostics()
    assert time.monotonic() - started < 8 * TIMEOUT + 2  # no hidden SDK retries
    return info.value


@pytest.mark.parametrize("mode", ["close", "hang", "503"])
def test_vault_failures_are_transient(openbao: OpenBao, vault_proxy: Proxy, mode: str) -> None:
    name = f"lg-transient/{uuid.uuid4().hex[:8]}"
    hvac.Client(url=openbao.url, token=openbao.token).secrets.kv.v2.create_or_update_secret(
        path=name, secret={"k": "v1"}
    )
    store = VaultKV2Store(vault_proxy.url, openbao.token, timeout=TIMEOUT)
    vault_proxy.set(mode)
    error = _transient(lambda: store.read_current(name))
    if mode == "hang":
        assert "timed out" in error.message


@pytest.mark.parametrize("mode", ["close", "hang", "503"])
def test_aws_failures_are_transient(moto: Moto, moto_proxy: Proxy, mode: str) -> None:
    store = SecretsManagerStore(_session(), endpoint_url=moto_proxy.url, timeout=TIMEOUT)
    issuer = IamKeyIssuer(_session(), endpoint_url=moto_proxy.url, timeout=TIMEOUT)
    moto_proxy.set(mode)
    _transient(lambda: store.read_current("lg-transient/any"))
    _transient(lambda: issuer.list_keys("anyone"))


def test_nothing_listening_is_transient() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    _transient(lambda: VaultKV2Store(url, "root", timeout=TIMEOUT).read_current("x"))
    _transient(
        lambda: SecretsManagerStore(_session(), endpoint_url=url, timeout=TIMEOUT).pending("x")
    )


def test_a_step_retried_after_an_outage_writes_once(openbao: OpenBao, vault_proxy: Proxy) -> None:
    name = f"lg-transient/{uuid.uuid4().hex[:8]}"
    direct = hvac.Client(url=openbao.url, token=openbao.token)
    direct.secrets.kv.v2.create_or_update_secret(path=name, secret={"k": "v1"})
    store = VaultKV2Store(vault_proxy.url, openbao.token, timeout=TIMEOUT)
    staged = store.put_pending(name, {"k": "v2"}, "run:stage")
    vault_proxy.set("close")
    _transient(lambda: store.promote(name, staged.version_id, "run:promote"))
    _transient(lambda: store.put_pending(name, {"k": "v2"}, "run:stage"))
    vault_proxy.set("forward")
    assert store.put_pending(name, {"k": "v2"}, "run:stage").version_id == staged.version_id
    store.promote(name, staged.version_id, "run:promote")
    assert store.read_current(name)[1] == {"k": "v2"}
    meta = direct.secrets.kv.v2.read_secret_metadata(path=name)["data"]
    assert len(meta["versions"]) == 2


def test_aws_step_retried_after_an_outage_writes_once(moto: Moto, moto_proxy: Proxy) -> None:
    name = f"lg-transient/{uuid.uuid4().hex[:8]}"
    direct = _session().client("secretsmanager", endpoint_url=moto.url)
    direct.create_secret(Name=name, SecretString="v1")
    store = SecretsManagerStore(_session(), endpoint_url=moto_proxy.url, timeout=TIMEOUT)
    moto_proxy.set("hang")
    _transient(lambda: store.put_pending(name, {"value": "v2"}, "run:stage"))
    moto_proxy.set("forward")
    staged = store.put_pending(name, {"value": "v2"}, "run:stage")
    store.put_pending(name, {"value": "v2"}, "run:stage")
    store.promote(name, staged.version_id, "run:promote")
    assert store.read_current(name)[1] == {"value": "v2"}
    versions = direct.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    assert len(versions) == 2
