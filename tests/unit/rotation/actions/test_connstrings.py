"""The database actions read and rewrite every form the detector rules map to the database
playbooks: driver URLs, JDBC URLs and ODBC / ADO.NET strings, as they read postgres:// URLs."""

from __future__ import annotations

import pytest

from leakguard.errors import PlaybookError
from leakguard.rotation.actions.connstrings import as_urls
from leakguard.rotation.actions.database import RoleTarget, password_of, rewrite, role_target

OLD, NEW = "Old%pa+ss/w0rd", "N3wPassw0rdXyZ"  # OLD percent-encoded where the form needs it

# (a store entry field, the role and server it names)
FORMS = [
    (
        "postgresql+psycopg2://app:Old%25pa%2Bss%2Fw0rd@db.acme.io:6432/billing",
        RoleTarget("app", "db.acme.io", 6432, "billing"),
    ),
    (
        "mysql+pymysql://shop:Old%25pa%2Bss%2Fw0rd@10.0.3.7/shop",
        RoleTarget("shop", "10.0.3.7", 3306, "shop"),
    ),
    (
        "jdbc:postgresql://db.acme.io:5433/app?ssl=true&user=app&password=Old%25pa%2Bss%2Fw0rd",
        RoleTarget("app", "db.acme.io", 5433, "app"),
    ),
    (
        "jdbc:mariadb://10.0.3.7/shop?password=Old%25pa%2Bss%2Fw0rd&user=shop&useSSL=false",
        RoleTarget("shop", "10.0.3.7", 3306, "shop"),
    ),
    (
        "Driver={PostgreSQL Unicode};Server=pg.acme.io;Port=5434;Database=o;Uid=o_app;"
        "Pwd={Old%pa+ss/w0rd};",
        RoleTarget("o_app", "pg.acme.io", 5434, "o"),
    ),
    (
        "DRIVER={MariaDB ODBC 3.1 Driver};SERVER=10.0.3.7;DATABASE=shop;USER=shop;"
        "PASSWORD=Old%pa+ss/w0rd",
        RoleTarget("shop", "10.0.3.7", 3306, "shop"),
    ),
    (
        "Host=pg.acme.io;Port=5432;Database=o;Username=o_app;Password=Old%pa+ss/w0rd;Pooling=true",
        RoleTarget("o_app", "pg.acme.io", 5432, "o"),
    ),
]


@pytest.mark.parametrize(("value", "target"), FORMS, ids=[f[0][:24] for f in FORMS])
def test_each_form_names_the_role_the_server_and_the_password(
    value: str, target: RoleTarget
) -> None:
    data = {"url": value, "pool": "5"}
    assert role_target(data, {}) == target
    assert password_of(data, target.role) == OLD


@pytest.mark.parametrize(("value", "target"), FORMS, ids=[f[0][:24] for f in FORMS])
def test_each_form_is_rewritten_in_place(value: str, target: RoleTarget) -> None:
    data = {"url": value}
    out = rewrite(data, target.role, OLD, NEW, None)
    assert password_of(out, target.role) == NEW
    assert role_target(out, {}) == target
    before, after = value.split(";") if ";" in value else [value], out["url"].split(";")
    assert len(before) == len(after)  # every other part as it was
    renamed = rewrite(data, target.role, OLD, NEW, target.role + "_b")
    assert role_target(renamed, {}).role == target.role + "_b"
    assert password_of(renamed, target.role + "_b") == NEW


def test_a_different_password_is_left_as_it_is() -> None:
    for value in (
        "jdbc:postgresql://db/app?user=app&password=Different1",
        "Driver={PostgreSQL Unicode};Server=db;Uid=app;Pwd=Different1;",
    ):
        assert rewrite({"url": value, "password": OLD}, "app", OLD, NEW, None) == {
            "url": value,
            "password": NEW,
        }


def test_strings_without_a_user_a_password_or_a_host_are_not_read_as_connections() -> None:
    assert as_urls("jdbc:postgresql://db/app?password=x") == []  # no user
    assert as_urls("jdbc:postgresql://db/app?user=app") == []
    assert as_urls("Server=db;Database=app;Password=x") == []  # no user
    assert as_urls("Uid=app;Pwd=x;") == []  # no server
    assert as_urls("a=1;b=2") == []
    assert as_urls("jdbc:sqlserver://db;user=a;password=b") == []  # not a PostgreSQL/MySQL URL
    with pytest.raises(PlaybookError, match="holds no database URL"):
        role_target({"note": "Server=db;Database=app"}, {})
