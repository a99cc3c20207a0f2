"""The PostgreSQL backend against a real server: sessions, passwords, clones, logins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from leakguard.backends.postgres import Endpoint, PostgresAdmin, login_works, new_password
from leakguard.errors import BackendError
from tests.support.databases import Postgres, postgres_bin, postgres_server

pytestmark = pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL is not installed")


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    with postgres_server(tmp_path_factory.mktemp("pg")) as server:
        yield server


@pytest.fixture()
def admin(pg: Postgres) -> PostgresAdmin:
    return PostgresAdmin(Endpoint(pg.host, pg.port, "postgres"), pg.admin, pg.admin_password)


def _role(pg: Postgres, name: str, password: str) -> None:
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        conn.execute(f'DROP TABLE IF EXISTS "{name}_orders"')
        conn.execute(f'DROP ROLE IF EXISTS "{name}_b"')
        conn.execute(f'DROP ROLE IF EXISTS "{name}"')
        conn.execute(f"CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}'")
        conn.execute(f'CREATE TABLE "{name}_orders" (id int)')
        conn.execute(f'GRANT SELECT, INSERT ON "{name}_orders" TO "{name}"')


def test_a_new_password_replaces_the_old_and_sessions_survive(
    pg: Postgres, admin: PostgresAdmin
) -> None:
    old, new = new_password(), new_password()
    _role(pg, "payments", old)
    endpoint = admin.endpoint
    with psycopg.connect(pg.dsn("payments", old), application_name="payments-api") as held:
        [session] = admin.sessions("payments")
        assert session.application_name == "payments-api" and session.client_addr == "127.0.0.1"
        assert session.backend_start.endswith("Z")
        admin.set_password("payments", new)
        held.execute("SELECT 1")  # an open connection keeps working
    assert login_works(endpoint, "payments", new)
    assert not login_works(endpoint, "payments", old)


def test_the_password_never_reaches_the_server_in_clear(pg: Postgres, admin: PostgresAdmin) -> None:
    new = new_password()
    _role(pg, "ledger", new_password())
    admin.set_password("ledger", new)
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        stored = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = 'ledger'"
        ).fetchone()
    assert stored[0].startswith("SCRAM-SHA-256$4096:") and new not in stored[0]
    log = (pg.datadir.parent / "postgres.log").read_text(errors="replace")
    assert new not in log


def test_a_clone_holds_the_source_privileges_and_the_source_can_be_disabled(
    pg: Postgres, admin: PostgresAdmin
) -> None:
    billing_password = new_password()
    _role(pg, "billing", billing_password)
    clone_password = new_password()
    admin.clone_role("billing", "billing_b", clone_password)
    admin.clone_role("billing", "billing_b", clone_password)  # idempotent
    with psycopg.connect(pg.dsn("billing_b", clone_password), autocommit=True) as conn:
        conn.execute("INSERT INTO billing_orders VALUES (1)")
        assert conn.execute("SELECT count(*) FROM billing_orders").fetchone()[0] == 1
    admin.set_login("billing", False)
    assert not admin.can_login("billing")
    assert not login_works(admin.endpoint, "billing", billing_password)  # NOLOGIN: refused
    assert not login_works(admin.endpoint, "nobody", billing_password)  # no such role
    with pytest.raises(BackendError):  # no such database: nothing proven about the role
        login_works(Endpoint(pg.host, pg.port, "nodb"), "billing_b", clone_password)
    assert admin.can_login("billing_b")


def test_old_sessions_can_be_ended(pg: Postgres, admin: PostgresAdmin) -> None:
    password = new_password()
    _role(pg, "reports", password)
    with psycopg.connect(pg.dsn("reports", password), autocommit=True) as conn:
        start = admin.sessions("reports")[0].backend_start
        assert admin.terminate("reports", "2000-01-01T00:00:00Z") == 0
        assert admin.terminate("reports", "2100-01-01T00:00:00Z") == 1
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
    assert start


def test_errors_never_hold_the_password(pg: Postgres) -> None:
    secret = new_password()
    admin = PostgresAdmin(Endpoint(pg.host, pg.port, "postgres"), pg.admin, secret)
    with pytest.raises(BackendError) as caught:
        admin.sessions("payments")
    assert secret not in caught.value.diagnostics()


def test_an_unreachable_server_is_not_a_refused_login(tmp_path: Path) -> None:
    from tests.support.servers import free_port

    with pytest.raises(BackendError, match="cannot reach"):
        login_works(Endpoint("127.0.0.1", free_port(), "postgres"), "x", "y", timeout=2)
