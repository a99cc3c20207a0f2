"""Every benchmark script still loads against the code it measures: its ``--help`` runs.

A benchmark is never run by the suite (its figures are measured by hand, on a quiet machine),
so a name it imports from LeakGuard can go away unnoticed: ``coverage.py`` imported a constant
of the placeholder filter that an earlier change had replaced, and failed at its first line.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_"))


def test_the_benchmarks_are_found() -> None:
    assert {"coverage.py", "scan_git.py", "scan_web.py", "startup.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_benchmark_script_loads_and_explains_itself(script: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=BENCHMARKS.parent,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage:")
