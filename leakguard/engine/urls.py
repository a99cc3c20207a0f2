"""Connection URLs with an embedded password (``postgres://user:password@host/db``).

The credential is the password; its parts are the password and the user name, so a store entry
holding them in separate fields (``username``, ``password``) links to it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from leakguard.engine import params as p
from leakguard.engine.interface import Candidate, Verdict
from leakguard.model import extras
from leakguard.redact import redact_bare

PARAMS = {
    "placeholders": "passwords that are templates, compared case-insensitively",
    "local_severity": "severity when the host is local (localhost, 127.0.0.1, ::1)",
}
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0", "host.docker.internal"}
_TEMPLATE_START = frozenset(b"$%{<[*\\")


def prepare(params: Mapping[str, Any]) -> Mapping[str, Any]:
    p.only(params, PARAMS)
    return {
        "placeholders": frozenset(v.lower().encode() for v in p.strings(params, "placeholders")),
        "local_severity": p.severity(params, "local_severity"),
    }


def _group(candidate: Candidate, name: str) -> str:
    value = candidate.groups.get(name)
    return value.decode("utf-8", "replace") if value else ""


# a password written as an ellipsis or a mask: "...", "…", "***", "xxx", "<…>"
_ELIDED = re.compile(rb"(?:\.{2,}|(?:\xe2\x80\xa6)+|\*+|[xX]{3,}|<[^>]*>|\[[^\]]*\])")


def url_context(candidate: Candidate, _params: Mapping[str, Any]) -> bytes:
    """What :func:`connection_url` decides by besides the password and the rule: the URL's
    scheme, user and host (a log repeating one URL on every line is judged once)."""
    groups = candidate.groups
    values = [groups.get(name) or b"" for name in ("scheme", "user", "host")]
    return b"".join(len(v).to_bytes(4, "big") + v for v in values)


def connection_url(candidate: Candidate, params: Mapping[str, Any]) -> Verdict:
    password = candidate.secret
    if (
        not password
        or password[0] in _TEMPLATE_START
        or password.lower() in params.get("placeholders", ())
    ):
        return Verdict.reject("password is a template")
    if _ELIDED.fullmatch(password):
        return Verdict.reject("password is elided")  # "…", "...", "***": documentation
    scheme, user, host = (_group(candidate, n) for n in ("scheme", "user", "host"))
    local = host.lower() in _LOCAL_HOSTS
    return Verdict(
        accept=True,
        detail="password embedded in a connection URL",
        severity=params.get("local_severity") if local else None,
        attributes=extras(scheme=scheme, host=host, user=user or None),
        redacted=f"{scheme}://{user}:{redact_bare(password)}@{host}",
        parts=(("password", password), ("user", candidate.groups.get("user") or b"")),
    )
