"""The ``leakguard`` console script.

Two costs of the interpreter itself that a command does not need are left out:

* the cyclic garbage collector runs while the CLI starts (see :mod:`leakguard.collector`):
  it is paused before anything is imported;
* tearing the interpreter down once the command is done (every module, class and object
  freed one by one, a last collection over them all: ~30 ms after a scan) changes nothing
  a user can see. Once the command has returned its exit code, the exit handlers run
  (``atexit``: worker pools, temporary files, logging), the standard streams are flushed, and
  the process ends with that code. When a thread that is not a daemon is still running, the
  ordinary exit runs instead, which waits for it.

A scan of one repository starts git's part of it first, a scan of one directory its workers
(:mod:`leakguard.cli.early`), while the rest loads.

``leakguard.cli.app.main`` is the same CLI with Python's ordinary exit and nothing started
early (for tests and embedding)."""

from __future__ import annotations

import atexit
import os
import sys
import threading

from leakguard import collector


def main() -> None:
    collector.pause()
    try:
        from leakguard.cli import early

        # git's share of a history scan, or the workers of a directory's, on the cores left idle
        if not early.begin(sys.argv[1:]):
            early.begin_workers(sys.argv[1:])
        from leakguard.cli.app import main as run

        run()
    except SystemExit as exc:
        _leave(exc)
        raise
    finally:
        collector.resume()


def _leave(exc: SystemExit) -> None:
    """End the process with ``exc``'s code without the interpreter's teardown; returns (and
    the ordinary exit runs) when that is not safe or the code is not a number."""
    code = 0 if exc.code is None else exc.code
    if not isinstance(code, int) or any(
        not t.daemon for t in threading.enumerate() if t is not threading.main_thread()
    ):
        return
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed pipe: the exit code already says so
            code = code or 1
    os._exit(code)
