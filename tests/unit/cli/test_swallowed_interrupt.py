"""A Ctrl-C that Python swallows (raised inside a weakref callback) is delivered again."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = """
import signal, sys, time, weakref
from leakguard.cli.app import _redeliver_swallowed_interrupts

got = []
signal.signal(signal.SIGINT, lambda *a: got.append("again"))
sys.unraisablehook = _redeliver_swallowed_interrupts(sys.unraisablehook)

class Thing:
    pass

def callback(ref):
    raise KeyboardInterrupt  # Python cannot raise out of here: it reports it as unraisable

thing = Thing()
ref = weakref.ref(thing, callback)
del thing
deadline = time.monotonic() + 20
while not got and time.monotonic() < deadline:
    time.sleep(0.01)
print("redelivered" if got else "lost")
"""


def test_a_swallowed_interrupt_is_delivered_again() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "redelivered", done.stdout + done.stderr
    assert "Exception ignored" not in done.stderr  # no traceback either
