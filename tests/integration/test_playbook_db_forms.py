"""From a scanned file holding a JDBC URL or a SQLAlchemy driver URL to a verified rotation on a
real server: the finding names the playbook its rule's ``rotation_by`` chose (not the manual
``database-password``), and that playbook, run from the command line with the finding's
fingerprint and the store entry holding the same string, rotates the role on a real
PostgreSQL / MariaDB: the entry keeps its form with the new password, the new password logs in,
and the old one is refused by a real login."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import psycopg
import pytest

from leakguard.backends import mariadb, postgres
from leakguard.backends.postgres import new_password
from leakguard.graph.build import load
from leakguard.graph.interface import EdgeKind
from leakguard.redact import fingerprint
from tests.integration.test_playbook_helpers import unique
from tests.support.cli import run_cli
from tests.support.databases import (
    MariaDB,
    Postgres,
    mariadb_bin,
    mariadb_server,
    postgres_bin,
    postgres_server,
)
from tests.support.servers import OpenBao


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    if postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed")
    with postgres_server(tmp_path_factory.mktemp("pg")) as server:
        yield server


@pytest.fixture(scope="module")
def maria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    if mariadb_bin() is None:
        pytest.skip("MariaDB is not installed")
    with mariadb_server(tmp_path_factory.mktemp("mariadb")) as server:
        yield server


def _scan(repo: Path, report: Path, rule_id: str, old: str) -> dict[str, Any]:
    code, output = run_cli(["scan", str(repo), "-f", "json", "-o", str(report)])
    assert code == 1, output
    findings = json.loads(report.read_text())["findings"]
    [finding] = [f for f in findings if f["fingerprint"] == fingerprint(old)]
    assert finding["rule_id"] == rule_id
    return dict(finding)


def _rotate(
    tmp: Path,
    openbao: OpenBao,
    monkeypatch: pytest.MonkeyPatch,
    *,
    leaked: str,
    rule_id: str,
    old: str,
    database: str,
    admin_env: tuple[str, str],
    admin_user: str,
    identity: str,
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Scan a repository holding ``leaked``, store it in KV, build the graph, run the playbook
    the finding names. Returns the finding, the run's status and the entry's new value."""
    repo, prefix = tmp / "repo", unique("forms")
    repo.mkdir()
    (repo / "application.properties").write_text(f"spring.datasource.url={leaked}\n")
    report, db = tmp / "report.json", tmp / "lg.db"
    finding = _scan(repo, report, rule_id, old)
    path = f"{prefix}/db"
    hvac.Client(url=openbao.url, token=openbao.token).secrets.kv.v2.create_or_update_secret(
        path=path, secret={"url": leaked}
    )
    monkeypatch.setenv("VAULT_ADDR", openbao.url)
    monkeypatch.setenv("VAULT_TOKEN", openbao.token)
    monkeypatch.setenv(*admin_env)
    code, output = run_cli(
        ["graph", "build", "--db", str(db), "--scan-report", str(report), "--vault",
         openbao.url, "--vault-prefix", f"{prefix}/", "--database", database]
    )  # fmt: skip
    assert code == 0, output
    run_id = unique("run")
    code, output = run_cli(
        ["playbook", "run", finding["rotation"], "--db", str(db), "--run-id", run_id,
         "-i", f"credential={finding['fingerprint']}", "-i", f"secret={path}",
         "-i", f"admin_user={admin_user}"]
    )  # fmt: skip
    assert code == 0, output
    assert old not in output and admin_env[1] not in output
    code, output = run_cli(["playbook", "status", run_id, "--db", str(db), "--format", "json"])
    assert code == 0, output
    current = hvac.Client(url=openbao.url, token=openbao.token).secrets.kv.v2.read_secret_version(
        path=path, raise_on_deleted_version=True
    )
    # graph build --database linked the leak to its role by the finding's user and host
    edge = (f"credential:{finding['fingerprint']}", f"identity:{identity}")
    assert load(db).evidence(*edge, EdgeKind.AUTHENTICATES_AS)
    return finding, json.loads(output), str(current["data"]["data"]["url"])


# (the leaked string, the rule that finds it)
PG_FORMS = [
    ("jdbc:postgresql://{host}:{port}/postgres?ssl=false&user={user}&password={password}",
     "jdbc-url-password"),
    ("postgresql+psycopg2://{user}:{password}@{host}:{port}/postgres",
     "sql-url-password"),
    ("Driver={{PostgreSQL Unicode}};Server={host};Port={port};Database=postgres;Uid={user};"
     "Pwd={password};", "adonet-connection-string-password"),
]  # fmt: skip
MARIADB_FORMS = [
    ("mysql+pymysql://{user}:{password}@{host}:{port}/lgdb?charset=utf8mb4",
     "sql-url-password"),
    ("jdbc:mariadb://{host}:{port}/lgdb?user={user}&password={password}",
     "jdbc-url-password"),
    ("Driver={{MariaDB ODBC 3.1 Driver}};Server={host};Port={port};Database=lgdb;Uid={user};"
     "Pwd={password};", "adonet-connection-string-password"),
]  # fmt: skip


def _new_password(form: str, now: str, **fields: object) -> str:
    """The password in ``now``, which must be ``form`` with every other field as it was."""
    before, after = form.format(password="\0", **fields).split("\0")
    match = re.fullmatch(re.escape(before) + "([A-Za-z0-9]{32})" + re.escape(after), now)
    assert match is not None, "the entry lost its form"
    return match.group(1)


@pytest.mark.parametrize(("form", "rule_id"), PG_FORMS, ids=[f[1] for f in PG_FORMS])
def test_a_postgresql_string_is_rotated_by_postgres_role_password(
    pg: Postgres,
    openbao: OpenBao,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    form: str,
    rule_id: str,
) -> None:
    role, old = unique("form").replace("-", "_"), new_password()
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{old}'")
    fields = {"host": pg.host, "port": pg.port, "user": role}
    finding, status, now = _rotate(
        tmp_path,
        openbao,
        monkeypatch,
        leaked=form.format(password=old, **fields),
        rule_id=rule_id,
        old=old,
        database=f"postgres://{pg.admin}@{pg.host}:{pg.port}/postgres",
        admin_env=("LEAKGUARD_PG_ADMIN_PASSWORD", pg.admin_password),
        admin_user=pg.admin,
        identity=f"postgres-role:{pg.host}:{pg.port}/{role}",
    )
    assert finding["rotation"] == "postgres-role-password"
    assert status["state"] == "completed" and status["outputs"]["old_refused"] is True
    new = _new_password(form, now, **fields)
    endpoint = postgres.Endpoint(pg.host, pg.port, "postgres")
    assert not postgres.login_works(endpoint, role, old)
    assert postgres.login_works(endpoint, role, new)


@pytest.mark.parametrize(("form", "rule_id"), MARIADB_FORMS, ids=[f[1] for f in MARIADB_FORMS])
def test_a_mysql_or_mariadb_string_is_rotated_by_mariadb_user_password(
    maria: MariaDB,
    openbao: OpenBao,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    form: str,
    rule_id: str,
) -> None:
    user, old = unique("form").replace("-", "_")[:14], new_password()
    with maria.connect() as conn, conn.cursor() as cur:
        hashed = mariadb.native_password_hash(old)
        cur.execute("CREATE USER %s@'%%' IDENTIFIED BY PASSWORD %s", (user, hashed))
        cur.execute(f"GRANT SELECT ON lgdb.* TO `{user}`@'%'")
    fields = {"host": maria.host, "port": maria.port, "user": user}
    finding, status, now = _rotate(
        tmp_path,
        openbao,
        monkeypatch,
        leaked=form.format(password=old, **fields),
        rule_id=rule_id,
        old=old,
        database=f"mysql://{maria.admin}@{maria.host}:{maria.port}/",
        admin_env=("LEAKGUARD_MARIADB_ADMIN_PASSWORD", maria.admin_password),
        admin_user=maria.admin,
        identity=f"mysql-user:{maria.host}:{maria.port}/{user}",
    )
    assert finding["rotation"] == "mariadb-user-password"
    assert status["state"] == "completed" and status["outputs"]["old_refused"] is True
    new = _new_password(form, now, **fields)
    endpoint = mariadb.Endpoint(maria.host, maria.port, "lgdb")
    assert not mariadb.login_works(endpoint, user, old)
    assert mariadb.login_works(endpoint, user, new)
