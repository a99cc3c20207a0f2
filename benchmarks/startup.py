#!/usr/bin/env python3
"""Start-up benchmark: ``leakguard scan FILE`` on a one-line file (as pre-commit hooks call
it), the same scan as CI steps write it (``-f sarif -o FILE --baseline FILE``) and
``leakguard --help``, against two floors measured in the same run:
``python -c pass`` (the interpreter's own start-up) and ``python -c "import typer"`` (the CLI
framework alone, which LeakGuard cannot start without).

LeakGuard runs from the checkout this file is in (``PYTHONPATH`` is set to it), whatever the
environment has installed; ``--before DIR`` adds the same commands run from another source tree
(``git archive main | tar -x -C DIR``), interleaved, for a before/after comparison. Each tree's
bytecode is compiled first (``compileall``), as ``pip install`` does: a checkout run with
``PYTHONDONTWRITEBYTECODE=1`` would otherwise compile every module from source on every run
(about 0.1 s more), which no installed copy pays.

Every command runs ``--runs`` times (default 15), interleaved so machine load hits all alike.
For each, the median wall time with its spread (lowest, highest), the median CPU time (user +
system: less sensitive to a loaded machine than wall time), and the medians over both floors.
The first round warms the compiled-rule cache and the page cache and is not counted; with
``--cold`` every round starts from an empty rule cache instead (a fresh ``XDG_CACHE_HOME``).
``--imports`` also prints the ten slowest imports of one scan (``python -X importtime``).

The last line says whether the scan's median wall time and median CPU time are within the
target, with the load average before and after: on a loaded machine wall time grows with the
load (twice the CPU time at load average 7 on 2 cores) while CPU time grows far less (a third
more for ``import typer`` at that load than on an idle machine).

    python benchmarks/startup.py
    python benchmarks/startup.py --runs 30 --cold
    python benchmarks/startup.py --before /tmp/leakguard-main
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _peers import leakguard_bin, leakguard_for

TARGET = 0.25  # seconds: what issue #12 asks of `leakguard scan FILE`
CHECKOUT = Path(__file__).resolve().parent.parent
FLOOR = "python -c pass"
TYPER = 'python -c "import typer"'
SCAN = "leakguard scan FILE"
CI = "leakguard scan FILE -o --baseline"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run."""
    cpu = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        sys.exit(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return seconds, _children_cpu() - cpu


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


def commands(target: Path, before: str) -> dict[str, tuple[list[str], str | None]]:
    """name -> (command line, PYTHONPATH or None)."""
    leakguard = leakguard_bin()
    scan = [leakguard, "scan", str(target), "-q"]
    baseline = target.with_name("baseline.json")
    ci = [leakguard, "scan", str(target), "-f", "sarif", "-o", str(target.with_suffix(".sarif"))]
    ci += ["--baseline", str(baseline)]
    found: dict[str, tuple[list[str], str | None]] = {
        FLOOR: ([sys.executable, "-c", "pass"], None),
        TYPER: ([sys.executable, "-c", "import typer"], None),
        SCAN: (scan, str(CHECKOUT)),
        CI: (ci, str(CHECKOUT)),
        "leakguard --help": ([leakguard, "--help"], str(CHECKOUT)),
    }
    if before:
        old = leakguard_for(before)  # as that checkout's installed command runs
        found[f"before: {SCAN}"] = ([*old, *scan[1:]], before)
        found[f"before: {CI}"] = ([*old, *ci[1:]], before)
        found["before: leakguard --help"] = ([*old, "--help"], before)
    return found


def write_baseline(target: Path, env: dict[str, str]) -> None:
    """The baseline the CI-style scan reads (made by this checkout)."""
    create = [leakguard_bin(), "baseline", "create", str(target), "-o"]
    create.append(str(target.with_name("baseline.json")))
    done = subprocess.run(create, env=dict(env, PYTHONPATH=str(CHECKOUT)), capture_output=True)
    if done.returncode not in (0, 1):
        sys.exit(f"leakguard baseline create failed: {done.stderr.decode()[-500:]}")


def compile_bytecode(trees: list[str]) -> None:
    """Write each tree's ``__pycache__`` (as installing a package does)."""
    for tree in trees:
        if not compileall.compile_dir(Path(tree) / "leakguard", quiet=1):
            sys.exit(f"cannot compile the bytecode of {tree}/leakguard")


def measure(args: argparse.Namespace) -> dict[str, list[tuple[float, float]]]:
    compile_bytecode([str(CHECKOUT), *([args.before] if args.before else [])])
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "config.py"
        target.write_text("DEBUG = True\n")
        base = dict(os.environ, XDG_CACHE_HOME=str(Path(tmp) / "cache"))
        write_baseline(target, base)
        todo = commands(target, args.before)
        envs = {}
        for name, (_, path) in todo.items():
            envs[name] = dict(base, PYTHONPATH=path) if path else dict(base)
        for name, (cmd, _) in todo.items():
            run(cmd, envs[name])  # fills the rule cache, warms the page cache
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in todo}
        for round_ in range(args.runs):
            for name, (cmd, _) in todo.items():
                if args.cold:
                    envs[name]["XDG_CACHE_HOME"] = str(Path(tmp) / f"cache-{round_}-{name}")
                times[name].append(run(cmd, envs[name]))
        if args.imports:
            print("slowest imports (cumulative) of one `leakguard scan FILE`:")
            print("\n".join(slowest_imports(todo[SCAN][0], envs[SCAN])))
            print()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15, help="runs per command (default 15)")
    parser.add_argument("--cold", action="store_true", help="an empty rule cache for every run")
    parser.add_argument("--imports", action="store_true", help="list the slowest imports")
    parser.add_argument("--before", default="", help="a source tree to compare with (PYTHONPATH)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    times = measure(args)
    load_after = os.getloadavg()[0]
    wall = {name: statistics.median(t[0] for t in runs) for name, runs in times.items()}
    cpu = {name: statistics.median(t[1] for t in runs) for name, runs in times.items()}
    print(
        f"{'command':<42} {'wall s':>7} {'lowest':>7} {'highest':>7} {'cpu s':>7} "
        f"{'x pass':>7} {'x typer':>7}"
    )
    for name, runs in times.items():
        walls = [t[0] for t in runs]
        print(
            f"{name:<42} {wall[name]:>7.3f} {min(walls):>7.3f} {max(walls):>7.3f} "
            f"{cpu[name]:>7.3f} {wall[name] / wall[FLOOR]:>7.1f} {wall[name] / wall[TYPER]:>7.2f}"
        )

    def verdict(seconds: float) -> str:
        return "within" if seconds <= TARGET else "over"

    cache = "an empty rule cache each run" if args.cold else "a warm rule cache"
    print(
        f"\nmedians of {args.runs} interleaved runs each, {cache}, {os.cpu_count()} cores, "
        f"load average {load_before:.1f} before and {load_after:.1f} after; ratios are of wall "
        f"medians. `{SCAN}`: {wall[SCAN]:.3f} s wall ({verdict(wall[SCAN])} the {TARGET:.2f} s "
        f"target), {cpu[SCAN]:.3f} s CPU ({verdict(cpu[SCAN])}); "
        f"{wall[SCAN] - wall[TYPER]:.3f} s wall, {cpu[SCAN] - cpu[TYPER]:.3f} s CPU "
        "above importing typer."
    )


if __name__ == "__main__":
    main()
