"""`leakguard baseline create|update|audit|migrate` and what `scan` says about suppressed and
unchanged targets, through the real command line (typer's CliRunner)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from leakguard.redact import fingerprint
from tests.integration.sweep_repos import make_repo
from tests.support.cli import leakguard_app
from tests.support.keys import stripe_key

pytestmark = pytest.mark.integration


def _cli(args: list[str], stdin: str | None = None) -> Result:
    return CliRunner().invoke(leakguard_app(), args, input=stdin)


def _keys(n: int, tag: str) -> list[str]:
    return [stripe_key(f"{tag}-{i}") for i in range(n)]


def test_scan_with_a_baseline_says_how_many_it_hid(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    keys = _keys(3, "hid")
    (tree / "fixtures.py").write_text("".join(f"K{i} = '{k}'\n" for i, k in enumerate(keys)))
    base = tmp_path / "b.json"
    assert _cli(["baseline", "create", str(tree), "-o", str(base), "-j", "1"]).exit_code == 0

    res = _cli(["scan", str(tree), "--baseline", str(base), "-j", "1"])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("0 new (3 baselined); scanned 1 file(s)")

    fresh = stripe_key("hid-fresh")
    (tree / "new.py").write_text(f"KEY = '{fresh}'\n")
    res = _cli(["scan", str(tree), "--baseline", str(base), "-j", "1"])
    assert res.exit_code == 1
    assert "1 new credential(s) in 1 finding(s) (3 baselined)" in res.stdout
    assert fresh not in res.output


def test_update_adds_prunes_and_keeps_audits_then_audit_marks(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    a, b, c = _keys(3, "upd")
    (tree / "one.py").write_text(f"A = '{a}'\nB = '{b}'\n")
    base = tmp_path / "b.json"
    _cli(["baseline", "create", str(tree), "-o", str(base), "-j", "1"])
    res = _cli(
        ["baseline", "audit", str(base), fingerprint(a)[7:19], "--verdict", "fp",
         "--reason", "a test fixture", "--by", "dana"]
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "1 of 2 entries audited" in res.stderr

    (tree / "one.py").write_text(f"A = '{a}'\nC = '{c}'\n")  # b gone, c new
    res = _cli(["baseline", "update", str(tree), "-o", str(base), "-j", "1"])
    assert res.exit_code == 0, res.output
    assert "1 added, 1 pruned, 1 kept (1 audited)" in res.stderr
    doc = json.loads(base.read_text())
    assert doc["version"] == 2
    entries = {e["fingerprint"]: e for e in doc["credentials"]}
    assert set(entries) == {fingerprint(a), fingerprint(c)}
    assert entries[fingerprint(a)]["audit"]["verdict"] == "false-positive"
    assert entries[fingerprint(a)]["audit"]["by"] == "dana"
    assert "audit" not in entries[fingerprint(c)]
    assert not any(k in base.read_text() for k in (a, b, c))

    # interactive: the one entry not yet audited is asked about
    res = _cli(["baseline", "audit", str(base), "--interactive", "--by", "eve"], "t\nINC-12\n")
    assert res.exit_code == 0, res.output
    assert fingerprint(c) in res.stdout
    marked = {e["fingerprint"]: e for e in json.loads(base.read_text())["credentials"]}
    assert marked[fingerprint(c)]["audit"]["verdict"] == "true-positive"
    assert marked[fingerprint(c)]["audit"]["reason"] == "INC-12"

    res = _cli(["baseline", "audit", str(base), "--list"])
    assert "false-positive by dana: a test fixture" in res.stdout
    assert "true-positive by eve: INC-12" in res.stdout

    res = _cli(["baseline", "audit", str(base), "abcdef", "--verdict", "fp", "--reason", "x"])
    assert res.exit_code == 2 and res.stderr.count("leakguard: error:") == 1


def test_migrate_rewrites_a_version_1_baseline(tmp_path: Path) -> None:
    base = tmp_path / "b.json"
    fp = fingerprint(stripe_key("mig"))
    base.write_text(json.dumps({"version": 1, "credentials": [{"fingerprint": fp}]}))
    res = _cli(["baseline", "migrate", str(base)])
    assert res.exit_code == 0 and "migrated from version 1" in res.stderr
    assert json.loads(base.read_text())["version"] == 2
    assert "already current" in _cli(["baseline", "migrate", str(base)]).stderr


@pytest.mark.parametrize("store", ["--db", "--state-dir"])
def test_an_unchanged_incremental_repository_says_so(tmp_path: Path, store: str) -> None:
    repo = make_repo(tmp_path / "repo", [])
    where = str(tmp_path / ("lg.db" if store == "--db" else "state"))
    scan = ["scan", str(repo), "--incremental", store, where, "-j", "1"]
    first = _cli(scan)
    assert first.exit_code == 0 and "scanned" in first.stdout
    # no new commit (the work tree was just written: too fresh for a signature, so it is read)
    again = _cli(scan)
    assert again.exit_code == 0, again.output
    assert "unchanged since the last scan" in again.stdout
    assert "scanned 0 file(s)" not in again.stdout
    # files an hour old: the signature is recorded, and the next scan skips the repository
    hour_ago = time.time() - 3600
    for path in repo.rglob("*"):
        os.utime(path, (hour_ago, hour_ago), follow_symlinks=False)
    _cli(scan)
    skipped = _cli(scan)
    assert skipped.stdout.startswith("no credentials found; unchanged since the last scan")
    counters = json.loads(_cli([*scan, "-f", "json"]).stdout)["stats"]["counters"]
    assert counters["unchanged_targets"] == 1
    if store == "--state-dir":
        assert any((tmp_path / "state").rglob("*")), "the state went to --state-dir"


def test_baseline_commands_report_every_input_error_at_once(tmp_path: Path) -> None:
    res = _cli(
        ["baseline", "update", str(tmp_path / "gone"), "-o", str(tmp_path / "none.json"),
         "--max-file-size", "lots"]
    )  # fmt: skip
    assert res.exit_code == 2
    errors = [line for line in res.stderr.splitlines() if line.startswith("leakguard: error:")]
    assert len(errors) == 3, res.stderr
    assert any("baseline not found" in e for e in errors)
    assert any("gone: no such file" in e for e in errors)
    assert any("'lots'" in e for e in errors)
