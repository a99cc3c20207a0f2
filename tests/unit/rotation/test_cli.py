"""`leakguard playbook` and `leakguard audit` through typer's CliRunner, with a playbook of real
actions that need no backend (notify, command, approval)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from leakguard.rotation.audit import verify
from tests.support.cli import run_cli

PLAYBOOK = """\
apiVersion: leakguard/v1
kind: Playbook
id: cli-demo
title: CLI demo
inputs:
  credential: {type: credential, required: true}
  marker: {type: string, required: true}
stages:
  contain:
    - id: announce
      uses: notify
      with: {message: "rotating ${inputs.credential}"}
  rotate:
    - id: touch
      uses: command
      with: {run: ["touch", "${inputs.marker}"]}
  verify:
    - id: approve-finish
      uses: approval
      with: {message: "finish?"}
    - id: finish
      uses: command
      irreversible: true
      with: {run: ["true"]}
outputs:
  marker: "${inputs.marker}"
"""


@pytest.fixture()
def playbook(tmp_path: Path) -> Path:
    path = tmp_path / "cli-demo.yaml"
    path.write_text(PLAYBOOK)
    return path


def test_list_show_validate(playbook: Path) -> None:
    code, out = run_cli(["playbook", "list"])
    assert code == 0 and "aws-iam-access-key" in out and "vault-kv-secret" in out
    code, out = run_cli(["playbook", "show", "vault-kv-secret"])
    assert code == 0 and "promote" in out and "[irreversible]" in out
    code, out = run_cli(["playbook", "validate", str(playbook)])
    assert code == 0 and "ok (cli-demo, 4 steps)" in out


def test_validate_an_unreadable_file_exits_2_without_a_traceback(tmp_path: Path) -> None:
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe")
    for path, message in [
        (tmp_path / "missing.yaml", "playbook not found"),
        (tmp_path, "cannot read playbook"),
        (binary, "cannot read playbook"),
    ]:
        code, out = run_cli(["playbook", "validate", str(path)])
        assert code == 2 and message in out and "Traceback" not in out


def test_validate_errors_exit_2_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "cli-demo.yaml"
    bad.write_text(PLAYBOOK.replace("uses: approval", "uses: notify"))
    code, out = run_cli(["playbook", "validate", str(bad)])
    assert code == 2
    assert f"{bad}:" in out and "irreversible" in out and "Traceback" not in out
    bad.write_text(PLAYBOOK.replace("  verify:", "  later:"))
    code, out = run_cli(["playbook", "validate", str(bad)])
    assert code == 2 and "unknown stage 'later'" in out


def test_run_without_approval_waits_then_approve_and_resume(playbook: Path, tmp_path: Path) -> None:
    db = tmp_path / "lg.db"
    marker = tmp_path / "touched"
    base = ["--db", str(db)]
    code, out = run_cli(
        ["playbook", "run", str(playbook), "-i", "credential=sha256:ab", "-i", f"marker={marker}",
         "--run-id", "demo", "--approval-timeout", "0s", *base]
    )  # fmt: skip
    assert code == 1, out
    assert "awaiting-approval" in out and "playbook approve demo approve-finish" in out
    assert marker.exists()  # the steps before the approval ran
    code, out = run_cli(["playbook", "status", "demo", "--format", "json", *base])
    status = json.loads(out)
    assert code == 1 and status["state"] == "awaiting-approval" and status["stage"] == "verify"
    assert {s["id"]: s["state"] for s in status["steps"]}["finish"] == "pending"
    code, out = run_cli(["playbook", "approve", "demo", "finish", *base])
    assert code == 2 and "not an approval step" in out
    code, out = run_cli(["playbook", "approve", "demo", "approve-finish", "--by", "carol", *base])
    assert code == 0 and "carol" in out
    code, out = run_cli(["playbook", "resume", "demo", *base])
    assert code == 0 and "run demo: completed" in out and f"marker: {marker}" in out
    code, out = run_cli(["playbook", "status", "demo", *base])
    assert code == 0 and "approved by carol" in out
    code, out = run_cli(["playbook", "runs", *base])
    assert "demo" in out and "completed" in out


def test_run_yes_and_audit_verify_detects_tampering(playbook: Path, tmp_path: Path) -> None:
    db = tmp_path / "lg.db"
    code, out = run_cli(
        ["playbook", "run", str(playbook), "-i", "credential=sha256:cd",
         "-i", f"marker={tmp_path / 'm'}", "--yes", "--run-id", "r2", "--db", str(db)]
    )  # fmt: skip
    assert code == 0, out
    trail = tmp_path / "audit" / "r2.jsonl"
    assert oct(trail.stat().st_mode & 0o777) == "0o600"
    code, out = run_cli(["audit", "verify", str(trail), "--db", str(db)])
    assert code == 0 and "ok" in out
    lines = trail.read_text().splitlines()

    changed = [*lines]
    changed[3] = (
        changed[3].replace('"attempt":', '"attempt": ', 1).replace('"run_id":"r2"', '"run_id":"r3"')
    )
    trail.write_text("\n".join(changed) + "\n")
    code, out = run_cli(["audit", "verify", str(trail)])
    assert code == 1 and "line 5" in out

    trail.write_text("\n".join(lines[:2] + lines[3:]) + "\n")  # an entry removed
    code, out = run_cli(["audit", "verify", str(trail)])
    assert code == 1

    trail.write_text("\n".join(lines[:-1]) + "\n")  # the last entry removed
    code, out = run_cli(["audit", "verify", str(trail), "--chain-only"])
    assert code == 0  # the chain alone cannot tell...
    code, out = run_cli(["audit", "verify", str(trail)])
    assert code == 1 and "no run journal anchors" in out  # ...so without --db it says so
    code, out = run_cli(["audit", "verify", str(trail), "--db", str(db)])
    assert code == 1 and "removed at the end" in out  # ...the journal can


def _rechain(entries: list[dict[str, Any]]) -> str:
    """What a forger does: re-number and re-chain every entry after editing one."""
    from leakguard.rotation.audit import GENESIS, line_hash

    out, prev = [], GENESIS
    for n, entry in enumerate(entries, start=1):
        entry = {**entry, "n": n, "prev": prev}
        line = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        out.append(line)
        prev = line_hash(line.encode())
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("forgery", ["edited", "edited-and-appended", "appended", "truncated"])
def test_audit_verify_detects_a_rewritten_chain(
    playbook: Path, tmp_path: Path, forgery: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #11 scenario 6: an entry edited (who approved), every later line re-chained and
    one entry appended used to verify; the journal's anchor catches each rewrite, also on the
    path the run printed with LEAKGUARD_DB as the only pointer to the store."""
    db = tmp_path / "lg.db"
    monkeypatch.setenv("LEAKGUARD_DB", str(db))
    code, out = run_cli(
        ["playbook", "run", str(playbook), "-i", "credential=sha256:cd",
         "-i", f"marker={tmp_path / 'm'}", "--yes", "--run-id", "forged"]
    )  # fmt: skip
    assert code == 0, out
    printed = next(line for line in out.splitlines() if "audit trail:" in line)
    trail = Path(printed.split("audit trail:", 1)[1].strip())
    assert run_cli(["audit", "verify", str(trail)])[0] == 0
    entries = [json.loads(line) for line in trail.read_text().splitlines()]
    approval = next(i for i, e in enumerate(entries) if e["kind"] == "approval")
    if forgery.startswith("edited"):
        entries[approval]["data"]["by"] = "mallory"
    if forgery.endswith("appended"):
        entries.append({**entries[-1], "data": {"reason": "forged"}})
    if forgery == "truncated":
        entries = entries[:-2]
    trail.write_text(_rechain(entries))
    assert verify(trail).ok  # the chain alone holds: it was rewritten
    code, out = run_cli(["audit", "verify", str(trail)])
    assert code == 1, out
    assert "journal recorded" in out or "differs from the one the journal recorded" in out


def test_usage_errors_exit_2(playbook: Path, tmp_path: Path) -> None:
    code, out = run_cli(
        ["playbook", "run", str(playbook), "-i", "oops", "--db", str(tmp_path / "d")]
    )
    assert code == 2 and "NAME=VALUE" in out
    code, out = run_cli(["playbook", "run", str(playbook), "--db", str(tmp_path / "d")])
    assert code == 2 and "needs input 'credential'" in out
    code, out = run_cli(["playbook", "status", "nope", "--db", str(tmp_path / "d")])
    assert code == 2 and "no run nope" in out
    code, out = run_cli(["playbook", "show", "no-such-playbook"])
    assert code == 2 and "shipped playbooks" in out
    code, out = run_cli(
        ["playbook", "run", str(playbook), "--run-id", "../x", "--db", str(tmp_path / "d")]
    )
    assert code == 2 and "not a plain name" in out
    code, out = run_cli(["playbook", "rehearse", str(playbook), "--time-scale", "-1"])
    assert code == 2 and "--time-scale" in out


def test_plan_prints_the_writes(playbook: Path, tmp_path: Path) -> None:
    marker = tmp_path / "never"
    code, out = run_cli(
        ["playbook", "plan", str(playbook), "-i", "credential=x", "-i", f"marker={marker}"]
    )
    assert code == 0, out
    assert "WRITE touch" in out and "ASK   approve-finish" in out
    assert "nothing was written" in out
    assert not marker.exists()
