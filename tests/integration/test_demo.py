"""`leakguard demo`, run as a newcomer runs it: a subprocess of this interpreter, real OpenBao and
moto servers, the whole path to a verified rotation; nothing left running, no key shown."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from leakguard.demo import ENTRY
from leakguard.resources import examples_dir

ROOT = Path(__file__).resolve().parents[2]
MARK = "LEAKGUARD_TEST_DEMO_MARK"


def _processes_marked(mark: str) -> list[int]:
    """Processes whose environment carries ``mark`` (the demo's children inherit it)."""
    found = []
    needle = f"{MARK}={mark}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue  # gone, or not ours to read
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def _planted_keys() -> list[str]:
    app = examples_dir() / "leaky-app"
    text = (app / "config" / ".env").read_text(encoding="utf-8")
    text += (app / "src" / "deploy.py").read_text(encoding="utf-8")
    stripe = re.findall(r"sk_live_[0-9A-Za-z]{24,}", text)
    aws_secret = re.findall(r'aws_secret_access_key="([^"]+)"', text)
    assert stripe and aws_secret
    return stripe + aws_secret


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_demo_walks_to_a_verified_rotation_and_leaves_nothing_running(tmp_path: Path) -> None:
    mark = uuid.uuid4().hex
    env = dict(os.environ, **{MARK: mark})
    env.pop("LEAKGUARD_DB", None)
    workdir = tmp_path / "demo"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", ENTRY, "demo", "--workdir", str(workdir)],
        cwd=tmp_path,
        env=dict(env, PYTHONPATH=str(ROOT)),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
    )
    seconds = time.monotonic() - started
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert not _processes_marked(mark), "a sandbox server or subprocess is still running"

    # each command is printed before it runs, as the user would type it
    for command in (
        "scan",
        "graph build",
        "graph blast-radius",
        "playbook plan",
        "playbook rehearse",
        "playbook run",
        "playbook status",
        "audit verify",
    ):
        assert f"\n$ leakguard {command} " in out, command  # fmt: skip
    # the blast radius lists both consumers
    radius = out.split("$ leakguard graph blast-radius", 1)[1].split("\n$ ", 1)[0]
    assert re.search(r"^\s+payments-api \(service\)", radius, re.M)
    assert re.search(r"^\s+billing-worker \(job\)", radius, re.M)
    # the rotation is verified: the run completed, consumers moved, the leaked key is not current
    assert re.search(r"^\s+run stripe-key-\S+: completed$", out, re.M)
    assert "consumers_moved: ['billing-worker', 'payments-api']" in out
    assert "is no longer current" in out
    # ...and "Stripe" (the sandbox's stand-in, which the demo's shell is pointed at) rejects the
    # leaked key once the demo, as the operator, revoked it, and accepts the new one
    assert re.search(
        r"^\$ export LEAKGUARD_VERIFY_ENDPOINTS=\S*stripe=http://127\.0\.0\.1:", out, re.M
    )
    assert "provider_old: revoked" in out and "provider_new: live" in out
    # the audit trail verifies against the run journal
    trail = re.search(r"^\s+(audit/stripe-key-\S+\.jsonl): ok, \d+ entries", out, re.M)
    assert trail and (workdir / trail[1]).is_file()
    # no key in clear: neither the planted ones nor the new one the demo made up
    for key in _planted_keys():
        assert key not in out
    assert not re.search(r"sk_live_[0-9A-Za-z]{12,}", out)
    assert not (workdir / "new-key").exists()
    assert not (workdir / ".consumers.json").exists()
    assert "outputs in " in out and str(workdir) in out
    assert seconds < 120, f"the demo took {seconds:.0f}s"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_ctrl_c_during_the_run_stops_every_server(tmp_path: Path) -> None:
    mark = uuid.uuid4().hex
    env = dict(os.environ, **{MARK: mark}, PYTHONPATH=str(ROOT))
    env.pop("LEAKGUARD_DB", None)
    workdir = tmp_path / "demo"
    log = tmp_path / "demo.out"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", ENTRY, "demo", "--workdir", str(workdir)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Ctrl-C reaches it and its commands
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    try:
        deadline = time.monotonic() + 180
        while b"$ leakguard playbook run " not in log.read_bytes():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)
        code = proc.wait(120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert code == 130, log.read_text()
    assert not _processes_marked(mark), "a sandbox server or subprocess is still running"
    assert not (workdir / "new-key").exists()
    assert not (workdir / ".consumers.json").exists()
