"""Real servers for integration tests: an OpenBao dev server and moto in server mode.

Both start on 127.0.0.1 with a free port, wait until they answer, and stop when the context
exits. Tests never talk to mocks of Vault or AWS.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT_TOKEN = "root"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bin(name: str) -> str:
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found: install the test extras (pip install -e '.[test]')")
    return found


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not answer in {timeout}s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@dataclass(frozen=True)
class OpenBao:
    url: str
    token: str
    audit_log: Path | None
    workdir: Path


@contextlib.contextmanager
def openbao_server(workdir: Path, *, audit: bool = False) -> Iterator[OpenBao]:
    """``bao server -dev`` with root token ``root`` and KV v2 at ``secret/``.

    OpenBao refuses to enable audit devices over the API, so with ``audit=True`` a config file
    with a file audit block is passed alongside ``-dev``; the log lands in ``workdir/audit.log``.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cmd = [
        _bin("bao"),
        "server",
        "-dev",
        f"-dev-root-token-id={ROOT_TOKEN}",
        f"-dev-listen-address=127.0.0.1:{port}",
    ]
    audit_log = None
    if audit:
        audit_log = workdir / "audit.log"
        config = workdir / "audit.hcl"
        config.write_text(
            f'audit "file" "file" {{\n  options {{ file_path = "{audit_log}" }}\n}}\n'
        )
        cmd.append(f"-config={config}")
    log = workdir / "openbao.log"
    env = dict(os.environ, HOME=str(workdir), BAO_ADDR=f"http://127.0.0.1:{port}")
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=workdir)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_http(f"{url}/v1/sys/health", proc, log)
        yield OpenBao(url, ROOT_TOKEN, audit_log, workdir)
    finally:
        _stop(proc)


@dataclass(frozen=True)
class Moto:
    url: str
    region: str = "us-east-1"

    def env(self) -> dict[str, str]:
        """Environment for boto3 clients pointed at this server."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": self.region,
        }


@contextlib.contextmanager
def moto_server(workdir: Path, *, no_auth_actions: int | None = None) -> Iterator[Moto]:
    """moto in server mode. With ``no_auth_actions`` set, moto enforces IAM authentication after
    that many unauthenticated calls (``INITIAL_NO_AUTH_ACTION_COUNT``), so STS rejects unknown
    and deleted keys."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = dict(os.environ)
    if no_auth_actions is not None:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(no_auth_actions)
    log = workdir / "moto.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [_bin("moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_http(f"{url}/moto-api/", proc, log)
        yield Moto(url)
    finally:
        _stop(proc)
