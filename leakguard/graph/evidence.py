"""Access evidence: who read which store entry, when, and which version.

* Vault / OpenBao file audit logs (one JSON object per line). A KV v2 read is a ``response``
  entry with ``request.operation == "read"`` on ``<mount>/data/<path>``. Audit devices HMAC
  strings by default, but the reader's ``auth.entity_id``, ``auth.metadata.role_name``,
  ``auth.display_name``, ``request.remote_address``, the entry ``time`` and the version in
  ``response.data.metadata.version`` are written in clear (checked against OpenBao 2.x).
* CloudTrail ``GetSecretValue`` events from ``{"Records": [...]}`` files, plain or gzip:
  ``userIdentity.arn``, ``requestParameters.secretId``, ``eventTime``, and the version when the
  caller asked for one (``versionId`` or ``versionStage``).

* CloudTrail events of any kind signed with an access key (``userIdentity.accessKeyId``): a
  :class:`KeyUse` carrying the key id's fingerprint and the IAM user, role and account.

Both yield :class:`ReadEvent` values; lines or records that are not successful reads are
skipped. A reader never goes silently blind: given an :class:`EvidenceReport`, a file that
cannot be read or parsed is skipped with a warning, and torn lines are counted; without one, such
a file raises :class:`GraphError`. Vault before 2023 wrote no ``request.mount_point``: the mount
is then taken from ``request.path`` (everything before ``/data/``).
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from leakguard.errors import GraphError
from leakguard.graph import ids
from leakguard.graph.interface import KeyUse, ReadEvent, StoreRef
from leakguard.graph.model import canonical_time
from leakguard.graph.queries import parse_time
from leakguard.redact import fingerprint

VAULT_BACKEND = "vault-kv2"
AWS_BACKEND = "aws-secretsmanager"


@dataclass
class EvidenceReport:
    """What the evidence readers could not use (mutable accumulator, filled as they read):
    files skipped with the reason, and per file the lines that were not JSON."""

    skipped_files: list[str] = field(default_factory=list)
    bad_lines: dict[str, int] = field(default_factory=dict)
    bad_records: dict[str, int] = field(default_factory=dict)
    empty_dirs: list[str] = field(default_factory=list)

    def skip(self, path: Path, reason: str) -> None:
        self.skipped_files.append(f"{path}: {reason}")

    def bad_line(self, path: Path) -> None:
        self.bad_lines[str(path)] = self.bad_lines.get(str(path), 0) + 1

    def bad_record(self, path: Path) -> None:
        self.bad_records[str(path)] = self.bad_records.get(str(path), 0) + 1

    def warnings(self) -> list[str]:
        out = [f"skipped evidence file {s}" for s in self.skipped_files]
        out += [
            f"{path}: skipped {n} {'lines that are' if n > 1 else 'line that is'} not JSON"
            " (torn or corrupt)"
            for path, n in sorted(self.bad_lines.items())
        ]
        out += [
            f"{path}: skipped {n} {'records that are' if n > 1 else 'record that is'} not a"
            " JSON object"
            for path, n in sorted(self.bad_records.items())
        ]
        out += [f"no evidence files found under {d}" for d in self.empty_dirs]
        return out


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


_READ_ERRORS = (OSError, EOFError, zlib.error)


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


def _clear(value: object) -> str | None:
    return value if isinstance(value, str) and value and not value.startswith("hmac-") else None


def _mount_and_path(request: Mapping[str, Any]) -> tuple[str, str] | None:
    """(mount with its trailing slash, path under ``data/``) of a KV v2 data request; the mount
    comes from ``mount_point``, or, in logs of Vault before 2023 that lack it, from the path."""
    path = request.get("path")
    if not isinstance(path, str):
        return None
    mount = request.get("mount_point")
    if not isinstance(mount, str) or not mount:
        head, sep, _ = path.partition("/data/")
        if not sep or not head:
            return None
        mount = head + "/"
    prefix = mount + "data/"
    if not path.startswith(prefix) or len(path) == len(prefix):
        return None
    return mount, path[len(prefix) :]


def vault_read(
    entry: Mapping[str, Any], source: str, refs: dict[tuple[str, str], StoreRef] | None = None
) -> ReadEvent | None:
    """One audit entry -> a ReadEvent when it is a successful KV v2 data read. ``refs`` keeps
    one StoreRef per entry read across a log (a log reads few entries, many times)."""
    if entry.get("type") != "response" or entry.get("error"):
        return None
    request = entry.get("request")
    if not isinstance(request, dict) or request.get("operation") != "read":
        return None
    where = _mount_and_path(request)
    if where is None or request.get("mount_type", "kv") != "kv":
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
    store = refs.get(where) if refs is not None else None
    if store is None:
        mount, path = where
        store = StoreRef(VAULT_BACKEND, path, mount.rstrip("/"))
        if refs is not None:
            refs[where] = store
    return ReadEvent(
        store=store,
        identity=identity,
        at=at,
        version=str(version) if isinstance(version, int) else None,
        source=source,
        remote_address=remote if isinstance(remote, str) else None,
        display_name=_clear(auth.get("display_name")) if isinstance(auth, dict) else None,
    )


_RAW_DECODE = json.JSONDecoder().raw_decode


def _json_line(line: bytes) -> Any:
    """One JSON line (UTF-8), as ``json.loads`` reads it, without its per-call encoding
    detection and decoder set-up (a large audit log is mostly this call)."""
    text = line.decode("utf-8-sig").strip()  # a byte-order mark, as json.loads allows
    value, end = _RAW_DECODE(text)
    if end != len(text):
        raise ValueError("extra data after the JSON value")
    return value


def vault_audit_reads(
    path: Path, *, since: str | None = None, report: EvidenceReport | None = None
) -> Iterator[ReadEvent]:
    """Every successful KV v2 read in an OpenBao/Vault file audit log (plain or gzip),
    at or after ``since`` when given. Lines that are not JSON are counted in ``report``; a file
    that cannot be read is skipped into it (without a report, it raises)."""
    floor = _since(since)
    source = f"vault-audit:{path}"
    refs: dict[tuple[str, str], StoreRef] = {}
    try:
        stream = _open(path)
    except GraphError as exc:
        if report is None:
            raise
        report.skip(path, exc.message)
        return
    with stream:
        try:
            for line in stream:
                if not line.rstrip().endswith(b"}"):
                    if report is not None and line.strip():
                        report.bad_line(path)  # torn: cheap to tell without parsing
                    continue
                if b'"read"' not in line or b'"response"' not in line:
                    continue  # every KV read response holds both strings: skip the rest unparsed
                try:
                    entry = _json_line(line)
                except ValueError:
                    if report is not None:
                        report.bad_line(path)
                    continue  # a torn last line while the server writes
                if not isinstance(entry, dict):
                    if report is not None:
                        report.bad_record(path)
                    continue
                event = vault_read(entry, source, refs)
                if event is not None and (floor is None or event.at >= floor):
                    yield event
        except _READ_ERRORS as exc:
            if report is None:
                raise GraphError(f"cannot read audit log {path}: {exc}") from None
            report.skip(path, f"unreadable after its first reads ({exc})")


def _records(path: Path) -> list[Any]:
    with _open(path) as stream:
        try:
            doc = json.load(stream)
        except (ValueError, *_READ_ERRORS) as exc:
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


_IAM_USER = re.compile(r"^arn:aws[\w-]*:iam::\d+:user/(?:.*/)?([^/]+)$")


def cloudtrail_key_use(record: Mapping[str, Any], source: str) -> KeyUse | None:
    """Any event signed with an access key -> who AWS says holds that key (by fingerprint).
    A failed call counts too: it proves the key id is in someone's hands."""
    who = record.get("userIdentity")
    if not isinstance(who, Mapping):
        return None
    key_id = who.get("accessKeyId")
    at = _time(record.get("eventTime"))
    if not isinstance(key_id, str) or not key_id or at is None:
        return None
    arn = who.get("arn")
    account = who.get("accountId")
    user = who.get("userName")
    if not isinstance(user, str) and isinstance(arn, str):
        m = _IAM_USER.match(arn)
        user = m.group(1) if m else None
    service = str(record.get("eventSource") or "").removesuffix(".amazonaws.com")
    name = str(record.get("eventName") or "")
    return KeyUse(
        key_id=fingerprint(key_id),
        at=at,
        identity=ids.aws_identity(arn) if isinstance(arn, str) and arn else None,
        account=account if isinstance(account, str) and account else None,
        user=user if isinstance(user, str) and user else None,
        event=f"{service}:{name}" if service else name,
        source=source,
    )


def cloudtrail_evidence(
    paths: Iterable[Path], *, since: str | None = None, report: EvidenceReport | None = None
) -> Iterator[ReadEvent | KeyUse]:
    """Every successful ``GetSecretValue`` and every event signed with an access key, at or
    after ``since``. A file that is not CloudTrail JSON (truncated, corrupt) is skipped into
    ``report``; without one, it raises."""
    floor = _since(since)
    for path in paths:
        source = f"cloudtrail:{path}"
        try:
            records = _records(path)
        except GraphError as exc:
            if report is None:
                raise
            report.skip(path, exc.message)
            continue
        for record in records:
            if not isinstance(record, Mapping):
                if report is not None:
                    report.bad_record(path)
                continue
            read = cloudtrail_read(record, source)
            if read is not None and (floor is None or read.at >= floor):
                yield read
            use = cloudtrail_key_use(record, source)
            if use is not None and (floor is None or use.at >= floor):
                yield use


def cloudtrail_reads(
    paths: Iterable[Path], *, since: str | None = None, report: EvidenceReport | None = None
) -> Iterator[ReadEvent]:
    """Every successful ``GetSecretValue`` in CloudTrail files, at or after ``since``."""
    for event in cloudtrail_evidence(paths, since=since, report=report):
        if isinstance(event, ReadEvent):
            yield event


# an audit log and its rotations: audit.log, audit.log.1, audit.log.2.gz, audit.log-20260101
VAULT_LOG_NAMES = re.compile(r".*\.(?:log|json|jsonl)(?:[.-]\d+)?(?:\.gz)?")
CLOUDTRAIL_NAMES = re.compile(r".*\.json(?:\.gz)?")


def expand(
    paths: Iterable[Path], names: re.Pattern[str], report: EvidenceReport | None = None
) -> list[Path]:
    """Files as given, and files whose name matches ``names`` under directories given. A path
    that does not exist is an error (a typo must not read as "no evidence"); a directory with
    no matching file is noted in ``report``."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = {p for p in path.rglob("*") if names.fullmatch(p.name) and p.is_file()}
            if not found and report is not None:
                report.empty_dirs.append(str(path))
            out.extend(sorted(found))
        elif path.exists():
            out.append(path)
        else:
            raise GraphError(
                f"evidence path {path} does not exist",
                hint="check the path given to --vault-audit / --cloudtrail",
            )
    return out
