"""mariadb-user-password and mariadb-alternating-users against a real MariaDB and a real
OpenBao: a leaked ``mysql://app:OLD@…`` held in KV (fields ``url`` and ``password``), consumer
processes holding a connection and running ``SELECT 1`` every 100 ms, reconnecting from the store
on SIGHUP. The run ends with the new password in every field, every connection of the user newer
than the change, no failed consumer query, the old password refused by a real login, and neither
password in the server's general log; killed at every step, it resumes to the same end state.
Alternating users move the consumers to a clone user (its grants copied from SHOW GRANTS) and
lock the first user only once the processlist shows no connection of it."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import pytest

from leakguard.backends.mariadb import (
    Endpoint,
    MariaDBAdmin,
    grants_for,
    login_works,
    native_password_hash,
    quote_account,
    supports_dual_passwords,
)
from leakguard.backends.postgres import new_password
from leakguard.errors import BackendError
from leakguard.graph.interface import ConsumerInfo, StoreRef
from leakguard.rotation.journal import Journal, Kind, RunState
from tests.integration.test_playbook_helpers import unique
from tests.integration.test_playbook_postgres import Consumers, Setup, _call, _inventory, _warm
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


ALTERNATING = "mariadb-alternating-users"
# the step that changes the user on the server, by playbook
WRITES = {PLAYBOOK: "set-password", ALTERNATING: "clone"}


def _setup(
    maria: MariaDB,
    openbao: OpenBao,
    tmp: Path,
    names: list[str],
    playbook: str = PLAYBOOK,
    path: str | None = None,
) -> Setup:
    user, old = unique("app").replace("-", "_")[:14], new_password()
    _user(maria, user, old)
    path = path or unique("lg-maria/app")
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
    if playbook == ALTERNATING:
        inputs["new_role"] = user + "_b"
    return Setup(tmp, db, path, user, old, inputs, overrides, consumers, playbook)


def _state(maria: MariaDB, openbao: OpenBao, setup: Setup) -> dict[str, Any]:
    kv = hvac.Client(url=openbao.url, token=openbao.token).secrets.kv.v2
    meta = kv.read_secret_metadata(path=setup.path)["data"]
    labels, new = [], None
    role = setup.inputs.get("new_role", setup.role)
    for version in sorted(meta["versions"], key=int):
        data = kv.read_secret_version(
            path=setup.path, version=int(version), raise_on_deleted_version=True
        )["data"]["data"]
        if data == {"url": maria.url(setup.role, setup.old), "password": setup.old, "pool": "5"}:
            labels.append("seed")
        elif data["url"] == maria.url(role, data["password"]) and data["pool"] == "5":
            labels.append("new")
            new = data["password"]
        else:
            labels.append("UNKNOWN")
    assert new is not None
    current = kv.read_secret_version(path=setup.path, raise_on_deleted_version=True)
    assert setup.old not in str(current["data"]["data"])  # the current version never holds it
    endpoint = Endpoint(maria.host, maria.port, "lgdb")
    return {
        "labels": labels,
        "new_logs_in": login_works(endpoint, role, new),
        "old_refused": not login_works(endpoint, setup.role, setup.old),
    }


def _admin(maria: MariaDB) -> MariaDBAdmin:
    return MariaDBAdmin(Endpoint(maria.host, maria.port, "lgdb"), maria.admin, maria.admin_password)


def _all_newer(maria: MariaDB, user: str, marker: int) -> bool:
    found = _admin(maria).sessions(user)
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
        assert result["outputs"]["dual_passwords"] is False  # MariaDB: one password per user
        _assert_processlist_kept_in_the_graph(maria, setup)
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


def _assert_processlist_kept_in_the_graph(maria: MariaDB, setup: Setup) -> None:
    """The map stage's consumers are in the run's --db: ``graph blast-radius`` lists the
    address connected as the user, its ``uses`` edge carrying the processlist's evidence."""
    from leakguard.graph.build import load
    from leakguard.graph.interface import EdgeKind
    from tests.support.cli import run_cli

    fp = setup.inputs["credential"]
    code, out = run_cli(["graph", "blast-radius", fp, "--db", str(setup.db), "-f", "json"])
    assert code == 0, out
    radius = json.loads(out)
    [seen] = [c["id"] for c in radius["consumers"] if c["name"] == "127.0.0.1"]
    assert f"mysql-user:{maria.host}:{maria.port}/{setup.role}" in radius["identities"]
    [evidence] = load(setup.db).evidence(seen, f"credential:{fp}", EdgeKind.USES)
    assert evidence.source == f"processlist:{maria.host}:{maria.port}"
    assert evidence.detail.startswith(f"3 session(s) as {setup.role} from 127.0.0.1; "), evidence


@pytest.mark.slow
@pytest.mark.parametrize("playbook", sorted(WRITES))
def test_killed_at_every_step_it_resumes_to_the_same_end_state(
    maria: MariaDB, openbao: OpenBao, tmp_path: Path, playbook: str
) -> None:
    names = ["api", "worker"]
    env = {ADMIN_ENV: maria.admin_password}
    ref_dir, kill_dir = tmp_path / "ref", tmp_path / "kill"
    ref_dir.mkdir()
    kill_dir.mkdir()
    ref = _setup(maria, openbao, ref_dir, names, playbook)
    try:
        done = _call(ref, "start", "ref", env)
        assert done is not None and done["state"] == RunState.COMPLETED, done
        expected = _state(maria, openbao, ref)
    finally:
        ref.consumers.stop()
    with Journal.open(ref.db) as journal:
        total = len(journal.records("ref"))

    setup = _setup(maria, openbao, kill_dir, names, playbook)
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
            marker = journal.view("k").steps[WRITES[playbook]].outputs["marker"]
            results = [
                r.step_id
                for r in journal.records("k")
                if r.kind == Kind.RESULT and r.state == "succeeded"
            ]
        assert results.count("stage") == 1 and results.count("promote") == 1
        assert results.count(WRITES[playbook]) == 1
        role = setup.inputs.get("new_role", setup.role)
        assert _all_newer(maria, role, int(marker))
        if playbook == ALTERNATING:
            assert _admin(maria).sessions(setup.role) == []  # drained before it was locked
        totals = setup.consumers.totals()
        print(f"\nkill -9 {playbook}: {tried} points tried ({dict(kinds)}); resumed to the same "
              f"end state; consumer samples: {totals['ok']} queries, {totals['failed']} failed, "
              f"{totals['reload_failed']} failed reloads")  # fmt: skip
        assert totals["failed"] == 0 and totals["reload_failed"] == 0
    finally:
        setup.consumers.stop()


def _grants(maria: MariaDB, user: str, host: str = "%") -> list[str]:
    with maria.connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW GRANTS FOR %s@%s", (user, host))
        return [str(r[0]) for r in cur.fetchall()]


def test_alternating_users_move_consumers_to_a_clone_then_back(
    maria: MariaDB, openbao: OpenBao, tmp_path: Path
) -> None:
    """User A leaks: consumers move to B, made at every host entry of A with A's grants (not
    its password); A is locked only once the processlist shows no connection of it. The next
    rotation moves them back to A with a fresh password and locks B."""
    names = ["api", "worker", "reports"]
    setup = _setup(maria, openbao, tmp_path, names, ALTERNATING)
    user_a, user_b = setup.role, setup.role + "_b"
    with maria.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE lgdb.`{user_a}_orders` (id int)")
        cur.execute(f"GRANT SELECT, INSERT ON lgdb.`{user_a}_orders` TO `{user_a}`@'%'")
        cur.execute(  # a second host entry of A, with its own grant
            "CREATE USER %s@'localhost' IDENTIFIED BY PASSWORD %s",
            (user_a, native_password_hash(setup.old)),
        )
        cur.execute(f"GRANT SELECT ON lgdb.* TO `{user_a}`@'localhost'")
    env = {ADMIN_ENV: maria.admin_password}
    kv = hvac.Client(url=openbao.url, token=openbao.token).secrets.kv.v2
    endpoint = Endpoint(maria.host, maria.port, "lgdb")
    admin = _admin(maria)
    try:
        result = _call(setup, "start", "ab", env)
        assert result is not None and result["state"] == RunState.COMPLETED, result
        assert result["outputs"]["old_user"] == user_a and result["outputs"]["user"] == user_b
        data = kv.read_secret_version(path=setup.path, raise_on_deleted_version=True)["data"][
            "data"
        ]
        assert data["url"] == maria.url(user_b, data["password"]) and setup.old not in str(data)
        assert len(admin.sessions(user_b)) == len(names) and admin.sessions(user_a) == []
        assert not login_works(endpoint, user_a, setup.old)  # locked
        assert not admin.can_login(user_a) and admin.can_login(user_b)
        old_hash = native_password_hash(setup.old)
        for host in ("%", "localhost"):  # every host entry cloned, never with A's password
            copied = " ".join(_grants(maria, user_b, host))
            assert old_hash not in copied and native_password_hash(data["password"]) in copied
        assert any(f"`{user_a}_orders`" in g for g in _grants(maria, user_b))
        assert any("ON `lgdb`.*" in g for g in _grants(maria, user_b, "localhost"))
        with maria.connect(user_b, data["password"]) as conn, conn.cursor() as cur:
            cur.execute(f"INSERT INTO lgdb.`{user_a}_orders` VALUES (1)")  # A's privileges

        leaked_b = data["password"]  # the next leak (or schedule) switches back to A
        setup.inputs.update(
            new_role=user_a, credential=save_graph(
                setup.db, leaked_b, StoreRef("vault-kv2", setup.path, "secret"),
                setup.consumers.consumer_infos()))  # fmt: skip
        result = _call(setup, "start", "ba", env)
        assert result is not None and result["state"] == RunState.COMPLETED, result
        back = kv.read_secret_version(path=setup.path, raise_on_deleted_version=True)["data"][
            "data"
        ]
        assert back["url"] == maria.url(user_a, back["password"])
        assert back["password"] not in (setup.old, leaked_b)
        assert len(admin.sessions(user_a)) == len(names) and admin.sessions(user_b) == []
        assert login_works(endpoint, user_a, back["password"])
        assert not login_works(endpoint, user_a, setup.old)
        assert not login_works(endpoint, user_b, leaked_b) and not admin.can_login(user_b)
        totals = setup.consumers.totals()
        print(f"\nmariadb alternating users: {totals['ok']} queries, {totals['failed']} failed, "
              f"{totals['reloads']} reloads, {totals['reload_failed']} failed reloads")  # fmt: skip
        assert totals["failed"] == 0 and totals["reload_failed"] == 0
        assert totals["reloads"] == 2 * len(names)
        general_log = maria.general_log.read_bytes()
        for value in (setup.old, leaked_b, back["password"], maria.admin_password):
            assert value.encode() not in general_log and value.encode() not in setup.db.read_bytes()
    finally:
        setup.consumers.stop()


def test_the_old_user_is_not_locked_while_a_connection_of_it_is_left(
    maria: MariaDB, openbao: OpenBao, tmp_path: Path
) -> None:
    """A consumer with no known reload keeps its connection as A: the run pauses before the
    lock (naming the stuck step) and A still logs in; once that connection closes, resuming
    locks A and completes."""
    setup = _setup(maria, openbao, tmp_path, ["api", "legacy"], ALTERNATING)
    infos = setup.consumers.consumer_infos()
    infos[1] = ConsumerInfo(infos[1].id, infos[1].name)  # no reload known
    setup.inputs["credential"] = save_graph(
        setup.db, setup.old, StoreRef("vault-kv2", setup.path, "secret"), infos
    )
    setup.inputs["drain_timeout"] = "2m"  # 1.2 s at the test's time scale
    env = {ADMIN_ENV: maria.admin_password}
    endpoint = Endpoint(maria.host, maria.port, "lgdb")
    try:
        result = _call(setup, "start", "stuck", env)
        assert result is not None and result["state"] == RunState.PAUSED, result
        assert "old-user-idle" in result["diagnostic"], result
        assert len(_admin(maria).sessions(setup.role)) == 1
        assert login_works(endpoint, setup.role, setup.old)  # not locked under a live session
        setup.consumers.procs["legacy"].send_signal(signal.SIGHUP)  # its operator reloads it
        deadline = time.monotonic() + 30
        while _admin(maria).sessions(setup.role):
            assert time.monotonic() < deadline, "legacy did not reconnect in 30 s"
            time.sleep(0.1)
        result = _call(setup, "resume", "stuck", env)
        assert result is not None and result["state"] == RunState.COMPLETED, result
        assert not login_works(endpoint, setup.role, setup.old)
        totals = setup.consumers.totals()
        assert totals["failed"] == 0 and totals["reload_failed"] == 0
    finally:
        setup.consumers.stop()


@pytest.mark.parametrize(
    ("version", "dual"),
    [
        ("10.11.19-MariaDB-0+deb12u1-log", False),  # what this machine's MariaDB reports
        ("11.4.2-MariaDB", False),
        ("8.0.13", False),  # dual passwords arrived in MySQL 8.0.14
        ("8.0.14", True),
        ("8.4.3", True),
        ("5.7.44-log", False),
    ],
)
def test_dual_passwords_are_known_by_the_server_version(version: str, dual: bool) -> None:
    assert supports_dual_passwords(version) is dual


def test_this_server_keeps_one_password_so_the_single_user_playbook_replaces_it(
    maria: MariaDB,
) -> None:
    """MariaDB has no RETAIN CURRENT PASSWORD: detected, so set_password replaces the password
    and discard_old_password does nothing (the MySQL 8 branch is not exercised here)."""
    admin = _admin(maria)
    with maria.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        assert "MariaDB" in cur.fetchone()[0]
    assert admin.dual_passwords() is False
    user, old, new = unique("dual").replace("-", "_")[:14], new_password(), new_password()
    _user(maria, user, old)
    admin.set_password(user, new)
    assert admin.discard_old_password(user) is False
    endpoint = Endpoint(maria.host, maria.port, "lgdb")
    assert login_works(endpoint, user, new) and not login_works(endpoint, user, old)


def test_the_documented_sequence_from_scan_to_verified_rotation(
    maria: MariaDB, openbao: OpenBao, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/playbooks.md, "MariaDB and MySQL": the sh block read from the page and run as
    written (scan, graph build, blast radius, plan, run, status) against the real servers;
    consumers come from the processlist. Filled in: the fingerprint, the entry's name (unique
    per test), the servers' addresses and the passwords."""
    from leakguard.redact import fingerprint
    from tests.support.db_docs import run_documented

    names = ["orders-api", "billing-worker"]
    setup = _setup(maria, openbao, tmp_path, names, path=unique("shop/db"))
    ops = tmp_path / "ops"  # the operator's directory: app-repo, leakguard.yaml, lg.db
    (ops / "app-repo" / "config").mkdir(parents=True)
    (ops / "app-repo" / "config" / "database.yml").write_text(
        f"production:\n  url: {maria.url(setup.role, setup.old)}\n"
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
                if f["rule_id"] == "mysql-url-password"
            ]  # fmt: skip
            assert finding["rotation"] == PLAYBOOK and finding["fingerprint"] == fp
        if argv[:2] == ["graph", "blast-radius"]:  # the inventory's, and the processlist's
            assert all(name in output for name in [*names, "127.0.0.1"]), output
        if argv[:2] == ["playbook", "status"]:
            seen["status"] = json.loads(output)

    try:
        done = run_documented(
            "### MariaDB and MySQL",
            {
                "sha256:5d1e…": fp,
                "shop/db": setup.path,
                "db.internal:3306": f"{maria.host}:{maria.port}",
            },
            {
                "VAULT_ADDR": openbao.url,
                "VAULT_TOKEN": openbao.token,
                ADMIN_ENV: maria.admin_password,
            },
            monkeypatch,
            check,
        )
        assert [a[:2] for a, _, _ in done][-3:] == [
            ["playbook", "plan"], ["playbook", "run"], ["playbook", "status"]
        ]  # fmt: skip
        status = seen["status"]
        assert status["state"] == "completed"
        assert status["outputs"]["consumers"] == ["127.0.0.1"]  # the processlist's address
        assert status["outputs"]["moved"] == ["127.0.0.1"]
        assert status["outputs"]["old_refused"] is True
        assert status["outputs"]["dual_passwords"] is False
        endpoint = Endpoint(maria.host, maria.port, "lgdb")
        assert not login_works(endpoint, setup.role, setup.old)
        totals = setup.consumers.totals()
        assert totals["failed"] == 0 and totals["reload_failed"] == 0
        assert totals["reloads"] == len(names)
        shown = "".join(output for _, _, output in done)
        assert setup.old not in shown and maria.admin_password not in shown
    finally:
        setup.consumers.stop()


def test_the_clone_holds_every_grant_the_server_lists_for_the_first_user(maria: MariaDB) -> None:
    """What SHOW GRANTS lists for A (a role granted and made default, column and table grants,
    the grant option, a second host entry), the server lists for B after clone_role, with B's
    name; B's password is its own and B may log in, A is untouched."""
    admin = _admin(maria)
    a, b, role = (unique(n).replace("-", "_")[:14] for n in ("ga", "gb", "gr"))
    old, new = new_password(), new_password()
    _user(maria, a, old)
    with maria.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE lgdb.`{a}_t` (id int, note text)")
        cur.execute(f"CREATE ROLE `{role}`")
        cur.execute(f"GRANT INSERT ON lgdb.`{a}_t` TO `{role}`")
        cur.execute(f"GRANT `{role}` TO `{a}`@'%'")
        cur.execute(f"SET DEFAULT ROLE `{role}` FOR `{a}`@'%'")
        cur.execute(f"GRANT UPDATE (note) ON lgdb.`{a}_t` TO `{a}`@'%' WITH GRANT OPTION")
        cur.execute(
            "CREATE USER %s@'10.%%' IDENTIFIED BY PASSWORD %s", (a, native_password_hash(old))
        )
        cur.execute(f"GRANT DELETE ON lgdb.`{a}_t` TO `{a}`@'10.%'")
    before = {h: _grants(maria, a, h) for h in ("%", "10.%")}
    admin.clone_role(a, b, new)
    for host, lines in before.items():
        expected = sorted(
            line.replace(f"`{a}`@`{host}`", f"`{b}`@`{host}`").replace(
                native_password_hash(old), native_password_hash(new)
            )
            for line in lines
        )
        assert sorted(_grants(maria, b, host)) == expected
        assert _grants(maria, a, host) == lines
    endpoint = Endpoint(maria.host, maria.port, "lgdb")
    assert login_works(endpoint, b, new) and not login_works(endpoint, b, old)
    assert login_works(endpoint, a, old)
    admin.clone_role(a, b, new)  # again: nothing changes
    assert sorted(_grants(maria, b, "%")) == sorted(
        line.replace(f"`{a}`@`%`", f"`{b}`@`%`").replace(
            native_password_hash(old), native_password_hash(new)
        )
        for line in before["%"]
    )


def test_a_grant_line_not_understood_stops_the_clone() -> None:
    source, target = quote_account("app", "%"), quote_account("app_b", "%")
    with pytest.raises(BackendError, match="cannot copy"):
        grants_for(["GRANT SELECT ON `x`.* TO `other`@`%`"], source, target)
    assert grants_for(
        ["GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*AB12' WITH GRANT OPTION"],
        source,
        target,
    ) == ["GRANT USAGE ON *.* TO `app_b`@`%` WITH GRANT OPTION"]
