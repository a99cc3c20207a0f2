"""Verification inside a sweep worker: only credentials the store does not know are asked about,
values never survive the call, and a store that cannot be read keeps the scan unverified."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from leakguard.options import ScanOptions
from leakguard.redact import fingerprint
from leakguard.scanner import run_scan
from leakguard.store.findings import FindingsStore
from leakguard.verify.runner import VerifyOptions
from leakguard.verify.sweep import SweepVerify, verify_new
from tests.support.keys import stripe_key
from tests.support.provider_fakes import provider_fake

KNOWN = stripe_key("unit-sweep-known")
NEW = stripe_key("unit-sweep-new")


def _scan(path: Path) -> tuple[Path, ScanOptions]:
    path.mkdir()
    (path / "settings.py").write_text(f"A = '{KNOWN}'\nB = '{NEW}'\n")
    return path, ScanOptions(jobs=1)


def test_only_credentials_new_to_the_store_are_asked_about(tmp_path: Path) -> None:
    app, options = _scan(tmp_path / "app")
    db = tmp_path / "lg.db"
    old = fingerprint(KNOWN)
    with FindingsStore.open(db) as store:  # an earlier scan recorded KNOWN only
        earlier = run_scan([str(app)], options)
        store.record_scan(
            str(app),
            replace(earlier, findings=tuple(f for f in earlier.findings if f.fingerprint == old)),
        )
        assert {c.fingerprint for c in store.credentials()} == {old}
    result = run_scan([str(app)], replace(options, show_secrets=True))
    with provider_fake() as fake:
        fake.live.add(NEW)
        verify = SweepVerify(VerifyOptions(endpoints=fake.endpoints("stripe")))
        verified = verify_new(result, db, verify)
    assert set(verified.answers) == {fingerprint(NEW)}
    assert len(fake.requests) == 1
    assert all(a.status == "live" for a in verified.answers.values())
    assert verified.fresh == verified.answers  # to be cached by the parent
    assert all(f.secret is None for f in verified.result.findings)


def test_a_store_that_cannot_be_read_keeps_the_scan_without_values(tmp_path: Path) -> None:
    app, options = _scan(tmp_path / "app")
    result = run_scan([str(app)], replace(options, show_secrets=True))
    unreadable = tmp_path / "a-directory"
    unreadable.mkdir()
    verified = verify_new(result, unreadable, SweepVerify())
    assert verified.answers == {}
    assert len(verified.result.findings) == len(result.findings)
    assert all(f.secret is None for f in verified.result.findings)
    assert len(verified.notes) == 1 and "not verified" in verified.notes[0]
    assert KNOWN not in verified.notes[0] and NEW not in verified.notes[0]
