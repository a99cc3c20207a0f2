"""Whether a process the tests started has ended."""

from __future__ import annotations

import time
from pathlib import Path


def gone(pid: int, within: float = 30.0) -> bool:
    """The process ended within ``within`` seconds: reaped, or a zombie waiting to be (it runs
    nothing and holds no pipe). Asked of the system, not of a handle: whoever reaps it first."""
    deadline = time.monotonic() + within
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state in "ZX":
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
