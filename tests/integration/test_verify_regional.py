"""Regional verifiers end to end: `leakguard scan --verify` and the template-built playbooks'
provider step, with the local provider fake standing in for every official region through
``LEAKGUARD_VERIFY_ENDPOINTS`` (``NAME=URL`` for the first host, ``NAME@LABEL=URL`` for the
others), against the real OpenBao dev server for the playbooks' store."""

from __future__ import annotations

import json
import random
import string
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakguard.rotation.journal import RunState
from leakguard.verify.http_verifiers import HTTP_VERIFIERS
from tests.integration.test_playbook_provider_template import STEP, _run
from tests.support.cli import run_cli
from tests.support.provider_fakes import ProviderFake, provider_fake
from tests.support.servers import OpenBao

REGIONAL = ("sentry", "newrelic", "pagerduty", "snyk")
_RANDOM = random.Random(1414)


def _pick(alphabet: str, length: int) -> str:
    return "".join(_RANDOM.choice(alphabet) for _ in range(length))


def _hex(length: int) -> str:
    return _pick("0123456789abcdef", length)


def _uuid() -> str:
    return f"{_hex(8)}-{_hex(4)}-4{_hex(3)}-a{_hex(3)}-{_hex(12)}"


@pytest.fixture()
def providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[ProviderFake]:
    with provider_fake() as fake:
        names = [n for v in HTTP_VERIFIERS if v.name in REGIONAL for n in v.endpoint_names()]
        endpoints = fake.endpoints(*names)
        monkeypatch.setenv(
            "LEAKGUARD_VERIFY_ENDPOINTS", ",".join(f"{n}={u}" for n, u in endpoints.items())
        )
        monkeypatch.delenv("LEAKGUARD_DB", raising=False)
        yield fake


def test_scan_verify_reads_each_region(providers: ProviderFake, tmp_path: Path) -> None:
    sentry = "sntryu_" + _hex(64)
    newrelic = "NRAK-" + _pick(string.ascii_uppercase + string.digits, 27)
    (tmp_path / "settings.env").write_text(
        f"SENTRY_AUTH_TOKEN={sentry}\nNEW_RELIC_API_KEY={newrelic}\n"
    )
    providers.live.add(sentry)
    providers.regions[sentry] = "de"  # a DE-region token; the New Relic key is in no region
    report = tmp_path / "report.json"
    code, out = run_cli(
        ["scan", str(tmp_path), "--verify", "-f", "json", "-j", "1", "-o", str(report)]
    )
    assert code == 1, out
    by_rule = {f["rule_id"]: f["verification"] for f in json.loads(report.read_text())["findings"]}
    live = by_rule["sentry-user-auth-token"]
    assert live["status"] == "live", live
    assert live["identity"]["region"] == "de" and live["identity"]["username"] == "leaky-dev"
    assert live["endpoint"] == "GET https://de.sentry.io/api/0/"
    dead = by_rule["newrelic-user-api-key"]
    assert dead["status"] == "revoked", dead
    for host in ("api.newrelic.com", "api.eu.newrelic.com", "api.jp.newrelic.com"):
        assert host in dead["endpoint"]
    assert sentry not in report.read_text() and newrelic not in report.read_text()
    assert "127.0.0.1" not in report.read_text()  # evidence names the official hosts


#: template-built playbooks whose provider is regional: (verifier, leaked, new, new key's region)
KEYS = {
    "pagerduty-api-key": (
        "pagerduty",
        _pick(string.ascii_letters, 20),
        _pick(string.ascii_letters, 20),
        "eu",
    ),
    "snyk-api-token": ("snyk", _uuid(), _uuid(), "au"),
    "sentry-token": ("sentry", "sntryu_" + _hex(64), "sntryu_" + _hex(64), "de"),
}
OFFICIAL = {
    "pagerduty": "https://api.eu.pagerduty.com/",
    "snyk": "https://api.au.snyk.io/",
    "sentry": "https://de.sentry.io/",
}


@pytest.mark.parametrize("playbook_id", sorted(KEYS))
def test_a_regional_playbook_completes_once_every_region_refuses_the_old_key(
    openbao: OpenBao, providers: ProviderFake, tmp_path: Path, playbook_id: str
) -> None:
    """Old and new key live in a region other than the first: the run completes only once the
    old key is refused by every region (the operator revoked it), and the new one is found live
    in its own region."""
    verifier, old, new, region = KEYS[playbook_id]
    providers.regions.update({old: region, new: region})
    view, db, _ = _run(openbao, providers, tmp_path, playbook_id, old, new)

    assert view.state == RunState.COMPLETED, view.diagnostic
    assert (view.outputs["provider_old"], view.outputs["provider_new"]) == ("revoked", "live")
    evidence = view.steps[STEP].outputs["evidence"]
    assert evidence["new"]["endpoint"].split(" ")[1].startswith(OFFICIAL[verifier])
    regions = len(next(v for v in HTTP_VERIFIERS if v.name == verifier).regions)
    assert evidence["old"]["endpoint"].count("https://") == regions  # every region asked
    assert old.encode() not in db.read_bytes() and new.encode() not in db.read_bytes()


def test_an_old_key_live_in_another_region_keeps_the_run_from_completing(
    openbao: OpenBao, providers: ProviderFake, tmp_path: Path
) -> None:
    """The operator confirms without revoking: the first region refuses the old key (it lives
    in the EU), which must not pass for revocation."""
    from tests.support.clocks import QuickClock

    _, old, new, region = KEYS["pagerduty-api-key"]
    providers.regions.update({old: region, new: region})
    view, _, _ = _run(
        openbao,
        providers,
        tmp_path,
        "pagerduty-api-key",
        old,
        new,
        revokes=False,
        clock=QuickClock(),
    )
    assert view.state != RunState.COMPLETED
    assert view.steps[STEP].state == "failed"
    assert "still accepts the old credential" in view.diagnostic
