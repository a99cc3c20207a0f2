"""Access evidence: who read which store entry, when, and which version.

* Vault / OpenBao file audit logs (one JSON object per line). A KV v2 read is a ``response``
  entry with ``request.operation == "read"`` on ``<mount>/data/<path>``. Audit devices HMAC
  strings by default, but the reader's ``auth.entity_id``, ``auth.metadata.role_name``,
  ``auth.display_name``, ``request.remote_address``, the entry ``time`` and the version in
  ``response.data.metadata.version`` are written in clear (checked against OpenBao 2.x).
* CloudTrail ``GetSecretValue`` events from ``{"Records": [...]}`` files, plain or gzip:
  ``userIdentity.arn``, ``requestParameters.secretId``, ``eventTime``, and the version when the
  caller asked for one (``versionId`` or ``versionStage``).

Both yield :class:`ReadEvent` values; lines or records that are not successful reads are
skipped. A file that cannot be read or parsed at all raises :class:`GraphError`.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from leakguard.errors import GraphError
from leakguard.graph import ids
from leakguard.graph.interface import ReadEvent, StoreRef
from leakguard.graph.model import canonical_time
from leakguard.graph.queries import parse_time

VAULT_BACKEND = "vault-kv2"
AWS_BACKEND = "aws-secretsmanager"


def _open(path: Path) -> IO[bytes]:
    """The file as bytes, gunzipped when it starts with the gzip magic."""
    try:
        with path.open("rb") as probe:
            magic = probe.read(2)
        if magic == b"\x1f\x8b":
            return gzip.open(path, "rb")  # type: ignore[return-value]
        return path.open("rb")
    except OSError as exc:
        raise GraphError(
            f"cannot read evidence file {path}: {exc.strerror or exc}",
            hint="check the path given to --vault-audit / --cloudtrail",
        ) from None


def _time(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return canonical_time(value)
    except ValueError:
        return None


def _since(since: str | None) -> str | None:
    return None if since is None else parse_time(since, "--since")


def vault_identity(auth: Mapping[str, Any]) -> str | None:
    """The schemed identity of an audit entry's ``auth`` block (see interface.py)."""
    metadata = auth.get("metadata") or {}
    role = metadata.get("role_name") if isinstance(metadata, Mapping) else None
    if isinstance(role, str) and role and not role.startswith("hmac-"):
        return f"vault-approle:{role}"
    entity = auth.get("entity_id")
    if isinstance(entity, str) and entity and not entity.startswith("hmac-"):
        return f"vault-entity:{entity}"
    name = auth.get("display_name")
    if isinstance(name, str) and name and not name.startswith("hmac-"):
        return f"vault-token:{name}"
    return None


def vault_read(entry: Mapping[str, Any], source: str) -> ReadEvent | None:
    """One audit entry -> a ReadEvent when it is a successful KV v2 data read."""
    if entry.get("type") != "response" or entry.get("error"):
        return None
    request = entry.get("request")
    if not isinstance(request, dict) or request.get("operation") != "read":
        return None
    path = request.get("path")
    mount = request.get("mount_point")
    if not isinstance(path, str) or not isinstance(mount, str) or not mount:
        return None
    prefix = mount + "data/"
    if not path.startswith(prefix) or request.get("mount_type", "kv") != "kv":
        return None
    response = entry.get("response")
    data = response.get("data") if isinstance(response, dict) else None
    if not isinstance(data, dict) or "data" not in data:
        return None  # a read of a missing or deleted version
    auth = entry.get("auth")
    identity = vault_identity(auth) if isinstance(auth, dict) else None
    at = _time(entry.get("time"))
    if identity is None or at is None:
        return None
    metadata = data.get("metadata")
    version = metadata.get("version") if isinstance(metadata, dict) else None
    remote = request.get("remote_address")
    return ReadEvent(
        store=StoreRef(VAULT_BACKEND, path[len(prefix) :], mount.rstrip("/")),
        identity=identity,
        at=at,
        version=str(version) if isinstance(version, int) else None,
        source=source,
        remote_address=remote if isinstance(remote, str) else None,
    )


def vault_audit_reads(path: Path, *, since: str | None = None) -> Iterator[ReadEvent]:
    """Every successful KV v2 read in an OpenBao/Vault file audit log (plain or gzip),
    at or after ``since`` when given."""
    floor = _since(since)
    source = f"vault-audit:{path}"
    with _open(path) as stream:
        try:
            for line in stream:
                if b'"read"' not in line or b'"response"' not in line:
                    continue  # every KV read response holds both strings: skip the rest unparsed
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # a torn last line while the server writes
                if not isinstance(entry, dict):
                    continue
                event = vault_read(entry, source)
                if event is not None and (floor is None or event.at >= floor):
                    yield event
        except (OSError, EOFError) as exc:
            raise GraphError(f"cannot read audit log {path}: {exc}") from None


def _records(path: Path) -> list[Any]:
    with _open(path) as stream:
        try:
            doc = json.load(stream)
        except (ValueError, OSError, EOFError) as exc:
            raise GraphError(
                f"{path} is not a CloudTrail JSON file: {exc}",
                hint='CloudTrail files hold {"Records": [...]} (gzip or plain)',
            ) from None
    if isinstance(doc, dict) and isinstance(doc.get("Records"), list):
        return list(doc["Records"])
    if isinstance(doc, list):  # a bare list of events (e.g. from lookup-events)
        return doc
    raise GraphError(f"{path} has no Records list", hint='CloudTrail files hold {"Records": [...]}')


def cloudtrail_read(record: Mapping[str, Any], source: str) -> ReadEvent | None:
    if record.get("eventName") != "GetSecretValue" or record.get("errorCode"):
        return None
    if record.get("eventSource") not in (None, "secretsmanager.amazonaws.com"):
        return None
    params = record.get("requestParameters") or {}
    secret = params.get("secretId") if isinstance(params, Mapping) else None
    who = record.get("userIdentity") or {}
    arn = who.get("arn") if isinstance(who, Mapping) else None
    at = _time(record.get("eventTime"))
    if not isinstance(secret, str) or not isinstance(arn, str) or at is None:
        return None
    version = params.get("versionId") or params.get("versionStage")
    remote = record.get("sourceIPAddress")
    return ReadEvent(
        store=StoreRef(AWS_BACKEND, ids.secretsmanager_name(secret)),
        identity=ids.aws_identity(arn),
        at=at,
        version=str(version) if isinstance(version, str) else None,
        source=source,
        remote_address=remote if isinstance(remote, str) else None,
    )


def cloudtrail_reads(paths: Iterable[Path], *, since: str | None = None) -> Iterator[ReadEvent]:
    """Every successful ``GetSecretValue`` in CloudTrail files, at or after ``since``."""
    floor = _since(since)
    for path in paths:
        source = f"cloudtrail:{path}"
        for record in _records(path):
            if not isinstance(record, Mapping):
                continue
            event = cloudtrail_read(record, source)
            if event is not None and (floor is None or event.at >= floor):
                yield event


def expand(paths: Iterable[Path], patterns: tuple[str, ...]) -> list[Path]:
    """Files as given, and files matching ``patterns`` under directories given."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = {p for pattern in patterns for p in path.rglob(pattern) if p.is_file()}
            out.extend(sorted(found))
        else:
            out.append(path)
    return out
