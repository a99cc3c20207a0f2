"""The console script (``leakguard.cli.entry``): the collector paused while the CLI starts and
resumed for the work, and the process ended without the interpreter's teardown, with the
command's exit code, its whole output and its exit handlers run."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakguard import collector
from leakguard.cli.app import main as app_main

REPO = Path(__file__).resolve().parents[3]
KEY = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"  # Stripe's published documentation example


def _script(program: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(cwd / "cache")}
    return subprocess.run(
        [sys.executable, "-c", program, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**env, "XDG_STATE_HOME": str(cwd / "state"), "NO_COLOR": "1"},
        timeout=120,
    )


ENTRY = "from leakguard.cli.entry import main; main()"


@pytest.fixture
def collector_restored() -> Iterator[None]:
    try:
        yield
    finally:
        collector.resume()
        gc.enable()
        gc.unfreeze()


def _tree(root: Path, files: int) -> Path:
    root.mkdir()
    for i in range(files):
        (root / f"f{i}.env").write_text(f"STRIPE_{i}={KEY[:-2]}{i:02d}\n" + "x = 1\n" * 2000)
    return root


def test_the_whole_report_and_the_exit_code_come_out(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "tree", 40)
    done = _script(ENTRY, "scan", str(tree), "-f", "json", "--jobs", "2", cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # findings
    report = json.loads(done.stdout)  # every byte of a report larger than a pipe's buffer
    assert len(report["findings"]) == 40
    assert _script(ENTRY, "scan", str(tmp_path / "cache"), cwd=tmp_path).returncode in (0, 1)
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "a.py").write_text("x = 1\n")
    assert _script(ENTRY, "scan", str(clean), "-q", cwd=tmp_path).returncode == 0
    usage = _script(ENTRY, "scan", "--jobs", "two", str(clean), cwd=tmp_path)
    assert usage.returncode == 2 and len(usage.stderr.splitlines()) == 1
    version = _script(ENTRY, "--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("leakguard ")


def test_exit_handlers_run_and_a_running_thread_is_waited_for(tmp_path: Path) -> None:
    marker, late = tmp_path / "atexit", tmp_path / "thread"
    program = (
        "import atexit, pathlib, sys, threading, time\n"
        f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'ran')\n"
        "def slow():\n"
        "    time.sleep(float(sys.argv[1]))\n"
        f"    pathlib.Path({str(late)!r}).write_text('done')\n"
        "threading.Thread(target=slow).start()  # not a daemon: the ordinary exit waits\n"
        "sys.argv[1:2] = []\n" + ENTRY
    )
    done = _script(program, "0.5", "--version", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("leakguard ")
    assert marker.read_text() == "ran" and late.read_text() == "done"
    marker.unlink()
    done = _script(program.replace("threading.Thread(target=slow).start()", "pass"),
                   "0", "--version", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0 and marker.read_text() == "ran"


def test_pause_and_resume_leave_a_collector_turned_off_by_the_program_off(
    collector_restored: None,
) -> None:
    gc.unfreeze()
    collector.pause()
    assert not gc.isenabled()
    kept = [object()]  # built during start-up
    collector.resume()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0  # start-up's objects left out of later collections
    assert kept
    collector.resume()  # a second resume changes nothing
    assert gc.isenabled()
    gc.disable()  # the program's own choice
    collector.pause()
    collector.resume()
    assert not gc.isenabled()


@pytest.mark.parametrize("command", [["rules", "list"], ["scan", "TREE", "-q", "--jobs", "2"]])
def test_a_command_runs_with_the_collector_resumed(
    command: list[str], tmp_path: Path, collector_restored: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    tree = _tree(tmp_path / "tree", 4)
    collector.pause()
    with pytest.raises(SystemExit):
        app_main([str(tree) if a == "TREE" else a for a in command])
    assert gc.isenabled()  # resumed by the command (a scan: once its engine was built)
