"""The run journal: every run and every step's intent and result, in the findings store.

Records are appended, one SQLite transaction each, and never updated; the state of a run is
what replaying its records gives (:meth:`Journal.view`). An intent is written before a step acts
and its result after, so after a crash the journal tells exactly which step was in flight. Data
are JSON values without secrets: parameters hold handles and fingerprints only.

Each record is mirrored into the run's audit trail (:mod:`leakguard.rotation.audit`) after it is
committed; a run opened again first copies any record the trail missed (a crash in between).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leakguard.errors import PlaybookError
from leakguard.rotation.audit import AuditHead, AuditLog, last_entry
from leakguard.store.db import Database

COMPONENT = "journal"

MIGRATIONS: Sequence[str] = [
    """
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        playbook_id TEXT NOT NULL,
        playbook_path TEXT NOT NULL,
        playbook_text TEXT NOT NULL,
        playbook_sha256 TEXT NOT NULL,
        mode TEXT NOT NULL,
        inputs TEXT NOT NULL,
        options TEXT NOT NULL,
        created_at TEXT NOT NULL,
        audit_path TEXT NOT NULL,
        audit_count INTEGER NOT NULL DEFAULT 0,
        audit_head TEXT NOT NULL DEFAULT '',
        audit_seq INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE run_records (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL REFERENCES runs(run_id),
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        step_id TEXT,
        attempt INTEGER NOT NULL DEFAULT 0,
        state TEXT,
        data TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX run_records_run ON run_records(run_id, seq)
    """,
]


class RunState:
    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    AWAITING_APPROVAL = "awaiting-approval"
    ROLLING_BACK = "rolling-back"
    ROLLED_BACK = "rolled-back"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # shown, never journaled: running, but no process drives it
    FINAL = frozenset({"rolled-back", "completed", "failed"})


class StepState:
    PENDING = "pending"
    STARTED = "started"
    SUCCEEDED = "succeeded"
    SKIPPED = "skipped"
    FAILED = "failed"
    COMPENSATED = "compensated"
    DONE = frozenset({"succeeded", "skipped", "compensated"})


class Kind:
    RUN = "run"  # a run state change; data: reason, diagnostic, hint
    INTENT = "intent"  # a step is about to act; data: stage, uses, params, items
    RESULT = "result"  # it acted; state succeeded|skipped|failed; data: outputs or error
    RETRY = "retry"  # a transient error; data: error, delay
    APPROVAL = "approval"  # data: by, how
    COMPENSATE_INTENT = "compensate-intent"
    COMPENSATE_RESULT = "compensate-result"  # state compensated|failed
    LOG = "log"  # an action's progress line (ctx.log); data: message
    OVERRIDE = "override"  # --playbook-override; data: reason, playbook, expected, rule_id, by


TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
"""How the journal writes a moment (:func:`now_iso`)."""


def now_iso() -> str:
    return datetime.now(UTC).strftime(TIME_FORMAT)


def new_run_id(playbook_id: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{playbook_id}-{stamp}-{secrets.token_hex(3)}"


@dataclass(frozen=True, slots=True)
class Record:
    seq: int
    run_id: str
    at: str
    kind: str
    step_id: str | None
    attempt: int
    state: str | None
    data: Mapping[str, Any]


@dataclass
class StepView:
    id: str
    state: str = StepState.PENDING
    attempt: int = 0
    params: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    items: list[Any] | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    hint: str | None = None
    approved_by: str | None = None
    compensation_error: str | None = None
    retries: int = 0
    secret_fields: dict[str, list[str]] = field(default_factory=dict)

    @property
    def seconds(self) -> float | None:
        """How long the step ran, once it has finished."""
        if not self.started_at or not self.finished_at:
            return None
        start = datetime.strptime(self.started_at, TIME_FORMAT)
        return (datetime.strptime(self.finished_at, TIME_FORMAT) - start).total_seconds()


@dataclass
class RunView:
    run_id: str
    playbook_id: str
    playbook_path: str
    playbook_text: str
    playbook_sha256: str
    mode: str
    inputs: Mapping[str, Any]
    options: Mapping[str, Any]
    created_at: str
    audit_path: str
    state: str = RunState.PENDING
    reason: str = ""
    diagnostic: str | None = None
    hint: str | None = None
    steps: dict[str, StepView] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # step ids as they were first journaled
    updated_at: str = ""
    records: int = 0
    outputs: Mapping[str, Any] = field(default_factory=dict)

    def step(self, step_id: str) -> StepView:
        if step_id not in self.steps:
            self.steps[step_id] = StepView(step_id)
        return self.steps[step_id]

    def apply(self, rec: Record) -> None:
        self.records += 1
        self.updated_at = rec.at
        data = rec.data
        if rec.kind == Kind.RUN:
            self.state = rec.state or self.state
            self.reason = str(data.get("reason", ""))
            self.diagnostic = data.get("diagnostic")
            self.hint = data.get("hint")
            if "outputs" in data:
                self.outputs = data["outputs"]
            return
        if rec.kind == Kind.LOG or rec.step_id is None:
            return
        step = self.step(rec.step_id)
        if rec.step_id not in self.order:
            self.order.append(rec.step_id)
        if rec.kind == Kind.INTENT:
            step.state = StepState.STARTED
            step.attempt = rec.attempt
            step.params = data.get("params", {})
            if "items" in data:
                step.items = list(data["items"])
            step.started_at = step.started_at or rec.at
            step.error = step.hint = None
        elif rec.kind == Kind.RESULT:
            step.state = rec.state or StepState.FAILED
            step.outputs = data.get("outputs", {})
            step.secret_fields = dict(data.get("secret_fields", {}))
            step.error = data.get("error")
            step.hint = data.get("hint")
            step.finished_at = rec.at
            if step.state == StepState.SKIPPED and step.started_at is None:
                step.started_at = rec.at
        elif rec.kind == Kind.RETRY:
            step.retries += 1
            step.error = data.get("error")
        elif rec.kind == Kind.APPROVAL:
            step.approved_by = str(data.get("by", "?"))
        elif rec.kind == Kind.COMPENSATE_RESULT:
            if rec.state == StepState.COMPENSATED:
                step.state = StepState.COMPENSATED
                step.compensation_error = None
            else:
                step.compensation_error = data.get("error")


class Journal:
    """The journal in the findings store at ``db`` (``--db`` / ``LEAKGUARD_DB``)."""

    def __init__(
        self, db: Database, *, after_append: Callable[[Record], None] | None = None
    ) -> None:
        self.db = db
        db.migrate(COMPONENT, MIGRATIONS)
        self._after_append = after_append

    @classmethod
    def open(
        cls, path: Path | None = None, *, after_append: Callable[[Record], None] | None = None
    ) -> Journal:
        """``after_append`` is called with each record once it is committed and audited (the
        kill -9 tests inject one that SIGKILLs the process at a chosen record)."""
        return cls(Database.open(path), after_append=after_append)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def default_audit_path(self, run_id: str) -> Path:
        return self.db.path.parent / "audit" / f"{run_id}.jsonl"

    def create_run(
        self,
        *,
        run_id: str,
        playbook_id: str,
        playbook_path: str,
        playbook_text: str,
        playbook_sha256: str,
        mode: str,
        inputs: Mapping[str, Any],
        options: Mapping[str, Any],
        audit_path: Path | None = None,
    ) -> None:
        audit = audit_path or self.default_audit_path(run_id)
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
                raise PlaybookError(
                    f"run {run_id} already exists",
                    hint=f"resume it with `leakguard playbook resume {run_id}`",
                )
            conn.execute(
                "INSERT INTO runs (run_id, playbook_id, playbook_path, playbook_text,"
                " playbook_sha256, mode, inputs, options, created_at, audit_path)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    playbook_id,
                    playbook_path,
                    playbook_text,
                    playbook_sha256,
                    mode,
                    _dumps(inputs),
                    _dumps(options),
                    now_iso(),
                    str(audit),
                ),
            )

    def append(
        self,
        run_id: str,
        kind: str,
        *,
        step_id: str | None = None,
        attempt: int = 0,
        state: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Record:
        at = now_iso()
        payload = _dumps(data or {})
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO run_records (run_id, at, kind, step_id, attempt, state, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, at, kind, step_id, attempt, state, payload),
            )
            seq = int(cur.lastrowid or 0)
        record = Record(seq, run_id, at, kind, step_id, attempt, state, json.loads(payload))
        self.sync_audit(run_id)
        if self._after_append is not None:
            self._after_append(record)
        return record

    def sync_audit(self, run_id: str) -> None:
        """Copy journal records the audit trail does not hold yet (normally just the one
        appended; more after a crash between the two, or when another process wrote some)."""
        row = self.db.conn.execute(
            "SELECT audit_path FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        if row is None:
            raise PlaybookError(f"no run {run_id}")
        log = AuditLog(Path(row["audit_path"]))
        with log.locked():
            last = last_entry(log.path)
            audited = int(last[1].get("record", 0)) if last is not None else 0
            rows = self.db.conn.execute(
                "SELECT * FROM run_records WHERE run_id = ? AND seq > ? ORDER BY seq",
                (run_id, audited),
            ).fetchall()
            head = log.head
            for found in rows:
                rec = _record(found)
                head = log.append(
                    {
                        "record": rec.seq,
                        "at": rec.at,
                        "run_id": rec.run_id,
                        "kind": rec.kind,
                        "step_id": rec.step_id,
                        "attempt": rec.attempt,
                        "state": rec.state,
                        "data": rec.data,
                    }
                )
                audited = rec.seq
            with self.db.transaction() as conn:
                conn.execute(
                    "UPDATE runs SET audit_seq = ?, audit_count = ?, audit_head = ?"
                    " WHERE run_id = ?",
                    (audited, head.count, head.head, run_id),
                )

    def audit_head(self, run_id: str) -> tuple[Path, AuditHead]:
        row = self.db.conn.execute(
            "SELECT audit_path, audit_count, audit_head FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        if row is None:
            raise PlaybookError(f"no run {run_id} in {self.db.path}")
        return Path(row["audit_path"]), AuditHead(int(row["audit_count"]), str(row["audit_head"]))

    def run_for_audit(self, path: Path) -> str | None:
        row = self.db.conn.execute(
            "SELECT run_id FROM runs WHERE audit_path = ?", (str(path.resolve()),)
        ).fetchone()
        if row is None:
            row = self.db.conn.execute(
                "SELECT run_id FROM runs WHERE audit_path = ?", (str(path),)
            ).fetchone()
        return None if row is None else str(row["run_id"])

    def records(self, run_id: str) -> list[Record]:
        rows = self.db.conn.execute(
            "SELECT * FROM run_records WHERE run_id = ? ORDER BY seq", (run_id,)
        ).fetchall()
        return [_record(r) for r in rows]

    def view(self, run_id: str) -> RunView:
        row = self.db.conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise PlaybookError(
                f"no run {run_id} in {self.db.path}",
                hint="list runs with `leakguard playbook runs` (--db if the store is elsewhere)",
            )
        view = RunView(
            run_id=run_id,
            playbook_id=row["playbook_id"],
            playbook_path=row["playbook_path"],
            playbook_text=row["playbook_text"],
            playbook_sha256=row["playbook_sha256"],
            mode=row["mode"],
            inputs=json.loads(row["inputs"]),
            options=json.loads(row["options"]),
            created_at=row["created_at"],
            audit_path=row["audit_path"],
        )
        for rec in self.records(run_id):
            view.apply(rec)
        return view

    def run_ids(self, limit: int = 50) -> list[str]:
        rows = self.db.conn.execute(
            "SELECT run_id FROM runs ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,)
        ).fetchall()
        return [str(r["run_id"]) for r in rows]


def _record(row: Any) -> Record:
    return Record(
        seq=int(row["seq"]),
        run_id=str(row["run_id"]),
        at=str(row["at"]),
        kind=str(row["kind"]),
        step_id=row["step_id"],
        attempt=int(row["attempt"]),
        state=row["state"],
        data=json.loads(row["data"]),
    )


def _dumps(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
