from __future__ import annotations

import re
import sqlite3
import stat
from pathlib import Path

import pytest

from leakguard.errors import UsageError
from leakguard.model import Finding, Location, ScanResult, ScanState, ScanStats, Severity
from leakguard.options import ScanOptions
from leakguard.redact import fingerprint, redact
from leakguard.scanner import run_scan
from leakguard.store.cursors import FileState, StoreState, state_store_for
from leakguard.store.findings import CredentialFilter, FindingsStore

SECRET = "sk_live_" + "Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF"


def _finding(
    secret: str,
    path: str,
    *,
    provider: str = "stripe",
    sev: Severity = Severity.CRITICAL,
    kind: str = "file",
    commit: str | None = None,
) -> Finding:
    return Finding(
        rule_id=f"{provider}-rule",
        provider=provider,
        title=f"{provider} key",
        severity=sev,
        fingerprint=fingerprint(secret),
        redacted=redact(secret),
        source_kind=kind,
        location=Location(path, 3, 5, commit=commit),
    )


def _result(*findings: Finding) -> ScanResult:
    return ScanResult(tuple(findings), ScanStats(files=1, bytes=10))


def test_store_is_0600_and_versioned(tmp_path: Path) -> None:
    db = tmp_path / "s" / "lg.db"
    with FindingsStore.open(db) as store:
        assert store.db.schema_version("findings") == 2
        assert store.db.schema_version("cursors") == 2
    with FindingsStore.open(db) as store:  # reopening does not migrate twice
        assert store.db.schema_version("findings") == 2
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_record_scan_new_known_and_removed(tmp_path: Path) -> None:
    a, b = SECRET, SECRET[:-1] + "X"
    with FindingsStore.open(tmp_path / "lg.db") as store:
        first = store.record_scan("repo1", _result(_finding(a, "x.py"), _finding(b, "y.py")))
        assert set(first.new_credentials) == {fingerprint(a), fingerprint(b)}
        again = store.record_scan("repo1", _result(_finding(a, "x.py")))
        assert again.new_credentials == ()
        creds = {c.fingerprint: c for c in store.credentials()}
        assert creds[fingerprint(a)].present
        gone = creds[fingerprint(b)]
        assert not gone.present and gone.occurrences[0].removed_at
        # the same secret in a second repository is one credential with two places
        store.record_scan("repo2", _result(_finding(a, "z.py")))
        cred = store.credential(fingerprint(a)[:20])
        assert cred.targets == ("repo1", "repo2")


def test_git_occurrences_are_not_marked_removed_by_an_incremental_rescan(tmp_path: Path) -> None:
    with FindingsStore.open(tmp_path / "lg.db") as store:
        store.record_scan("r", _result(_finding(SECRET, "a.py", kind="git", commit="c" * 40)))
        store.record_scan("r", _result())
        assert store.credentials()[0].present


def test_failed_scan_is_recorded_without_touching_credentials(tmp_path: Path) -> None:
    with FindingsStore.open(tmp_path / "lg.db") as store:
        sweep = store.begin_sweep("cfg")
        store.record_scan("r", _result(_finding(SECRET, "a.py")), sweep_id=sweep)
        store.record_scan("r", None, error="not a repository", sweep_id=sweep)
        scans = store.scans(sweep)
        assert [s["status"] for s in scans] == ["ok", "failed"]
        assert scans[1]["error"] == "not a repository"
        assert store.credentials()[0].present


def test_triage_persists_with_history_and_filters(tmp_path: Path) -> None:
    db = tmp_path / "lg.db"
    other = "ghp_" + "a" * 36
    with FindingsStore.open(db) as store:
        store.record_scan("/srv/git/pay", _result(_finding(SECRET, "a.py")))
        store.record_scan(
            "/srv/git/web", _result(_finding(other, "b.py", provider="github", sev=Severity.HIGH))
        )
        store.set_status(SECRET and fingerprint(SECRET), "acknowledged", by="alice", reason="seen")
        store.set_status(fingerprint(SECRET), "rotating", by="bob", reason="INC-1")
        with pytest.raises(UsageError, match="unknown status"):
            store.set_status(fingerprint(SECRET), "done", by="bob")
        with pytest.raises(UsageError, match="no credential"):
            store.set_status("sha256:ffff", "rotated", by="bob")
    with FindingsStore.open(db) as store:
        cred = store.credential(fingerprint(SECRET))
        assert cred.status == "rotating"
        assert [(h.previous, h.status, h.by, h.reason) for h in cred.history] == [
            ("open", "acknowledged", "alice", "seen"),
            ("acknowledged", "rotating", "bob", "INC-1"),
        ]
        assert all(h.at.endswith("Z") for h in cred.history)

        def fps(**kw: object) -> set[str]:
            return {c.fingerprint for c in store.credentials(CredentialFilter(**kw))}  # type: ignore[arg-type]

        assert fps(providers=("github",)) == {fingerprint(other)}
        assert fps(severities=(Severity.CRITICAL,)) == {fingerprint(SECRET)}
        assert fps(statuses=("open",)) == {fingerprint(other)}
        assert fps(repositories=("pay",)) == {fingerprint(SECRET)}
        assert fps(repositories=("/srv/git/web",)) == {fingerprint(other)}


def test_unfinished_sweep_is_adopted_by_the_next_one(tmp_path: Path) -> None:
    with FindingsStore.open(tmp_path / "lg.db") as store:
        killed = store.begin_sweep()
        store.record_scan("r1", _result(_finding(SECRET, "a.py")), sweep_id=killed)
        nxt = store.begin_sweep()
        store.record_scan("r1", _result(_finding(SECRET, "a.py")), sweep_id=nxt)
        store.finish_sweep(nxt)
        assert [c.fingerprint for c in store.new_in_sweep(nxt)] == [fingerprint(SECRET)]
        later = store.begin_sweep()
        store.finish_sweep(later)
        assert store.new_in_sweep(later) == []


def test_store_state_reads_what_was_written_and_a_sweep_writes_it_with_the_findings(
    tmp_path: Path,
) -> None:
    db = tmp_path / "lg.db"
    state = StoreState(db)
    assert state.read(["repo"]) == ScanState()
    state.write(ScanState({"repo": frozenset({"a", "b"})}, {"repo": "sha256:1"}))
    assert StoreState(db).read(["repo", "other"]) == ScanState(
        {"repo": frozenset({"a", "b"})}, {"repo": "sha256:1"}
    )
    scanned = ScanState({"repo": frozenset({"c"})}, {"repo": "sha256:2"})
    with FindingsStore.open(db) as store:  # the sweep writes them with the target's findings
        store.record_scan(
            "repo", _result(), cursor_delta=scanned.commits, signatures=scanned.signatures
        )
    assert StoreState(db).read(["repo"]) == ScanState(
        {"repo": frozenset({"a", "b", "c"})}, {"repo": "sha256:2"}
    )
    assert StoreState(db).read([]) == ScanState()  # no key: the store is not even opened


def test_state_store_for_picks_the_findings_store_when_a_db_is_given(tmp_path: Path) -> None:
    assert isinstance(state_store_for(ScanOptions(db=tmp_path / "x.db")), StoreState)
    assert isinstance(state_store_for(ScanOptions(state_dir=tmp_path)), FileState)


def _strings(path: Path, out: Path) -> Path:
    """Like strings(1): the printable runs of a binary file, one per line, so LeakGuard (which
    skips binary files) reads every text fragment the SQLite pages hold."""
    runs = re.findall(rb"[\x20-\x7e]{6,}", path.read_bytes())
    out.write_bytes(b"\n".join(runs) + b"\n")
    return out


def test_the_store_file_holds_no_secret(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "config.py").write_text(f"STRIPE = '{SECRET}'\n")
    options = ScanOptions(jobs=1)
    result = run_scan([str(src)], options)
    assert [f.fingerprint for f in result.findings] == [fingerprint(SECRET)]
    db = tmp_path / "lg.db"
    store = FindingsStore.open(db)
    store.record_scan(str(src), result)
    # the connection stays open, so the WAL still holds the written pages
    files = [db, Path(str(db) + "-wal")]
    assert all(f.exists() for f in files)
    assert run_scan([str(f) for f in files], options).findings == ()
    texts = [_strings(f, tmp_path / f"{f.name}.txt") for f in files]
    assert run_scan([str(t) for t in texts], options).findings == ()
    for f in files:
        assert SECRET.encode() not in f.read_bytes()
    store.close()
    assert SECRET.encode() not in db.read_bytes()
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # control: the same method does find a secret that a database holds in plaintext
    leaky = tmp_path / "leaky.db"
    conn = sqlite3.connect(leaky)
    conn.execute("CREATE TABLE t (v TEXT)")
    conn.execute("INSERT INTO t VALUES (?)", (f"STRIPE = {SECRET}",))
    conn.commit()
    conn.close()
    found = run_scan([str(_strings(leaky, tmp_path / "leaky.txt"))], options).findings
    assert [f.fingerprint for f in found] == [fingerprint(SECRET)]
