"""Headless Chromium for tests that check a page renders offline (skipped when not installed)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def dump_dom(url: str, profile: Path, *, window: tuple[int, int] | None = None) -> str:
    """Load ``url`` in headless Chromium with a fresh ``profile`` and return the rendered DOM
    (laid out in a ``window`` of width x height pixels when given)."""
    return _run(url, profile, ["--dump-dom"], window).decode()


def screenshot(url: str, out: Path, profile: Path, *, window: tuple[int, int]) -> Path:
    """Load ``url`` and save what the first screen of a ``window`` shows as a PNG at ``out``."""
    _run(url, profile, [f"--screenshot={out}", "--hide-scrollbars"], window)
    assert out.is_file(), f"Chromium wrote no screenshot at {out}"
    return out


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", "not a PNG"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _run(url: str, profile: Path, action: list[str], window: tuple[int, int] | None) -> bytes:
    assert CHROMIUM is not None
    size = [f"--window-size={window[0]},{window[1]}"] if window else []
    argv = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *size,
        *action,
        url,
    ]
    # its own process group: Chromium's helper processes go with it, even on a timeout
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=90)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out
