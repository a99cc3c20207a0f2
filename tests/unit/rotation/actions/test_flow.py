from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from leakguard.errors import BackendError, PlaybookError
from leakguard.rotation.actions import REGISTRY
from leakguard.rotation.actions.flow import notify, wait_until
from leakguard.rotation.interface import Action, ActionContext, ActionSpec, Mode, NotYet, Outputs
from tests.unit.rotation.actions.context import Ctx

PY = sys.executable


def test_wait_scales_and_plan_does_not_sleep() -> None:
    ctx = Ctx(time_scale=0.001)
    assert ctx.run(REGISTRY["wait"], {"duration": "1h"}) == {"planned": 3600.0, "waited": 3.6}
    assert ctx.slept == [3.6]
    plan = Ctx(mode=Mode.PLAN)
    assert plan.run(REGISTRY["wait"], {"duration": "2d"})["waited"] == 0.0
    assert plan.slept == []
    with pytest.raises(PlaybookError, match="duration"):
        ctx.run(REGISTRY["wait"], {"duration": "soon"})


def _check(results: list[Any]) -> Mapping[str, Action]:
    def run(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
        result = results.pop(0)
        if isinstance(result, Exception):
            raise result
        return dict(result)

    spec = ActionSpec("check", "test check", mutating=False)
    mutating = ActionSpec("write", "test write", mutating=True)
    return {"check": Action(spec, run), "write": Action(mutating, run)}


def test_wait_until_polls_until_the_check_passes() -> None:
    ctx = Ctx()
    registry = _check([NotYet("not yet"), {"ok": False}, {"ok": True, "n": 3}])
    out = wait_until(ctx, {"check": "check", "interval": "10s", "timeout": "5m"}, registry)
    assert out == {"attempts": 3, "outputs": {"ok": True, "n": 3}}
    assert ctx.slept == [10.0, 10.0]


def test_wait_until_times_out_with_the_last_reason() -> None:
    ctx = Ctx()
    registry = _check([NotYet(f"consumer api stale ({i})") for i in range(100)])
    with pytest.raises(PlaybookError, match=r"gave up on check after 7 checks: consumer api"):
        wait_until(ctx, {"check": "check", "interval": "10s", "timeout": "1m"}, registry)
    assert sum(ctx.slept) <= 60


def test_wait_until_lets_permanent_errors_through_and_refuses_mutating_checks() -> None:
    ctx = Ctx()
    with pytest.raises(BackendError, match="denied"):
        wait_until(ctx, {"check": "check"}, _check([BackendError("denied")]))
    with pytest.raises(PlaybookError, match="read-only"):
        wait_until(ctx, {"check": "write"}, _check([]))
    with pytest.raises(PlaybookError, match="unknown check"):
        wait_until(ctx, {"check": "nope"}, _check([]))


def test_command_runs_argv_without_a_shell(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    ctx = Ctx()
    # with a shell this would create the marker file; without one it is one literal argument
    out = ctx.run(
        REGISTRY["command"],
        {"run": [PY, "-c", "import sys; print(sys.argv[1])", f"x; touch {marker}"]},
    )
    assert out["exit_code"] == 0 and not marker.exists()
    out = ctx.run(REGISTRY["command"], {"run": f"{PY} -c 'print(1)' '$(touch {marker})'"})
    assert out["exit_code"] == 0 and not marker.exists()


def test_command_checks_the_exit_code() -> None:
    ctx = Ctx()
    with pytest.raises(BackendError, match="exited with 3") as caught:
        ctx.run(REGISTRY["command"], {"run": [PY, "-c", "raise SystemExit(3)"]})
    assert not caught.value.transient
    out = ctx.run(REGISTRY["command"], {"run": [PY, "-c", "raise SystemExit(3)"], "expect_exit": 3})
    assert out["exit_code"] == 3
    with pytest.raises(BackendError, match="cannot start"):
        ctx.run(REGISTRY["command"], {"run": ["/nonexistent/reload-me"]})


def test_command_timeout_kills_the_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(60)\n"
    )
    ctx = Ctx()
    with pytest.raises(BackendError, match=r"did not finish within 0\.5s") as caught:
        ctx.run(REGISTRY["command"], {"run": [PY, "-c", script], "timeout": "500ms"})
    assert caught.value.transient
    child = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):  # the grandchild went with the group
        for _ in range(100):
            os.kill(child, 0)
            time.sleep(0.05)


def test_command_passes_secrets_only_through_the_environment() -> None:
    ctx = Ctx()
    handle = ctx.secrets.put({"user": "app", "password": "hunter2-very-secret"})
    code = "import os, sys; sys.exit(0 if os.environ['PW'] == 'hunter2-very-secret' else 9)"
    out = ctx.run(
        REGISTRY["command"], {"run": [PY, "-c", code], "secret_env": {"PW": f"{handle}#password"}}
    )
    assert "hunter2" not in repr(out)
    with pytest.raises(PlaybookError, match="no field"):
        ctx.run(
            REGISTRY["command"], {"run": [PY, "-c", "0"], "secret_env": {"PW": f"{handle}#nope"}}
        )


def test_notify_redacts_secrets_and_posts_json() -> None:
    sent: list[tuple[str, bytes]] = []

    def post(url: str, body: bytes, timeout: float) -> int:
        sent.append((url, body))
        return 204

    ctx = Ctx()
    key = "sk_live_4eC39HqLyjWDarjtT1zdp7dc9f2c"
    out = notify(ctx, {"message": f"rotated {key}", "webhook": "https://hooks.example/x"}, post)
    assert out == {"sent": True, "status": 204}
    body = sent[0][1].decode()
    assert key not in body and "sk_live_" in body and '"run_id": "run-1"' in body
    assert key not in ctx.logs[0]


def test_notify_errors() -> None:
    ctx = Ctx()
    assert notify(ctx, {"message": "hi"}) == {"sent": False, "status": None}
    with pytest.raises(BackendError) as caught:
        notify(ctx, {"message": "hi", "webhook": "http://h/"}, lambda u, b, t: 503)
    assert caught.value.transient
    with pytest.raises(BackendError, match="404"):
        notify(ctx, {"message": "hi", "webhook": "http://h/"}, lambda u, b, t: 404)
    with pytest.raises(PlaybookError, match="not an http"):
        notify(ctx, {"message": "hi", "webhook": "file:///etc/passwd"})


def test_an_unreachable_webhook_is_named_by_its_host_only() -> None:
    """A webhook's path often holds a token (Slack): the error names the host alone."""
    ctx = Ctx()
    with pytest.raises(BackendError) as caught:
        notify(ctx, {"message": "hi", "webhook": "http://127.0.0.1:9/services/T0/SeCrEt"})
    assert caught.value.transient and "127.0.0.1" in caught.value.message
    assert "SeCrEt" not in caught.value.message


def test_approval_is_a_marker() -> None:
    ctx = Ctx()
    out = ctx.run(REGISTRY["approval"], {"message": "delete the old key?"})
    assert out["approved"] is True and not REGISTRY["approval"].spec.mutating


def test_a_rehearsal_never_runs_commands_or_calls_webhooks(tmp_path: Path) -> None:
    """Reload commands and webhooks act on real systems, outside the rehearsal's sandbox."""
    marker = tmp_path / "reloaded"
    ctx = Ctx(mode=Mode.REHEARSE)
    out = ctx.run(REGISTRY["command"], {"run": [PY, "-c", f"open({str(marker)!r}, 'w')"]})
    assert out["rehearsed"] is True and out["exit_code"] is None
    assert not marker.exists()
    assert any("would run" in line for line in ctx.logs)

    posted: list[str] = []

    def post(url: str, body: bytes, timeout: float) -> int:
        posted.append(url)
        return 204

    out = notify(ctx, {"message": "rotated", "webhook": "http://127.0.0.1:9/hook"}, post)
    assert out == {"sent": False, "status": None, "rehearsed": True} and posted == []
    # the same steps in a real run do act
    real = Ctx()
    real.run(REGISTRY["command"], {"run": [PY, "-c", f"open({str(marker)!r}, 'w')"]})
    assert marker.exists()
    assert notify(real, {"message": "rotated", "webhook": "http://127.0.0.1:9/hook"}, post)["sent"]
    assert posted == ["http://127.0.0.1:9/hook"]


def test_notify_posts_through_the_one_http_client() -> None:
    """The real POST: a local receiver gets the JSON and its status comes back; a metadata
    address is refused before any connection and is not retried."""
    import http.server
    import threading

    import pytest

    from leakguard.errors import BackendError
    from leakguard.rotation.actions.flow import _post

    got: list[bytes] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

        def do_POST(self) -> None:
            got.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        assert _post(url, b'{"text": "rotated"}', 5.0) == 202
        assert got == [b'{"text": "rotated"}']
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(BackendError) as refused:
        _post("http://169.254.169.254/latest", b"{}", 5.0)
    assert "metadata" in refused.value.message and not refused.value.transient
