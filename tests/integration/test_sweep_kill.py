"""A sweep killed mid-way (SIGKILL) leaves a consistent store; the next sweep completes the work."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from leakguard.redact import fingerprint
from tests.integration.sweep_repos import make_repo
from tests.support.keys import stripe_key
from tests.support.silent import SilentServer

pytestmark = pytest.mark.integration


def _sweep(config: Path, db: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "XDG_CACHE_HOME": str(config.parent / "cache")}  # the remote's mirror
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from leakguard.cli.app import main; main()",
            "sweep",
            str(config),
            "--db",
            str(db),
            "--jobs",
            "1",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def _ok_scans(db: Path) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(db, timeout=5)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM scans WHERE status = 'ok'").fetchone()[0])
    except sqlite3.OperationalError:  # tables not created yet
        return 0
    finally:
        conn.close()


def _config(path: Path, names: list[str], blocker: str) -> Path:
    path.write_text(
        "targets:\n"
        + "".join(f"  - path: {n}\n" for n in names[:6])
        + f"  - {blocker}\n"
        + "".join(f"  - path: {n}\n" for n in names[6:])
    )
    return path


def test_killed_sweep_then_rerun(tmp_path: Path, silent: SilentServer) -> None:
    keys = {f"r{i:02d}": stripe_key(f"kill-{i}") for i in range(12)}
    for name, key in keys.items():
        make_repo(tmp_path / name, [key], filler_files=1)
    # Targets run in order with --jobs 1; the seventh is a remote whose server accepts and never
    # answers (its clone would wait for the 60 s idle deadline), which holds the sweep mid-way
    # at a known point: the first six targets written, the rest not.
    names = sorted(keys)
    held = f"url: http://127.0.0.1:{silent.port}/blocker.git"
    config = _config(tmp_path / "sweep.yaml", names, held)
    db = tmp_path / "lg.db"
    proc = _sweep(config, db)
    try:
        # generous: six scans and their store commits on a loaded 2-core machine shared with
        # the database tests; the loop ends as soon as they are done
        started = time.monotonic()
        while _ok_scans(db) < 6 and time.monotonic() < started + 120 and proc.poll() is None:
            time.sleep(0.02)
        assert proc.poll() is None, proc.communicate()
        waited = time.monotonic() - started
        time.sleep(0.5)  # held: the seventh target, the stalled remote, stores nothing
        assert _ok_scans(db) == 6, f"{_ok_scans(db)} targets stored after {waited:.1f} s"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT COUNT(*) FROM sweeps WHERE finished_at IS NULL").fetchone()[0] == 1
    stored = {r[0] for r in conn.execute("SELECT fingerprint FROM credentials")}
    assert stored == {fingerprint(keys[n]) for n in names[:6]}
    # every stored credential has its occurrence: no half-written target
    orphans = conn.execute(
        "SELECT COUNT(*) FROM credentials c WHERE NOT EXISTS"
        " (SELECT 1 FROM occurrences o WHERE o.fingerprint = c.fingerprint)"
    ).fetchone()[0]
    assert orphans == 0
    conn.close()

    # rerun with the blocker gone (a file in its place): every credential is reported,
    # including the ones the killed sweep stored but never reported
    (tmp_path / "blocker").write_text(f"late = '{stripe_key('blocker')}'\n")
    config = _config(tmp_path / "sweep.yaml", names, "path: blocker")
    report = tmp_path / "rerun.json"
    proc = _sweep(config, db, "--format", "json", "-o", str(report))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err.decode()
    doc = json.loads(report.read_text())
    expected = {fingerprint(k) for k in keys.values()} | {fingerprint(stripe_key("blocker"))}
    assert {f["fingerprint"] for f in doc["new"]} == expected
    assert all(t["status"] == "ok" for t in doc["targets"])

    # and the sweep after that has nothing new
    proc = _sweep(config, db)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert b"no new credentials" in out
