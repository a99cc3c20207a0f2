"""The typed values that flow between stages: sources -> engine -> findings -> store/graph.

Everything here is a frozen dataclass except the :class:`ScanStats` accumulator. A secret value
lives only inside an engine pass; a :class:`Finding` carries its fingerprint and a redacted
preview, and the plaintext only when the user asked for it (``--show-secrets``), hidden from repr.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime

from leakguard.errors import UsageError

Scalar = str | int | float | bool | None
Extras = tuple[tuple[str, Scalar], ...]
# (part name, fingerprint) of each part of a credential with parts: an AWS key id and its
# secret access key, a Twilio SID and its token, a URL's user and password. Never values.
Parts = tuple[tuple[str, str], ...]


def extras(mapping: Mapping[str, Scalar] | None = None, **kwargs: Scalar) -> Extras:
    """Build a hashable, ordered extras tuple from keyword arguments (None values dropped)."""
    merged = dict(mapping or {}, **kwargs)
    return tuple((k, v) for k, v in merged.items() if v is not None)


class Severity(enum.IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str | Severity) -> Severity:
        if isinstance(value, Severity):
            return value
        try:
            return cls[str(value).strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise UsageError(f"unknown severity {value!r}", hint=f"use one of: {names}") from None


class SourceKind(enum.StrEnum):
    FILE = "file"
    STDIN = "stdin"
    GIT = "git"
    ARCHIVE = "archive"
    LOG = "log"
    WEB = "web"
    URL = "url"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a secret sits.

    ``path`` is relative to the scanned directory (or the file as given); a member inside a
    container is written ``outer!inner``. ``line`` and ``column`` are 1-based (0 = unknown).
    Source-specific facts (original source-map position, URL, encoding layer, author...) go into
    ``extras`` and are flattened into the JSON ``location`` object.
    """

    path: str
    line: int = 0
    column: int = 0
    commit: str | None = None
    extras: Extras = ()

    def get(self, key: str, default: Scalar = None) -> Scalar:
        for k, v in self.extras:
            if k == key:
                return v
        return default

    def to_dict(self) -> dict[str, Scalar]:
        out: dict[str, Scalar] = {"path": self.path, "line": self.line, "column": self.column}
        if self.commit is not None:
            out["commit"] = self.commit
        out.update(self.extras)
        return out


@dataclass(frozen=True, slots=True)
class Chunk:
    """Bytes to scan and where they came from.

    ``location`` names the object (path, commit...) with ``line`` = the line number of
    ``data[0]`` (1 for the start of a file) and ``column`` = the column of ``data[0]`` (1 for the
    start of a line). The engine reports only matches that *start* inside
    ``[report_from, report_until)``: a streaming source overlaps consecutive chunks by at least
    the longest secret and gives each chunk an owned range, so a secret straddling a read
    boundary is found exactly once. When ``position_fixed`` is set (decoded data such as base64),
    the engine does not compute line/column from offsets and reports ``location`` as-is.
    """

    data: bytes
    location: Location
    source_kind: str = SourceKind.FILE
    report_from: int = 0
    report_until: int | None = None
    position_fixed: bool = False
    depth: int = 0

    def owned(self) -> tuple[int, int]:
        """[start, end) of the offsets where a match is this chunk's to report."""
        return self.report_from, len(self.data) if self.report_until is None else self.report_until

    def location_at(self, offset: int, newlines: int | None = None) -> Location:
        """The location of ``data[offset]`` (``newlines``: the count of newlines before it,
        when the caller already knows it)."""
        base = self.location
        if newlines is None:
            newlines = self.data.count(b"\n", 0, offset)
        if newlines:
            column = offset - self.data.rfind(b"\n", 0, offset)
        else:
            column = (base.column or 1) + offset
        return Location(base.path, (base.line or 1) + newlines, column, base.commit, base.extras)


def _quick_inits() -> None:
    """Give :class:`Location` and :class:`Chunk` an ``__init__`` that sets their slots through
    the slots' own descriptors. A history scan makes one of each for every blob (tens of
    thousands), a log scan one per block: the ``__init__`` a frozen dataclass gets calls
    ``object.__setattr__`` per field (0.58 µs a Location, 0.71 µs a Chunk); these take 0.36
    and 0.46 µs. Same parameters and defaults as the fields (``tests/unit/test_model.py``; a
    field added to either class fails the unpacking below at import); the instances stay
    frozen (assigning a field still raises)."""
    lp, ll, lc, lm, le = (Location.__dict__[f.name].__set__ for f in fields(Location))

    def location_init(
        self: Location,
        path: str,
        line: int = 0,
        column: int = 0,
        commit: str | None = None,
        extras: Extras = (),
    ) -> None:
        lp(self, path)
        ll(self, line)
        lc(self, column)
        lm(self, commit)
        le(self, extras)

    cd, cl, ck, cf, cu, cp, cn = (Chunk.__dict__[f.name].__set__ for f in fields(Chunk))

    def chunk_init(
        self: Chunk,
        data: bytes,
        location: Location,
        source_kind: str = SourceKind.FILE,
        report_from: int = 0,
        report_until: int | None = None,
        position_fixed: bool = False,
        depth: int = 0,
    ) -> None:
        cd(self, data)
        cl(self, location)
        ck(self, source_kind)
        cf(self, report_from)
        cu(self, report_until)
        cp(self, position_fixed)
        cn(self, depth)

    location_init.__qualname__ = "Location.__init__"
    chunk_init.__qualname__ = "Chunk.__init__"
    setattr(Location, "__init__", location_init)  # noqa: B010 - mypy keeps the dataclass's
    setattr(Chunk, "__init__", chunk_init)  # noqa: B010


_quick_inits()


class ValidationStatus(enum.StrEnum):
    PASSED = "passed"  # an offline check (checksum, claims, pairing) confirmed the format
    NOT_CHECKED = "not-checked"  # the rule has no validator
    UNVERIFIABLE = "unverifiable"  # a validator ran but the format carries nothing to check


@dataclass(frozen=True, slots=True)
class Validation:
    status: ValidationStatus = ValidationStatus.NOT_CHECKED
    validator: str | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Scalar]:
        return {"status": str(self.status), "validator": self.validator, "detail": self.detail}


class LiveStatus(enum.StrEnum):
    """What a provider said about a credential (``--verify``)."""

    LIVE = "live"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class LiveCheck:
    """One live verification of one credential (by fingerprint): the provider's answer and
    its evidence; never the secret."""

    status: LiveStatus
    verifier: str
    endpoint: str  # "GET https://api.github.com/user": method and URL, never a secret
    checked_at: str = field(default_factory=now_iso)
    http_status: int | None = None
    identity: tuple[tuple[str, str], ...] = ()  # account, user, arn, login, scopes...
    detail: str = ""
    cached: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "status": str(self.status),
            "verifier": self.verifier,
            "endpoint": self.endpoint,
            "checked_at": self.checked_at,
            "http_status": self.http_status,
            "identity": dict(self.identity),
            "detail": self.detail,
            "cached": self.cached,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, object]) -> LiveCheck:
        identity = raw.get("identity") or {}
        status = raw.get("http_status")
        return cls(
            status=LiveStatus(str(raw["status"])),
            verifier=str(raw["verifier"]),
            endpoint=str(raw["endpoint"]),
            checked_at=str(raw["checked_at"]),
            http_status=int(status) if isinstance(status, int) else None,
            identity=tuple(
                (str(k), str(v))
                for k, v in dict(identity).items()  # type: ignore[call-overload]
            ),
            detail=str(raw.get("detail") or ""),
        )


@dataclass(frozen=True, slots=True)
class Finding:
    """One credential at one place. ``occurrences`` lists further places of the same secret
    inside the same object family (for git: other commits/paths holding the same blob)."""

    rule_id: str
    provider: str
    title: str
    severity: Severity
    fingerprint: str
    redacted: str
    source_kind: str
    location: Location
    validation: Validation = Validation()
    attributes: Extras = ()
    rotation: str | None = None
    occurrences: tuple[Location, ...] = ()
    secret: str | None = field(default=None, repr=False, compare=False)
    parts: Parts = ()
    verification: LiveCheck | None = None  # --verify: what the provider said

    def attribute(self, key: str, default: Scalar = None) -> Scalar:
        for k, v in self.attributes:
            if k == key:
                return v
        return default

    @property
    def identity(self) -> tuple[str, str, str, int, int, str | None]:
        """What makes two findings 'the same secret at the same place'."""
        loc = self.location
        return (self.fingerprint, self.rule_id, loc.path, loc.line, loc.column, loc.commit)

    def to_dict(self, *, show_secrets: bool = False) -> dict[str, object]:
        out: dict[str, object] = {
            "rule_id": self.rule_id,
            "provider": self.provider,
            "title": self.title,
            "severity": self.severity.label,
            "fingerprint": self.fingerprint,
            "redacted": self.redacted,
            "source_kind": self.source_kind,
            "location": self.location.to_dict(),
            "validation": self.validation.to_dict(),
            "attributes": dict(self.attributes),
            "rotation": self.rotation,
        }
        if self.occurrences:
            out["occurrences"] = [o.to_dict() for o in self.occurrences]
        if self.parts:
            out["parts"] = dict(self.parts)
        if self.verification is not None:
            out["verification"] = self.verification.to_dict()
        if show_secrets and self.secret is not None:
            out["secret"] = self.secret
        return out


@dataclass(frozen=True, slots=True)
class Credential:
    """One secret (by fingerprint) and every finding of it."""

    fingerprint: str
    rule_id: str
    provider: str
    severity: Severity
    redacted: str
    findings: tuple[Finding, ...]
    parts: Parts = ()  # every part fingerprint its findings carry

    @classmethod
    def group(cls, findings: Iterable[Finding]) -> list[Credential]:
        by_fp: dict[str, list[Finding]] = {}
        for f in findings:
            by_fp.setdefault(f.fingerprint, []).append(f)
        out = []
        for fp, group in by_fp.items():
            top = max(group, key=lambda f: f.severity)
            parts = tuple(sorted({part for f in group for part in f.parts}))
            out.append(
                cls(fp, top.rule_id, top.provider, top.severity, top.redacted, tuple(group), parts)
            )
        return out


@dataclass(frozen=True, slots=True)
class Skipped:
    path: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class RangeEnd:
    """How a byte range of one file, scanned apart from the rest of it, ended: at ``position``
    (the line and column just after the part it owned, counted from line 1, column 1 at the
    range's start), or with the file (``position`` None), or on an ``error`` (why the file
    could not be read, as a skip reason)."""

    position: tuple[int, int] | None = None
    error: str | None = None


@dataclass
class ScanStats:
    """Mutable accumulator; each worker fills its own and the pipeline merges them."""

    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    engine: str = ""  # the matching engine that ran: hyperscan or re
    # a piece that is a byte range of a file: how it ended, for the source that joins its
    # pieces' findings (never merged: it belongs to the one piece)
    range_end: RangeEnd | None = None

    def skip(self, path: str, reason: str) -> None:
        self.skipped.append(Skipped(path, reason))

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n

    def merge(self, other: ScanStats) -> None:
        self.files += other.files
        self.bytes += other.bytes
        self.skipped.extend(other.skipped)
        self.warnings.extend(other.warnings)
        for k, v in other.counters.items():
            self.count(k, v)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "files": self.files,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "skipped": [s.to_dict() for s in self.skipped],
        }
        if self.engine:
            out["engine"] = self.engine
        if self.warnings:
            out["warnings"] = list(self.warnings)
        if self.counters:
            out["counters"] = dict(sorted(self.counters.items()))
        return out


@dataclass(frozen=True, slots=True)
class ScanState:
    """Incremental state by state key (a git repository's key): the commits already scanned
    and the signature of the state that was scanned.

    The same value travels both ways: the core reads what earlier scans recorded for its
    sources (``ScanOptions.state``) and a scan returns what it saw (``ScanResult.state``);
    only the caller (the CLI, a sweep) writes it, once the result is safely delivered."""

    commits: Mapping[str, frozenset[str]] = field(default_factory=dict)
    signatures: Mapping[str, str] = field(default_factory=dict)

    def seen(self, key: str) -> frozenset[str]:
        return self.commits.get(key, frozenset())

    def signature(self, key: str) -> str | None:
        return self.signatures.get(key)

    def merged(self, other: ScanState) -> ScanState:
        """Both states: commits united, ``other``'s signature winning for a shared key."""
        commits = dict(self.commits)
        for key, ids in other.commits.items():
            commits[key] = commits.get(key, frozenset()) | ids
        return ScanState(commits, {**self.signatures, **other.signatures})

    @property
    def empty(self) -> bool:
        return not self.commits and not self.signatures


@dataclass(frozen=True, slots=True)
class ScanResult:
    findings: tuple[Finding, ...]
    stats: ScanStats
    targets: tuple[str, ...] = ()
    # sources skipped because nothing changed since their last recorded scan (incremental git)
    unchanged: tuple[str, ...] = ()
    # what the scanned sources saw (commits, signatures), for the caller to record
    state: ScanState = field(default_factory=ScanState)

    @classmethod
    def nothing_changed(
        cls, labels: tuple[str, ...], targets: tuple[str, ...], seconds: float = 0.0
    ) -> ScanResult:
        """The result of targets skipped because nothing changed since their last scan."""
        stats = ScanStats(seconds=seconds)
        stats.count("unchanged_targets", len(labels))
        return cls((), stats, targets, unchanged=labels)

    @property
    def credentials(self) -> list[Credential]:
        return Credential.group(self.findings)
