from __future__ import annotations

import stat
from pathlib import Path

import pytest

from leakguard.errors import StoreError
from leakguard.store.db import Database


def test_created_0600_and_migrations_apply_once(tmp_path: Path) -> None:
    path = tmp_path / "state" / "lg.db"
    steps = ["CREATE TABLE t (a INTEGER)", "ALTER TABLE t ADD COLUMN b TEXT"]
    with Database.open(path) as db:
        db.migrate("demo", steps)
        db.migrate("demo", steps)
        assert db.schema_version("demo") == 2
        db.conn.execute("INSERT INTO t (a, b) VALUES (1, 'x')")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    with Database.open(tmp_path / "lg.db") as db:
        db.migrate("demo", ["CREATE TABLE t (a)", "CREATE TABLE u (a)"])
        with pytest.raises(StoreError, match="newer"):
            db.migrate("demo", ["CREATE TABLE t (a)"])


def test_failed_migration_rolls_back(tmp_path: Path) -> None:
    with Database.open(tmp_path / "lg.db") as db:
        with pytest.raises(StoreError):
            db.migrate("demo", ["CREATE TABLE t (a); CREATE TABLE t (a)"])
        assert db.schema_version("demo") == 0
        assert db.conn.execute("SELECT name FROM sqlite_master WHERE name='t'").fetchone() is None
