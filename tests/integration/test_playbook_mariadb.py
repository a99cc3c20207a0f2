"""mariadb-user-password against a real MariaDB and a real OpenBao: a leaked
``mysql://app:OLD@…`` held in KV (fields ``url`` and ``password``), consumer processes holding a
connection and running ``SELECT 1`` every 100 ms, reconnecting from the store on SIGHUP. The run
ends with the new password in every field, every connection of the user newer than the change,
no failed consumer query, the old password refused by a real login, and neither password in the
server's general log; killed at every step, it resumes to the same end state."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import pytest

from leakguard.backends.mariadb import Endpoint, MariaDBAdmin, login_works, native_password_hash
from leakguard.backends.postgres import new_password
from leakguard.graph.interface import StoreRef
from leakguard.rotation.journal import Journal, Kind, RunState
from tests.integration.test_playbook_helpers import unique
from tests.integration.test_playbook_postgres import Consumers, Setup, _call, _warm
from tests.support.databases import MariaDB, mariadb_bin, mariadb_server
from tests.support.graphs import save_graph
from tests.support.servers import OpenBao

pytestmark = pytest.mark.skipif(mariadb_bin() is None, reason="MariaDB is not installed")

PLAYBOOK = "mariadb-user-password"
ADMIN_ENV = "LEAKGUARD_MARIADB_ADMIN_PASSWORD"


@pytest.fixture(scope="module")
def maria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    with mariadb_server(tmp_path_factory.mktemp("mariadb")) as server:
        yield server


def _user(maria: MariaDB, name: str, password: str) -> None:
    with maria.connect() as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE USER %s@'%%' IDENTIFIED BY PASSWORD %s", (name, native_password_hash(password))
        )
        cur.execute(f"GRANT SELECT ON lgdb.* TO `{name}`@'%'")


def _setup(maria: MariaDB, openbao: OpenBao, tmp: Path, names: list[str]) -> Setup:
    user, old = unique("app").replace("-", "_")[:16], new_password()
    _user(maria, user, old)
    path = unique("lg-maria/app")
    root = hvac.Client(url=openbao.url, token=openbao.token)
    root.secrets.kv.v2.create_or_update_secret(
        path=path, secret={"url": maria.url(user, old), "password": old, "pool": "5"}
    )
    consumers = Consumers(tmp)
    consumers.start(openbao, path, names)
    db = tmp / "lg.db"
    fp = save_graph(db, old, StoreRef("vault-kv2", path, "secret"), consumers.consumer_infos())
    inputs = {"credential": fp, "secret": path, "admin_user": maria.admin, "move_timeout": "30m"}
    overrides = {"vault": {"url": openbao.url, "token": openbao.token}}
    return Setup(tmp, db, path, user, old, inputs, overrides, consumers, PLAYBOOK)


def _state(maria: MariaDB, openbao: OpenBao, setup: Setup) -> dict[str, Any]:
    kv = hvac.Client(url=openbao.url, token=openbao.token).secrets.kv.v2
    meta = kv.read_secret_metadata(path=setup.path)["data"]
    labels, new = [], None
    for version in sorted(meta["versions"], key=int):
        data = kv.read_secret_version(
            path=setup.path, version=int(version), raise_on_deleted_version=True
        )["data"]["data"]
        if data == {"url": maria.url(setup.role, setup.old), "password": setup.old, "pool": "5"}:
            labels.append("seed")
        elif data["url"] == maria.url(setup.role, data["password"]) and data["pool"] == "5":
            labels.append("new")
            new = data["password"]
        else:
            labels.append("UNKNOWN")
    assert new is not None
    endpoint = Endpoint(maria.host, maria.port, "lgdb")
    return {
        "labels": labels,
        "new_logs_in": login_works(endpoint, setup.role, new),
        "old_refused": not login_works(endpoint, setup.role, setup.old),
    }


def _all_newer(maria: MariaDB, user: str, marker: int) -> bool:
    admin = MariaDBAdmin(
        Endpoint(maria.host, maria.port, "lgdb"), maria.admin, maria.admin_password
    )
    found = admin.sessions(user)
    return bool(found) and all(s.pid > marker for s in found)


def test_a_leaked_mysql_url_is_rotated_without_a_failed_query(
    maria: MariaDB, openbao: OpenBao, tmp_path: Path
) -> None:
    setup = _setup(maria, openbao, tmp_path, ["orders-api", "billing-worker", "reports"])
    env = {ADMIN_ENV: maria.admin_password}
    try:
        result = _call(setup, "start", "m", env)
        assert result is not None and result["state"] == RunState.COMPLETED, result
        assert result["outputs"]["consumers"] == ["127.0.0.1"]  # consumers by client address
        assert result["outputs"]["old_refused"] is True
        assert _state(maria, openbao, setup) == {
            "labels": ["seed", "new"], "new_logs_in": True, "old_refused": True,
        }  # fmt: skip
        with Journal.open(setup.db) as journal:
            marker = journal.view("m").steps["set-password"].outputs["marker"]
        assert _all_newer(maria, setup.role, int(marker))
        totals = setup.consumers.totals()
        print(f"\nmariadb consumer samples: {totals['ok']} queries, {totals['failed']} failed, "
              f"{totals['reloads']} reloads, {totals['reload_failed']} failed reloads")  # fmt: skip
        assert totals["failed"] == 0 and totals["reload_failed"] == 0 and totals["reloads"] == 3
        kv = hvac.Client(url=openbao.url, token=openbao.token).secrets.kv.v2
        new = kv.read_secret_version(path=setup.path, raise_on_deleted_version=True)["data"]
        general_log = maria.general_log.read_bytes()
        for value in (setup.old, new["data"]["password"], maria.admin_password):
            assert value.encode() not in general_log and value.encode() not in setup.db.read_bytes()
    finally:
        setup.consumers.stop()


@pytest.mark.slow
def test_killed_at_every_step_it_resumes_to_the_same_end_state(
    maria: MariaDB, openbao: OpenBao, tmp_path: Path
) -> None:
    names = ["api", "worker"]
    env = {ADMIN_ENV: maria.admin_password}
    ref_dir, kill_dir = tmp_path / "ref", tmp_path / "kill"
    ref_dir.mkdir()
    kill_dir.mkdir()
    ref = _setup(maria, openbao, ref_dir, names)
    try:
        done = _call(ref, "start", "ref", env)
        assert done is not None and done["state"] == RunState.COMPLETED, done
        expected = _state(maria, openbao, ref)
    finally:
        ref.consumers.stop()
    with Journal.open(ref.db) as journal:
        total = len(journal.records("ref"))

    setup = _setup(maria, openbao, kill_dir, names)
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
        assert _state(maria, openbao, setup) == expected
        with Journal.open(setup.db) as journal:
            marker = journal.view("k").steps["set-password"].outputs["marker"]
            results = [
                r.step_id
                for r in journal.records("k")
                if r.kind == Kind.RESULT and r.state == "succeeded"
            ]
        assert results.count("stage") == 1 and results.count("promote") == 1
        assert results.count("set-password") == 1
        assert _all_newer(maria, setup.role, int(marker))
        totals = setup.consumers.totals()
        print(f"\nkill -9 {PLAYBOOK}: {tried} points tried ({dict(kinds)}); resumed to the same "
              f"end state; consumer samples: {totals['ok']} queries, {totals['failed']} failed, "
              f"{totals['reload_failed']} failed reloads")  # fmt: skip
        assert totals["failed"] == 0 and totals["reload_failed"] == 0
    finally:
        setup.consumers.stop()
