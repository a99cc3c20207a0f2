#!/usr/bin/env python3
"""Sweep benchmark: N generated git repositories (default 200) with planted Stripe-format keys.

Measures, in one run:
  1. a full sweep with --jobs 1 (fresh store),
  2. a full sweep with --jobs 2 (fresh store),
  3. a re-sweep of (2)'s store with no new commits (target: <= 5% of the full sweep's time),
and checks that every planted key is reported as new by each full sweep and none by the re-sweep.

    python benchmarks/sweep.py --repos 40          # a small run
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
    """Deterministic repositories; returns the fingerprints of the planted keys."""
    rng = random.Random(1234)
    planted: set[str] = set()
    for r in range(repos):
        repo = root / f"repo{r:04d}"
        repo.mkdir(parents=True)
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=_ENV)
        for c in range(commits):
            for f in range(files):
                body = "".join(
                    f"def handler_{c}_{f}_{i}(event):\n    return {rng.randint(0, 10**9)}\n"
                    for i in range(40)
                )
                (repo / f"mod_{f}.py").write_text(body)
            if c == 0:
                key = _key(rng)
                planted.add(fingerprint(key))
                (repo / "settings.py").write_text(f"STRIPE_SECRET_KEY = '{key}'\n")
            subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=_ENV)
            subprocess.run(
                ["git", "-C", str(repo), "commit", "-q", "-m", f"c{c}"], check=True, env=_ENV
            )
    return planted


def timed_sweep(config: Path, db: Path, jobs: int) -> tuple[float, set[str], int]:
    started = time.perf_counter()
    report = run_sweep(load_config(config), SweepSettings(db=db, jobs=jobs))
    elapsed = time.perf_counter() - started
    failed = len(report.failed)
    return elapsed, {c.fingerprint for c in report.new}, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", "--scale", type=int, default=200, help="repositories (200)")
    parser.add_argument("--files", type=int, default=3, help="source files per repository (3)")
    parser.add_argument("--commits", type=int, default=3, help="commits per repository (3)")
    parser.add_argument("--keep", type=Path, help="generate into (and keep) this directory")
    args = parser.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="lg-sweep-bench-"))
    try:
        t0 = time.perf_counter()
        planted = generate(root / "repos", args.repos, args.files, args.commits)
        print(f"generated {args.repos} repositories in {time.perf_counter() - t0:.1f} s")
        config = root / "sweep.yaml"
        config.write_text("targets:\n  - glob: repos/repo*\n")

        rows = []
        ok = True
        for jobs in (1, 2):
            db = root / f"jobs{jobs}.db"
            for side in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
                side.unlink(missing_ok=True)
            seconds, new, failed = timed_sweep(config, db, jobs)
            ok &= new == planted and failed == 0
            rows.append((f"full sweep --jobs {jobs}", seconds, len(new)))
        full = rows[-1][1]
        seconds, new, failed = timed_sweep(config, root / "jobs2.db", 2)
        ok &= not new and failed == 0
        rows.append(("re-sweep, no new commits (--jobs 2)", seconds, len(new)))

        print(f"\n{'run':<38} {'seconds':>8} {'new':>6}")
        for name, secs, n in rows:
            print(f"{name:<38} {secs:>8.2f} {n:>6}")
        print(f"\nspeed-up --jobs 2 vs --jobs 1: {rows[0][1] / rows[1][1]:.2f}x")
        print(f"re-sweep / full sweep (--jobs 2): {100 * seconds / full:.1f}% (target <= 5%)")
        print(f"planted keys: {len(planted)}; all found and none re-reported: {ok}")
        return 0 if ok else 1
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
