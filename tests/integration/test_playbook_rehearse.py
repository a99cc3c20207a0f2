"""Rehearse: the whole playbook against a sandbox LeakGuard starts itself (OpenBao dev + moto),
seeded from the graph and inputs, with waits compressed; per-step timing and what would break."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.graph.interface import ConsumerInfo, StoreRef
from leakguard.rotation import runner as engine
from leakguard.rotation.journal import Journal, RunState
from leakguard.rotation.planner import rehearse_playbook
from leakguard.rotation.schema import find_playbook, load_playbook
from tests.support.graphs import save_graph


@pytest.mark.slow
def test_rehearsal_reports_timing_and_the_consumer_that_would_not_move(tmp_path: Path) -> None:
    db = tmp_path / "lg.db"
    web = ConsumerInfo("consumer:web", "web", identities=("vault-approle:web",))
    fp = save_graph(db, "old-value-" + "r" * 20, StoreRef("vault-kv2", "app/db", "secret"), [web])
    options = engine.EngineOptions(graph=engine.open_graph(db), time_scale=0.0005, yes=True)
    with Journal.open(db) as journal:
        report = rehearse_playbook(
            journal,
            load_playbook(find_playbook("vault-kv-secret")),
            {"credential": fp, "secret": "app/db", "move_timeout": "30m"},
            options,
        )
    assert report.run.mode == "rehearse"
    assert report.run.state == RunState.PAUSED
    assert not report.ok
    assert any("web" in problem for problem in report.would_break)
    timings = {t.step_id: t for t in report.timings}
    assert timings["promote"].state == "succeeded" and timings["promote"].seconds is not None
    assert timings["consumers-moved"].state == "failed"
    assert "revoke-old" not in timings  # nothing irreversible happens while a consumer lags


@pytest.mark.slow
def test_rehearsal_of_an_iam_rotation_completes_in_the_sandbox(tmp_path: Path) -> None:
    db = tmp_path / "lg.db"
    fp = save_graph(db, "leaked-" + "i" * 30, StoreRef("aws-secretsmanager", "app/aws"), [])
    options = engine.EngineOptions(graph=engine.open_graph(db), time_scale=0.0005, yes=True)
    with Journal.open(db) as journal:
        report = rehearse_playbook(
            journal,
            load_playbook(find_playbook("aws-iam-access-key")),
            {"credential": fp, "user": "app", "secret": "app/aws", "store": "sm", "soak": "1h"},
            options,
        )
    assert report.run.state == RunState.COMPLETED, report.run.diagnostic
    assert [t.state for t in report.timings if t.step_id == "delete-old"] == ["succeeded"]
    # moto is this playbook's provider in the sandbox: STS itself gave its word
    assert [t.state for t in report.timings if t.step_id == "provider-rejects-old"] == ["succeeded"]
    # the gap in the graph is what would break for real
    assert any("no consumer" in problem for problem in report.would_break)


@pytest.mark.slow
def test_rehearse_from_the_command_line(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from tests.support.cli import leakguard_app

    db = tmp_path / "lg.db"
    fp = save_graph(db, "leaked-" + "c" * 30, StoreRef("aws-secretsmanager", "app/cli"), [])
    result = CliRunner().invoke(
        leakguard_app(),
        ["playbook", "rehearse", "aws-iam-access-key", "--db", str(db), "--format", "json",
         "-i", f"credential={fp}", "-i", "user=cli", "-i", "secret=app/cli", "-i", "store=sm",
         "-i", "soak=1h"],
    )  # fmt: skip
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["state"] == "completed"
    assert result.exit_code == 1  # ...but the graph knows no consumer: that would break
    assert any("no consumer" in p for p in report["would_break"])
    assert {s["step_id"] for s in report["steps"]} >= {"new-key", "promote", "delete-old"}


DASHBOARD_KEYS = {
    "stripe-key": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc9f2cQ",
    "github-token": "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",
    "supabase-service-role": "sb_secret_bXp_4xP-D0CzfcOXDQJ9foajjYK3VAx",
}


@pytest.mark.slow
@pytest.mark.parametrize("playbook_id", sorted(DASHBOARD_KEYS))
def test_a_rehearsal_skips_the_provider_step_of_a_dashboard_playbook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, playbook_id: str
) -> None:
    """The sandbox has no Stripe, GitHub or Supabase: the provider step is reported skipped,
    never passed, and no provider is asked, even with a verifier endpoint set (as in the
    demo's shell, where it points at the demo's stand-in)."""
    import os

    from tests.support.provider_fakes import provider_fake

    db = tmp_path / "lg.db"
    fp = save_graph(db, "leaked-" + "d" * 30, StoreRef("vault-kv2", "app/dash", "secret"), [])
    value_file = tmp_path / "new-key"
    value_file.write_text(DASHBOARD_KEYS[playbook_id])
    os.chmod(value_file, 0o600)
    options = engine.EngineOptions(graph=engine.open_graph(db), time_scale=0.0005, yes=True)
    with provider_fake() as fake, Journal.open(db) as journal:
        fake.live.add(DASHBOARD_KEYS[playbook_id])
        endpoints = fake.endpoints("stripe", "github", "supabase")
        monkeypatch.setenv(
            "LEAKGUARD_VERIFY_ENDPOINTS", ",".join(f"{n}={u}" for n, u in endpoints.items())
        )
        report = rehearse_playbook(
            journal,
            load_playbook(find_playbook(playbook_id)),
            {"credential": fp, "secret": "app/dash", "value_file": str(value_file)},
            options,
        )
    assert report.run.state == RunState.COMPLETED, report.run.diagnostic
    timings = {t.step_id: t for t in report.timings}
    assert timings["revoke-old"].state == "succeeded"
    assert timings["provider-rejects-old"].state == "skipped"
    assert report.run.outputs["provider_old"] is None
    assert not fake.requests
