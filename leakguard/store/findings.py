"""The findings store: credentials, their occurrences, scans, sweeps and triage history.

Only fingerprints, redacted previews and locations are stored: a finding is written through
``Finding.to_dict()`` (which carries no secret unless ``--show-secrets``, and the store never asks
for it). Each target's results are written in one transaction (scan row, credentials,
occurrences, commit cursors), so a sweep killed mid-way leaves whole targets or nothing.

A credential is *new* in a sweep when its first sighting belongs to that sweep; sightings made by
a sweep that never finished (killed) are adopted by the next sweep to finish, so nothing a
killed sweep found goes unreported.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from leakguard.errors import StoreError, UsageError
from leakguard.model import Finding, ScanResult, Severity
from leakguard.store import cursors
from leakguard.store.db import Database

COMPONENT = "findings"

STATUSES: tuple[str, ...] = (
    "open",
    "acknowledged",
    "rotating",
    "rotated",
    "false-positive",
    "accepted-risk",
)

MIGRATIONS: list[str] = [
    # v1: the core tables.
    """
    CREATE TABLE sweeps (
      id INTEGER PRIMARY KEY,
      started_at TEXT NOT NULL,
      finished_at TEXT,
      config TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE scans (
      id INTEGER PRIMARY KEY,
      sweep_id INTEGER REFERENCES sweeps(id),
      target TEXT NOT NULL,
      started_at TEXT NOT NULL,
      finished_at TEXT NOT NULL,
      ruleset_version TEXT NOT NULL DEFAULT '',
      status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
      error TEXT,
      stats TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX scans_target ON scans(target);
    CREATE TABLE credentials (
      fingerprint TEXT PRIMARY KEY,
      rule_id TEXT NOT NULL,
      provider TEXT NOT NULL,
      title TEXT NOT NULL DEFAULT '',
      severity INTEGER NOT NULL,
      redacted TEXT NOT NULL,
      status TEXT NOT NULL DEFAULT 'open',
      first_seen TEXT NOT NULL,
      last_seen TEXT NOT NULL,
      first_scan_id INTEGER REFERENCES scans(id),
      first_sweep_id INTEGER REFERENCES sweeps(id)
    );
    CREATE TABLE occurrences (
      id INTEGER PRIMARY KEY,
      fingerprint TEXT NOT NULL REFERENCES credentials(fingerprint),
      target TEXT NOT NULL,
      occ_key TEXT NOT NULL,
      source_kind TEXT NOT NULL,
      location TEXT NOT NULL,
      provenance TEXT NOT NULL DEFAULT '{}',
      finding TEXT NOT NULL,
      first_seen TEXT NOT NULL,
      last_seen TEXT NOT NULL,
      last_scan_id INTEGER REFERENCES scans(id),
      present INTEGER NOT NULL DEFAULT 1,
      removed_at TEXT,
      UNIQUE (fingerprint, target, occ_key)
    );
    CREATE INDEX occurrences_target ON occurrences(target);
    CREATE TABLE status_history (
      id INTEGER PRIMARY KEY,
      fingerprint TEXT NOT NULL REFERENCES credentials(fingerprint),
      status TEXT NOT NULL,
      previous TEXT NOT NULL,
      changed_by TEXT NOT NULL,
      changed_at TEXT NOT NULL,
      reason TEXT NOT NULL DEFAULT ''
    )
    """,
    # v2: the fingerprint of each part of a credential with parts (an AWS key id and its
    # secret key, a Twilio SID and token, a URL's password and user), found by part.
    """
    CREATE TABLE credential_parts (
      fingerprint TEXT NOT NULL REFERENCES credentials(fingerprint),
      part TEXT NOT NULL,
      part_fingerprint TEXT NOT NULL,
      PRIMARY KEY (fingerprint, part, part_fingerprint)
    );
    CREATE INDEX credential_parts_by_part ON credential_parts(part_fingerprint)
    """,
]

# Location keys that describe where a secret entered (provenance), not where it sits.
_LOCATION_KEYS = {"path", "line", "column"}
_PRESENCE_KEYS = ("still_exposed", "present_at_tip", "exposed")


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class Occurrence:
    fingerprint: str
    target: str
    source_kind: str
    location: dict[str, object]
    provenance: dict[str, object]
    finding: dict[str, object]  # Finding.to_dict() without any secret: the JSON contract
    first_seen: str
    last_seen: str
    present: bool
    removed_at: str | None


@dataclass(frozen=True, slots=True)
class StatusChange:
    fingerprint: str
    status: str
    previous: str
    by: str
    at: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {
            "status": self.status,
            "previous": self.previous,
            "by": self.by,
            "at": self.at,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class StoredCredential:
    fingerprint: str
    rule_id: str
    provider: str
    title: str
    severity: Severity
    redacted: str
    status: str
    first_seen: str
    last_seen: str
    first_sweep_id: int | None
    targets: tuple[str, ...]
    present: bool  # still present in at least one place (not only removed occurrences)
    occurrences: tuple[Occurrence, ...] = ()
    history: tuple[StatusChange, ...] = ()
    parts: tuple[tuple[str, str], ...] = ()  # (part name, part fingerprint)

    def to_dict(self, *, detail: bool = False) -> dict[str, object]:
        out: dict[str, object] = {
            "fingerprint": self.fingerprint,
            "rule_id": self.rule_id,
            "provider": self.provider,
            "title": self.title,
            "severity": self.severity.label,
            "redacted": self.redacted,
            "status": self.status,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "exposure": "present" if self.present else "removed",
            "repositories": list(self.targets),
        }
        if self.parts:
            out["parts"] = dict(self.parts)
        if detail:
            out["occurrences"] = [
                {
                    "target": o.target,
                    "source_kind": o.source_kind,
                    "location": o.location,
                    "provenance": o.provenance,
                    "first_seen": o.first_seen,
                    "last_seen": o.last_seen,
                    "present": o.present,
                    "removed_at": o.removed_at,
                }
                for o in self.occurrences
            ]
            out["history"] = [h.to_dict() for h in self.history]
        return out


@dataclass(frozen=True, slots=True)
class ScanRecord:
    id: int
    sweep_id: int | None
    target: str
    status: str
    error: str | None
    stats: dict[str, object]
    findings: int
    new_credentials: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CredentialFilter:
    providers: tuple[str, ...] = ()
    severities: tuple[Severity, ...] = ()
    statuses: tuple[str, ...] = ()
    repositories: tuple[str, ...] = ()
    fingerprints: tuple[str, ...] = field(default=())


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise UsageError(f"unknown status {status!r}", hint=f"use one of: {', '.join(STATUSES)}")
    return status


def _occurrence_key(f: Finding) -> str:
    loc = f.location
    return json.dumps([f.rule_id, loc.path, loc.line, loc.column, loc.commit or ""])


def _provenance(f: Finding) -> dict[str, object]:
    prov: dict[str, object] = {
        k: v for k, v in f.location.to_dict().items() if k not in _LOCATION_KEYS
    }
    return prov


def _still_present(f: Finding) -> bool:
    for key in _PRESENCE_KEYS:
        value = f.location.get(key)
        if value is None:
            value = f.attribute(key)
        if value is not None:
            return bool(value)
    return True


class FindingsStore:
    """Typed access to the findings tables of one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @classmethod
    def open(cls, path: Path | None = None) -> FindingsStore:
        db = Database.open(path)
        try:
            db.migrate(COMPONENT, MIGRATIONS)
            cursors.migrate(db)
        except BaseException:
            db.close()
            raise
        return cls(db)

    @property
    def path(self) -> Path:
        return self.db.path

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> FindingsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sweeps and scans -------------------------------------------------------------------

    def begin_sweep(self, config: str = "") -> int:
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO sweeps (started_at, config) VALUES (?, ?)", (now_iso(), config)
            )
            return int(cur.lastrowid or 0)

    def finish_sweep(self, sweep_id: int) -> None:
        """Mark the sweep finished and adopt what unfinished (killed) sweeps first saw."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE credentials SET first_sweep_id = ? WHERE first_sweep_id IN ("
                " SELECT id FROM sweeps WHERE finished_at IS NULL AND id != ?)",
                (sweep_id, sweep_id),
            )
            conn.execute("UPDATE sweeps SET finished_at = ? WHERE id = ?", (now_iso(), sweep_id))

    def record_scan(
        self,
        target: str,
        result: ScanResult | None,
        *,
        ruleset_version: str = "",
        sweep_id: int | None = None,
        error: str | None = None,
        started_at: str | None = None,
        cursor_delta: Mapping[str, Iterable[str]] | None = None,
        signatures: Mapping[str, str] | None = None,
    ) -> ScanRecord:
        """Write one target's outcome in one transaction: the scan row, its credentials and
        occurrences, the commits its git history scan covered and its repositories' state
        signatures. Occurrences of a non-git kind that this target held before and this scan
        no longer saw are marked removed, unless the scan skipped an unchanged source (then
        it saw nothing, and everything it held is still there)."""
        stamp = now_iso()
        stats = result.stats.to_dict() if result is not None else {}
        status = "ok" if error is None else "failed"
        new: list[str] = []
        try:
            with self.db.transaction() as conn:
                cur = conn.execute(
                    "INSERT INTO scans (sweep_id, target, started_at, finished_at,"
                    " ruleset_version, status, error, stats) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        sweep_id,
                        target,
                        started_at or stamp,
                        stamp,
                        ruleset_version,
                        status,
                        error,
                        json.dumps(stats),
                    ),
                )
                scan_id = int(cur.lastrowid or 0)
                findings = result.findings if result is not None and error is None else ()
                for f in findings:
                    if self._upsert(conn, target, f, scan_id, sweep_id, stamp):
                        new.append(f.fingerprint)
                if result is not None and error is None and not result.unchanged:
                    conn.execute(
                        "UPDATE occurrences SET present = 0, removed_at = ? WHERE target = ?"
                        " AND present = 1 AND source_kind != 'git'"
                        " AND (last_scan_id IS NULL OR last_scan_id != ?)",
                        (stamp, target, scan_id),
                    )
                for repo_key, commits in (cursor_delta or {}).items():
                    cursors.write_commits(conn, repo_key, commits)
                if error is None:
                    for repo_key, signature in (signatures or {}).items():
                        cursors.write_signature(conn, repo_key, signature)
        except sqlite3.Error as exc:
            raise StoreError(
                f"writing the results of {target} to {self.path} failed: {exc}"
            ) from None
        return ScanRecord(
            scan_id,
            sweep_id,
            target,
            status,
            error,
            stats,
            len(result.findings) if result is not None and error is None else 0,
            tuple(new),
        )

    def _upsert(
        self,
        conn: sqlite3.Connection,
        target: str,
        f: Finding,
        scan_id: int,
        sweep_id: int | None,
        stamp: str,
    ) -> bool:
        """Insert or refresh one finding; True when its credential was not known before."""
        row = conn.execute(
            "SELECT severity FROM credentials WHERE fingerprint = ?", (f.fingerprint,)
        ).fetchone()
        created = row is None
        if created:
            conn.execute(
                "INSERT INTO credentials (fingerprint, rule_id, provider, title, severity,"
                " redacted, status, first_seen, last_seen, first_scan_id, first_sweep_id)"
                " VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?)",
                (
                    f.fingerprint,
                    f.rule_id,
                    f.provider,
                    f.title,
                    int(f.severity),
                    f.redacted,
                    stamp,
                    stamp,
                    scan_id,
                    sweep_id,
                ),
            )
        else:
            conn.execute(
                "UPDATE credentials SET last_seen = ?, severity = MAX(severity, ?)"
                " WHERE fingerprint = ?",
                (stamp, int(f.severity), f.fingerprint),
            )
        conn.executemany(
            "INSERT OR IGNORE INTO credential_parts (fingerprint, part, part_fingerprint)"
            " VALUES (?, ?, ?)",
            [(f.fingerprint, name, part) for name, part in f.parts],
        )
        location = {k: v for k, v in f.location.to_dict().items() if k in _LOCATION_KEYS}
        if f.location.commit is not None:
            location["commit"] = f.location.commit
        conn.execute(
            "INSERT INTO occurrences (fingerprint, target, occ_key, source_kind, location,"
            " provenance, finding, first_seen, last_seen, last_scan_id, present)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (fingerprint, target, occ_key) DO UPDATE SET"
            " last_seen = excluded.last_seen, last_scan_id = excluded.last_scan_id,"
            " provenance = excluded.provenance, finding = excluded.finding,"
            " present = excluded.present, removed_at = NULL",
            (
                f.fingerprint,
                target,
                _occurrence_key(f),
                str(f.source_kind),
                json.dumps(location),
                json.dumps(_provenance(f)),
                json.dumps(f.to_dict(show_secrets=False)),
                stamp,
                stamp,
                scan_id,
                int(_still_present(f)),
            ),
        )
        return created

    # --- queries ----------------------------------------------------------------------------

    def credentials(
        self, where: CredentialFilter = CredentialFilter(), *, detail: bool = False
    ) -> list[StoredCredential]:
        clauses: list[str] = []
        params: list[object] = []

        def any_of(column: str, values: Iterable[object]) -> None:
            vals = list(values)
            if vals:
                clauses.append(f"{column} IN ({', '.join('?' for _ in vals)})")
                params.extend(vals)

        any_of("c.provider", where.providers)
        any_of("c.severity", [int(s) for s in where.severities])
        any_of("c.status", where.statuses)
        if where.fingerprints:
            ors = []
            for fp in where.fingerprints:
                ors.append("c.fingerprint LIKE ?")
                params.append((fp if fp.startswith("sha256:") else "sha256:" + fp) + "%")
            clauses.append("(" + " OR ".join(ors) + ")")
        if where.repositories:
            ors = []
            for repo in where.repositories:
                ors.append("(o.target = ? OR o.target LIKE ?)")
                params.extend([repo, "%/" + repo.strip("/")])
            clauses.append(
                "c.fingerprint IN (SELECT o.fingerprint FROM occurrences o WHERE "
                + " OR ".join(ors)
                + ")"
            )
        sql = "SELECT c.* FROM credentials c"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY c.severity DESC, c.first_seen, c.fingerprint"
        rows = self.db.conn.execute(sql, params).fetchall()
        return [self._credential(r, detail=detail) for r in rows]

    def credential(self, fingerprint: str) -> StoredCredential:
        found = self.credentials(CredentialFilter(fingerprints=(fingerprint,)), detail=True)
        if not found:
            raise UsageError(
                f"no credential with fingerprint {fingerprint} in {self.path}",
                hint="list them with `leakguard findings list`",
            )
        if len(found) > 1:
            raise UsageError(
                f"fingerprint prefix {fingerprint} matches {len(found)} credentials",
                hint="give more characters of the fingerprint",
            )
        return found[0]

    def _credential(self, row: sqlite3.Row, *, detail: bool) -> StoredCredential:
        fp = row["fingerprint"]
        occ_rows = self.db.conn.execute(
            "SELECT * FROM occurrences WHERE fingerprint = ? ORDER BY target, id", (fp,)
        ).fetchall()
        occs = tuple(_occurrence(r) for r in occ_rows)
        history: tuple[StatusChange, ...] = ()
        if detail:
            history = self.history(fp)
        parts = tuple(
            (r[0], r[1])
            for r in self.db.conn.execute(
                "SELECT part, part_fingerprint FROM credential_parts WHERE fingerprint = ?"
                " ORDER BY part, part_fingerprint",
                (fp,),
            )
        )
        return StoredCredential(
            fingerprint=fp,
            rule_id=row["rule_id"],
            provider=row["provider"],
            title=row["title"],
            severity=Severity(row["severity"]),
            redacted=row["redacted"],
            status=row["status"],
            first_seen=row["first_seen"],
            last_seen=row["last_seen"],
            first_sweep_id=row["first_sweep_id"],
            targets=tuple(sorted({o.target for o in occs})),
            present=any(o.present for o in occs),
            occurrences=occs,
            history=history,
            parts=parts,
        )

    def holding_part(self, part_fingerprint: str) -> list[tuple[str, str]]:
        """(credential fingerprint, part name) of every credential with this part."""
        rows = self.db.conn.execute(
            "SELECT fingerprint, part FROM credential_parts WHERE part_fingerprint = ?"
            " ORDER BY fingerprint, part",
            (part_fingerprint,),
        )
        return [(r[0], r[1]) for r in rows]

    def history(self, fingerprint: str) -> tuple[StatusChange, ...]:
        rows = self.db.conn.execute(
            "SELECT * FROM status_history WHERE fingerprint = ? ORDER BY id", (fingerprint,)
        ).fetchall()
        return tuple(
            StatusChange(
                r["fingerprint"],
                r["status"],
                r["previous"],
                r["changed_by"],
                r["changed_at"],
                r["reason"],
            )
            for r in rows
        )

    def set_status(
        self, fingerprint: str, status: str, *, by: str, reason: str = ""
    ) -> StatusChange:
        check_status(status)
        cred = self.credential(fingerprint)
        change = StatusChange(cred.fingerprint, status, cred.status, by, now_iso(), reason)
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE credentials SET status = ? WHERE fingerprint = ?",
                (status, cred.fingerprint),
            )
            conn.execute(
                "INSERT INTO status_history (fingerprint, status, previous, changed_by,"
                " changed_at, reason) VALUES (?, ?, ?, ?, ?, ?)",
                (cred.fingerprint, status, change.previous, by, change.at, reason),
            )
        return change

    def new_in_sweep(self, sweep_id: int) -> list[StoredCredential]:
        rows = self.db.conn.execute(
            "SELECT * FROM credentials WHERE first_sweep_id = ?"
            " ORDER BY severity DESC, first_seen, fingerprint",
            (sweep_id,),
        ).fetchall()
        return [self._credential(r, detail=False) for r in rows]

    def for_targets(self, targets: Iterable[str]) -> list[StoredCredential]:
        wanted = list(targets)
        if not wanted:
            return []
        marks = ", ".join("?" for _ in wanted)
        rows = self.db.conn.execute(
            "SELECT * FROM credentials WHERE fingerprint IN ("
            f" SELECT fingerprint FROM occurrences WHERE target IN ({marks}))"
            " ORDER BY severity DESC, first_seen, fingerprint",
            wanted,
        ).fetchall()
        return [self._credential(r, detail=True) for r in rows]

    def scans(self, sweep_id: int) -> list[dict[str, object]]:
        rows = self.db.conn.execute(
            "SELECT * FROM scans WHERE sweep_id = ? ORDER BY id", (sweep_id,)
        ).fetchall()
        return [
            {
                "target": r["target"],
                "status": r["status"],
                "error": r["error"],
                "ruleset_version": r["ruleset_version"],
                "started_at": r["started_at"],
                "finished_at": r["finished_at"],
                "stats": json.loads(r["stats"]),
            }
            for r in rows
        ]


def _occurrence(r: sqlite3.Row) -> Occurrence:
    return Occurrence(
        fingerprint=r["fingerprint"],
        target=r["target"],
        source_kind=r["source_kind"],
        location=json.loads(r["location"]),
        provenance=json.loads(r["provenance"]),
        finding=json.loads(r["finding"]),
        first_seen=r["first_seen"],
        last_seen=r["last_seen"],
        present=bool(r["present"]),
        removed_at=r["removed_at"],
    )
