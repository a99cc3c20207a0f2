"""Live-verification answers cached by fingerprint (the ``verifications`` component).

A row is the provider's last answer about a credential: status, verifier, endpoint, time,
HTTP status and the identity it named. Never a value. ``get`` returns an answer younger than
``max_age`` seconds; ``unknown`` answers are not cached (a network error says nothing).
"""

from __future__ import annotations

import json
import time

from leakguard.model import LiveCheck
from leakguard.store.db import Database

COMPONENT = "verifications"
MIGRATIONS: list[str] = [
    "CREATE TABLE verifications ("
    " fingerprint TEXT PRIMARY KEY,"
    " status TEXT NOT NULL,"
    " checked_epoch REAL NOT NULL,"
    " answer TEXT NOT NULL)"
]


class VerificationCache:
    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate(COMPONENT, MIGRATIONS)

    def get(self, fingerprint: str, max_age: float) -> LiveCheck | None:
        row = self.db.conn.execute(
            "SELECT answer, checked_epoch FROM verifications WHERE fingerprint = ?", (fingerprint,)
        ).fetchone()
        if row is None or time.time() - float(row["checked_epoch"]) > max_age:
            return None
        return LiveCheck.from_dict(json.loads(row["answer"]))

    def put(self, fingerprint: str, result: LiveCheck) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO verifications (fingerprint, status, checked_epoch, answer)"
                " VALUES (?, ?, ?, ?) ON CONFLICT(fingerprint) DO UPDATE SET"
                " status = excluded.status, checked_epoch = excluded.checked_epoch,"
                " answer = excluded.answer",
                (fingerprint, str(result.status), time.time(), json.dumps(result.to_dict())),
            )

    def latest(self, fingerprint: str) -> LiveCheck | None:
        """The last answer whatever its age (``findings list --live``)."""
        return self.get(fingerprint, float("inf"))

    def live_fingerprints(self) -> set[str]:
        rows = self.db.conn.execute("SELECT fingerprint FROM verifications WHERE status = 'live'")
        return {str(r["fingerprint"]) for r in rows}
