"""Text, JSON, JSON lines and SARIF renderings of hand-built scan results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leakguard.errors import InputError, UsageError
from leakguard.model import Finding, Location, ScanResult, ScanStats, Severity, extras
from leakguard.redact import fingerprint, redact
from leakguard.reports import FORMATS, render, write_private
from leakguard.reports.sarif import FINGERPRINT_KEY
from tests.unit.reports.sarif_schema import SarifError, check

SECRET = "sk_live_Zq8RmT4vWx2Yb6Nc1Pd9Lf3Hj7Kg5Ss0"
OTHER = "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"


def _finding(
    secret: str, loc: Location, *, severity: Severity = Severity.CRITICAL, **kw: object
) -> Finding:
    rule = "stripe-live-secret-key" if secret.startswith("sk_") else "github-pat-classic"
    return Finding(
        rule_id=rule,
        provider=rule.split("-")[0],
        title="Stripe live secret key" if rule.startswith("stripe") else "GitHub token",
        severity=severity,
        fingerprint=fingerprint(secret),
        redacted=redact(secret),
        source_kind="git" if loc.commit else "file",
        location=loc,
        rotation="stripe-key" if rule.startswith("stripe") else None,
        secret=secret,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture()
def result() -> ScanResult:
    stats = ScanStats(files=3, bytes=4096, seconds=0.5)
    stats.skip("big.log", "over the size limit (9 > 5 bytes)")
    findings = (
        _finding(SECRET, Location("config/.env", 2, 19)),
        _finding(
            SECRET, Location("deploy/app.env", 7, 1), occurrences=(Location("old.env", 3, 1),)
        ),
        _finding(
            OTHER,
            Location("src/app.py", 4, 16, commit="0123456789abcdef0123456789abcdef01234567"),
            severity=Severity.HIGH,
        ),
        _finding(OTHER, Location("dist.zip!app/main.js", 1, 300), severity=Severity.HIGH),
    )
    return ScanResult(findings, stats, ("repo",))


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_format_shows_the_secret_unless_asked(result: ScanResult, fmt: str) -> None:
    hidden = render(result, fmt)
    assert SECRET not in hidden and OTHER not in hidden
    shown = render(result, fmt, show_secrets=True)
    assert SECRET in shown


def test_unknown_format_is_a_usage_error(result: ScanResult) -> None:
    with pytest.raises(UsageError, match="unknown format 'xml'"):
        render(result, "xml")


def test_text_groups_one_row_per_credential_most_severe_first(result: ScanResult) -> None:
    text = render(result, "text")
    lines = text.splitlines()
    assert lines[0].split() == ["SEVERITY", "RULE", "CREDENTIAL", "LOCATION", "SEEN"]
    assert lines[1].split()[:4] == [
        "critical",
        "stripe-live-secret-key",
        redact(SECRET),
        "config/.env:2:19",
    ]
    assert lines[1].split()[-1] == "3x"  # two findings and one further occurrence
    assert "high" in lines[2] and "@0123456789" in lines[2]  # short commit id
    assert "2 credential(s) in 4 finding(s)" in lines[-1]
    assert "skipped 1 file(s) (over the size limit); -v lists them" in text


def test_text_verbose_lists_every_place_and_skipped_file(result: ScanResult) -> None:
    text = render(result, "text", verbose=True)
    assert "also at deploy/app.env:7:1" in text and "also at old.env:3:1" in text
    assert "skipped big.log: over the size limit (9 > 5 bytes)" in text
    assert "rotate with playbook stripe-key" in text


def test_text_verbose_shows_attributes() -> None:
    f = _finding(SECRET, Location("a.env", 1, 1), attributes=extras(account_id="123456789012"))
    text = render(ScanResult((f,), ScanStats()), "text", verbose=True)
    assert "account_id=123456789012" in text
    assert "account_id" not in render(ScanResult((f,), ScanStats()), "text")


def test_text_when_clean() -> None:
    text = render(ScanResult((), ScanStats(files=2, bytes=10)), "text")
    assert text.startswith("no credentials found; scanned 2 file(s), 10 B")


def test_json_contract(result: ScanResult) -> None:
    doc = json.loads(render(result, "json"))
    assert doc["version"] == 1 and set(doc) == {"version", "findings", "stats"}
    assert {"files", "bytes", "seconds", "skipped"} <= set(doc["stats"])
    assert doc["stats"]["skipped"] == [
        {"path": "big.log", "reason": "over the size limit (9 > 5 bytes)"}
    ]
    first = doc["findings"][0]
    for key in (
        "rule_id",
        "provider",
        "severity",
        "fingerprint",
        "redacted",
        "source_kind",
        "location",
    ):
        assert key in first
    assert first["location"] == {"path": "config/.env", "line": 2, "column": 19}
    assert doc["findings"][2]["location"]["commit"].startswith("0123456789")
    assert doc["findings"][3]["location"]["path"] == "dist.zip!app/main.js"
    assert "secret" not in first


def test_jsonl_is_one_finding_per_line(result: ScanResult) -> None:
    lines = render(result, "jsonl").splitlines()
    assert len(lines) == 4
    assert [json.loads(line)["fingerprint"] for line in lines][:2] == [fingerprint(SECRET)] * 2


def test_sarif_structure(result: ScanResult) -> None:
    doc = json.loads(render(result, "sarif"))
    check(doc)
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "LeakGuard" and driver["version"] and driver["informationUri"]
    assert [r["id"] for r in driver["rules"]] == ["stripe-live-secret-key", "github-pat-classic"]
    stripe = driver["rules"][0]
    assert stripe["properties"]["security-severity"] == "9.5"
    assert "security" in stripe["properties"]["tags"]
    assert stripe["defaultConfiguration"]["level"] == "error"
    assert (
        stripe["shortDescription"]["text"]
        and stripe["fullDescription"]["text"]
        and stripe["help"]["text"]
    )
    res = run["results"]
    assert [r["ruleIndex"] for r in res] == [0, 0, 1, 1]
    assert res[0]["partialFingerprints"] == {FINGERPRINT_KEY: fingerprint(SECRET)}
    loc = res[0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "config/.env", "uriBaseId": "%SRCROOT%"}
    assert loc["region"] == {"startLine": 2, "startColumn": 19}
    assert redact(SECRET) in res[0]["message"]["text"]
    assert "0123456789ab" in res[2]["message"]["text"]
    assert res[3]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "dist.zip"
    assert res[1]["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "old.env"


def test_sarif_checker_catches_what_github_rejects(result: ScanResult) -> None:
    doc = json.loads(render(result, "sarif"))
    broken = json.loads(json.dumps(doc))
    broken["runs"][0]["results"][0]["ruleIndex"] = 1
    with pytest.raises(SarifError, match="ruleIndex points at another rule"):
        check(broken)
    broken = json.loads(json.dumps(doc))
    del broken["runs"][0]["tool"]["driver"]["name"]
    with pytest.raises(SarifError, match="'name'"):
        check(broken)
    broken = json.loads(json.dumps(doc))
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    with pytest.raises(SarifError, match="startLine"):
        check(broken)


def test_sarif_without_line_omits_region_and_absolute_paths_are_file_uris() -> None:
    stdin = _finding(SECRET, Location("-", 0, 0))
    absolute = _finding(OTHER, Location("/srv/app/.env", 1, 5), severity=Severity.INFO)
    doc = json.loads(render(ScanResult((stdin, absolute), ScanStats()), "sarif"))
    check(doc)
    res = doc["runs"][0]["results"]
    assert "region" not in res[0]["locations"][0]["physicalLocation"]
    assert res[1]["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "file:///srv/app/.env"
    }
    assert res[1]["level"] == "note"


def test_sarif_of_an_empty_scan_is_valid() -> None:
    doc = json.loads(render(ScanResult((), ScanStats()), "sarif"))
    check(doc)
    assert doc["runs"][0]["results"] == [] and doc["runs"][0]["tool"]["driver"]["rules"] == []


def test_attributes_reach_json_and_sarif() -> None:
    f = _finding(SECRET, Location("a.js", 1, 1), attributes=extras(exposure="public"))
    res = ScanResult((f,), ScanStats())
    assert json.loads(render(res, "json"))["findings"][0]["attributes"] == {"exposure": "public"}
    sarif = json.loads(render(res, "sarif"))
    assert sarif["runs"][0]["results"][0]["properties"]["attributes"] == {"exposure": "public"}


def test_write_private_creates_0600_even_over_an_open_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    target.chmod(0o644)
    write_private(target, "new")
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o600
    with pytest.raises(InputError, match="cannot write"):
        write_private(tmp_path / "missing" / "r.json", "x")


def test_summary_says_what_a_baseline_hid_and_what_was_unchanged() -> None:
    hid = ScanStats(files=3, bytes=10)
    hid.count("baselined", 113)
    assert render(ScanResult((), hid), "text").startswith("0 new (113 baselined); scanned 3 file")
    skipped = ScanResult.nothing_changed(("repo",), ("repo",), 0.01)
    assert render(skipped, "text").strip() == (
        "no credentials found; unchanged since the last scan (0.01s)"
    )
    mixed = ScanStats(files=2, bytes=10)
    mixed.count("git_unchanged_repositories")
    text = render(ScanResult((), mixed, ("a", "b"), unchanged=("b",)), "text")
    assert text.strip().endswith(
        "scanned 2 file(s), 10 B in 0.00s; 1 unchanged since the last scan; "
        "no new commit in 1 repositor(ies)"
    )
