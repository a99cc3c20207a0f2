"""The store entry of a database role: which role and server it names, the password it gives
the role, and every field rewritten around a new password (URLs, DSNs, password fields)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from leakguard.errors import PlaybookError
from leakguard.rotation.actions.database import (
    admin_password,
    password_of,
    rewrite,
    role_target,
)

OLD = "Qh7vK2pLm9Xc4Rt8"
NEW = "N3wPassw0rdAbCdEfGh"


def test_the_role_and_server_come_from_the_url() -> None:
    data = {"url": f"postgresql://app:{OLD}@db.internal:6432/orders?sslmode=require"}
    target = role_target(data, {})
    assert (target.role, target.host, target.port, target.database) == (
        "app", "db.internal", 6432, "orders"
    )  # fmt: skip
    assert role_target(data, {"host": "127.0.0.1", "port": 5433}).port == 5433
    assert password_of(data, "app") == OLD


def test_every_field_holding_the_password_is_rewritten() -> None:
    data = {
        "url": f"postgres://app:{OLD}@db:5432/app",
        "env": f"DATABASE_URL=postgresql://app:{OLD}@db/app\nOTHER=1",
        "dsn": f"host=db port=5432 user=app password={OLD} dbname=app",
        "password": OLD,
        "user": "app",
        "replica": "postgres://reader:R3aderPassw0rd@replica/app",  # another role: kept
        "pool": "5",
    }
    out = rewrite(data, "app", OLD, NEW, None)
    assert out == {
        "url": f"postgres://app:{NEW}@db:5432/app",
        "env": f"DATABASE_URL=postgresql://app:{NEW}@db/app\nOTHER=1",
        "dsn": f"host=db port=5432 user=app password={NEW} dbname=app",
        "password": NEW,
        "user": "app",
        "replica": "postgres://reader:R3aderPassw0rd@replica/app",
        "pool": "5",
    }


def test_a_percent_encoded_password_is_found_and_replaced() -> None:
    old = "p@ss/w%rd!long1"
    encoded = "p%40ss%2Fw%25rd%21long1"
    data = {"url": f"postgres://app:{encoded}@db/app"}
    assert password_of(data, "app") == old
    assert rewrite(data, "app", old, NEW, None) == {"url": f"postgres://app:{NEW}@db/app"}


def test_alternating_users_rewrite_the_user_name_too() -> None:
    data = {
        "url": f"postgres://app:{OLD}@db/app",
        "dsn": f"user=app password='{OLD}' host=db",
        "username": "app",
        "password": OLD,
    }
    out = rewrite(data, "app", OLD, NEW, "app_b")
    assert out == {
        "url": f"postgres://app_b:{NEW}@db/app",
        "dsn": f"user=app_b password='{NEW}' host=db",
        "username": "app_b",
        "password": NEW,
    }


def test_a_field_that_cannot_be_rewritten_stops_the_run_without_the_value() -> None:
    data = {"url": f"postgres://app:{OLD}@db/app", "notes": f"old one was {OLD}"}
    with pytest.raises(PlaybookError) as caught:
        rewrite(data, "app", OLD, NEW, None)
    assert "notes" in caught.value.message and OLD not in caught.value.diagnostics()


def test_an_entry_without_a_url_or_role_is_refused() -> None:
    with pytest.raises(PlaybookError, match="no database URL"):
        role_target({"value": OLD}, {})


def test_the_admin_password_comes_from_a_private_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_file = tmp_path / "admin"
    secret_file.write_text("from-file\n")
    secret_file.chmod(0o644)
    with pytest.raises(PlaybookError, match="readable by others"):
        admin_password({"admin_password_file": str(secret_file)})
    os.chmod(secret_file, 0o600)
    assert admin_password({"admin_password_file": str(secret_file)}) == "from-file"
    monkeypatch.delenv("LEAKGUARD_PG_ADMIN_PASSWORD", raising=False)
    with pytest.raises(PlaybookError, match="LEAKGUARD_PG_ADMIN_PASSWORD"):
        admin_password({})
    monkeypatch.setenv("PG_ROOT", "from-env")
    assert admin_password({"admin_password_env": "PG_ROOT"}) == "from-env"


def test_a_rewritten_entry_is_staged_whole_even_when_the_runner_names_the_fields() -> None:
    """The runner adds ``fields`` (every field holding the leaked value) to a staging step;
    ``merge: false`` stages the entry the database action rewrote field by field instead of
    copying one value into each of them."""
    from leakguard.backends.fake import FakeStore
    from leakguard.rotation.actions import REGISTRY
    from tests.unit.rotation.actions.context import Ctx

    entry = {"url": f"postgres://app:{OLD}@db/app", "password": OLD}
    ctx = Ctx(stores={"s": FakeStore({"app/db": entry})})
    new = ctx.secrets.put({"password": NEW})
    out = ctx.run(
        REGISTRY["postgres.rewrite_entry"],
        {"store": "s", "name": "app/db", "value": new},
        "rewrite",
    )
    assert out["fields"] == ["password", "url"] and OLD not in str(out) and NEW not in str(out)
    staged = ctx.run(
        REGISTRY["store.put_pending"],
        {"backend": "s", "name": "app/db", "value": out["secret"], "merge": False,
         "fields": ["password", "url"]},
        "stage",
    )  # fmt: skip
    data = ctx.stores["s"].read_version("app/db", staged["version_id"])
    assert data == {"url": f"postgres://app:{NEW}@db/app", "password": NEW}
