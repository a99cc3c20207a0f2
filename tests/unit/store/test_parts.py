"""The findings store keeps the fingerprint of each part of a credential, found by part."""

from __future__ import annotations

from pathlib import Path

from leakguard.model import Finding, Location, ScanResult, ScanStats, Severity
from leakguard.redact import fingerprint
from leakguard.store.db import Database
from leakguard.store.findings import COMPONENT, MIGRATIONS, FindingsStore

KEY_ID, SECRET = "AKIABZPUZDIKJGNRMUJO", "jpzUukMrMTvcfeM+W7nafAf63dXFq9fYVPHyUmvm"
PARTS = (("aws_access_key_id", fingerprint(KEY_ID)), ("aws_secret_access_key", fingerprint(SECRET)))


def _pair(path: str, parts: tuple[tuple[str, str], ...] = PARTS) -> Finding:
    return Finding(
        rule_id="aws-access-key",
        provider="aws",
        title="AWS access key",
        severity=Severity.CRITICAL,
        fingerprint=fingerprint(f"{KEY_ID}:{SECRET}"),
        redacted="AKIA…MUJO:…yUmvm",
        source_kind="file",
        location=Location(path, 1, 1),
        parts=parts,
    )


def test_parts_are_stored_and_found_by_either_half(tmp_path: Path) -> None:
    whole = fingerprint(f"{KEY_ID}:{SECRET}")
    with FindingsStore.open(tmp_path / "lg.db") as store:
        store.record_scan("repo", ScanResult((_pair("a.env"), _pair("b.env")), ScanStats()))
        [cred] = store.credentials()
        assert cred.parts == PARTS
        assert cred.to_dict()["parts"] == dict(PARTS)
        assert store.holding_part(fingerprint(KEY_ID)) == [(whole, "aws_access_key_id")]
        assert store.holding_part(fingerprint(SECRET)) == [(whole, "aws_secret_access_key")]
        assert store.holding_part(fingerprint("something else")) == []
        (occ,) = cred.occurrences[:1]
        assert occ.finding["parts"] == dict(PARTS)  # the JSON contract carries them too
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("lg.db*"))
    assert SECRET.encode() not in raw and KEY_ID.encode() not in raw


def test_a_store_from_before_parts_migrates_and_keeps_its_credentials(tmp_path: Path) -> None:
    db_path = tmp_path / "old.db"
    with Database.open(db_path) as db:
        db.migrate(COMPONENT, MIGRATIONS[:1])
        db.conn.execute(
            "INSERT INTO credentials (fingerprint, rule_id, provider, severity, redacted,"
            " first_seen, last_seen) VALUES ('sha256:ab', 'r', 'p', 4, '…', 't', 't')"
        )
    with FindingsStore.open(db_path) as store:
        assert store.db.schema_version(COMPONENT) == 2
        [old] = store.credentials()
        assert old.fingerprint == "sha256:ab" and old.parts == ()
        store.record_scan("repo", ScanResult((_pair("a.env"),), ScanStats()))
        assert len(store.holding_part(fingerprint(SECRET))) == 1
