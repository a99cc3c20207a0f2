"""`leakguard sweep --verify` over local git repositories, against the local provider fake: new
credentials are asked about once, live ones alert higher, revoked ones lower (evidence kept),
answers are cached in the store, and without --verify nothing is called."""

from __future__ import annotations

import json
import random
import socket
import string
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakguard.model import LiveCheck, LiveStatus
from leakguard.redact import fingerprint
from leakguard.store.db import Database
from leakguard.store.verifications import VerificationCache
from tests.integration.sweep_repos import commit_secret, make_repo
from tests.support.cli import run_cli
from tests.support.keys import stripe_key
from tests.support.provider_fakes import ProviderFake, provider_fake

pytestmark = pytest.mark.integration

LIVE = stripe_key("sweep-verify-live")
REVOKED = stripe_key("sweep-verify-revoked")


def _google_key(seed: str) -> str:
    rng = random.Random(seed)
    return "AIza" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(35))


GOOGLE = _google_key("sweep-verify-google")  # a medium-severity rule: live raises it to high


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[ProviderFake]:
    with provider_fake() as server:
        endpoints = ",".join(f"{n}={u}" for n, u in server.endpoints("stripe", "google").items())
        monkeypatch.setenv("LEAKGUARD_VERIFY_ENDPOINTS", endpoints)
        monkeypatch.delenv("LEAKGUARD_DB", raising=False)
        server.live.update({LIVE, GOOGLE})
        yield server


@pytest.fixture()
def estate(tmp_path: Path) -> Path:
    make_repo(tmp_path / "repos" / "billing", [LIVE])
    make_repo(tmp_path / "repos" / "legacy", [REVOKED])
    commit_secret(tmp_path / "repos" / "legacy", "maps.py", GOOGLE)
    (tmp_path / "sweep.yaml").write_text("targets:\n  - glob: repos/*\n")
    return tmp_path


def _sweep(estate: Path, *extra: str, jobs: int = 1) -> tuple[int, dict[str, object], str]:
    report = estate / f"report-{random.random()}.json"
    db = estate / "lg.db"
    args = ["sweep", str(estate / "sweep.yaml"), "--db", str(db), "-j", str(jobs), "-f", "json"]
    code, out = run_cli([*args, "-o", str(report), *extra])
    return code, json.loads(report.read_text()), out


def _new(doc: dict[str, object]) -> dict[str, dict[str, object]]:
    entries = doc["new_credentials"]
    assert isinstance(entries, list)
    return {str(e["fingerprint"]): e for e in entries}


@pytest.mark.parametrize("jobs", [1, 2], ids=["in-process", "worker-processes"])
def test_sweep_verify_raises_live_lowers_revoked_and_keeps_evidence(
    fake: ProviderFake, estate: Path, jobs: int
) -> None:
    code, doc, out = _sweep(estate, "--verify", jobs=jobs)
    assert code == 1, out  # the live Stripe key still alerts
    new = _new(doc)
    live, revoked, google = (
        new[fingerprint(LIVE)],
        new[fingerprint(REVOKED)],
        new[fingerprint(GOOGLE)],
    )
    assert live["verification"]["status"] == "live"  # type: ignore[index]
    assert live["verification"]["identity"]["id"].startswith("acct_")  # type: ignore[index]
    assert live["severity"] == "critical"
    assert revoked["verification"]["status"] == "revoked"  # type: ignore[index]
    assert revoked["verification"]["http_status"] == 401  # type: ignore[index]
    assert revoked["severity"] == "low"  # lowered, with its evidence kept
    assert google["verification"]["status"] == "live"  # type: ignore[index]
    assert google["severity"] == "high"  # medium, raised one level by a live answer
    summary = doc["summary"]
    assert isinstance(summary, dict)
    assert summary["alerting"] == 2  # the live Stripe key and the live Google key
    assert summary["verification"] == {"live": 2, "revoked": 1, "unknown": 0}
    assert "verified: 2 live, 1 revoked, 0 unknown" in out
    assert "provider says: revoked" in out
    for value in (LIVE, REVOKED, GOOGLE):  # asked about, never written or shown
        assert value not in out and value not in json.dumps(doc)
        assert value.encode() not in (estate / "lg.db").read_bytes()
    with Database.open(estate / "lg.db") as db:  # answers cached by fingerprint
        cache = VerificationCache(db)
        assert cache.live_fingerprints() == {fingerprint(LIVE), fingerprint(GOOGLE)}
        answer = cache.latest(fingerprint(REVOKED))
        assert answer is not None and answer.status == "revoked"


def test_without_verify_the_same_keys_alert_unverified_and_nothing_is_called(
    fake: ProviderFake, estate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a sweep without --verify opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)  # the sweep runs in this process (-j 1)
    monkeypatch.setattr(socket, "create_connection", refuse)
    code, doc, out = _sweep(estate)
    assert code == 1, out
    assert fake.requests == []  # --verify off: no provider call at all
    new = _new(doc)
    assert all("verification" not in e for e in new.values())
    assert new[fingerprint(REVOKED)]["severity"] == "critical"
    assert doc["summary"]["alerting"] == 2  # type: ignore[index]  # both Stripe keys
    assert "verification" not in doc["summary"]  # type: ignore[operator]


def test_a_second_sweep_asks_only_about_new_credentials(fake: ProviderFake, estate: Path) -> None:
    _sweep(estate, "--verify")
    asked = len(fake.requests)
    assert asked == 3
    another = stripe_key("sweep-verify-later")
    commit_secret(estate / "repos" / "billing", "later.py", another)
    code, doc, out = _sweep(estate, "--verify")
    assert len(fake.requests) == asked + 1  # the one new key; the known ones are not asked
    assert list(_new(doc)) == [fingerprint(another)]
    assert _new(doc)[fingerprint(another)]["verification"]["status"] == "revoked"  # type: ignore[index]
    assert code == 0, out  # the only new credential is revoked: no alert


def test_a_cached_answer_is_used_within_its_ttl(fake: ProviderFake, estate: Path) -> None:
    db = estate / "lg.db"
    with Database.open(db) as store:  # an answer from an earlier verification, still fresh
        earlier = LiveCheck(LiveStatus.LIVE, "stripe", "GET https://api.stripe.com/v1/account")
        VerificationCache(store).put(fingerprint(LIVE), earlier)
    _, doc, _ = _sweep(estate, "--verify")
    check = _new(doc)[fingerprint(LIVE)]["verification"]
    assert check["status"] == "live" and check["cached"] is True  # type: ignore[index]
    assert check["checked_at"] == earlier.checked_at  # type: ignore[index]
    assert len(fake.requests) == 2  # only the two keys without an answer were asked about


def test_verify_dry_run_lists_calls_and_calls_nothing(fake: ProviderFake, estate: Path) -> None:
    code, _doc, out = _sweep(estate, "--verify-dry-run")
    assert fake.requests == []
    assert f"{fake.url}/stripe/v1/account (test endpoint)" in out
    assert out.count("would call") == 3
    assert code == 1  # nothing was verified: the alerts stay as they were


def test_an_unreachable_provider_is_unknown_and_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, estate: Path
) -> None:
    from tests.support.servers import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("LEAKGUARD_VERIFY_ENDPOINTS", f"stripe={dead},google={dead}")
    code, doc, out = _sweep(estate, "--verify")
    new = _new(doc)
    assert "verified: 0 live, 0 revoked, 3 unknown" in out
    assert new[fingerprint(REVOKED)]["verification"]["status"] == "unknown"  # type: ignore[index]
    assert new[fingerprint(REVOKED)]["severity"] == "critical"
    assert code == 1
    with Database.open(estate / "lg.db") as db:
        assert VerificationCache(db).latest(fingerprint(REVOKED)) is None  # unknown: not cached


def test_verify_true_in_the_sweep_config_is_the_same_as_the_option(
    fake: ProviderFake, estate: Path
) -> None:
    (estate / "sweep.yaml").write_text("verify: true\ntargets:\n  - glob: repos/*\n")
    code, doc, out = _sweep(estate)
    assert code == 1, out
    new = _new(doc)
    assert new[fingerprint(REVOKED)]["verification"]["status"] == "revoked"  # type: ignore[index]
    assert new[fingerprint(REVOKED)]["severity"] == "low"
    assert doc["summary"]["verification"] == {"live": 2, "revoked": 1, "unknown": 0}  # type: ignore[index]
    assert fake.requests  # the providers were asked
