"""Flow actions: wait, wait_until, approval, command, notify."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from leakguard import http
from leakguard.errors import BackendError, PlaybookError
from leakguard.redact import redact, redact_url
from leakguard.rotation.actions._common import optional, seconds, secret, text
from leakguard.rotation.interface import (
    Action,
    ActionContext,
    ActionSpec,
    Mode,
    NotYet,
    Outputs,
    Param,
)

if TYPE_CHECKING:
    from leakguard.engine.matcher import Engine

MIN_POLL = 0.05


def wait(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    planned = seconds(params.get("duration", 0))
    scaled = planned * ctx.time_scale
    if ctx.mode is Mode.PLAN:
        return {"planned": planned, "waited": 0.0}
    if scaled > 0:
        ctx.sleep(scaled)
    return {"planned": planned, "waited": scaled}


def wait_until(
    ctx: ActionContext,
    params: Mapping[str, Any],
    registry: Mapping[str, Action] | None = None,
) -> Outputs:
    """Poll a read-only check action until it passes, or fail at the timeout."""
    if registry is None:
        from leakguard.rotation.actions import REGISTRY

        registry = REGISTRY
    name = text(params, "check")
    action = registry.get(name)
    if action is None:
        raise PlaybookError(f"wait_until: unknown check action {name!r}")
    if action.spec.mutating:
        raise PlaybookError(
            f"wait_until polls read-only checks; {name} changes things",
            hint="poll a verify.* action or another read-only check",
        )
    inner = params.get("with") or {}
    if not isinstance(inner, Mapping):
        raise PlaybookError("wait_until: with: must be a mapping")
    interval = max(seconds(params.get("interval", "10s"), "interval") * ctx.time_scale, MIN_POLL)
    timeout = seconds(params.get("timeout", "15m"), "timeout") * ctx.time_scale
    started = ctx.now()
    attempts = 0
    while True:
        attempts += 1
        try:
            outputs = action.run(ctx, inner)
        except NotYet as exc:
            last: NotYet = exc
        else:
            if outputs.get("ok", True) is not False:
                return {"attempts": attempts, "outputs": outputs}
            last = NotYet(f"{name} is not satisfied yet", details=outputs)
        elapsed = (ctx.now() - started).total_seconds()
        if elapsed + interval > timeout:
            raise PlaybookError(
                f"wait_until gave up on {name} after {attempts} checks: {last.message}",
                hint=last.hint or "fix what the check names, then resume the run",
            )
        ctx.sleep(interval)


def approval(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    """A marker: the runner holds the run here until the step is approved (prompt,
    ``leakguard playbook approve RUN STEP`` or ``--yes``); running it records the approval."""
    message = optional(params, "message") or "continue?"
    ctx.log(f"approved: {message}")
    return {"approved": True, "at": ctx.now().isoformat(), "message": message}


def _argv(run: Any) -> list[str]:
    if isinstance(run, str):
        argv = shlex.split(run)
    elif isinstance(run, list | tuple):
        argv = [str(a) for a in run]
    else:
        raise PlaybookError("command: run: must be a command line or a list of arguments")
    if not argv:
        raise PlaybookError("command: run: is empty")
    return argv


def _env(ctx: ActionContext, params: Mapping[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    extra = params.get("env") or {}
    if not isinstance(extra, Mapping):
        raise PlaybookError("command: env: must be a mapping")
    env.update({str(k): str(v) for k, v in extra.items()})
    handles = params.get("secret_env") or {}
    if not isinstance(handles, Mapping):
        raise PlaybookError("command: secret_env: must map variable names to secret handles")
    for var, spec in handles.items():
        handle, _, field = str(spec).partition("#")
        data = secret(ctx, handle, f"secret_env.{var}")
        if field:
            value = data.get(field)
        elif len(data) == 1:
            value = next(iter(data.values()))
        else:
            value = json.dumps(data, sort_keys=True)
        if value is None:
            raise PlaybookError(f"secret_env.{var}: the secret has no field {field!r}")
        env[str(var)] = value
    return env


def run_command(
    argv: list[str], env: Mapping[str, str], timeout: float, cwd: str | None = None
) -> tuple[int, str]:
    """Run without a shell in its own process group; kill the whole group on timeout."""
    try:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:
        raise BackendError(
            f"cannot start {argv[0]}: {exc.strerror}", hint="check the command's path"
        ) from None
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise BackendError(
            f"{argv[0]} did not finish within {timeout:g}s and was stopped",
            hint="the runner retries it; raise timeout: if the reload is slow",
            transient=True,
        ) from None
    return proc.returncode, out.decode("utf-8", "replace")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def command(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    argv = _argv(params.get("run"))
    timeout = seconds(params.get("timeout", "60s"), "timeout")
    expect = int(params.get("expect_exit", 0))
    if ctx.mode is Mode.REHEARSE:
        # A reload command acts on a real consumer, outside the sandbox: never run it here.
        ctx.log(f"rehearsal: would run {argv[0]} (not run: it reaches outside the sandbox)")
        return {"exit_code": None, "seconds": 0.0, "output_lines": 0, "rehearsed": True}
    started = time.monotonic()
    code, output = run_command(argv, _env(ctx, params), timeout, optional(params, "cwd"))
    outputs: Outputs = {
        "exit_code": code,
        "seconds": round(time.monotonic() - started, 3),
        "output_lines": len(output.splitlines()),
    }
    if code != expect:
        raise BackendError(
            f"{argv[0]} exited with {code} (expected {expect})",
            hint="check the consumer's logs, fix it, then resume the run",
        )
    return outputs


@functools.lru_cache(maxsize=1)
def _detector() -> Engine:
    """The shipped rules, compiled once per process (they do not change while it runs)."""
    from leakguard.engine.matcher import Engine
    from leakguard.engine.rules import RuleSet

    return Engine(RuleSet.load(), "re", show_secrets=True)


def redact_text(message: str) -> str:
    """Replace anything a detector rule recognises with its redacted form."""

    for finding in _detector().scan_text(message, path="<notify>"):
        if finding.secret:
            message = message.replace(finding.secret, redact(finding.secret))
    return message


Post = Callable[[str, bytes, float], int]


def _post(url: str, body: bytes, timeout: float) -> int:
    """POST through the one HTTP client (deadlines, no redirects, never a metadata address);
    the receiver's status comes back, and the runner retries a transient failure."""
    client = http.webhook_client("LeakGuard/0.1 (playbook notify)", timeout, raise_for_status=False)
    try:
        return client.post(url, body, {"Content-Type": "application/json"}).status
    except http.FetchError as exc:
        if exc.status is not None:  # a redirect, not followed
            return exc.status
        raise BackendError(
            f"webhook {redact_url(url)} unreachable ({exc.reason})", transient=not exc.refused
        ) from None


def notify(ctx: ActionContext, params: Mapping[str, Any], post: Post = _post) -> Outputs:
    message = redact_text(text(params, "message"))
    level = optional(params, "level") or "info"
    ctx.log(f"[{level}] {message}")
    url = optional(params, "webhook")
    if not url:
        return {"sent": False, "status": None}
    if ctx.mode is Mode.REHEARSE:
        ctx.log("rehearsal: webhook not called (it reaches outside the sandbox)")
        return {"sent": False, "status": None, "rehearsed": True}
    if not url.startswith(("http://", "https://")):
        raise PlaybookError("notify: the webhook is not an http(s) URL")
    body = json.dumps(
        {
            "run_id": ctx.run_id,
            "step": ctx.step_id,
            "mode": str(ctx.mode),
            "level": level,
            "message": message,
            "at": ctx.now().isoformat(),
        },
        sort_keys=True,
    ).encode()
    status = post(url, body, seconds(params.get("timeout", "10s")))
    if status >= 500 or status == 429:
        raise BackendError(f"webhook answered HTTP {status}", transient=True)
    if status >= 400:
        raise BackendError(f"webhook answered HTTP {status}", hint="check the webhook URL")
    return {"sent": True, "status": status}


ACTIONS = (
    Action(
        ActionSpec(
            "wait",
            "Wait out an overlap window or soak (scaled by the rehearsal's time scale)",
            mutating=False,
            params={"duration": Param("duration", help="e.g. 1h")},
        ),
        wait,
        lambda p: f"wait {p.get('duration')}",
    ),
    Action(
        ActionSpec(
            "wait_until",
            "Poll a read-only check action until it passes, or fail at the timeout",
            mutating=False,
            params={
                "check": Param("string", help="the action to poll, e.g. verify.consumers_moved"),
                "with": Param("mapping", False, "its parameters"),
                "interval": Param("duration", False, "between checks (10s)"),
                "timeout": Param("duration", False, "give up after (15m)"),
            },
        ),
        wait_until,
    ),
    Action(
        ActionSpec(
            "approval",
            "Hold the run until an operator approves (prompt, playbook approve, or --yes)",
            mutating=False,
            params={"message": Param("string", False, "what the operator approves")},
        ),
        approval,
        lambda p: f"ask for approval: {p.get('message') or 'continue?'}",
    ),
    Action(
        ActionSpec(
            "command",
            "Run a program (no shell) with a timeout, e.g. to reload a consumer",
            mutating=True,
            params={
                "run": Param("any", help="argv list, or a command line split like a shell"),
                "timeout": Param("duration", False, "kill it after (60s)"),
                "expect_exit": Param("int", False, "the exit code that means success (0)"),
                "cwd": Param("string", False),
                "env": Param("mapping", False, "extra environment variables"),
                "secret_env": Param("mapping", False, "VAR: handle or handle#field"),
            },
        ),
        command,
        lambda p: f"run {p.get('run')!r}",
    ),
    Action(
        ActionSpec(
            "notify",
            "Log a line and optionally POST it as JSON to a webhook (secrets redacted)",
            mutating=True,
            params={
                "message": Param("string"),
                "level": Param("string", False, "info | warning | error"),
                "webhook": Param("string", False, "http(s) URL"),
                "timeout": Param("duration", False, "(10s)"),
            },
        ),
        notify,
        lambda p: f"notify: {p.get('message')}",
    ),
)
