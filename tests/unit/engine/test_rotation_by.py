"""``rotation_by``: a rule's playbook chosen by a named group of its match, checked at load."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from leakguard.backends.manual import StepsCatalog
from leakguard.engine.matcher import Engine
from leakguard.engine.rulecache import RuleCache
from leakguard.engine.rules import Rule, RuleSet, rotation_for, shipped_playbook_ids
from leakguard.errors import RuleError
from leakguard.model import Severity
from leakguard.rotation.providers import playbook_ids

PG, MARIADB, MANUAL = "postgres-role-password", "mariadb-user-password", "database-password"
SHIPPED = RuleSet.load()
ENGINE = Engine(SHIPPED, "re")

# per rule: (text, the playbook its finding names); the passwords are made up here
SQL = [  # sql-url-password: the scheme before "://" (SQLAlchemy's dialect+driver)
    ("postgresql+psycopg2://billing:fPe0tAXcZnwhLCsGSR@db.acme.io:5432/billing", PG),
    ("postgres+asyncpg://billing:fPe0tAXcZnwhLCsGSR@db.acme.io/billing", PG),
    ("postgresql+pg8000://billing:fPe0tAXcZnwhLCsGSR@db.acme.io/billing", PG),
    ("mysql+pymysql://shop:16H9AKKy4Zv3anZs7Z@10.0.3.7/shop", MARIADB),
    ("mysql+mysqlconnector://shop:16H9AKKy4Zv3anZs7Z@10.0.3.7/shop", MARIADB),
    ("mariadb://shop:16H9AKKy4Zv3anZs7Z@10.0.3.7:3306/shop", MARIADB),
    ("cockroachdb://app:Z0N4R14V7F93QP0N@crdb.acme.io:26257/app", MANUAL),
    ("oracle://etl:Z0N4R14V7F93QP0N@ora-prod.acme.io:1521/ORCL", MANUAL),
    ("mssql+pyodbc://etl:Z0N4R14V7F93QP0N@sql.acme.io/orders", MANUAL),
    ("clickhouse://etl:Z0N4R14V7F93QP0N@ch.acme.io/events", MANUAL),
]
JDBC = [  # jdbc-url-password: the subprotocol after "jdbc:"
    ("jdbc:postgresql://db.acme.io:5432/app?user=app&password=MBEgcCQOV2vn7UovJAiZ", PG),
    ("jdbc:mysql://db.acme.io:3306/shop?user=shop&password=MBEgcCQOV2vn7UovJAiZ", MARIADB),
    ("jdbc:mariadb://10.0.3.7:3306/shop?password=Fq8uTn2ZkRw6LpHx0c&user=shop", MARIADB),
    ("jdbc:sqlserver://sql.acme.io:1433;user=etl;password=JGcxKmFG5h05uwFMb3", MANUAL),
    ("jdbc:db2://db2.acme.io:50000/ORDERS:user=etl;password=JGcxKmFG5h05uwFMb3;", MANUAL),
]
ADO = [  # adonet-connection-string-password: only an explicit ODBC driver names the server
    ('"Driver={PostgreSQL Unicode};Server=pg.io;Port=5432;Uid=o;Pwd=Vq3JxT8mNc2LsK9w;"', PG),
    ('"Server=pg.io;Driver={PostgreSQL ANSI(x64)};Database=o;Uid=o;Pwd=Vq3JxT8mNc2LsK9w;"', PG),
    (
        '"Driver={MySQL ODBC 8.0 Unicode Driver};Server=db;User=s;Password=Vq3JxT8mNc2LsK9w;"',
        MARIADB,
    ),
    ('"DRIVER={MariaDB ODBC 3.1 Driver};SERVER=db;UID=shop;PWD={Vq3JxT8mNc2LsK9w};"', MARIADB),
    (
        '"Driver={ODBC Driver 18 for SQL Server};Server=tcp:sql.io;Uid=a;Pwd={cGuFCnDIKTXdM};"',
        MANUAL,
    ),
    # Npgsql / MySqlConnector / SqlClient keys overlap (Host, Username, Port): no driver, manual
    ('"Host=pg.acme.io;Port=5432;Database=o;Username=o_app;Password=Vq3JxT8mNc2LsK9w;"', MANUAL),
    ('"Server=sql.acme.io;Database=Orders;User Id=orders;Password=M5faLBMvKcci3IqEbke5;"', MANUAL),
    # a Driver= after the password is not read: the rule's match ends at the password
    ('"Server=pg.acme.io;Uid=o_app;Pwd=Vq3JxT8mNc2LsK9w;Driver={PostgreSQL Unicode}"', MANUAL),
]
PLAIN = [  # rules without rotation_by keep their one playbook
    (
        "postgres://app:j6mhIcNolKCSEk8gWg@db.prod.acme-corp.io:5432/app",
        "postgres-url-password",
        PG,
    ),
    (
        "mysql://root:RyDQ6rPL3ZzlHJJ6Mx6olGR5@mysql.internal:3306/shop",
        "mysql-url-password",
        MARIADB,
    ),
]
CASES = [
    *[(f"DB={text}", "sql-url-password", playbook) for text, playbook in SQL],
    *[(f"url={text}", "jdbc-url-password", playbook) for text, playbook in JDBC],
    *[(text, "adonet-connection-string-password", playbook) for text, playbook in ADO],
    *[(f"DATABASE_URL={text}", rule_id, playbook) for text, rule_id, playbook in PLAIN],
]


@pytest.mark.parametrize(("text", "rule_id", "playbook"), CASES, ids=[c[0][:48] for c in CASES])
def test_each_case_and_the_default_on_a_real_scan(text: str, rule_id: str, playbook: str) -> None:
    [finding] = ENGINE.scan_text(text)
    assert (finding.rule_id, finding.rotation) == (rule_id, playbook)


def test_every_case_of_the_shipped_rules_is_exercised() -> None:
    """Each shipped case, and each rule's default, is chosen by at least one text above."""
    chosen = {(rule_id, playbook) for _, rule_id, playbook in CASES}
    for rule in SHIPPED.rules:
        if rule.rotation_cases:
            wanted = {(rule.id, p) for _, p in rule.rotation_cases} | {(rule.id, rule.rotation)}
            assert wanted <= chosen, rule.id


def test_jdbc_and_adonet_findings_name_their_user_and_host() -> None:
    """What `graph build --database` links a leak to its role by (attributes user and host)."""
    jdbc = "jdbc:postgresql://db.acme.io:5432/app?ssl=true&user=app&password=MBEgcCQOV2vn7UovJAiZ"
    [finding] = ENGINE.scan_text(jdbc)
    attrs = dict(finding.attributes)
    assert (attrs["scheme"], attrs["host"], attrs["user"]) == ("postgresql", "db.acme.io", "app")
    assert "user" in dict(finding.parts)
    ado = "Server=db.acme.io;Database=app;User Id=app_rw;Password=M5faLBMvKcci3IqEbke5;"
    [finding] = ENGINE.scan_text(ado)
    attrs = dict(finding.attributes)
    assert (attrs["host"], attrs["user"]) == ("db.acme.io", "app_rw")
    odbc = "Driver={PostgreSQL Unicode};Server=pg.acme.io;Port=5432;Uid=o_app;Pwd=Vq3JxT8mNc2LsK9w;"
    [finding] = ENGINE.scan_text(odbc)
    attrs = dict(finding.attributes)  # the server, not the driver, after a leading Driver=
    assert (attrs["host"], attrs["user"]) == ("pg.acme.io", "o_app")
    [finding] = ENGINE.scan_text("Driver={SQLite3};Database=x.db;Password=Vq3JxT8mNc2LsK9w;")
    assert dict(finding.attributes)["host"] == "{SQLite3}"  # no server key: as before


def _rule(cases: list[tuple[str, str]], default: str | None = MANUAL) -> Rule:
    return Rule(
        id="demo",
        provider="demo",
        title="demo",
        severity=Severity.HIGH,
        pattern=re.compile(rb"(?P<kind>\w+)://(?P<secret>\w+)"),
        keywords=(b"://",),
        rotation=default,
        rotation_group="kind",
        rotation_cases=tuple((re.compile(m.encode()), p) for m, p in cases),
    )


def test_rotation_for_takes_the_first_case_that_matches_else_the_default() -> None:
    rule = _rule([("^pg", "first"), ("pg", "second"), ("(?i)^MY", "third")])
    assert rotation_for(rule, {"kind": b"pgsql"}) == "first"
    assert rotation_for(rule, {"kind": b"xpg"}) == "second"  # re.search: unanchored unless ^
    assert rotation_for(rule, {"kind": b"mysql"}) == "third"
    assert rotation_for(rule, {"kind": b"oracle"}) == MANUAL
    assert rotation_for(rule, {"kind": None}) == MANUAL  # the group took no part in the match
    assert rotation_for(rule, {}) == MANUAL
    plain = Rule("p", "p", "p", Severity.LOW, re.compile(b"x"), (b"x",), rotation="one")
    assert rotation_for(plain, {"kind": b"pg"}) == "one"


def test_the_shipped_playbook_ids_the_engine_reads_are_the_rotation_packages() -> None:
    assert shipped_playbook_ids() == playbook_ids(StepsCatalog.load())


def test_rules_with_rotation_by_survive_the_rule_cache(tmp_path: Path) -> None:
    cache = RuleCache(tmp_path / "cache")
    first = RuleSet.load(cache=cache)
    again = RuleSet.load(cache=cache)
    assert again.rules == first.rules
    jdbc = again.by_id()["jdbc-url-password"]
    assert [p for _, p in jdbc.rotation_cases] == [PG, MARIADB]
    assert list(cache.path("x").parent.glob("*.rules"))  # it was stored, not silently refused


GOOD = """\
provider: demo
rules:
  - id: demo-url
    title: Demo URL
    severity: high
    keywords: ['://']
    pattern: '(?P<kind>[a-z]+)://(?P<secret>[A-Za-z0-9]{12,})'
    rotation: database-password
    rotation_by:
      group: kind
      cases:
        - match: '^pg$'
          playbook: postgres-role-password
        - match: '^my'
          playbook: mariadb-user-password
    examples: ['pg://Ab3dE5gH7jK9mN1p']
"""


def _load(tmp_path: Path, text: str) -> RuleSet:
    (tmp_path / "demo.yaml").write_text(text)
    return RuleSet.load([tmp_path], builtin=False)


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(RuleError) as info:
        _load(tmp_path, text)
    return info.value.diagnostics()


def test_a_user_rule_file_with_rotation_by_loads_and_resolves(tmp_path: Path) -> None:
    rules = _load(tmp_path, GOOD)
    engine = Engine(rules, "re")
    found = {
        text: engine.scan_text(text)[0].rotation
        for text in ("pg://Ab3dE5gH7jK9mN1p", "mysql://Ab3dE5gH7jK9mN1p", "pgx://Ab3dE5gH7jK9mN1p")
    }
    assert found == {
        "pg://Ab3dE5gH7jK9mN1p": PG,
        "mysql://Ab3dE5gH7jK9mN1p": MARIADB,
        "pgx://Ab3dE5gH7jK9mN1p": MANUAL,
    }


@pytest.mark.parametrize(
    ("change", "line", "expected"),
    [
        (("'^pg$'", "'^pg($'"), 12, "rotation_by: invalid match '^pg($'"),
        (("'^my'", "'^(a+)+my'"), 14, "exponential time"),
        (("playbook: mariadb-user-password", "playbook: mariadb-user-pasword"), 15,
         "no playbook 'mariadb-user-pasword'"),
        (("rotation: database-password", "rotation: manual-db"), 8, "no playbook 'manual-db'"),
        (("group: kind", "group: scheme"), 10,
         "rotation_by.group 'scheme' is not a named group of the pattern (kind)"),
        (("group: kind", "group: secret"), 10, "rotation_by.group 'secret' is not a named group"),
        (("group: kind", "group: 'no-dash'"), 10, "rotation_by.group must be the name of a group"),
        (("playbook: postgres-role-password", "playbook: Postgres"), 13, "playbook must be a "),
        (("        - match: '^my'\n", "        - match: '^my'\n          when: x\n"), 15,
         "each case of rotation_by is {match: REGEX, playbook: ID}"),
        (("    rotation: database-password\n", ""), 3, "missing required key 'rotation'"),
    ],
)  # fmt: skip
def test_mistakes_are_rejected_at_load_with_file_and_line(
    tmp_path: Path, change: tuple[str, str], line: int, expected: str
) -> None:
    assert change[0] in GOOD
    message = _error(tmp_path, GOOD.replace(*change))
    assert f"{tmp_path / 'demo.yaml'}:{line}:" in message, message
    assert "rule 'demo-url'" in message and expected in message, message


def test_the_known_playbooks_can_be_given(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(GOOD)
    known = {MANUAL, PG, MARIADB}
    assert RuleSet.from_files([path], playbooks=lambda: known).rules[0].rotation_cases
    with pytest.raises(RuleError, match="no playbook 'mariadb-user-password'"):
        RuleSet.from_files([path], playbooks=lambda: known - {MARIADB})
