#!/usr/bin/env python3
"""Sweep benchmark: N generated git repositories (default 200 x 20 commits x 5 files of ~3.5 KB)
with planted Stripe-format keys.

Measures, in one run:
  1. a full sweep with --jobs 1 (fresh store),
  2. a full sweep with --jobs 2 (fresh store),
  3. a re-sweep of (2)'s store with no new commits (target: <= 5% of the full sweep's time),
and checks that every planted key is reported as new by each full sweep and none by the re-sweep.

    python benchmarks/sweep.py --repos 40          # a small run
    python benchmarks/sweep.py --commits 3 --files 3   # the earlier, tiny repositories
    python benchmarks/sweep.py --keep DIR          # keep the generated repositories in DIR
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from leakguard.redact import fingerprint
from leakguard.sweep.config import load_config
from leakguard.sweep.runner import SweepSettings, run_sweep

_ALNUM = string.ascii_letters + string.digits
RACY_SECONDS = 2.1
_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _key(rng: random.Random) -> str:
    return "sk_live_" + "".join(rng.choice(_ALNUM) for _ in range(32))


def generate(root: Path, repos: int, files: int, commits: int) -> set[str]:
    """Deterministic repositories, each written by one ``git fast-import`` and checked out;
    every commit rewrites every source file (a few KB each). Returns the fingerprints of the
    planted keys (one per repository, in the first commit's settings.py)."""
    rng = random.Random(1234)
    planted: set[str] = set()
    for r in range(repos):
        repo = root / f"repo{r:04d}"
        repo.mkdir(parents=True)
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=_ENV)
        stream = bytearray()
        for c in range(commits):
            when = 1_700_000_000 + 3600 * c
            message = f"c{c}\n".encode()
            stream += b"commit refs/heads/main\n"
            stream += b"committer bench <bench@example.com> %d +0000\n" % when
            stream += b"data %d\n%s" % (len(message), message)
            for f in range(files):
                _inline(stream, f"mod_{f}.py", _module(rng, c, f))
            if c == 0:
                key = _key(rng)
                planted.add(fingerprint(key))
                _inline(stream, "settings.py", f"STRIPE_SECRET_KEY = '{key}'\n".encode())
            stream += b"\n"
        git = ["git", "-C", str(repo)]
        subprocess.run([*git, "fast-import", "--quiet"], input=bytes(stream), check=True, env=_ENV)
        subprocess.run([*git, "reset", "-q", "--hard"], check=True, env=_ENV)
    return planted


def _module(rng: random.Random, commit: int, index: int) -> bytes:
    """About 3.5 KB of Python-looking source."""
    return "".join(
        f"def handler_{commit}_{index}_{i}(event):\n    return {rng.randint(0, 10**9)}\n"
        for i in range(80)
    ).encode()


def _inline(stream: bytearray, path: str, body: bytes) -> None:
    stream += b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(body), body)


def timed_sweep(config: Path, db: Path, jobs: int) -> tuple[float, set[str], int, int]:
    """Seconds, fingerprints reported new, failed targets, targets skipped as unchanged."""
    started = time.perf_counter()
    report = run_sweep(load_config(config), SweepSettings(db=db, jobs=jobs))
    elapsed = time.perf_counter() - started
    failed = len(report.failed)
    unchanged = sum(1 for t in report.targets if _counters(t.stats).get("unchanged_targets"))
    return elapsed, {c.fingerprint for c in report.new}, failed, unchanged


def _counters(stats: dict[str, object]) -> dict[str, object]:
    counters = stats.get("counters")
    return counters if isinstance(counters, dict) else {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repos", "--scale", type=int, default=200, help="repositories (default 200)"
    )
    parser.add_argument(
        "--files", type=int, default=5, help="source files per repository (default 5)"
    )
    parser.add_argument(
        "--commits", type=int, default=20, help="commits per repository (default 20)"
    )
    parser.add_argument("--keep", type=Path, help="generate into (and keep) this directory")
    args = parser.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="lg-sweep-bench-"))
    try:
        t0 = time.perf_counter()
        planted = generate(root / "repos", args.repos, args.files, args.commits)
        print(f"generated {args.repos} repositories in {time.perf_counter() - t0:.1f} s")
        # a work tree modified within the last 2 s is never taken as unchanged (racy
        # timestamps): let the newest files age, as any repository not written mid-sweep has
        time.sleep(RACY_SECONDS)
        config = root / "sweep.yaml"
        config.write_text("targets:\n  - glob: repos/repo*\n")

        rows = []
        ok = True
        for jobs in (1, 2):
            db = root / f"jobs{jobs}.db"
            for side in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
                side.unlink(missing_ok=True)
            seconds, new, failed, _ = timed_sweep(config, db, jobs)
            ok &= new == planted and failed == 0
            rows.append((f"full sweep --jobs {jobs}", seconds, len(new)))
        full = rows[-1][1]
        seconds, new, failed, unchanged = timed_sweep(config, root / "jobs2.db", 2)
        ok &= not new and failed == 0
        rows.append(("re-sweep, no new commits (--jobs 2)", seconds, len(new)))

        shape = f"{args.repos} repositories x {args.commits} commits x {args.files} files"
        print(f"\n{shape}\n{'run':<38} {'seconds':>8} {'new':>6}")
        for name, secs, n in rows:
            print(f"{name:<38} {secs:>8.2f} {n:>6}")
        print(f"\nspeed-up --jobs 2 vs --jobs 1: {rows[0][1] / rows[1][1]:.2f}x")
        print(f"re-sweep / full sweep (--jobs 2): {100 * seconds / full:.1f}% (target <= 5%)")
        print(f"re-sweep targets skipped as unchanged: {unchanged} of {args.repos}")
        print(f"planted keys: {len(planted)}; all found and none re-reported: {ok}")
        return 0 if ok else 1
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
