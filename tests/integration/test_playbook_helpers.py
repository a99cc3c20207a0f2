"""Shared setup for the playbook end-to-end tests: AppRole consumers on the OpenBao dev server,
a dependency graph naming them, and a driver that runs the engine in a forked process (so it can
be SIGKILLed at any journal record or backend request, by hooks installed in that process only,
and resumed)."""

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


class KillPoints:
    """SIGKILL this process at the first kill point not yet listed in ``ledger``, listing it
    first: a chain of resumes dies once at every point. A point is a journal record (kind, step,
    state) or a backend request (method, path, AWS action) answered by the server but not yet
    seen by LeakGuard, within the step in flight (a resumed process runs that step again from
    its start), numbered by its occurrence there. Installed in the forked child only: nothing in
    leakguard/ knows about it."""

    def __init__(self, ledger: Path) -> None:
        self.ledger = ledger
        self.seen = set(ledger.read_text().splitlines()) if ledger.exists() else set()
        self.counts: dict[str, int] = {}
        self.step = "-"

    def hit(self, point: str) -> None:
        point = f"{point}@{self.step}"
        self.counts[point] = self.counts.get(point, 0) + 1
        key = f"{point}#{self.counts[point]}"
        if key in self.seen:
            return
        with self.ledger.open("a") as handle:
            handle.write(key + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.kill(os.getpid(), signal.SIGKILL)

    def on_record(self, record: Any) -> None:
        if record.kind in ("intent", "compensate-intent"):
            self.step = f"{record.step_id}:{record.kind}"
        self.hit(f"record:{record.kind}:{record.step_id or ''}:{record.state or ''}")

    def install_http(self) -> None:
        """Wrap the two transports: requests (hvac) and botocore's urllib3 session."""
        import re
        from urllib.parse import urlsplit

        import botocore.httpsession
        import requests

        points = self
        send = requests.Session.send

        def vault_send(session: Any, request: Any, **kwargs: Any) -> Any:
            response = send(session, request, **kwargs)
            points.hit(f"vault:{request.method}:{urlsplit(request.url).path}")
            return response

        aws_send = botocore.httpsession.URLLib3Session.send

        def botocore_send(session: Any, request: Any) -> Any:
            response = aws_send(session, request)
            body = request.body if isinstance(request.body, bytes) else b""
            action = re.search(rb"Action=(\w+)", body)
            target = request.headers.get("X-Amz-Target") or (action and action.group(1))
            target = target.decode() if isinstance(target, bytes) else str(target)
            points.hit(f"aws:{urlsplit(request.url).netloc}:{target}")
            return response

        requests.Session.send = vault_send  # type: ignore[method-assign]
        botocore.httpsession.URLLib3Session.send = botocore_send  # type: ignore[method-assign]


def _drive(spec: Mapping[str, Any], points: KillPoints | None = None) -> dict[str, Any]:
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
    hook = points.on_record if points is not None else None
    with Journal.open(db, after_append=hook) as journal:
        known = spec["run_id"] in journal.run_ids(limit=1000)
        if spec["action"] == "start" or not known:  # killed before the run existed: run again
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
    ``kill_once`` installs :class:`KillPoints` in the child (journal records and, with
    ``requests=True``, backend requests)."""

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
        kill_once: Path | None = None,
        *,
        requests: bool = False,
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
                points = KillPoints(kill_once) if kill_once is not None else None
                if points is not None and requests:
                    points.install_http()
                out.write_text(json.dumps(_drive(spec, points)))
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
