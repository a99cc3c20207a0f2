"""The MariaDB backend against a real server: the password hash, sessions, password changes
that never reach the server in clear, logins."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leakguard.backends.mariadb import Endpoint, MariaDBAdmin, login_works, native_password_hash
from leakguard.backends.postgres import new_password
from leakguard.errors import BackendError
from tests.support.databases import MariaDB, mariadb_bin, mariadb_server
from tests.support.servers import free_port

pytestmark = pytest.mark.skipif(mariadb_bin() is None, reason="MariaDB is not installed")


def test_the_hash_is_the_servers_own_format() -> None:
    # PASSWORD('password') as MySQL 5.x and MariaDB print it (mysql_native_password)
    assert native_password_hash("password") == "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"


@pytest.fixture(scope="module")
def maria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    with mariadb_server(tmp_path_factory.mktemp("mariadb")) as server:
        yield server


def test_the_hash_matches_the_server(maria: MariaDB) -> None:
    value = new_password()
    with maria.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT PASSWORD(%s)", (value,))
        assert cur.fetchone()[0] == native_password_hash(value)


def test_a_new_password_replaces_the_old_and_connections_survive(maria: MariaDB) -> None:
    old, new = new_password(), new_password()
    endpoint = Endpoint(maria.host, maria.port, "lgdb")
    admin = MariaDBAdmin(endpoint, maria.admin, maria.admin_password)
    with maria.connect() as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE USER 'shop'@'%%' IDENTIFIED BY PASSWORD %s", (native_password_hash(old),)
        )
    held = maria.connect("shop", old)
    try:
        [session] = admin.sessions("shop")
        assert session.client_addr == "127.0.0.1" and session.consumer == "127.0.0.1"
        marker = admin.set_password("shop", new)
        assert marker > session.pid  # later connections have larger ids
        with held.cursor() as cur:
            cur.execute("SELECT 1")  # an open connection keeps working
    finally:
        held.close()
    assert login_works(endpoint, "shop", new) and not login_works(endpoint, "shop", old)
    log = maria.general_log.read_bytes()
    assert new.encode() not in log and old.encode() not in log


def test_errors_never_hold_the_password(maria: MariaDB) -> None:
    secret = new_password()
    admin = MariaDBAdmin(Endpoint(maria.host, maria.port, "lgdb"), maria.admin, secret)
    with pytest.raises(BackendError) as caught:
        admin.sessions("shop")
    assert secret not in caught.value.diagnostics() and not caught.value.transient


def test_an_unreachable_server_is_not_a_refused_login() -> None:
    with pytest.raises(BackendError, match="cannot reach"):
        login_works(Endpoint("127.0.0.1", free_port(), "lgdb"), "x", "y", timeout=2)
