"""postgres-role-password against a real PostgreSQL and a real OpenBao: a leaked
``postgres://app:OLD@…`` held in KV (fields ``url`` and ``password``), three consumer processes
that hold a connection, run ``SELECT 1`` every 100 ms and, on SIGHUP, read the store again and
reconnect. The run ends with the new password in every field of the current version, every
consumer on a session newer than the promotion, no failed consumer query, and the old password
refused by a real login; killed with SIGKILL at every step, it resumes to the same end state."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import hvac
import psycopg
import pytest

from leakguard.backends.postgres import Endpoint, login_works, new_password
from leakguard.graph.build import load
from leakguard.graph.interface import ConsumerInfo, EdgeKind, Reload, StoreRef
from leakguard.rotation.journal import Journal, Kind, RunState
from tests.integration.test_playbook_helpers import KillPoints, _drive, unique
from tests.support.databases import Postgres, postgres_bin, postgres_server
from tests.support.graphs import save_graph
from tests.support.servers import OpenBao

pytestmark = pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL is not installed")

PLAYBOOK = "postgres-role-password"
ADMIN_ENV = "LEAKGUARD_PG_ADMIN_PASSWORD"

CONSUMER = """
import json, os, signal, sys, time, urllib.parse
import hvac

vault, token, path, name, stats = sys.argv[1:6]
wanted = []
signal.signal(signal.SIGHUP, lambda *_: wanted.append(1))


def connect():
    client = hvac.Client(url=vault, token=token, timeout=5)
    data = client.secrets.kv.v2.read_secret_version(path=path, raise_on_deleted_version=True)
    url = data["data"]["data"]["url"]
    if url.startswith("mysql://"):  # MariaDB shows no application name: the address names it
        import pymysql
        parts = urllib.parse.urlsplit(url)
        return pymysql.connect(
            host=parts.hostname, port=parts.port, user=urllib.parse.unquote(parts.username),
            password=urllib.parse.unquote(parts.password), database=parts.path.lstrip("/"),
            autocommit=True, connect_timeout=5,
        )
    import psycopg
    return psycopg.connect(url, application_name=name, autocommit=True, connect_timeout=5)


counts = {"ok": 0, "failed": 0, "reloads": 0, "reload_failed": 0}
conn = connect()
while True:
    if wanted:
        wanted.clear()
        try:
            fresh = connect()  # the new connection first: the old one serves until it works
        except Exception:
            counts["reload_failed"] += 1
        else:
            conn.close()
            conn = fresh
            counts["reloads"] += 1
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
        counts["ok"] += 1
    except Exception:
        counts["failed"] += 1
        try:
            conn = connect()
        except Exception:
            pass
    tmp = stats + ".tmp"
    with open(tmp, "w") as out:
        json.dump(counts, out)
    os.replace(tmp, stats)
    time.sleep(0.1)
"""


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    with postgres_server(tmp_path_factory.mktemp("pg")) as server:
        yield server


@dataclass
class Consumers:
    """Small consumer processes, by application name, and their query counts."""

    tmp: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, openbao: OpenBao, path: str, names: list[str]) -> None:
        script = self.tmp / "consumer.py"
        script.write_text(textwrap.dedent(CONSUMER))
        for name in names:
            self.procs[name] = subprocess.Popen(
                [sys.executable, str(script), openbao.url, openbao.token, path, name,
                 str(self.stats_path(name))],
                stdout=subprocess.DEVNULL,
                stderr=open(self.tmp / f"{name}.err", "wb"),  # noqa: SIM115
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while not all(self.counts(n).get("ok", 0) > 0 for n in names):
            for name, proc in self.procs.items():
                assert proc.poll() is None, (self.tmp / f"{name}.err").read_text()
            assert time.monotonic() < deadline, "the consumers did not connect in 60 s"
            time.sleep(0.1)

    def stats_path(self, name: str) -> Path:
        return self.tmp / f"{name}.json"

    def counts(self, name: str) -> dict[str, int]:
        try:
            return dict(json.loads(self.stats_path(name).read_text()))
        except (OSError, ValueError):
            return {}

    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for name in self.procs:
            total.update(self.counts(name))
        return total

    def consumer_infos(self) -> list[ConsumerInfo]:
        return [
            ConsumerInfo(f"consumer:{name}", name, reload=Reload("command", f"kill -HUP {p.pid}"))
            for name, p in self.procs.items()
        ]

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.kill()
            proc.wait(10)


@dataclass
class Setup:
    tmp: Path
    db: Path
    path: str
    role: str
    old: str
    inputs: dict[str, Any]
    overrides: dict[str, dict[str, Any]]
    consumers: Consumers
    playbook: str = PLAYBOOK


def _setup(
    pg: Postgres,
    openbao: OpenBao,
    tmp: Path,
    names: list[str],
    playbook: str = PLAYBOOK,
    path: str | None = None,
) -> Setup:
    role, old = unique("app").replace("-", "_"), new_password()
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{old}'")
        conn.execute(f'CREATE TABLE "{role}_orders" (id int)')
        conn.execute(f'GRANT SELECT, INSERT ON "{role}_orders" TO "{role}"')
    path = path or unique("lg-pg/app")
    root = hvac.Client(url=openbao.url, token=openbao.token)
    root.secrets.kv.v2.create_or_update_secret(
        path=path, secret={"url": pg.url(role, old), "password": old, "pool": "5"}
    )
    consumers = Consumers(tmp)
    consumers.start(openbao, path, names)
    db = tmp / "lg.db"
    fp = save_graph(db, old, StoreRef("vault-kv2", path, "secret"), consumers.consumer_infos())
    inputs = {"credential": fp, "secret": path, "admin_user": pg.admin, "move_timeout": "30m"}
    overrides = {"vault": {"url": openbao.url, "token": openbao.token}}
    if playbook == "postgres-alternating-users":
        inputs["new_role"] = role + "_b"
    return Setup(tmp, db, path, role, old, inputs, overrides, consumers, playbook)


def _call(
    setup: Setup, action: str, run_id: str, env: dict[str, str], kill_once: Path | None = None
) -> dict[str, Any] | None:
    """The engine in a forked child (a real process, so SIGKILL is real), with kill points at
    every journal record, every OpenBao request and every PostgreSQL administration call."""
    spec = {
        "db": str(setup.db),
        "playbook": setup.playbook,
        "inputs": setup.inputs,
        "overrides": setup.overrides,
        "time_scale": 0.01,
        "action": action,
        "run_id": run_id,
    }
    out, err = setup.tmp / "driver.out", setup.tmp / "driver.err"
    out.unlink(missing_ok=True)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.environ.update(env)
            points = KillPoints(kill_once) if kill_once is not None else None
            if points is not None:
                points.install_http()
                _install_db_points(points)
            out.write_text(json.dumps(_drive(spec, points)))
            code = 0
        except BaseException:
            err.write_text(traceback.format_exc())
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return None
    assert os.waitstatus_to_exitcode(status) == 0, err.read_text()[-3000:]
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def _warm() -> None:
    """Import the engine and compile the detector rules once in this process, so each forked
    child (hundreds of them in the kill test) starts warm instead of importing them again."""
    from leakguard.graph import build  # noqa: F401
    from leakguard.rotation import invariants, runner  # noqa: F401
    from leakguard.rotation.actions.flow import _detector

    _detector()


MARIADB_ADMIN_CALLS = ("set_password", "marker", "sessions", "clone_role", "set_login",
                       "discard_old_password")  # fmt: skip


def _install_db_points(points: KillPoints) -> None:
    """A kill point after each administration call the server has carried out."""
    from leakguard.backends import mariadb, postgres

    for cls, method in [
        *(
            (postgres.PostgresAdmin, m)
            for m in ("set_password", "clone_role", "set_login", "sessions")
        ),
        *((mariadb.MariaDBAdmin, m) for m in MARIADB_ADMIN_CALLS),
    ]:
        original = getattr(cls, method)

        def wrapped(self: Any, *args: Any, _original: Any = original, _name: str = method) -> Any:
            result = _original(self, *args)
            points.hit(f"db:{_name}")
            return result

        setattr(cls, method, wrapped)


def _state(pg: Postgres, openbao: OpenBao, setup: Setup) -> dict[str, Any]:
    """What the store serves (by label) and what the server accepts."""
    kv = hvac.Client(url=openbao.url, token=openbao.token).secrets.kv.v2
    meta = kv.read_secret_metadata(path=setup.path)["data"]
    labels = []
    new = None
    role = setup.inputs.get("new_role", setup.role)
    for version in sorted(meta["versions"], key=int):
        data = kv.read_secret_version(
            path=setup.path, version=int(version), raise_on_deleted_version=True
        )["data"]["data"]
        if data == {"url": pg.url(setup.role, setup.old), "password": setup.old, "pool": "5"}:
            labels.append("seed")
        elif data["url"] == pg.url(role, data["password"]) and data["pool"] == "5":
            labels.append("new")
            new = data["password"]
        else:
            labels.append("UNKNOWN")
    assert new is not None and setup.old not in json.dumps(
        kv.read_secret_version(path=setup.path, raise_on_deleted_version=True)["data"]["data"]
    )
    endpoint = Endpoint(pg.host, pg.port, "postgres")
    return {
        "labels": labels,
        "new_logs_in": login_works(endpoint, role, new),
        "old_refused": not login_works(endpoint, setup.role, setup.old),
        "pending": (meta.get("custom_metadata") or {}).get("leakguard_pending"),
    }


def _sessions_since(pg: Postgres, role: str, since: str) -> dict[str, bool]:
    """application name -> every session of it began after ``since``."""
    moment = datetime.fromisoformat(since)
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT application_name, backend_start FROM pg_stat_activity WHERE usename = %s",
            (role,),
        ).fetchall()
    out: dict[str, bool] = {}
    for name, start in rows:
        out[name] = out.get(name, True) and start > moment
    return out


def _no_secret_anywhere(setup: Setup, pg: Postgres, values: list[str]) -> None:
    """Neither password in the findings store (journal), the audit trail, or the server log."""
    blobs = [setup.db.read_bytes(), (pg.datadir.parent / "postgres.log").read_bytes()]
    blobs += [p.read_bytes() for p in setup.db.parent.rglob("*.jsonl")]
    for value in values:
        assert all(value.encode() not in blob for blob in blobs)


def test_a_leaked_postgres_url_is_rotated_without_a_failed_query(
    pg: Postgres, openbao: OpenBao, tmp_path: Path
) -> None:
    names = ["orders-api", "billing-worker", "reports"]
    setup = _setup(pg, openbao, tmp_path, names)
    env = {ADMIN_ENV: pg.admin_password}
    gone = _connect_and_leave(pg, setup, "nightly-export")
    try:
        result = _call(setup, "start", "pg", env)
        assert result is not None and result["state"] == RunState.COMPLETED, result
        outputs = result["outputs"]
        assert sorted(outputs["consumers"]) == sorted(names)  # found in pg_stat_activity
        _assert_map_stage_kept_in_the_graph(pg, setup, "pg", names, gone)
        assert sorted(outputs["moved"]) == sorted(names) and outputs["old_refused"] is True
        state = _state(pg, openbao, setup)
        assert state == {"labels": ["seed", "new"], "new_logs_in": True, "old_refused": True,
                         "pending": None}  # fmt: skip
        with Journal.open(setup.db) as journal:
            promoted = journal.view("pg").steps["promote"].outputs["promoted_at"]
        assert _sessions_since(pg, setup.role, promoted) == dict.fromkeys(names, True)
        time.sleep(0.5)  # a few more samples on the new connections
        totals = setup.consumers.totals()
        print(f"\nconsumer samples: {totals['ok']} queries, {totals['failed']} failed, "
              f"{totals['reloads']} reloads, {totals['reload_failed']} failed reloads")  # fmt: skip
        assert totals["failed"] == 0 and totals["reload_failed"] == 0
        assert totals["reloads"] == len(names) and totals["ok"] > 0
        kv = hvac.Client(url=openbao.url, token=openbao.token).secrets.kv.v2
        new = kv.read_secret_version(path=setup.path, raise_on_deleted_version=True)["data"][
            "data"
        ]["password"]
        _no_secret_anywhere(setup, pg, [setup.old, new, pg.admin_password])
    finally:
        setup.consumers.stop()


def _connect_and_leave(pg: Postgres, setup: Setup, name: str) -> str:
    """A consumer that connects as the role and leaves before the run: only the server's
    connection log (given to the run as ``connection_log``) shows it."""
    with psycopg.connect(pg.dsn(setup.role, setup.old), application_name=name) as conn:
        conn.execute("SELECT 1")
    log = pg.datadir.parent / "postgres.log"
    deadline = time.monotonic() + 30
    while f"user={setup.role} database=postgres application_name={name}" not in log.read_text(
        errors="replace"
    ):
        assert time.monotonic() < deadline, "the connection is not in the server log in 30 s"
        time.sleep(0.05)
    setup.inputs["connection_log"] = str(log)
    return name


def _assert_map_stage_kept_in_the_graph(
    pg: Postgres, setup: Setup, run_id: str, names: list[str], gone: str
) -> None:
    """What the map stage found is in the run's --db after the run: ``graph blast-radius``
    lists the connected consumers and the one only the log shows, each ``uses`` edge with its
    evidence (application name, client address, backend start / last connection)."""
    from tests.support.cli import run_cli

    fp = setup.inputs["credential"]
    code, out = run_cli(["graph", "blast-radius", fp, "--db", str(setup.db), "-f", "json"])
    assert code == 0, out
    radius = json.loads(out)
    assert sorted(c["name"] for c in radius["consumers"]) == sorted([*names, gone])
    identity = f"postgres-role:{pg.host}:{pg.port}/{setup.role}"
    assert identity in radius["identities"]
    graph = load(setup.db)
    cred = f"credential:{fp}"
    [proof] = graph.evidence(cred, f"identity:{identity}", EdgeKind.AUTHENTICATES_AS)
    assert proof.detail == "the store entry's password fingerprint"
    for name in names:  # the inventory's services, now also proven connected as the role
        [seen] = [
            e
            for e in graph.evidence(f"consumer:{name}", cred, EdgeKind.USES)
            if e.source == f"pg_stat_activity:{pg.host}:{pg.port}"
        ]
        assert seen.detail.startswith(
            f"1 session(s) as {setup.role} from 127.0.0.1; application_name {name}; "
            "oldest backend start 20"
        ), seen.detail
    [logged] = [c["id"] for c in radius["consumers"] if c["name"] == gone]
    [evidence] = graph.evidence(logged, cred, EdgeKind.USES)
    assert evidence.source == f"log_connections:{pg.host}:{pg.port}"
    assert f"as {setup.role} from 127.0.0.1; application_name {gone}; last at 20" in (
        evidence.detail
    )
    with Journal.open(setup.db) as journal:
        step = journal.view(run_id).steps["sessions"]
    assert [c["name"] for c in step.outputs["logged_only"]] == [gone]


def _uses_of(setup: Setup) -> dict[str, list[str]]:
    """consumer -> the evidence sources of its ``uses`` edge to the credential, as stored."""
    graph = load(setup.db)
    cred = f"credential:{setup.inputs['credential']}"
    return {
        c: sorted(e.source for e in graph.evidence(c, cred, EdgeKind.USES))
        for c in graph.in_edges(cred, EdgeKind.USES)
    }


# the step that changes the role on the server, by playbook
WRITES = {PLAYBOOK: "set-password", "postgres-alternating-users": "clone"}


@pytest.mark.slow
@pytest.mark.parametrize("playbook", sorted(WRITES))
def test_killed_at_every_step_it_resumes_to_the_same_end_state(
    pg: Postgres, openbao: OpenBao, tmp_path: Path, playbook: str
) -> None:
    names = ["api", "worker"]
    env = {ADMIN_ENV: pg.admin_password}
    ref_dir, kill_dir = tmp_path / "ref", tmp_path / "kill"
    ref_dir.mkdir()
    kill_dir.mkdir()
    ref = _setup(pg, openbao, ref_dir, names, playbook)
    try:
        done = _call(ref, "start", "ref", env)
        assert done is not None and done["state"] == RunState.COMPLETED, done
        expected = _state(pg, openbao, ref)
    finally:
        ref.consumers.stop()
    with Journal.open(ref.db) as journal:
        total = len(journal.records("ref"))

    setup = _setup(pg, openbao, kill_dir, names, playbook)
    points = kill_dir / "killed-at.txt"
    _warm()
    try:
        result = _call(setup, "start", "k", env, kill_once=points)
        kills = 1
        while result is None:
            result = _call(setup, "resume", "k", env, kill_once=points)
            kills += 1
            assert kills <= 3000, "the run does not progress"
        assert result["state"] == RunState.COMPLETED, result
        tried = kills - 1
        kinds = Counter(line.split(":", 1)[0] for line in points.read_text().splitlines())
        assert tried >= total and kinds["db"] >= 1
        assert _state(pg, openbao, setup) == expected
        # the map stage's graph facts: saved once per consumer, however often it ran again
        uses = {f"consumer:{n}": [f"pg_stat_activity:{pg.host}:{pg.port}"] for n in names}
        assert _uses_of(ref) == uses and _uses_of(setup) == uses
        with Journal.open(setup.db) as journal:
            view = journal.view("k")
            promoted = view.steps["promote"].outputs["promoted_at"]
            results = [
                r.step_id
                for r in journal.records("k")
                if r.kind == Kind.RESULT and r.state == "succeeded"
            ]
        assert results.count("stage") == 1 and results.count("promote") == 1
        assert results.count(WRITES[playbook]) == 1
        role = setup.inputs.get("new_role", setup.role)
        assert _sessions_since(pg, role, promoted) == dict.fromkeys(names, True)
        totals = setup.consumers.totals()
        print(f"\nkill -9 {playbook}: {tried} points tried ({dict(kinds)}); resumed to the same "
              f"end state; consumer samples: {totals['ok']} queries, {totals['failed']} failed, "
              f"{totals['reload_failed']} failed reloads")  # fmt: skip
        assert totals["failed"] == 0 and totals["reload_failed"] == 0
    finally:
        setup.consumers.stop()


def test_alternating_users_move_consumers_to_a_clone_then_back(
    pg: Postgres, openbao: OpenBao, tmp_path: Path
) -> None:
    """Role A leaks: consumers move to B (a clone with A's privileges); A's login is disabled
    only once no session of A is left. The next rotation moves them back to A."""
    names = ["api", "worker"]
    setup = _setup(pg, openbao, tmp_path, names, "postgres-alternating-users")
    role_a, role_b = setup.role, setup.role + "_b"
    env = {ADMIN_ENV: pg.admin_password}
    kv = hvac.Client(url=openbao.url, token=openbao.token).secrets.kv.v2
    endpoint = Endpoint(pg.host, pg.port, "postgres")
    try:
        result = _call(setup, "start", "ab", env)
        assert result is not None and result["state"] == RunState.COMPLETED, result
        assert result["outputs"]["old_role"] == role_a and result["outputs"]["role"] == role_b
        entry = kv.read_secret_version(path=setup.path, raise_on_deleted_version=True)
        data = entry["data"]["data"]
        assert data["url"] == pg.url(role_b, data["password"]) and setup.old not in str(data)
        assert set(_sessions_since(pg, role_b, "2000-01-01T00:00:00+00:00")) == set(names)
        assert _sessions_since(pg, role_a, "2000-01-01T00:00:00+00:00") == {}
        assert not login_works(endpoint, role_a, setup.old)  # NOLOGIN now
        with psycopg.connect(pg.dsn(role_b, data["password"]), autocommit=True) as conn:
            conn.execute(f'INSERT INTO "{role_a}_orders" VALUES (1)')  # A's privileges

        # the next leak (or schedule) switches back to A, with a fresh password
        leaked_b = data["password"]
        setup.inputs.update(
            new_role=role_a, credential=save_graph(
                setup.db, leaked_b, StoreRef("vault-kv2", setup.path, "secret"),
                setup.consumers.consumer_infos()))  # fmt: skip
        result = _call(setup, "start", "ba", env)
        assert result is not None and result["state"] == RunState.COMPLETED, result
        data = kv.read_secret_version(path=setup.path, raise_on_deleted_version=True)["data"]
        back = data["data"]
        assert back["url"] == pg.url(role_a, back["password"]) and back["password"] != setup.old
        assert set(_sessions_since(pg, role_a, "2000-01-01T00:00:00+00:00")) == set(names)
        assert not login_works(endpoint, role_b, leaked_b) and not login_works(
            endpoint, role_a, setup.old
        )
        assert login_works(endpoint, role_a, back["password"])
        totals = setup.consumers.totals()
        print(f"\nalternating users: {totals['ok']} queries, {totals['failed']} failed, "
              f"{totals['reloads']} reloads, {totals['reload_failed']} failed reloads")  # fmt: skip
        assert totals["failed"] == 0 and totals["reload_failed"] == 0
        assert totals["reloads"] == 2 * len(names)
    finally:
        setup.consumers.stop()


def test_the_documented_sequence_from_scan_to_verified_rotation(
    pg: Postgres, openbao: OpenBao, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/playbooks.md, "Database passwords (PostgreSQL)": the sh block read from the page
    and run as written (scan, graph build, blast radius, plan, run, status) against the real
    servers; consumers come from pg_stat_activity. Filled in: the fingerprint, the entry's name
    (unique per test), the servers' addresses and the passwords."""
    from leakguard.redact import fingerprint
    from tests.support.db_docs import run_documented

    names = ["orders-api", "billing-worker"]
    setup = _setup(pg, openbao, tmp_path, names, path=unique("app/db"))
    ops = tmp_path / "ops"  # the operator's directory: app-repo, leakguard.yaml, lg.db
    (ops / "app-repo" / "config").mkdir(parents=True)
    (ops / "app-repo" / "config" / ".env").write_text(
        f"DATABASE_URL={pg.url(setup.role, setup.old)}\n"
    )
    (ops / "leakguard.yaml").write_text(_inventory(setup))
    monkeypatch.chdir(ops)
    fp = fingerprint(setup.old)
    seen: dict[str, Any] = {}

    def check(argv: list[str], code: int, output: str) -> None:
        assert code == (1 if argv[0] == "scan" else 0), f"{argv}: exit {code}\n{output}"
        if argv[0] == "scan":
            [finding] = [
                f for f in json.loads((ops / "report.json").read_text())["findings"]
                if f["rule_id"] == "postgres-url-password"
            ]  # fmt: skip
            assert finding["rotation"] == PLAYBOOK and finding["fingerprint"] == fp
        if argv[:2] == ["graph", "blast-radius"]:
            assert all(name in output for name in names), output
        if argv[:2] == ["playbook", "status"]:
            seen["status"] = json.loads(output)

    try:
        done = run_documented(
            "## Database passwords (PostgreSQL)",
            {"sha256:93ab…": fp, "app/db": setup.path, "db.internal:5432": f"{pg.host}:{pg.port}"},
            {"VAULT_ADDR": openbao.url, "VAULT_TOKEN": openbao.token, ADMIN_ENV: pg.admin_password},
            monkeypatch,
            check,
        )
        assert [a[:2] for a, _, _ in done][-3:] == [
            ["playbook", "plan"], ["playbook", "run"], ["playbook", "status"]
        ]  # fmt: skip
        status = seen["status"]
        assert status["state"] == "completed"
        assert sorted(status["outputs"]["consumers"]) == sorted(names)  # pg_stat_activity
        assert sorted(status["outputs"]["moved"]) == sorted(names)
        assert status["outputs"]["old_refused"] is True
        graph = load(ops / "lg.db")  # graph build --database: the services connected as the role
        role = f"identity:postgres-role:{pg.host}:{pg.port}/{setup.role}"
        for name in names:
            [seen_on] = graph.evidence(f"consumer:{name}", role, EdgeKind.AUTHENTICATES_AS)
            assert seen_on.source == f"pg_stat_activity:{pg.host}:{pg.port}"
        with Journal.open(ops / "lg.db") as journal:  # the store listing found the password
            preflight = journal.view(status["run_id"]).options["preflight"]
        assert preflight["fields"] == {f"vault:{setup.path}": ["password"]}
        assert not login_works(Endpoint(pg.host, pg.port, "postgres"), setup.role, setup.old)
        totals = setup.consumers.totals()
        assert totals["failed"] == 0 and totals["reload_failed"] == 0
        shown = "".join(output for _, _, output in done)
        assert setup.old not in shown and pg.admin_password not in shown
    finally:
        setup.consumers.stop()


def _inventory(setup: Setup) -> str:
    """leakguard.yaml: each consumer process a service reading the entry, reloaded by SIGHUP."""
    services = "".join(
        f"  - name: {name}\n    reload: {{restart: kill -HUP {proc.pid}}}\n"
        f"    reads: [{{vault: secret/{setup.path}}}]\n"
        for name, proc in setup.consumers.procs.items()
    )
    return f"services:\n{services}"


def test_a_consumer_that_never_reconnects_holds_the_run_and_rollback_restores_the_old_login(
    pg: Postgres, openbao: OpenBao, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One consumer has no reload: its session stays older than the promotion, so the run
    pauses (never completes) naming it; rolling back gives the role its old password and the
    store its old value again, and no consumer query fails on the way."""
    from leakguard.rotation import runner as engine

    names = ["api", "legacy-cron"]
    setup = _setup(pg, openbao, tmp_path, names)
    kv = hvac.Client(url=openbao.url, token=openbao.token).secrets.kv.v2
    infos = setup.consumers.consumer_infos()
    infos[1] = ConsumerInfo(infos[1].id, infos[1].name)  # no reload known
    setup.inputs["credential"] = save_graph(
        setup.db, setup.old, StoreRef("vault-kv2", setup.path, "secret"), infos
    )
    setup.inputs["move_timeout"] = "2m"  # 1.2 s at the test's time scale
    env = {ADMIN_ENV: pg.admin_password}
    endpoint = Endpoint(pg.host, pg.port, "postgres")
    try:
        result = _call(setup, "start", "stuck", env)
        assert result is not None and result["state"] == RunState.PAUSED, result
        assert "sessions-moved" in result["diagnostic"] and "legacy-cron" in result["diagnostic"]
        assert not login_works(endpoint, setup.role, setup.old)  # the new password is set

        monkeypatch.setenv(ADMIN_ENV, pg.admin_password)
        options = engine.EngineOptions(yes=True, backend_overrides=setup.overrides)
        with Journal.open(setup.db) as journal:
            view = engine.rollback_run(journal, "stuck", options)
        assert view.state == RunState.ROLLED_BACK, view.diagnostic
        current = kv.read_secret_version(path=setup.path, raise_on_deleted_version=True)
        assert current["data"]["data"]["password"] == setup.old  # copied forward
        assert login_works(endpoint, setup.role, setup.old)
        setup.consumers.procs["api"].send_signal(signal.SIGHUP)  # back to the old value
        deadline = time.monotonic() + 30
        while (
            setup.consumers.counts("api").get("reloads", 0)
            + setup.consumers.counts("api").get("reload_failed", 0)
            < 2
        ):
            assert time.monotonic() < deadline, "api did not reload in 30 s"
            time.sleep(0.1)
        totals = setup.consumers.totals()
        assert totals["failed"] == 0 and totals["reload_failed"] == 0
    finally:
        setup.consumers.stop()
