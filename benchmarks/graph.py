#!/usr/bin/env python3
"""Dependency-graph benchmark: a generated estate (default 13,000 services, ~104,000 nodes).

Generates on disk an inventory (``inventory/*.yaml``, one file per team), a scan report with the
leaked credentials, Vault/OpenBao audit logs and CloudTrail files, then measures in one run:

  1. build: parse every input and build the graph (target: under 10 s for >= 100,000 nodes),
     against a baseline that inserts the same nodes and edges into a bare networkx MultiDiGraph
     from pre-parsed tuples (no parsing, no evidence merging);
  2. save to SQLite (the findings store), and one incremental save after new evidence;
  3. blast-radius latency over random credentials (target: a query under 50 ms), against a
     baseline of networkx's undirected connected component of the credential;
  4. stale_consumers and rotation_order latency.

    python benchmarks/graph.py --services 1500 --reads 10000   # a small run (~12,000 nodes)
    python benchmarks/graph.py                       # the full size
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import networkx as nx

from leakguard.graph.build import BuildInputs, BuildSummary, apply
from leakguard.graph.interface import NodeKind, StoreRef
from leakguard.graph.persist import GraphStore
from leakguard.graph.queries import Graph

T = TypeVar("T")
ENVIRONMENTS = ("prod", "staging", "dev", "eu-prod", "us-prod", "batch", "ci", "sandbox")


def _fp(i: int) -> str:
    return "sha256:" + f"{i:064x}"


def generate(
    root: Path, services: int, reads: int, seed: int = 7
) -> tuple[list[tuple[str, str, str]], int]:
    """Write the estate; return the edges the baseline inserts directly and the store count."""
    rng = random.Random(seed)
    stores = services * 2
    per_team = 250
    inv = root / "inventory"
    inv.mkdir(parents=True)
    edges: list[tuple[str, str, str]] = []
    svc_reads: dict[int, list[int]] = {}
    for team in range(0, services, per_team):
        lines = ["services:"]
        for s in range(team, min(team + per_team, services)):
            picks = sorted(rng.sample(range(stores), 2 + (s % 2)))
            svc_reads[s] = picks
            lines += [
                f"  - name: svc-{s}",
                f"    environment: {ENVIRONMENTS[s % len(ENVIRONMENTS)]}",
                f"    identities: [vault-approle:role-{s}]",
                f"    reload: {{restart: systemctl restart svc-{s}}}",
                "    reads:",
            ]
            lines += [f"      - vault: secret/app/s{p}" for p in picks]
            for p in picks:
                edges.append((f"consumer:svc-{s}", f"store:vault-kv2:secret/app/s{p}", "reads"))
            edges.append((f"consumer:svc-{s}", f"identity:vault-approle:role-{s}", "auth"))
        (inv / f"team-{team // per_team:04d}.yaml").write_text("\n".join(lines) + "\n")
    findings = []
    for c in range(stores):
        findings.append(
            {
                "rule_id": "stripe-live-secret-key",
                "provider": "stripe",
                "severity": "critical",
                "fingerprint": _fp(c),
                "redacted": f"sk_live_…{c % 10000:04d}",
                "source_kind": "git",
                "location": {
                    "path": f"services/s{c}/config.py",
                    "line": 1 + c % 90,
                    "column": 9,
                    "commit": f"{c:040x}",
                },
            }
        )
        edges.append((f"credential:{_fp(c)}", f"leak:{c}", "leaked_at"))
    report = root / "report.json"
    report.write_text(json.dumps({"version": 1, "findings": findings}))
    audit = root / "audit.log"
    base = 1_767_225_600  # 2026-01-01
    with audit.open("w") as out:
        for r in range(reads):
            s = rng.randrange(services)
            p = rng.choice(svc_reads[s])
            at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base + r * 7))
            out.write(
                json.dumps(
                    {
                        "time": f"{at}.{r % 1000:03d}Z",
                        "type": "response",
                        "auth": {
                            "display_name": "approle",
                            "metadata": {"role_name": f"role-{s}"},
                            "entity_id": f"ent-{s}",
                        },
                        "request": {
                            "operation": "read",
                            "mount_point": "secret/",
                            "mount_type": "kv",
                            "path": f"secret/data/app/s{p}",
                            "remote_address": "10.0.0.1",
                        },
                        "response": {
                            "data": {
                                "data": {"k": "hmac-sha256:00"},
                                "metadata": {"version": 1 + r % 3},
                            }
                        },
                    }
                )
                + "\n"
            )
    trail = root / "cloudtrail.json"
    records = [
        {
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": "GetSecretValue",
            "eventTime": "2026-02-01T00:00:00Z",
            "userIdentity": {"arn": f"arn:aws:sts::123456789012:assumed-role/svc-{i}/x"},
            "requestParameters": {"secretId": f"prod/app/{i}"},
        }
        for i in range(max(1, reads // 20))
    ]
    trail.write_text(json.dumps({"Records": records}))
    return edges, stores


def baseline_build(
    edges: list[tuple[str, str, str]],
) -> tuple[float, nx.MultiDiGraph]:
    t0 = time.perf_counter()
    g: nx.MultiDiGraph = nx.MultiDiGraph()
    for src, dst, kind in edges:
        g.add_edge(src, dst, key=kind)
    return time.perf_counter() - t0, g


def _latency(fn: Callable[[T], object], args: Sequence[T]) -> tuple[float, float]:
    times = []
    for a in args:
        t0 = time.perf_counter()
        fn(a)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--services",
        type=int,
        default=13000,
        help="services (nodes ~ 8x this; default 13000 -> ~104,000 nodes)",
    )
    parser.add_argument(
        "--reads", type=int, default=100000, help="audit-log read events (default 100000)"
    )
    parser.add_argument(
        "--queries", type=int, default=1000, help="blast-radius queries (default 1000)"
    )
    parser.add_argument("--keep", type=Path, help="generate into this directory and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        t0 = time.perf_counter()
        raw_edges, stores = generate(root, args.services, args.reads)
        print(
            f"generated {args.services} services and {args.reads} reads in "
            f"{time.perf_counter() - t0:.1f} s"
        )

        inputs = BuildInputs(
            inventory=(root / "inventory",),
            scan_reports=(root / "report.json",),
            vault_audit=(root / "audit.log",),
            cloudtrail=(root / "cloudtrail.json",),
            findings_store=False,
        )
        graph = Graph()
        summary = BuildSummary()
        t0, c0 = time.perf_counter(), time.process_time()
        apply(graph, inputs, summary)
        build_s, build_cpu = time.perf_counter() - t0, time.process_time() - c0
        base_s, base_g = baseline_build(raw_edges)
        nodes, edges = len(graph), graph.g.number_of_edges()

        db = root / "graph.db"
        with GraphStore.open(db) as store:
            t0 = time.perf_counter()
            store.save(graph)
            save_s = time.perf_counter() - t0
            fresh = root / "more.log"
            fresh.write_text(
                (root / "audit.log").read_text().splitlines()[0].replace("2026-01-01", "2027-01-01")
                + "\n"
            )
            more = BuildInputs(vault_audit=(fresh,), findings_store=False)
            t0 = time.perf_counter()
            apply(graph, more, BuildSummary())
            written = store.save(graph)
            incr_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            store.load()
            load_s = time.perf_counter() - t0

        rng = random.Random(1)
        creds = [_fp(rng.randrange(stores)) for _ in range(args.queries)]
        ours_med, ours_p99 = _latency(graph.blast_radius, creds)
        undirected = base_g.to_undirected(as_view=True)
        base_med, base_p99 = _latency(
            lambda fp: nx.node_connected_component(undirected, f"credential:{fp}"),
            creds[: max(1, args.queries // 10)],
        )
        store_refs = [
            StoreRef("vault-kv2", f"app/s{rng.randrange(stores)}", "secret")
            for _ in range(args.queries)
        ]
        stale_med, stale_p99 = _latency(
            lambda ref: graph.stale_consumers(ref, "2026-01-02T00:00:00Z", "2"), store_refs
        )
        order_med, order_p99 = _latency(lambda fp: graph.rotation_order([fp]), creds)

        print(
            f"\ngraph: {nodes:,} nodes ({sum(1 for _ in graph.nodes_of(NodeKind.CONSUMER)):,} "
            f"consumers), {edges:,} edges; {summary.added}"
        )
        print(f"\n{'measurement':<44} {'leakguard':>12} {'baseline':>12} {'ratio':>8}")
        print(
            f"{'build from files (s) [target < 10]':<44} {build_s:>12.2f} {base_s:>12.2f} "
            f"{build_s / base_s:>7.1f}x"
        )
        print(f"{'  of which CPU time (s), the figure under load':<44} {build_cpu:>12.2f}")
        print(
            f"{'blast radius median (ms) [target < 50]':<44} {ours_med:>12.3f} {base_med:>12.3f} "
            f"{ours_med / base_med:>7.2f}x"
        )
        print(
            f"{'blast radius p99 (ms)':<44} {ours_p99:>12.3f} {base_p99:>12.3f} "
            f"{ours_p99 / base_p99:>7.2f}x"
        )
        print(f"{'stale_consumers median / p99 (ms)':<44} {stale_med:>12.3f} {stale_p99:>12.3f}")
        print(f"{'rotation_order median / p99 (ms)':<44} {order_med:>12.3f} {order_p99:>12.3f}")
        print(f"{'save to SQLite, full (s)':<44} {save_s:>12.2f}")
        print(
            f"{'new evidence: apply + incremental save (s)':<44} {incr_s:>12.3f}   "
            f"(wrote {written[0]} nodes, {written[1]} edges)"
        )
        print(f"{'load from SQLite (s)':<44} {load_s:>12.2f}")
        print(
            "\nbaseline build: the same edges into a bare nx.MultiDiGraph from in-memory tuples;"
            "\nbaseline query: nx.node_connected_component on the undirected view."
        )
        ok = build_s < 10 and ours_med < 50 and nodes >= 100_000
        print(f"\ntargets met at this size (>= 100,000 nodes, build < 10 s, query < 50 ms): {ok}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
