"""Shared setup for the playbook end-to-end tests: AppRole consumers on the OpenBao dev server,
a dependency graph naming them, and a driver that runs the engine in a subprocess (so it can be
SIGKILLed at any journal record and resumed)."""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
import traceback
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hvac

from leakguard.graph.interface import ConsumerInfo, Reload
from leakguard.rotation.journal import KILL_ENV, KILL_ONCE_ENV
from tests.support.servers import OpenBao

CONSUMER_SCRIPT = """
import sys, hvac
url, role_id, secret_id, path, out = sys.argv[1:6]
client = hvac.Client(url=url)
client.auth.approle.login(role_id=role_id, secret_id=secret_id)
data = client.secrets.kv.v2.read_secret_version(path=path, raise_on_deleted_version=True)
with open(out, "a") as handle:
    handle.write(str(data["data"]["metadata"]["version"]) + "\\n")
"""


@dataclass(frozen=True)
class AppRole:
    name: str
    role_id: str
    secret_id: str

    def read(self, url: str, path: str, version: int | None = None) -> dict[str, Any]:
        client = hvac.Client(url=url)
        client.auth.approle.login(role_id=self.role_id, secret_id=self.secret_id)
        got = client.secrets.kv.v2.read_secret_version(
            path=path, version=version, raise_on_deleted_version=True
        )
        return dict(got["data"]["data"])


def approle(openbao: OpenBao, name: str, path: str) -> AppRole:
    root = hvac.Client(url=openbao.url, token=openbao.token)
    if "approle/" not in root.sys.list_auth_methods():
        root.sys.enable_auth_method("approle")
    policy = f'path "secret/data/{path}" {{ capabilities = ["read"] }}'
    root.sys.create_or_update_policy(name=f"read-{name}", policy=policy)
    root.auth.approle.create_or_update_approle(name, token_policies=[f"read-{name}"])
    role_id = root.auth.approle.read_role_id(name)["data"]["role_id"]
    secret_id = root.auth.approle.generate_secret_id(name)["data"]["secret_id"]
    return AppRole(name, role_id, secret_id)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def seed_kv_secret(
    openbao: OpenBao, prefix: str, secret: Mapping[str, str]
) -> tuple[hvac.Client, str]:
    """Write ``secret`` at a fresh KV v2 path under ``prefix``; the root client and that path."""
    root = hvac.Client(url=openbao.url, token=openbao.token)
    path = unique(prefix)
    root.secrets.kv.v2.create_or_update_secret(path=path, secret=secret)
    return root, path


def reload_command(tmp: Path, openbao: OpenBao, role: AppRole, path: str, out: Path) -> Reload:
    script = tmp / "consumer.py"
    if not script.exists():
        script.write_text(textwrap.dedent(CONSUMER_SCRIPT))
    argv = [sys.executable, str(script), openbao.url, role.role_id, role.secret_id, path, str(out)]
    return Reload("command", " ".join(argv))


def consumer(role: AppRole, reload: Reload | None = None) -> ConsumerInfo:
    return ConsumerInfo(
        f"consumer:{role.name}",
        role.name,
        reload=reload or Reload(),
        identities=(f"vault-approle:{role.name}",),
    )


def _drive(spec: Mapping[str, Any]) -> dict[str, Any]:
    from leakguard.rotation import runner as engine
    from leakguard.rotation.journal import Journal
    from leakguard.rotation.schema import find_playbook, load_playbook

    db = Path(spec["db"])
    options = engine.EngineOptions(
        yes=True,
        time_scale=spec["time_scale"],
        graph=engine.open_graph(db),
        backend_overrides=spec["overrides"],
        approval_timeout=0,
    )
    with Journal.open(db) as journal:
        if spec["action"] == "start":
            playbook = load_playbook(find_playbook(spec["playbook"]))
            view = engine.start_run(
                journal, playbook, spec["inputs"], options, run_id=spec["run_id"]
            )
        else:
            view = journal.view(spec["run_id"])
            if view.state not in ("completed", "rolled-back"):  # killed after its last record
                view = engine.resume_run(journal, spec["run_id"], options)
    return {"state": view.state, "diagnostic": view.diagnostic, "outputs": dict(view.outputs)}


@dataclass
class Driver:
    """Runs the engine in a forked child process (a real process, so SIGKILL is real);
    ``kill_after``/``kill_once`` arm the journal's test hooks (leakguard.rotation.journal)."""

    tmp: Path
    db: Path
    playbook: str
    inputs: Mapping[str, Any]
    overrides: Mapping[str, Mapping[str, Any]]
    env: Mapping[str, str]
    time_scale: float = 0.01

    def call(
        self,
        action: str,
        run_id: str,
        kill_after: int | None = None,
        kill_once: Path | None = None,
    ) -> dict[str, Any] | None:
        spec = {
            "db": str(self.db),
            "playbook": self.playbook,
            "inputs": dict(self.inputs),
            "overrides": {k: dict(v) for k, v in self.overrides.items()},
            "time_scale": self.time_scale,
            "action": action,
            "run_id": run_id,
        }
        out, err = self.tmp / "driver.out", self.tmp / "driver.err"
        out.unlink(missing_ok=True)
        pid = os.fork()
        if pid == 0:  # the child: run, write the result, exit without pytest's cleanup
            code = 1
            try:
                os.environ.update(self.env)
                os.environ.pop(KILL_ENV, None)
                os.environ.pop(KILL_ONCE_ENV, None)
                if kill_after is not None:
                    os.environ[KILL_ENV] = str(kill_after)
                if kill_once is not None:
                    os.environ[KILL_ONCE_ENV] = str(kill_once)
                out.write_text(json.dumps(_drive(spec)))
                code = 0
            except BaseException:
                err.write_text(traceback.format_exc())
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            assert os.WTERMSIG(status) == signal.SIGKILL
            return None
        assert os.waitstatus_to_exitcode(status) == 0, err.read_text()[-3000:]
        result: dict[str, Any] = json.loads(out.read_text())
        return result
