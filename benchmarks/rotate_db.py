#!/usr/bin/env python3
"""Database rotation benchmark: N roles (default 50) of PostgreSQL or MariaDB, each held as a URL
in OpenBao KV and used by 3 consumers (threads of one consumer process, each holding a connection
and running SELECT 1 every 100 ms, reconnecting from the store when its role's reload file is
touched), rotated through the engine (full journaled runs, --workers at a time) with the
single-user playbook (postgres-role-password, mariadb-user-password) or, with --alternating, the
alternating-users one. Reports the wall time, the engine's CPU time (this process, user+sys) and
every consumer query sampled: the target is zero failures. It starts the database (Debian's
package) and an OpenBao dev server on free local ports.

    python benchmarks/rotate_db.py --roles 10 --workers 2                 # a small run
    python benchmarks/rotate_db.py --engine mariadb --alternating         # 50 MariaDB users
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import hvac

from leakguard.backends import mariadb, postgres
from leakguard.backends.postgres import new_password
from leakguard.graph.interface import ConsumerInfo, EdgeKind, Evidence, Reload, StoreRef
from leakguard.graph.queries import Graph
from leakguard.redact import fingerprint
from leakguard.rotation.journal import Journal, RunState
from leakguard.rotation.runner import EngineOptions, start_run
from leakguard.rotation.schema import find_playbook, load_playbook
from tests.support.databases import mariadb_server, postgres_server
from tests.support.servers import openbao_server

SEEN = Evidence("inventory:benchmark", "2026-01-01T00:00:00+00:00")
CONSUMERS_PER_ROLE = 3

HOST = """
import json, os, sys, threading, time, urllib.parse
import hvac

vault, token, spec_path, stats_path, stop_path = sys.argv[1:6]
spec = json.load(open(spec_path))  # [{"role", "path", "trigger"}]
counts = {}
lock = threading.Lock()


class MySQL:  # the same face as a psycopg connection: execute and close
    def __init__(self, url):
        import pymysql
        p = urllib.parse.urlsplit(url)
        self.conn = pymysql.connect(
            host=p.hostname, port=p.port, user=urllib.parse.unquote(p.username),
            password=urllib.parse.unquote(p.password), database=p.path.lstrip("/"),
            autocommit=True, connect_timeout=10)

    def execute(self, sql):
        with self.conn.cursor() as cur:
            cur.execute(sql)

    def close(self):
        self.conn.close()


def connect(path, name):
    client = hvac.Client(url=vault, token=token, timeout=10)
    url = client.secrets.kv.v2.read_secret_version(path=path, raise_on_deleted_version=True)
    url = url["data"]["data"]["url"]
    if url.startswith("mysql://"):
        return MySQL(url)
    import psycopg
    return psycopg.connect(url, application_name=name, autocommit=True, connect_timeout=10)


def consumer(entry, n):
    name = f"{entry['role']}-c{n}"
    mine = {"ok": 0, "failed": 0, "reloads": 0, "reload_failed": 0}
    with lock:
        counts[name] = mine
    conn = connect(entry["path"], name)
    seen = os.stat(entry["trigger"]).st_mtime_ns
    while not os.path.exists(stop_path):
        now = os.stat(entry["trigger"]).st_mtime_ns
        if now != seen:
            seen = now
            try:
                fresh = connect(entry["path"], name)
            except Exception:
                mine["reload_failed"] += 1
            else:
                conn.close()
                conn = fresh
                mine["reloads"] += 1
        try:
            conn.execute("SELECT 1")
            mine["ok"] += 1
        except Exception:
            mine["failed"] += 1
        time.sleep(0.1)
    conn.close()


threads = [threading.Thread(target=consumer, args=(e, n)) for e in spec for n in range(3)]
for t in threads:
    t.start()
while not os.path.exists(stop_path):
    with lock:
        snapshot = json.dumps(counts)
    with open(stats_path + ".tmp", "w") as out:
        out.write(snapshot)
    os.replace(stats_path + ".tmp", stats_path)
    time.sleep(0.5)
for t in threads:
    t.join()
with open(stats_path, "w") as out:
    json.dump(counts, out)
"""


@dataclass
class Server:
    """The database under test, by engine: how to make a role, its URL and a login check."""

    engine: str
    admin: str
    admin_password: str
    host: str
    port: int
    make_role: Any
    url: Any

    @property
    def playbook(self) -> str:
        return "postgres-role-password" if self.engine == "postgres" else "mariadb-user-password"

    def alternating(self) -> str:
        return f"{self.engine}-alternating-users"

    def login_works(self, role: str, password: str) -> bool:
        if self.engine == "postgres":
            return postgres.login_works(
                postgres.Endpoint(self.host, self.port, "postgres"), role, password
            )
        return mariadb.login_works(mariadb.Endpoint(self.host, self.port, "lgdb"), role, password)


@contextlib.contextmanager
def database(engine: str, tmp: Path, connections: int) -> Iterator[Server]:
    if engine == "postgres":
        import psycopg

        with postgres_server(tmp / "pg", max_connections=connections) as pg:
            os.environ["LEAKGUARD_PG_ADMIN_PASSWORD"] = pg.admin_password

            def make_pg(role: str, password: str) -> None:
                with psycopg.connect(pg.dsn(), autocommit=True) as conn:
                    conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")

            yield Server(engine, pg.admin, pg.admin_password, pg.host, pg.port, make_pg, pg.url)
        return
    with mariadb_server(tmp / "maria", max_connections=connections) as maria:
        os.environ["LEAKGUARD_MARIADB_ADMIN_PASSWORD"] = maria.admin_password

        def make_maria(role: str, password: str) -> None:
            with maria.connect() as conn, conn.cursor() as cur:
                cur.execute(
                    "CREATE USER %s@'%%' IDENTIFIED BY PASSWORD %s",
                    (role, mariadb.native_password_hash(password)),
                )
                cur.execute(f"GRANT SELECT ON lgdb.* TO `{role}`@'%'")

        yield Server(
            engine, maria.admin, maria.admin_password, maria.host, maria.port, make_maria, maria.url
        )


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--roles", type=int, default=50, help="roles to rotate (default 50)")
    parser.add_argument("--workers", type=int, default=4, help="concurrent runs (default 4)")
    parser.add_argument("--engine", choices=("postgres", "mariadb"), default="postgres")
    parser.add_argument(
        "--alternating", action="store_true", help="switch each role to a clone (role_b)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leakguard-rotate-db-") as tmp_name:
        return bench(Path(tmp_name), args)


def bench(tmp: Path, args: argparse.Namespace) -> int:
    connections = args.roles * CONSUMERS_PER_ROLE * 2 + 50
    with (
        database(args.engine, tmp, connections) as db,
        openbao_server(tmp / "bao") as bao,
    ):
        root = hvac.Client(url=bao.url, token=bao.token)
        spec, jobs = [], []
        for i in range(args.roles):
            role, old = f"bench_{i:03d}", new_password()
            db.make_role(role, old)
            path = f"bench/db-{i:03d}"
            root.secrets.kv.v2.create_or_update_secret(
                path=path, secret={"url": db.url(role, old), "password": old}
            )
            trigger = tmp / f"reload-{role}"
            trigger.write_text("")
            spec.append({"role": role, "path": path, "trigger": str(trigger)})
            jobs.append((role, old, path, trigger))
        (tmp / "spec.json").write_text(json.dumps(spec))
        (tmp / "host.py").write_text(textwrap.dedent(HOST))
        stats, stop = tmp / "stats.json", tmp / "stop"
        host = subprocess.Popen(
            [sys.executable, str(tmp / "host.py"), bao.url, bao.token,
             str(tmp / "spec.json"), str(stats), str(stop)]
        )  # fmt: skip
        deadline = time.monotonic() + 120
        expected = args.roles * CONSUMERS_PER_ROLE
        while True:
            counts = json.loads(stats.read_text()) if stats.exists() else {}
            if len(counts) == expected and all(c["ok"] > 0 for c in counts.values()):
                break
            if time.monotonic() > deadline or host.poll() is not None:
                print("the consumers did not all connect", file=sys.stderr)
                return 1
            time.sleep(0.2)
        name = db.alternating() if args.alternating else db.playbook
        print(f"{args.engine}: {args.roles} roles, {expected} consumer connections up; {name}")
        playbook = load_playbook(find_playbook(name))

        def rotate(job: tuple[str, str, str, Path]) -> tuple[str, float, str]:
            role, old, path, trigger = job
            graph = Graph()
            cred = graph.add_credential(fingerprint(old))
            store = graph.add_store(StoreRef("vault-kv2", path, "secret"))
            graph.add_edge(cred, store, EdgeKind.STORED_IN, SEEN)
            info = ConsumerInfo(
                f"consumer:{role}", role, reload=Reload("command", f"touch {trigger}")
            )
            graph.add_edge(graph.add_consumer(info, SEEN), store, EdgeKind.READS, SEEN)
            options = EngineOptions(
                yes=True, graph=graph, time_scale=0.05,
                backend_overrides={"vault": {"url": bao.url, "token": bao.token}},
            )  # fmt: skip
            inputs = {"credential": fingerprint(old), "secret": path, "admin_user": db.admin}
            if args.alternating:
                inputs["new_role"] = f"{role}_b"
            started = time.perf_counter()
            with Journal.open(tmp / f"journal-{role}.db") as journal:
                view = start_run(journal, playbook, inputs, options, run_id=role)
            return (
                role,
                time.perf_counter() - started,
                str(view.state)
                + (f": {view.diagnostic}" if view.state != RunState.COMPLETED else ""),
            )

        started, cpu = time.perf_counter(), _cpu()
        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            results = list(pool.map(rotate, jobs))
        wall, cpu = time.perf_counter() - started, _cpu() - cpu
        time.sleep(1.0)  # a few more samples on the new connections
        stop.write_text("")
        host.wait(60)
        counts = json.loads(stats.read_text())

        problems = [f"{r}: {state}" for r, _, state in results if state != RunState.COMPLETED]
        for role, old, path, _ in jobs:
            data = root.secrets.kv.v2.read_secret_version(path=path, raise_on_deleted_version=True)[
                "data"
            ]["data"]
            now_role = f"{role}_b" if args.alternating else role
            if db.login_works(role, old) or not db.login_works(now_role, data["password"]):
                problems.append(f"{role}: old password accepted or new one refused")
    times = sorted(t for _, t, _ in results)
    total = {
        k: sum(c[k] for c in counts.values()) for k in ("ok", "failed", "reloads", "reload_failed")
    }
    print(
        f"rotated {len(results)} roles in {wall:.1f} s wall, {cpu:.1f} s CPU (engine process, "
        f"user+sys) with {args.workers} workers (per run: median {statistics.median(times):.2f} s, "
        f"max {times[-1]:.2f} s)"
    )
    print(
        f"consumers: {len(counts)}, queries sampled {total['ok'] + total['failed']}, failed "
        f"{total['failed']}, reloads {total['reloads']}, failed reloads {total['reload_failed']}"
    )
    for line in problems[:10]:
        print("  !", line)
    return 0 if not problems and total["failed"] == 0 and total["reload_failed"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
