#!/usr/bin/env python3
"""Matching-engine throughput with every shipped rule loaded (no file I/O, one core).

Generates a deterministic corpus in memory and scans it in 1 MiB chunks, side by side:

  no-hit    source, config and minified text containing no keyword at all: the prefilter pass
            (Hyperscan, or the bytes.find fallback) plus the engine's per-chunk overhead;
  mixed     the same text with every rule's examples and negative examples planted at a
            realistic density (one every ~64 KiB), so windows, regexes and validators run;
  dense     near-miss words (eyJ, AKIA, SG., npm_config, twilio, ...) on almost every line
            and a planted example every ~10 KiB: a worst case for the window stage.

Both engines run on the same bytes; the table shows MB/s and the ratio of Hyperscan to `re`.
The findings of both engines are compared and must be identical.

    python benchmarks/engine_throughput.py              # 32 MB per corpus (the default)
    python benchmarks/engine_throughput.py --mb 4       # a quick run
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from leakguard.engine.matcher import Engine  # noqa: E402
from leakguard.engine.rules import RuleSet  # noqa: E402
from leakguard.model import Chunk, Finding, Location  # noqa: E402
from tests.rules.corpus import filler, mixed_corpus  # noqa: E402

MiB = 1024 * 1024


def corpus(kind: str, size: int, ruleset: RuleSet) -> bytes:
    if kind == "no-hit":
        return filler(size, seed=1, near_misses=False)
    if kind == "dense":
        return mixed_corpus(ruleset, size, seed=2)[0]
    # mixed: plain text with the examples planted roughly every 64 KiB
    pieces = [ex for r in ruleset.rules for ex in r.examples + r.negative_examples]
    block = max(64 * 1024, size // max(1, len(pieces)))
    out, i = [], 0
    while sum(map(len, out)) < size:
        out.append(filler(block, seed=100 + i, near_misses=False))
        out.append(b"\n" * 7 + pieces[i % len(pieces)].encode() + b"\n" * 7)
        i += 1
    return b"".join(out)


def scan(engine: Engine, data: bytes) -> tuple[float, list[Finding]]:
    found: list[Finding] = []
    started = time.perf_counter()
    for offset in range(0, len(data), MiB):
        found.extend(engine.scan(Chunk(data[offset : offset + MiB], Location("c", 1, 1))))
    return time.perf_counter() - started, found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=32.0, help="size of each corpus in MB")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    args = parser.parse_args()
    size = int(args.mb * 1_000_000)
    ruleset = RuleSet.load()
    engines = {kind: Engine(ruleset, kind) for kind in ("hyperscan", "re")}
    print(f"{len(ruleset.rules)} rules, {sum(len(r.keywords) for r in ruleset.rules)} keywords")
    print(f"{'corpus':8} {'MB':>7} {'findings':>9} {'hyperscan MB/s':>15} {'re MB/s':>9} {'ratio':>6}")
    ok = True
    for kind in ("no-hit", "mixed", "dense"):
        data = corpus(kind, size, ruleset)
        rates: dict[str, float] = {}
        results: dict[str, list[tuple[object, ...]]] = {}
        for name, engine in engines.items():
            best = min(scan(engine, data)[0] for _ in range(args.repeat))
            rates[name] = len(data) / best / 1e6
            results[name] = sorted((f.identity, f.severity) for f in scan(engine, data)[1])
        same = results["hyperscan"] == results["re"]
        ok &= same
        print(
            f"{kind:8} {len(data) / 1e6:7.1f} {len(results['re']):9d} "
            f"{rates['hyperscan']:15.1f} {rates['re']:9.1f} "
            f"{rates['hyperscan'] / rates['re']:5.1f}x{'' if same else '  FINDINGS DIFFER'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
