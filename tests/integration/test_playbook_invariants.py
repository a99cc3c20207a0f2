"""Issue #11, end to end against the OpenBao dev server through the command line, as an incident
responder runs it (one store: --db on every command). Each test failed on the code before the
fix: the scenario number is the issue's.

1. wrong field: the leaked key sits in `api_key`, the playbook's default field is `value`;
2. wrong playbook: a Stripe key under vault-kv-secret (a random value would break consumers);
4. the staged value is served to consumers during a pause;
5. a `bao kv put` made between two rotations is reverted by the second;
7. exit codes: rolled back on failure, plan with errors, rehearse in a realistic setup.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hvac
import pytest

from leakguard.graph.interface import StoreRef
from leakguard.redact import fingerprint
from leakguard.rotation.journal import Journal, Kind
from tests.integration.test_playbook_helpers import (
    approle,
    consumer,
    reload_command,
    seed_kv_secret,
)
from tests.support.cli import run_cli
from tests.support.graphs import save_graph
from tests.support.servers import OpenBao

STRIPE = "sk_live_4eC39HqLyjWDarjtT1zdp7dc9f2c"  # the detector rule's own example


@pytest.fixture()
def vault_env(openbao: OpenBao, monkeypatch: pytest.MonkeyPatch) -> OpenBao:
    monkeypatch.setenv("VAULT_ADDR", openbao.url)
    monkeypatch.setenv("VAULT_TOKEN", openbao.token)
    return openbao


def _versions(root: hvac.Client, path: str) -> int:
    return int(root.secrets.kv.v2.read_secret_metadata(path=path)["data"]["current_version"])


def _latest(root: hvac.Client, path: str) -> dict[str, Any]:
    got = root.secrets.kv.v2.read_secret_version(path=path, raise_on_deleted_version=True)
    return dict(got["data"]["data"])


def _run(db: Path, *args: str) -> tuple[int, str]:
    return run_cli(["playbook", *args, "--db", str(db)])


def test_1_the_field_that_holds_the_leak_is_rotated_by_default(
    vault_env: OpenBao, tmp_path: Path
) -> None:
    old = "team-owned-" + "a" * 30
    seeded = {"api_key": old, "api_key_backup": old, "user": "app"}
    root, path = seed_kv_secret(vault_env, "lg-inv/field", seeded)
    db = tmp_path / "lg.db"
    fp = save_graph(db, old, StoreRef("vault-kv2", path, "secret"), [])

    code, out = _run(db, "run", "vault-kv-secret", "-i", f"credential={fp}", "-i",
                     f"secret={path}", "-i", "field=value", "-i", "overlap=1s",
                     "--yes")  # fmt: skip
    assert code == 1 and "field value does not hold the leaked credential" in out, out
    assert "api_key" in out and _versions(root, path) == 1  # refused before any write

    code, out = _run(db, "plan", "vault-kv-secret", "-i", f"credential={fp}", "-i",
                     f"secret={path}")  # fmt: skip
    assert code == 0 and "fields holding the leaked credential in vault:" in out, out
    code, out = _run(db, "run", "vault-kv-secret", "-i", f"credential={fp}", "-i",
                     f"secret={path}", "-i", "overlap=1s", "--yes")  # fmt: skip
    assert code == 0, out
    data = _latest(root, path)
    assert set(data) == set(seeded) and data["user"] == "app"
    assert data["api_key"] == data["api_key_backup"] != old  # every field that held it
    assert "the leaked credential is in no field of the current version" in out
    assert old not in out


def test_2_a_generated_value_never_replaces_a_provider_key(
    vault_env: OpenBao, tmp_path: Path
) -> None:
    root, path = seed_kv_secret(vault_env, "lg-inv/stripe", {"api_key": STRIPE})
    db = tmp_path / "lg.db"
    fp = save_graph(db, STRIPE, StoreRef("vault-kv2", path, "secret"), [])
    base = ["run", "vault-kv-secret", "-i", f"credential={fp}", "-i", f"secret={path}",
            "-i", "overlap=1s", "--yes"]  # fmt: skip
    code, out = _run(db, *base, "--run-id", "refused")
    assert code == 1 and "provider-issued key" in out and "stripe-key" in out, out
    code, out = _run(db, "resume", "refused")
    assert code != 0 and "refused before any write" in out, out
    code, out = _run(db, *base, "--playbook-override", "the dashboard is down")
    assert code == 1 and "cannot lift this" in out, out
    assert _versions(root, path) == 1 and _latest(root, path) == {"api_key": STRIPE}
    assert STRIPE not in out
    code, out = _run(db, "plan", "vault-kv-secret", "-i", f"credential={fp}", "-i",
                     f"secret={path}")  # fmt: skip
    assert code == 1 and "ERROR" in out and "stripe-key" in out


def test_2_another_playbook_needs_an_override_that_is_journaled(
    vault_env: OpenBao, tmp_path: Path
) -> None:
    """The rule names stripe-key; github-token (also a dashboard playbook) runs only with a
    reason, kept in the journal and the audit trail."""
    root, path = seed_kv_secret(vault_env, "lg-inv/override", {"api_key": STRIPE})
    db = tmp_path / "lg.db"
    fp = save_graph(db, STRIPE, StoreRef("vault-kv2", path, "secret"), [])
    base = ["run", "github-token", "-i", f"credential={fp}", "-i", f"secret={path}",
            "-i", "overlap=1s", "--approval-timeout", "0s"]  # fmt: skip
    code, out = _run(db, *base, "--run-id", "no-override")
    assert code == 1 and "not the one rule stripe-live-secret-key names" in out, out
    code, out = _run(db, *base, "--run-id", "overridden", "--playbook-override", "INC-42 drill")
    assert code == 1, out  # it waits for the dashboard key: not done
    with Journal.open(db) as journal:
        overrides = [r for r in journal.records("overridden") if r.kind == Kind.OVERRIDE]
        assert [r.data["reason"] for r in overrides] == ["INC-42 drill"]
        assert overrides[0].data["expected"] == "stripe-key"
        trail, _ = journal.audit_head("overridden")
    entries = [json.loads(line) for line in trail.read_text().splitlines()]
    assert any(e["kind"] == "override" and e["data"]["reason"] == "INC-42 drill" for e in entries)
    assert _latest(root, path) == {"api_key": STRIPE}


def test_4_a_staged_value_is_not_served_during_a_pause(vault_env: OpenBao, tmp_path: Path) -> None:
    old = "team-owned-" + "b" * 30
    root, path = seed_kv_secret(vault_env, "lg-inv/pause", {"value": old})
    role = approle(vault_env, "inv-pause-reader", path)
    db = tmp_path / "lg.db"
    fp = save_graph(db, old, StoreRef("vault-kv2", path, "secret"), [consumer(role)])
    code, out = _run(db, "run", "vault-kv-secret", "-i", f"credential={fp}", "-i",
                     f"secret={path}", "-i", "test_command=false", "-i", "overlap=1s",
                     "--yes", "--run-id", "paused")  # fmt: skip
    assert code == 1 and "run paused: paused" in out, out
    assert role.read(vault_env.url, path) == {"value": old}  # the consumer reads the old value
    code, out = _run(db, "rollback", "paused")
    assert code == 0 and "rolled-back" in out, out
    assert role.read(vault_env.url, path) == {"value": old} and _versions(root, path) == 1


def test_5_a_change_made_between_two_rotations_is_shown_and_kept(
    vault_env: OpenBao, tmp_path: Path
) -> None:
    old = "team-owned-" + "c" * 30
    root, path = seed_kv_secret(vault_env, "lg-inv/world", {"value": old})
    db = tmp_path / "lg.db"
    fp = save_graph(db, old, StoreRef("vault-kv2", path, "secret"), [])
    code, out = _run(db, "run", "vault-kv-secret", "-i", f"credential={fp}", "-i",
                     f"secret={path}", "-i", "overlap=1s", "--yes")  # fmt: skip
    assert code == 0, out
    first = _latest(root, path)["value"]
    # an operator adds a field with a normal `bao kv put`
    root.secrets.kv.v2.create_or_update_secret(path=path, secret={"value": first, "timeout": "30"})
    db2 = tmp_path / "second.db"
    fp2 = save_graph(db2, first, StoreRef("vault-kv2", path, "secret"), [])  # leaked again
    code, out = _run(db2, "plan", "vault-kv-secret", "-i", f"credential={fp2}", "-i",
                     f"secret={path}")  # fmt: skip
    assert code == 0, out
    assert "current version 3 was written outside LeakGuard" in out and "(version 2)" in out
    code, out = _run(db2, "run", "vault-kv-secret", "-i", f"credential={fp2}", "-i",
                     f"secret={path}", "-i", "overlap=1s", "--yes")  # fmt: skip
    assert code == 0, out
    data = _latest(root, path)
    assert data["timeout"] == "30" and data["value"] not in (old, first)  # kept, rotated
    assert _versions(root, path) == 4


ROLLBACK_ON_FAILURE = "on_failure: rollback\nstages:"


def test_7_a_run_rolled_back_on_failure_exits_1(vault_env: OpenBao, tmp_path: Path) -> None:
    from leakguard.rotation.schema import find_playbook

    text = find_playbook("vault-kv-secret").read_text().replace("stages:", ROLLBACK_ON_FAILURE, 1)
    playbook = tmp_path / "vault-kv-secret.yaml"
    playbook.write_text(text)
    old = "team-owned-" + "d" * 30
    root, path = seed_kv_secret(vault_env, "lg-inv/rollback", {"value": old})
    db = tmp_path / "lg.db"
    fp = save_graph(db, old, StoreRef("vault-kv2", path, "secret"), [])
    code, out = _run(db, "run", str(playbook), "-i", f"credential={fp}", "-i",
                     f"secret={path}", "-i", "test_command=false", "-i", "overlap=1s",
                     "--yes", "--run-id", "rb")  # fmt: skip
    assert code == 1 and "run rb: rolled-back" in out, out
    assert _latest(root, path) == {"value": old}
    code, out = _run(db, "status", "rb")
    assert code == 1 and "rolled-back" in out


def test_7_plan_with_errors_exits_1(vault_env: OpenBao, tmp_path: Path) -> None:
    db = tmp_path / "lg.db"
    fp = save_graph(db, "x" * 30, StoreRef("vault-kv2", "lg-inv/missing", "secret"), [])
    code, out = _run(db, "plan", "vault-kv-secret", "-i", f"credential={fp}", "-i",
                     "secret=lg-inv/does-not-exist")  # fmt: skip
    assert code == 1 and "ERROR" in out and "error(s)" in out, out


@pytest.mark.slow
def test_7_rehearse_exits_0_when_nothing_would_break(vault_env: OpenBao, tmp_path: Path) -> None:
    """Consumers with a reload mechanism are played reading the new version in the sandbox;
    before, none ever did (their reload reaches outside it), so rehearse always exited 1."""
    old = "team-owned-" + "e" * 30
    db = tmp_path / "lg.db"
    role = approle(vault_env, "inv-rehearse-web", "app/rehearse")
    reload = reload_command(tmp_path, vault_env, role, "app/rehearse", tmp_path / "reads.log")
    fp = save_graph(
        db, old, StoreRef("vault-kv2", "app/rehearse", "secret"), [consumer(role, reload)]
    )
    code, out = _run(db, "rehearse", "vault-kv-secret", "-i", f"credential={fp}", "-i",
                     "secret=app/rehearse", "-i", "move_timeout=30m")  # fmt: skip
    assert code == 0 and "would break" not in out, out
    assert not (tmp_path / "reads.log").exists()  # the real reload command never ran
    assert fingerprint(old) == fp
