#!/usr/bin/env python3
"""Matching-engine throughput with every shipped rule loaded (no file I/O, one core).

Generates a deterministic corpus in memory and scans it in 1 MiB chunks, side by side:

  no-hit    source, config and minified text containing no keyword at all: the prefilter pass
            (Hyperscan, or the re trie fallback) plus the engine's per-chunk overhead;
  mixed     the same text with every rule's examples and negative examples planted at a
            realistic density (one every ~64 KiB), so windows, regexes and validators run;
  dense     near-miss words (eyJ, AKIA, SG., npm_config, twilio, ...) on almost every line
            and a planted example every ~10 KiB: a worst case for the window stage.

  tree      (with --tree DIR) real files from DIR, e.g. a virtualenv's site-packages, scanned
            one chunk per file as the file source would.

Both engines run on the same bytes; the table shows MB/s and the ratio of Hyperscan to `re`.
The findings of both engines are compared and must be identical.

    python benchmarks/engine_throughput.py              # 32 MB per corpus (the default)
    python benchmarks/engine_throughput.py --mb 4       # a quick run
    python benchmarks/engine_throughput.py --tree .venv/lib/python3.11/site-packages
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet
from leakguard.model import Chunk, Finding, Location
from tests.rules.corpus import filler, mixed_corpus

MiB = 1024 * 1024


def corpus(kind: str, size: int, ruleset: RuleSet) -> bytes:
    if kind == "no-hit":
        return filler(size, seed=1, near_misses=False)
    if kind == "dense":
        return mixed_corpus(ruleset, size, seed=2)[0]
    # mixed: plain text with the examples planted roughly every 64 KiB
    pieces = [ex for r in ruleset.rules for ex in r.examples + r.negative_examples]
    block = max(64 * 1024, size // max(1, len(pieces)))
    out, i, length = [], 0, 0
    while length < size:
        out.append(filler(block, seed=100 + i, near_misses=False))
        out.append(b"\n" * 7 + pieces[i % len(pieces)].encode() + b"\n" * 7)
        length += len(out[-2]) + len(out[-1])
        i += 1
    return b"".join(out)


TEXT_SUFFIXES = {".py", ".js", ".ts", ".json", ".txt", ".md", ".cfg", ".toml", ".yaml", ".yml"}


def tree_files(root: Path, size: int) -> list[bytes]:
    files, total = [], 0
    for path in sorted(root.rglob("*")):
        if path.suffix in TEXT_SUFFIXES and path.is_file():
            files.append(path.read_bytes())
            total += len(files[-1])
            if total >= size:
                break
    return files


def scan(engine: Engine, pieces: list[bytes]) -> tuple[float, list[Finding]]:
    found: list[Finding] = []
    started = time.perf_counter()
    for piece in pieces:
        found.extend(engine.scan(Chunk(piece, Location("c", 1, 1))))
    return time.perf_counter() - started, found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--mb", type=float, default=32.0, help="size of each corpus in MB (default 32)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    parser.add_argument("--tree", type=Path, help="also scan real text files from this directory")
    args = parser.parse_args()
    size = int(args.mb * 1_000_000)
    ruleset = RuleSet.load()
    engines = {kind: Engine(ruleset, kind) for kind in ("hyperscan", "re")}
    print(f"{len(ruleset.rules)} rules, {sum(len(r.keywords) for r in ruleset.rules)} keywords")
    header = ("corpus", "MB", "findings", "hyperscan MB/s", "re MB/s", "ratio")
    print("{:8} {:>7} {:>9} {:>15} {:>9} {:>6}".format(*header))
    ok = True
    kinds = ["no-hit", "mixed", "dense"] + (["tree"] if args.tree else [])
    for kind in kinds:
        if kind == "tree":
            pieces = tree_files(args.tree, size)
        else:
            data = corpus(kind, size, ruleset)
            pieces = [data[offset : offset + MiB] for offset in range(0, len(data), MiB)]
        total = sum(map(len, pieces))
        rates: dict[str, float] = {}
        results: dict[str, list[tuple[object, ...]]] = {}
        for name, engine in engines.items():
            runs = [scan(engine, pieces) for _ in range(max(1, args.repeat))]
            rates[name] = total / min(seconds for seconds, _ in runs) / 1e6
            results[name] = sorted((f.identity, f.severity) for f in runs[0][1])
        same = results["hyperscan"] == results["re"]
        ok &= same
        print(
            f"{kind:8} {total / 1e6:7.1f} {len(results['re']):9d} "
            f"{rates['hyperscan']:15.1f} {rates['re']:9.1f} "
            f"{rates['hyperscan'] / rates['re']:5.1f}x{'' if same else '  FINDINGS DIFFER'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
