"""`leakguard graph build --database DSN` against a real PostgreSQL and a real MariaDB: consumer
processes hold connections as a role whose URL leaked (and one as another role); the graph keeps
the role as an identity node, links the leaked URL's credential to it, and ``blast-radius`` of
that credential lists the applications connected as the role, read back from the graph store.
The server is only read."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import hvac
import psycopg
import pytest

from leakguard.backends.mariadb import native_password_hash
from leakguard.backends.postgres import new_password
from leakguard.graph.build import load
from leakguard.graph.databases import DatabaseTarget, record_sessions
from leakguard.graph.interface import ConsumerInfo, EdgeKind, Evidence
from leakguard.graph.queries import Graph
from leakguard.redact import fingerprint
from tests.integration.test_playbook_helpers import unique
from tests.support.cli import run_cli
from tests.support.databases import (
    MariaDB,
    mariadb_bin,
    mariadb_server,
    postgres_bin,
    postgres_server,
)
from tests.support.servers import OpenBao

HOLDER = """
import sys, time
kind, url, name, ready = sys.argv[1:5]
if kind == "pg":
    import psycopg
    conn = psycopg.connect(url, application_name=name, autocommit=True)
    conn.execute("SELECT 1")
else:
    import pymysql, urllib.parse
    p = urllib.parse.urlsplit(url)
    conn = pymysql.connect(host=p.hostname, port=p.port, user=p.username, password=p.password,
                           database=p.path.lstrip("/"), autocommit=True)
    conn.cursor().execute("SELECT 1")
open(ready, "w").write("ok")
while True:
    time.sleep(1)
"""


class Holders:
    """Processes that each hold one connection open until stopped."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.script = tmp / "holder.py"
        self.script.write_text(textwrap.dedent(HOLDER))
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, kind: str, url: str, name: str) -> None:
        ready = self.tmp / f"{name}-{len(self.procs)}.ready"
        err = self.tmp / f"{name}-{len(self.procs)}.err"
        with open(err, "wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, str(self.script), kind, url, name, str(ready)],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        self.procs.append(proc)
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, err.read_text()
            assert time.monotonic() < deadline, f"{name} did not connect in 60 s"
            time.sleep(0.05)

    def stop(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait(10)


@pytest.fixture
def holders(tmp_path: Path) -> Iterator[Holders]:
    found = Holders(tmp_path)
    yield found
    found.stop()


def _scan(tmp: Path, url: str) -> tuple[Path, str]:
    """A repository holding ``url``, scanned to a JSON report; the report and the leaked
    credential's fingerprint as the scanner gives it."""
    repo = tmp / "repo"
    (repo / "config").mkdir(parents=True)
    (repo / "config" / ".env").write_text(f"DATABASE_URL={url}\n")
    report = tmp / "report.json"
    code, out = run_cli(["scan", str(repo), "-f", "json", "-o", str(report)])
    assert code == 1, out
    [finding] = json.loads(report.read_text())["findings"]
    return report, str(finding["fingerprint"])


def _radius(db: Path, fp: str) -> dict[str, object]:
    code, out = run_cli(["graph", "blast-radius", fp, "--db", str(db), "-f", "json"])
    assert code == 0, out
    radius: dict[str, object] = json.loads(out)
    return radius


@pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL is not installed")
def test_blast_radius_of_a_leaked_postgres_url_lists_the_applications_connected_as_its_role(
    tmp_path: Path, holders: Holders, monkeypatch: pytest.MonkeyPatch
) -> None:
    with postgres_server(tmp_path / "pg") as pg:
        role, other, password = unique("app").replace("-", "_"), unique("etl"), new_password()
        other = other.replace("-", "_")
        with psycopg.connect(pg.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
            conn.execute(f"CREATE ROLE \"{other}\" LOGIN PASSWORD '{password}x'")
        url = pg.url(role, password)
        for name in ("orders-api", "billing-worker", "orders-api"):  # two sessions of one app
            holders.start("pg", url, name)
        holders.start("pg", pg.url(other, password + "x"), "nightly-etl")
        report, fp = _scan(tmp_path, url)
        assert fp == fingerprint(password)  # the credential is the URL's password
        db = tmp_path / "lg.db"
        monkeypatch.setenv("LEAKGUARD_PG_ADMIN_PASSWORD", pg.admin_password)
        dsn = f"postgres://{pg.admin}@{pg.host}:{pg.port}/postgres"
        code, out = run_cli(["graph", "build", "--db", str(db), "--scan-report", str(report),
                             "--database", dsn, "-f", "json"])  # fmt: skip
        assert code == 0, out
        assert json.loads(out)["added"]["database-consumers"] == 3  # two apps of role, one etl
        radius = _radius(db, fp)
        consumers = radius["consumers"]
        assert isinstance(consumers, list)
        assert sorted(c["name"] for c in consumers) == ["billing-worker", "orders-api"]
        identity = f"postgres-role:{pg.host}:{pg.port}/{role}"
        assert identity in radius["identities"]  # type: ignore[operator]
        graph = load(db)  # what the graph store kept: the role, its link, the evidence
        cred = f"credential:{fp}"
        assert graph.edge(cred, f"identity:{identity}", EdgeKind.AUTHENTICATES_AS) is not None
        [orders] = [c["id"] for c in consumers if c["name"] == "orders-api"]
        [evidence] = graph.evidence(orders, cred, EdgeKind.USES)
        assert evidence.source == f"pg_stat_activity:{pg.host}:{pg.port}"
        assert evidence.detail.startswith(f"2 session(s) as {role} from 127.0.0.1")
        assert "nightly-etl" not in out and pg.admin_password not in out
        with psycopg.connect(pg.dsn(), autocommit=True) as conn:  # read-only: nothing changed
            row = conn.execute(
                "SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (role,)
            ).fetchone()
        assert row == (True,)


@pytest.fixture(scope="module")
def maria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    if mariadb_bin() is None:
        pytest.skip("MariaDB is not installed")
    with mariadb_server(tmp_path_factory.mktemp("mariadb")) as server:
        yield server


def test_blast_radius_of_a_leaked_mysql_url_lists_the_addresses_connected_as_its_user(
    tmp_path: Path, holders: Holders, monkeypatch: pytest.MonkeyPatch, maria: MariaDB
) -> None:
    user, password = unique("shop").replace("-", "_")[:14], new_password()
    with maria.connect() as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE USER %s@'%%' IDENTIFIED BY PASSWORD %s", (user, native_password_hash(password))
        )
        cur.execute(f"GRANT SELECT ON lgdb.* TO `{user}`@'%'")
    url = maria.url(user, password)
    for name in ("api", "worker"):
        holders.start("maria", url, name)
    report, fp = _scan(tmp_path, url)
    db = tmp_path / "lg.db"
    monkeypatch.setenv("LEAKGUARD_MARIADB_ADMIN_PASSWORD", maria.admin_password)
    before = maria.general_log.stat().st_size
    dsn = f"mysql://{maria.admin}@{maria.host}:{maria.port}/"
    code, out = run_cli(["graph", "build", "--db", str(db), "--scan-report", str(report),
                         "--database", dsn])  # fmt: skip
    assert code == 0, out
    radius = _radius(db, fp)
    consumers = radius["consumers"]
    assert isinstance(consumers, list)
    # MariaDB shows no application name: the consumers are named by their address
    assert [c["name"] for c in consumers] == ["127.0.0.1"]
    assert f"mysql-user:{maria.host}:{maria.port}/{user}" in radius["identities"]  # type: ignore[operator]
    graph = load(db)
    [evidence] = graph.evidence(consumers[0]["id"], f"credential:{fp}", EdgeKind.USES)
    assert evidence.source == f"processlist:{maria.host}:{maria.port}"
    assert evidence.detail.startswith(f"2 session(s) as {user} from 127.0.0.1")
    with open(maria.general_log, "rb") as log:  # the build only read the server
        log.seek(before)
        statements = log.read().decode(errors="replace")
    assert "PROCESSLIST" in statements
    for write in ("ALTER ", "GRANT ", "CREATE ", "KILL ", "DROP ", "SET PASSWORD"):
        assert write not in statements.upper()
    assert password not in statements and maria.admin_password not in statements


def test_a_dsn_with_a_password_is_refused_in_one_line(tmp_path: Path) -> None:
    secret = new_password()
    dsn = f"postgres://admin:{secret}@127.0.0.1:5432/postgres"
    code, out = run_cli(["graph", "build", "--db", str(tmp_path / "lg.db"), "--database", dsn])
    assert code != 0 and "holds a password" in out and secret not in out
    assert "Traceback" not in out
    code, out = run_cli(["graph", "build", "--db", str(tmp_path / "lg.db"),
                         "--database", "redis://127.0.0.1:6379/"])  # fmt: skip
    assert code != 0 and "--database takes" in out and "Traceback" not in out


def test_without_the_administrators_password_it_says_which_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEAKGUARD_MARIADB_ADMIN_PASSWORD", raising=False)
    code, out = run_cli(["graph", "build", "--db", str(tmp_path / "lg.db"),
                         "--database", "mysql://lg_admin@127.0.0.1:3306/"])  # fmt: skip
    assert code != 0 and "$LEAKGUARD_MARIADB_ADMIN_PASSWORD" in out and "Traceback" not in out


@dataclass(frozen=True)
class _Seen:
    """A session as a backend reports it (the fields of ``postgres.Session``)."""

    pid: int
    role: str
    client_addr: str
    application_name: str
    backend_start: str = "2026-12-03T10:00:00.000000Z"

    @property
    def consumer(self) -> str:
        return self.application_name or self.client_addr


def _url_credential(graph: Graph, password: str, user: str, host: str) -> str:
    return graph.add_credential(
        fingerprint(password),
        parts={"password": fingerprint(password), "user": fingerprint(user)},
        rule_id="postgres-url-password",
        rotation="postgres-role-password",
        id_user=user,
        id_host=host,
    )


def test_a_url_of_another_host_or_role_is_not_linked_and_a_declared_service_is_reused() -> None:
    graph = Graph()
    here = _url_credential(graph, new_password(), "app", "db.internal")
    elsewhere = _url_credential(graph, new_password(), "app", "db.staging")
    other_role = _url_credential(graph, new_password(), "etl", "db.internal")
    declared = graph.add_consumer(
        ConsumerInfo("consumer:orders-api", "orders-api"), Evidence("inventory:x", "2026-01-01")
    )
    target = DatabaseTarget.parse("postgres://lg_admin@DB.internal:6432/app")
    seen = [
        _Seen(1, "app", "10.0.0.5", "orders-api"),
        _Seen(2, "app", "10.0.0.6", "reports"),
        _Seen(3, "app", "10.0.0.6", "reports"),
        _Seen(4, "app", "10.0.0.7", "leakguard"),  # LeakGuard's own connection: not a consumer
    ]
    assert record_sessions(graph, target, seen, "2026-12-03T10:05:00.000000Z") == 2
    radius = graph.blast_radius(here)
    assert sorted(c.name for c in radius.consumers) == ["orders-api", "reports"]
    assert declared in [c.id for c in radius.consumers]  # the inventory's service, not a copy
    assert "postgres-role:db.internal:6432/app" in radius.identities
    assert graph.blast_radius(elsewhere).consumers == ()  # same role name, another server
    assert graph.blast_radius(other_role).consumers == ()  # another role, no session
    [reports] = [c.id for c in radius.consumers if c.name == "reports"]
    [evidence] = graph.evidence(reports, here, EdgeKind.USES)
    assert evidence.detail == (
        "2 session(s) as app from 10.0.0.6; application_name reports; "
        "oldest backend start 2026-12-03T10:00:00.000000Z"
    )


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("postgres://lg_admin@db:6432/app", ("postgres", "db", 6432, "app", "lg_admin")),
        ("postgresql://db", ("postgres", "db", 5432, "postgres", "postgres")),
        ("mysql://root@10.0.0.9/", ("mysql", "10.0.0.9", 3306, "", "root")),
        ("mariadb://ops%40corp@db:3307/", ("mysql", "db", 3307, "", "ops@corp")),
    ],
)
def test_a_dsn_names_the_engine_server_and_administrator(
    dsn: str, expected: tuple[object, ...]
) -> None:
    t = DatabaseTarget.parse(dsn)
    assert (t.engine, t.host, t.port, t.database, t.user) == expected


def test_the_runs_map_stage_links_the_credential_to_its_role_by_the_password_fingerprint(
    tmp_path: Path,
    holders: Holders,
    maria: MariaDB,
    openbao: OpenBao,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``mariadb.sessions`` in a run: the store entry's password has the leaked credential's
    fingerprint, so the credential is linked to the user (evidence: the password fingerprint)
    and the addresses connected as the user use it. A credential the entry does not hold gets
    the consumers (the run was asked about it) but no proof of the link."""
    from leakguard.backends.vault_kv2 import VaultKV2Store
    from leakguard.rotation.actions import REGISTRY
    from tests.unit.rotation.actions.context import Ctx

    user, password = unique("run").replace("-", "_")[:14], new_password()
    with maria.connect() as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE USER %s@'%%' IDENTIFIED BY PASSWORD %s", (user, native_password_hash(password))
        )
        cur.execute(f"GRANT SELECT ON lgdb.* TO `{user}`@'%'")
    url = maria.url(user, password)
    holders.start("maria", url, "api")
    path = unique("lg-graph/db")
    hvac.Client(url=openbao.url, token=openbao.token).secrets.kv.v2.create_or_update_secret(
        path=path, secret={"url": url}
    )
    monkeypatch.setenv("LEAKGUARD_MARIADB_ADMIN_PASSWORD", maria.admin_password)
    identity = f"identity:mysql-user:{maria.host}:{maria.port}/{user}"
    for leaked, proven in ((password, True), (new_password(), False)):
        graph = Graph()
        cred = graph.add_credential(fingerprint(leaked), parts={"password": fingerprint(leaked)})
        ctx = Ctx(
            stores={"vault": VaultKV2Store(openbao.url, openbao.token, timeout=5)},
            graph=graph,
            real_time=True,
        )
        out = ctx.run(
            REGISTRY["mariadb.sessions"],
            {"store": "vault", "name": path, "credential": fingerprint(leaked),
             "admin_user": maria.admin},
        )  # fmt: skip
        assert out["recorded_in_graph"] is True and out["names"] == ["127.0.0.1"]
        [consumer] = graph.blast_radius(cred).consumers
        assert consumer.name == "127.0.0.1"
        link = graph.evidence(cred, identity, EdgeKind.AUTHENTICATES_AS)
        assert [e.detail for e in link] == (
            ["the store entry's password fingerprint"] if proven else []
        )


# --- PostgreSQL connection logs (log_connections = on) -----------------------------------------


def _wait_for_line(log: Path, needle: str) -> None:
    deadline = time.monotonic() + 30
    while needle not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"{needle!r} not in the server log in 30 s"
        time.sleep(0.05)


@pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL is not installed")
def test_a_consumer_seen_only_in_the_connection_log_is_in_the_blast_radius(
    tmp_path: Path, holders: Holders, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's own log: ``nightly-export`` connected as the role and left before the
    build, so pg_stat_activity cannot show it; ``--database-log`` adds it, with the log's
    evidence (its address, application name and the time of its last connection)."""
    with postgres_server(tmp_path / "pg") as pg:
        role, password = unique("app").replace("-", "_"), new_password()
        with psycopg.connect(pg.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
        url = pg.url(role, password)
        holders.start("pg", url, "orders-api")
        before = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with psycopg.connect(pg.dsn(role, password), application_name="nightly-export") as gone:
            gone.execute("SELECT 1")
        log = pg.datadir.parent / "postgres.log"
        _wait_for_line(log, f"user={role} database=postgres application_name=nightly-export")
        report, fp = _scan(tmp_path, url)
        db = tmp_path / "lg.db"
        monkeypatch.setenv("LEAKGUARD_PG_ADMIN_PASSWORD", pg.admin_password)
        dsn = f"postgres://{pg.admin}@{pg.host}:{pg.port}/postgres"
        args = ["graph", "build", "--db", str(db), "--scan-report", str(report), "--database",
                dsn, "--database-log", str(log), "-f", "json"]  # fmt: skip
        code, out = run_cli(args)
        assert code == 0, out
        consumers = _radius(db, fp)["consumers"]
        assert isinstance(consumers, list)
        assert sorted(c["name"] for c in consumers) == ["nightly-export", "orders-api"]
        graph = load(db)
        cred = f"credential:{fp}"
        by_name = {c["name"]: c["id"] for c in consumers}
        [logged] = graph.evidence(by_name["nightly-export"], cred, EdgeKind.USES)
        assert logged.source == f"log_connections:{pg.host}:{pg.port}"
        assert logged.detail.startswith(
            f"1 connection(s) authorized as {role} from 127.0.0.1; "
            "application_name nightly-export; last at "
        ) and logged.detail.endswith("(postgres.log)")
        assert before <= logged.observed_at <= datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        sources = sorted(
            e.source for e in graph.evidence(by_name["orders-api"], cred, EdgeKind.USES)
        )
        assert sources == [f"log_connections:{pg.host}:{pg.port}",
                           f"pg_stat_activity:{pg.host}:{pg.port}"]  # fmt: skip
        code, again = run_cli(args)  # the same log again: evidence refreshed, nothing added
        assert code == 0 and json.loads(again)["graph"] == json.loads(out)["graph"]
        assert password not in out and pg.admin_password not in out


HOSTILE_LOG = (
    b"2026-12-03 10:00:00.100 UTC [101] LOG:  connection received: host=10.0.0.5 port=5000\n"
    b"2026-12-03 10:00:00.200 UTC [101] LOG:  connection authorized: user=app database=shop "
    b"application_name=orders api SSL enabled (protocol=TLSv1.3, cipher=X, bits=256)\n"
    # a statement that only quotes the message is not a connection
    b"2026-12-03 10:00:01 UTC [102] STATEMENT:  SELECT 'LOG:  connection authorized: user=x'\n"
    # too long: skipped whole, with what follows it on the line
    b"2026-12-03 10:00:02 UTC [103] LOG:  connection authorized: user=evil database="
    + b"d"
    * 100_000
    + b"\n"
    # brackets and digits by the thousand: no backtracking, no pid, no address
    b"2026-12-03 10:00:03+05:30 "
    + b"[1"
    * 3000
    + b" LOG:  connection authorized: user=app database=shop\n"
    # a named local zone is not a UTC time; control characters are dropped; bad UTF-8 is kept safe
    b"2026-12-03 10:00:04 CET [104] LOG:  connection authorized: user=app database=shop "
    b"application_name=re\x1b[31mports\xff\n"
    b"\x00\xff garbage without a newline at the end"
)


def test_a_hostile_connection_log_yields_only_its_connection_lines(tmp_path: Path) -> None:
    from leakguard.graph.databases import LoggedConnection, read_connection_log

    log = tmp_path / "postgres.log"
    log.write_bytes(HOSTILE_LOG)
    assert read_connection_log(log) == [
        LoggedConnection("app", "shop", "orders api", "10.0.0.5", "2026-12-03T10:00:00.200000Z"),
        LoggedConnection("app", "shop", "", "", "2026-12-03T04:30:03.000000Z"),
        LoggedConnection("app", "shop", "re[31mports\ufffd", "", ""),
    ]


def test_an_unreadable_connection_log_is_one_line_before_the_server_is_reached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAKGUARD_PG_ADMIN_PASSWORD", "unused")
    monkeypatch.setenv("LEAKGUARD_MARIADB_ADMIN_PASSWORD", "unused")
    dsn = "postgres://lg_admin@127.0.0.1:9/postgres"  # nothing listens: the log is read first
    for bad in (tmp_path / "missing.log", tmp_path):
        code, out = run_cli(["graph", "build", "--db", str(tmp_path / "lg.db"), "--database",
                             dsn, "--database-log", str(bad)])  # fmt: skip
        assert code != 0 and f"the connection log {bad} cannot be read" in out, out
        assert "Traceback" not in out and len(out.strip().splitlines()) <= 2
    code, out = run_cli(["graph", "build", "--db", str(tmp_path / "lg.db"),
                         "--database-log", str(tmp_path / "x.log")])  # fmt: skip
    assert code != 0 and "--database-log needs exactly one --database" in out
    mysql = "mysql://root@127.0.0.1:9/"
    code, out = run_cli(["graph", "build", "--db", str(tmp_path / "lg.db"), "--database",
                         mysql, "--database-log", str(tmp_path / "x.log")])  # fmt: skip
    assert code != 0 and "a postgres:// one" in out


def test_the_runs_map_step_stops_on_an_unreadable_connection_log_before_the_server(
    tmp_path: Path, openbao: OpenBao, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``postgres.sessions`` with ``connection_log``: the log is read first, so a bad file is
    one message naming it (the step fails, the run pauses in the map stage, nothing written)."""
    from leakguard.backends.vault_kv2 import VaultKV2Store
    from leakguard.errors import GraphError
    from leakguard.rotation.actions import REGISTRY
    from tests.unit.rotation.actions.context import Ctx

    password = new_password()
    path = unique("lg-graph/log")
    url = f"postgres://app:{password}@127.0.0.1:9/postgres"  # nothing listens there
    hvac.Client(url=openbao.url, token=openbao.token).secrets.kv.v2.create_or_update_secret(
        path=path, secret={"url": url}
    )
    monkeypatch.setenv("LEAKGUARD_PG_ADMIN_PASSWORD", "unused")
    ctx = Ctx(stores={"vault": VaultKV2Store(openbao.url, openbao.token, timeout=5)})
    with pytest.raises(GraphError) as failed:
        ctx.run(
            REGISTRY["postgres.sessions"],
            {"store": "vault", "name": path, "connection_log": str(tmp_path)},
        )
    assert failed.value.message == f"the connection log {tmp_path} cannot be read: Is a directory"
    assert password not in str(failed.value.diagnostics())
