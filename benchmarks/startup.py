#!/usr/bin/env python3
"""Start-up benchmark: ``leakguard scan FILE`` on a one-line file, as pre-commit hooks and CI
steps call it, against ``python -c pass`` (the interpreter's own start-up) as the floor.

Runs each command ``--runs`` times (default 15), interleaved so machine load hits both alike,
and prints the median and the spread (lowest, highest) of the wall time, and the median over
the floor. The first LeakGuard run warms the compiled-rule cache and is not counted; with
``--cold`` every run starts from an empty cache instead (a fresh ``XDG_CACHE_HOME``).
``--imports`` also prints the ten slowest imports of one run (``python -X importtime``).

    python benchmarks/startup.py
    python benchmarks/startup.py --runs 30 --cold
    python benchmarks/startup.py --compare /tmp/main/.venv/bin/leakguard   # before/after
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _peers import leakguard_bin

TARGET = 0.25  # seconds: what issue #12 asks of `leakguard scan FILE`


def wall(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        sys.exit(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return seconds


def slowest_imports(cmd: list[str], env: dict[str, str], count: int = 10) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *cmd], env=env, capture_output=True, text=True
    )
    rows = []
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    top = sorted(rows, reverse=True)[:count]
    return [f"{us / 1000:8.1f} ms {name}" for us, name in top]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15, help="runs per command (default 15)")
    parser.add_argument("--cold", action="store_true", help="an empty rule cache for every run")
    parser.add_argument("--imports", action="store_true", help="list the slowest imports")
    parser.add_argument(
        "--compare", default="", help="another leakguard command (an older version), interleaved"
    )
    args = parser.parse_args()
    leakguard = leakguard_bin()
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "config.py"
        target.write_text("DEBUG = True\n")
        env = dict(os.environ, XDG_CACHE_HOME=str(Path(tmp) / "cache"))
        scan = [leakguard, "scan", str(target), "-q"]
        floor = [sys.executable, "-c", "pass"]
        commands = {"python -c pass": floor, "leakguard scan FILE": scan}
        if args.compare:
            commands["before: scan FILE"] = [args.compare, *scan[1:]]
        for command in commands.values():
            wall(command, env)  # fills the rule cache, warms the page cache
        times: dict[str, list[float]] = {name: [] for name in commands}
        for run in range(args.runs):
            if args.cold:
                env["XDG_CACHE_HOME"] = str(Path(tmp) / f"cache-{run}")
            for name, command in commands.items():
                times[name].append(wall(command, env))
        if args.imports:
            print("slowest imports (cumulative) of one `leakguard scan FILE`:")
            print("\n".join(slowest_imports(scan, env)))
            print()
    base = statistics.median(times["python -c pass"])
    print(f"{'command':<22} {'median s':>9} {'lowest':>8} {'highest':>8} {'x floor':>8}")
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"{name:<22} {median:>9.3f} {min(values):>8.3f} {max(values):>8.3f} "
            f"{median / base:>8.1f}"
        )
    scan_median = statistics.median(times["leakguard scan FILE"])
    verdict = "within" if scan_median <= TARGET else "over"
    cache = "an empty rule cache each run" if args.cold else "a warm rule cache"
    print(
        f"\n{args.runs} interleaved runs each, {cache}, {os.cpu_count()} cores; "
        f"`leakguard scan FILE` is {verdict} the {TARGET:.2f} s target."
    )


if __name__ == "__main__":
    main()
