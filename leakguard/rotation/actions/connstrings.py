"""Database connection strings that are not ``scheme://user:password@host`` URLs, read and
rewritten for the database actions: JDBC URLs (``jdbc:postgresql://HOST:PORT/DB?user=USER&
password=PASSWORD``, ``jdbc:mysql:``, ``jdbc:mariadb:``) and ODBC / ADO.NET key=value strings
(``Driver={PostgreSQL Unicode};Server=HOST;Port=N;Database=DB;Uid=USER;Pwd=PASSWORD``).

Each is read as the equivalent URL (``postgresql://USER:PASSWORD@HOST:PORT/DB``), so where the
role lives and its password are found the same way for every form; rewriting changes the
password (and, for the alternating-users playbooks, the user) in place and leaves every other
character as it was. Values come from the store entry and stay in memory."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable

_JDBC = re.compile(r"\bjdbc:(?P<kind>postgresql|mysql|mariadb)://(?P<rest>[^\s'\"`<>]+)")
_JDBC_PARAM = re.compile(r"(?P<key>[?&;](?P<name>user|password)=)(?P<value>[^&;#\s'\"`<>]*)")
# one key=value pair of an ODBC / ADO.NET string; a {braced} value may hold ';' ('}}' is '}')
_PAIR = re.compile(
    r"(?P<key>(?:^|(?<=;))[ \t]*(?P<name>[A-Za-z][A-Za-z ]*?)[ \t]*=[ \t]*)"
    r"(?P<value>\{(?:[^}]|\}\})*\}|[^;]*)"
)
_HOST_KEYS = ("server", "host", "data source", "address", "addr", "network address")
_USER_KEYS = ("uid", "user id", "userid", "username", "user name", "user")
_PASSWORD_KEYS = ("pwd", "password")
_DATABASE_KEYS = ("database", "initial catalog", "db", "dbname")


def as_urls(value: str) -> list[str]:
    """Each JDBC URL and ODBC / ADO.NET string in ``value`` that names a user, a password and a
    host, as the equivalent ``scheme://user:password@host[:port]/database`` URL."""
    found = [url for m in _JDBC.finditer(value) if (url := _jdbc_url(m)) is not None]
    odbc = _odbc_url(value)
    return found if odbc is None else [*found, odbc]


def _url(scheme: str, user: str, password: str, host: str, port: str, database: str) -> str:
    quote = urllib.parse.quote
    netloc = f"[{host}]" if ":" in host else host
    port = f":{port}" if port else ""
    return f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{netloc}{port}/" + quote(
        database, safe=""
    )


def _jdbc_url(match: re.Match[str]) -> str | None:
    parts = urllib.parse.urlsplit("x://" + match.group("rest"))
    params = {m.group("name"): m.group("value") for m in _JDBC_PARAM.finditer(match.group(0))}
    user, password = params.get("user"), params.get("password")
    if not user or password is None or not parts.hostname:
        return None
    try:
        port = str(parts.port or "")
    except ValueError:
        return None
    unquote = urllib.parse.unquote
    kind = match.group("kind")
    database = parts.path.lstrip("/")
    return _url(kind, unquote(user), unquote(password), parts.hostname, port, unquote(database))


def _pairs(value: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for m in _PAIR.finditer(value):
        pairs.setdefault(m.group("name").lower(), _unbrace(m.group("value").strip()))
    return pairs


def _unbrace(value: str) -> str:
    if value.startswith("{") and value.endswith("}"):
        return value[1:-1].replace("}}", "}")
    return value


def _first(pairs: dict[str, str], keys: tuple[str, ...]) -> str:
    return next((pairs[k] for k in keys if pairs.get(k)), "")


def _odbc_url(value: str) -> str | None:
    if ";" not in value or "=" not in value:
        return None
    pairs = _pairs(value)
    server, user = _first(pairs, _HOST_KEYS), _first(pairs, _USER_KEYS)
    password = _first(pairs, _PASSWORD_KEYS)
    if not server or not user or not password:
        return None
    host, port = _server(server)
    port = pairs.get("port") or port
    if not host or (port and not port.isdigit()):
        return None
    driver = pairs.get("driver", "").lower()
    scheme = (
        "postgresql"
        if "postgres" in driver
        else "mysql"
        if "mysql" in driver or "mariadb" in driver
        else "odbc"
    )
    return _url(scheme, user, password, host, port, _first(pairs, _DATABASE_KEYS))


def _server(server: str) -> tuple[str, str]:
    """``tcp:HOST,PORT`` / ``HOST,PORT`` / ``HOST:PORT`` / ``HOST`` -> (HOST, PORT)."""
    server = server.removeprefix("tcp:").strip()
    if "," in server:
        host, _, port = server.partition(",")
        return host.strip(), port.strip()
    if server.count(":") == 1:
        host, _, port = server.partition(":")
        return host, port
    return server.strip("[]"), ""


def rewrite(value: str, role: str, same: Callable[[str], bool], new: str, target: str) -> str:
    """``value`` with the password of ``role`` in its JDBC URLs and ODBC / ADO.NET string
    replaced by ``new`` where ``same(password)``, and the user name by ``target``."""

    def jdbc(match: re.Match[str]) -> str:
        params = {m.group("name"): m.group("value") for m in _JDBC_PARAM.finditer(match.group(0))}
        if urllib.parse.unquote(params.get("user", "")) != role:
            return match.group(0)
        if not same(urllib.parse.unquote(params.get("password", ""))):
            return match.group(0)

        def param(m: re.Match[str]) -> str:
            replacement = new if m.group("name") == "password" else target
            return m.group("key") + urllib.parse.quote(replacement, safe="")

        return _JDBC_PARAM.sub(param, match.group(0))

    value = _JDBC.sub(jdbc, value)
    if _odbc_url(value) is None:
        return value
    pairs = _pairs(value)
    if _first(pairs, _USER_KEYS) != role or not same(_first(pairs, _PASSWORD_KEYS)):
        return value

    def pair(m: re.Match[str]) -> str:
        name = m.group("name").lower()
        if name in _PASSWORD_KEYS:
            return m.group("key") + _braced(new, m.group("value"))
        if name in _USER_KEYS:
            return m.group("key") + _braced(target, m.group("value"))
        return m.group(0)

    return _PAIR.sub(pair, value)


def _braced(value: str, like: str) -> str:
    """``value`` written as ``like`` was: in braces when it was braced."""
    return "{" + value.replace("}", "}}") + "}" if like.startswith("{") else value
