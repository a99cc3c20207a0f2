"""LeakGuard against LeakGuard: this checkout and another one (``--against DIR``: a worktree of
an older commit) scan the same input in one run, alternately, each run a fresh process with
``PYTHONPATH`` naming its tree. On a shared machine wall time swings with the load, so the table
gives the median CPU time (user + system) beside the median wall time. Both trees' bytecode is
compiled first, as an install does: a checkout run with ``PYTHONDONTWRITEBYTECODE`` would
otherwise compile every module from source in every run."""

from __future__ import annotations

import compileall
import os
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from _peers import Timing, leakguard_for, timed

THIS_TREE = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class TreeRuns:
    label: str
    cpu: list[float]
    wall: list[float]

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu)

    @property
    def median_wall(self) -> float:
        return statistics.median(self.wall)


def checked_tree(path: str) -> Path:
    tree = Path(path).resolve()
    if not (tree / "leakguard" / "__init__.py").exists():
        sys.exit(f"--against {path}: not a LeakGuard checkout (no leakguard/__init__.py)")
    return tree


def run_in(tree: Path, args: list[str]) -> Timing:
    """``leakguard ARGS`` with the package imported from ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    run = timed([*leakguard_for(tree), *args], env=env)
    if run.returncode not in (0, 1):
        sys.exit(f"leakguard from {tree} failed ({run.returncode}): {run.stderr[-400:]!r}")
    return run


def alternate(against: Path, runs: int, scan: Callable[[Path], Timing]) -> list[TreeRuns]:
    """``runs`` scans from each tree, the order swapped every round (neither always runs second
    on a warmer cache)."""
    trees = [("this checkout", THIS_TREE), (f"against {against.name}", against)]
    for _, tree in trees:
        compileall.compile_dir(tree / "leakguard", quiet=1)
    found: dict[str, TreeRuns] = {label: TreeRuns(label, [], []) for label, _ in trees}
    for i in range(runs):
        for label, tree in trees if i % 2 == 0 else trees[::-1]:
            timing = scan(tree)
            found[label].cpu.append(timing.cpu)
            found[label].wall.append(timing.seconds)
    return list(found.values())


def table(name: str, megabytes: float, results: list[TreeRuns]) -> str:
    """One line per tree; the ratio is throughput (the other tree's time / this one's)."""
    ours, theirs = results
    lines = [f"{name} ({megabytes:.0f} MB, {len(ours.cpu)} runs each, medians)"]
    lines.append(f"  {'tree':<24} {'CPU s':>7} {'wall s':>7} {'MB/s CPU':>9}")
    for r in results:
        rate = megabytes / r.median_cpu if r.median_cpu else float("inf")
        lines.append(f"  {r.label:<24} {r.median_cpu:>7.2f} {r.median_wall:>7.2f} {rate:>9.1f}")
    lines.append(
        f"  this checkout's throughput vs the other: "
        f"{theirs.median_cpu / ours.median_cpu:.2f}x by CPU, "
        f"{theirs.median_wall / ours.median_wall:.2f}x by wall"
    )
    return "\n".join(lines)
