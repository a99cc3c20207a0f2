"""`findings verify`: stored credentials are verified from a fresh, in-memory read of their
recorded targets (the store holds no values)."""

from __future__ import annotations

from pathlib import Path

from leakguard.options import ScanOptions
from leakguard.redact import fingerprint
from leakguard.scanner import run_scan
from leakguard.store.findings import FindingsStore
from leakguard.verify.interface import Status
from leakguard.verify.runner import VerifyOptions
from leakguard.verify.stored import verify_stored
from tests.support.provider_fakes import provider_fake

GH = "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"


def test_stored_credentials_are_verified_from_their_targets(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "ci.env").write_text(f"GITHUB_TOKEN={GH}\n")
    options = ScanOptions(jobs=1)
    with FindingsStore.open(tmp_path / "lg.db") as store:
        store.record_scan(str(app), run_scan([str(app)], options))
        [stored] = store.credentials()
        assert stored.fingerprint == fingerprint(GH)
        with provider_fake() as fake:
            fake.live.add(GH)
            opts = VerifyOptions(endpoints=fake.endpoints("github"), min_interval=0.0)
            [(_, live)] = verify_stored([stored], options, opts)
            assert live.status == Status.LIVE and dict(live.identity)["login"] == "octo-leaker"
            (app / "ci.env").write_text("GITHUB_TOKEN=${GITHUB_TOKEN}\n")  # the leak is fixed
            [(_, gone)] = verify_stored([stored], options, opts)
            assert gone.status == Status.UNKNOWN and "not found" in gone.detail
            assert len(fake.requests) == 1  # nothing asked about a value it could not read
