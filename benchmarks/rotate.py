#!/usr/bin/env python3
"""Rotation benchmark: one campaign rotating 200 Vault KV v2 secrets (vault-kv-secret) and 50 IAM
access keys stored in Secrets Manager (aws-iam-access-key), with a zero overlap window, against a
local OpenBao dev server and an auth-enforcing moto server that the script starts itself (the
rehearsal sandbox). Every rotation is a full journaled playbook run through the engine's runner.

Measures, in one run:
  1. the campaign with --workers threads (default 8)      target: under 60 s
  2. the same campaign run sequentially (the baseline; skip with --no-baseline)
and checks afterwards that every secret's current version is the new one, every old IAM key is
gone and the new one works.

    python benchmarks/rotate.py --vault 20 --iam 5         # a small run
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from leakguard.backends.registry import make_issuer, make_store
from leakguard.graph.interface import EdgeKind, Evidence, StoreRef
from leakguard.graph.queries import Graph
from leakguard.redact import fingerprint
from leakguard.rotation import sandbox
from leakguard.rotation.runner import EngineOptions, start_run
from leakguard.rotation.journal import Journal, RunState
from leakguard.rotation.schema import Playbook, load_playbook

ROOT = Path(__file__).resolve().parent.parent
SEEN = Evidence("inventory:benchmark", "2026-01-01T00:00:00+00:00")


@dataclass(frozen=True)
class Job:
    kind: str  # vault | iam
    playbook: Playbook
    inputs: dict[str, Any]


@dataclass(frozen=True)
class Result:
    kind: str
    seconds: float
    state: str
    error: str | None


def _jobs(prefix: str, vault: int, iam: int, graph: Graph) -> tuple[list[Job], sandbox.SeedPlan]:
    vault_pb = load_playbook(ROOT / "playbooks" / "vault-kv-secret.yaml")
    iam_pb = load_playbook(ROOT / "playbooks" / "aws-iam-access-key.yaml")
    plan = sandbox.SeedPlan()
    jobs: list[Job] = []
    for i in range(vault):
        path = f"{prefix}/app-{i:04d}/db"
        plan.vault[("secret", path)] = {"value": f"old-value-{prefix}-{i:04d}-xxxxxxxxxxxx"}
        cred = _credential(graph, f"vault-{prefix}-{i}", StoreRef("vault-kv2", path, "secret"))
        inputs = {"credential": cred, "secret": path, "overlap": "0s"}
        jobs.append(Job("vault", vault_pb, inputs))
    for i in range(iam):
        user, name = f"{prefix}-svc-{i:03d}", f"{prefix}/svc-{i:03d}/aws"
        plan.iam_users.append(user)
        plan.secretsmanager[name] = {"region": "us-east-1"}
        plan.key_entries[user] = [("sm", "", name)]
        cred = _credential(graph, f"iam-{prefix}-{i}", StoreRef("aws-secretsmanager", name))
        inputs = {
            "credential": cred,
            "user": user,
            "secret": name,
            "store": "sm",
            "overlap": "0s",
            "soak": "0s",
        }
        jobs.append(Job("iam", iam_pb, inputs))
    return jobs, plan


def _credential(graph: Graph, seed: str, ref: StoreRef) -> str:
    fp = fingerprint(seed)
    node = graph.add_credential(fp)
    graph.add_edge(node, graph.add_store(ref), EdgeKind.STORED_IN, SEEN)
    return fp


def _campaign(
    jobs: list[Job], workers: int, options: Callable[[], EngineOptions], db_dir: Path
) -> tuple[float, list[Result]]:
    local = threading.local()

    def run(job: Job) -> Result:
        journal = getattr(local, "journal", None)
        if journal is None:
            path = db_dir / f"journal-{threading.get_ident()}.db"
            journal = local.journal = Journal.open(path)
        started = time.perf_counter()
        try:
            view = start_run(journal, job.playbook, job.inputs, options())
        except Exception as exc:  # a broken run is a result, not a crash of the benchmark
            return Result(job.kind, time.perf_counter() - started, "error", str(exc)[:300])
        return Result(job.kind, time.perf_counter() - started, str(view.state), view.diagnostic)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(run, jobs))
    return time.perf_counter() - started, results


def _check(box: sandbox.Sandbox, jobs: list[Job]) -> list[str]:
    """After a campaign: each secret moved on from its seeded version; each IAM user has exactly
    one key, not the seeded one, and it works."""
    problems: list[str] = []
    vault = make_store("vault-kv2", {**box.overrides["kind:vault-kv2"], "mount": "secret"})
    sm = make_store("aws-secretsmanager", box.overrides["kind:aws-secretsmanager"])
    iam = make_issuer("aws-iam", box.overrides["kind:aws-iam"])
    for job in jobs:
        name = job.inputs["secret"]
        if job.kind == "vault":
            version, _ = vault.read_current(name)
            if version.version_id == "1":
                problems.append(f"{name}: still on its seeded version")
        else:
            user = job.inputs["user"]
            keys = iam.list_keys(user)
            _, data = sm.read_current(name)
            if [k.key_id for k in keys] != [data["aws_access_key_id"]]:
                problems.append(f"{user}: keys {[k.key_id for k in keys]} vs the stored key")
            elif keys[0].key_id == box.iam_keys[user] or not iam.works(data):
                problems.append(f"{user}: the stored key is the old one or does not work")
    return problems


def _table(title: str, seconds: float, results: list[Result]) -> None:
    print(f"\n{title}: {len(results)} rotations in {seconds:.2f} s")
    head = ("kind", "runs", "done", "mean s", "p50 s", "p95 s", "max s")
    print("  {:<8} {:>5} {:>5} {:>8} {:>7} {:>7} {:>7}".format(*head))
    for kind in ("vault", "iam"):
        rows = [r for r in results if r.kind == kind]
        if not rows:
            continue
        times = sorted(r.seconds for r in rows)
        done = sum(r.state == RunState.COMPLETED for r in rows)
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
        print(
            f"  {kind:<8} {len(rows):>5} {done:>5} {statistics.mean(times):>8.3f} "
            f"{statistics.median(times):>7.3f} {p95:>7.3f} {times[-1]:>7.3f}"
        )
    failed = [r for r in results if r.state != RunState.COMPLETED]
    for r in failed[:5]:
        print(f"  ! {r.kind} run {r.state}: {r.error}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--vault", type=int, default=200, help="Vault secrets to rotate (default 200)"
    )
    parser.add_argument("--iam", type=int, default=50, help="IAM keys to rotate (default 50)")
    parser.add_argument("--workers", type=int, default=8, help="concurrent runs (default 8)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the sequential run")
    args = parser.parse_args()

    graph = Graph()
    campaigns = [("concurrent", "c", args.workers)]
    if not args.no_baseline:
        campaigns.append(("baseline (sequential)", "s", 1))
    work = {prefix: _jobs(prefix, args.vault, args.iam, graph) for _, prefix, _ in campaigns}
    plan = sandbox.SeedPlan()
    for _, seeded in work.values():
        plan.vault.update(seeded.vault)
        plan.secretsmanager.update(seeded.secretsmanager)
        plan.iam_users.extend(seeded.iam_users)
        plan.key_entries.update(seeded.key_entries)

    def options() -> EngineOptions:
        return EngineOptions(yes=True, graph=graph, backend_overrides=overrides)

    t0 = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="leakguard-rotate-") as tmp,
        sandbox.start(plan=plan, workdir=Path(tmp) / "sandbox") as box,
    ):
        overrides = box.overrides
        print(
            f"sandbox started and seeded in {time.perf_counter() - t0:.1f} s "
            f"({len(plan.vault)} Vault secrets, {len(plan.iam_users)} IAM users)"
        )
        measured: list[tuple[str, float, list[str]]] = []
        for title, prefix, workers in campaigns:
            jobs = work[prefix][0]
            seconds, results = _campaign(jobs, workers, options, Path(tmp))
            _table(f"{title}, {workers} worker(s)", seconds, results)
            measured.append((title, seconds, _check(box, jobs)))
    print(f"\n{'campaign':<28} {'seconds':>8} {'vs baseline':>12} {'verified':>9}")
    base = measured[-1][1] if len(measured) > 1 else None
    for title, seconds, problems in measured:
        ratio = f"{base / seconds:.2f}x" if base else "-"
        print(f"{title:<28} {seconds:>8.2f} {ratio:>12} {'yes' if not problems else 'NO':>9}")
        for problem in problems[:5]:
            print(f"  ! {problem}")
    print(
        f"\ntarget: {args.vault} Vault + {args.iam} IAM rotations in under 60 s "
        f"-> {'met' if measured[0][1] < 60 else 'missed'} ({measured[0][1]:.1f} s)"
    )
    return 0 if all(not p for _, _, p in measured) else 1


if __name__ == "__main__":
    raise SystemExit(main())
