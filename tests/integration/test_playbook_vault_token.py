"""vault-token against the OpenBao dev server: a leaked token (with a child it created) is looked
up, revoked with its children and proven gone; found by its accessor or from a 0600 file holding
it, never by the wrong token; the token never reaches the journal or the audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hvac
import pytest

from leakguard.redact import fingerprint
from leakguard.rotation import runner as engine
from leakguard.rotation.journal import Journal, RunState
from leakguard.rotation.schema import find_playbook, load_playbook
from tests.support.servers import OpenBao


def _leaked(openbao: OpenBao) -> tuple[str, str, str]:
    """A token (as an application would hold it), its accessor, and a child it created."""
    root = hvac.Client(url=openbao.url, token=openbao.token)
    root.sys.create_or_update_policy(
        name="lg-token-parent",
        policy='path "auth/token/create" { capabilities = ["create", "update"] }',
    )
    made = root.auth.token.create(
        policies=["default", "lg-token-parent"], ttl="1h", display_name="ci-deploy"
    )
    token, accessor = made["auth"]["client_token"], made["auth"]["accessor"]
    child = hvac.Client(url=openbao.url, token=token).auth.token.create(
        policies=["default"], ttl="30m"
    )["auth"]["client_token"]
    return token, accessor, child


def _alive(openbao: OpenBao, token: str) -> bool:
    try:
        hvac.Client(url=openbao.url, token=token).auth.token.lookup_self()
        return True
    except hvac.exceptions.Forbidden:
        return False


def _run(tmp: Path, inputs: dict[str, Any], run_id: str) -> Any:
    options = engine.EngineOptions(yes=True, approval_timeout=0)
    with Journal.open(tmp / "lg.db") as journal:
        return engine.start_run(
            journal, load_playbook(find_playbook("vault-token")), inputs, options, run_id=run_id
        )


@pytest.fixture(autouse=True)
def _vault_env(openbao: OpenBao, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_ADDR", openbao.url)
    monkeypatch.setenv("VAULT_TOKEN", openbao.token)


def test_a_leaked_token_in_a_file_is_revoked_with_its_children(
    openbao: OpenBao, tmp_path: Path
) -> None:
    token, accessor, child = _leaked(openbao)
    held = tmp_path / "leaked-token"
    held.write_text(token + "\n")
    held.chmod(0o600)
    view = _run(tmp_path, {"credential": fingerprint(token), "token_file": str(held)}, "t1")
    assert view.state == RunState.COMPLETED, view.diagnostic
    assert view.outputs == {"accessor": accessor, "display_name": "token-ci-deploy", "gone": True}
    assert not _alive(openbao, token) and not _alive(openbao, child)
    assert _alive(openbao, openbao.token)
    stored = (tmp_path / "lg.db").read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.rglob("*.jsonl")
    )
    assert token.encode() not in stored and child.encode() not in stored


def test_by_accessor_alone(openbao: OpenBao, tmp_path: Path) -> None:
    token, accessor, _ = _leaked(openbao)
    view = _run(tmp_path, {"credential": fingerprint(token), "accessor": accessor}, "t2")
    assert view.state == RunState.COMPLETED, view.diagnostic
    assert not _alive(openbao, token)


def test_a_file_holding_another_token_revokes_nothing(openbao: OpenBao, tmp_path: Path) -> None:
    token, _, _ = _leaked(openbao)
    other, _, _ = _leaked(openbao)
    held = tmp_path / "wrong-token"
    held.write_text(other)
    held.chmod(0o600)
    view = _run(tmp_path, {"credential": fingerprint(token), "token_file": str(held)}, "t3")
    assert view.state == RunState.PAUSED and "not the leaked credential" in view.diagnostic
    assert _alive(openbao, token) and _alive(openbao, other)
    assert other not in (view.diagnostic or "")


@pytest.mark.slow
def test_killed_at_every_point_it_resumes_to_the_token_revoked_once(
    openbao: OpenBao, tmp_path: Path
) -> None:
    """SIGKILL after every journal record and every Vault answer (in a forked child), resume:
    the run completes, the token and its child are gone, the revocation ran to success once."""
    import json
    import os
    import signal
    import traceback

    from leakguard.backends.vault_token import VaultTokens
    from leakguard.rotation.journal import Kind
    from tests.integration.test_playbook_helpers import KillPoints, _drive

    token, accessor, child = _leaked(openbao)
    spec = {"db": str(tmp_path / "lg.db"), "playbook": "vault-token", "overrides": {},
            "inputs": {"credential": fingerprint(token), "accessor": accessor},
            "time_scale": 0.01, "run_id": "k"}  # fmt: skip
    points, out = tmp_path / "killed-at.txt", tmp_path / "out.json"

    def call(action: str) -> dict[str, Any] | None:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                kill = KillPoints(points)
                original = VaultTokens._call

                def answered(self: VaultTokens, *args: Any, **kwargs: Any) -> Any:
                    result = original(self, *args, **kwargs)
                    kill.hit(f"vault:{args[0]}")
                    return result

                VaultTokens._call = answered  # type: ignore[method-assign]
                out.write_text(json.dumps(_drive({**spec, "action": action}, kill)))
                code = 0
            except BaseException:
                (tmp_path / "err.txt").write_text(traceback.format_exc())
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            assert os.WTERMSIG(status) == signal.SIGKILL
            return None
        assert os.waitstatus_to_exitcode(status) == 0, (tmp_path / "err.txt").read_text()
        result: dict[str, Any] = json.loads(out.read_text())
        return result

    result, kills = call("start"), 1
    while result is None:
        result, kills = call("resume"), kills + 1
        assert kills <= 500, "the run does not progress"
    assert result["state"] == RunState.COMPLETED, result
    assert not _alive(openbao, token) and not _alive(openbao, child)
    with Journal.open(tmp_path / "lg.db") as journal:
        results = [
            r.step_id
            for r in journal.records("k")
            if r.kind == Kind.RESULT and r.state == "succeeded"
        ]
    assert results.count("revoke") == 1 and results.count("gone") == 1
    kinds = sorted({line.split(":", 1)[0] for line in points.read_text().splitlines()})
    assert kinds == ["record", "vault"]
    print(f"\nkill -9 vault-token: {kills - 1} points tried; resumed to the token revoked")
