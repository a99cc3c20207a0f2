"""`leakguard demo`: the whole path from a leak to a verified rotation, on the example estate.

The demo copies ``examples/leaky-app`` and ``examples/estate`` into a working directory, starts
the local sandbox (OpenBao dev + moto, :mod:`leakguard.rotation.sandbox`) seeded so the estate
is true, and runs each ``leakguard`` command a user would type, as a subprocess of this very
interpreter and package, printing it first. It plays two roles a real incident has:

* the operator, who rolls the Stripe key in the dashboard (a new made-up ``sk_live_`` key in a
  0600 value file) and revokes the old one there once asked; "Stripe" is the sandbox's stand-in
  (:func:`leakguard.rotation.sandbox.provider_stand_in`), which accepts the leaked key until the
  operator revokes it and the new one once rolled, so the run's ``provider-rejects-old`` step
  gets the provider's word;
* the cluster: the inventory's reload commands (``kubectl … rollout restart``, ``docker compose
  … restart``) run stand-ins on ``PATH`` that make each restarted consumer read its entry as its
  AppRole, which the sandbox's audit log records, so the playbook's verify stage sees it move.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import secrets
import select
import shlex
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import leakguard
from leakguard.errors import EXIT_FINDINGS, EXIT_OK, LeakguardError, PlaybookError
from leakguard.redact import fingerprint, redact
from leakguard.resources import examples_dir
from leakguard.rotation import sandbox
from leakguard.rotation.sandbox import ProviderStandIn, Sandbox, SeedPlan

#: how a subprocess runs LeakGuard: this interpreter, this package (never a PATH lookup)
ENTRY = "import sys; from leakguard.cli.app import main; sys.argv[0] = 'leakguard'; main()"
_PLAYER_ENTRY = "import sys; from leakguard.demo import play_consumer; sys.exit(play_consumer())"
STRIPE_RULE = "stripe-live-secret-key"
MOUNT = "secret"
STRIPE_SECRET = "payments/stripe"
STRIPE_FIELD = "api_key"
AWS_SECRET = "prod/deploy/aws"
#: who reads secret/payments/stripe, as which AppRole (examples/estate/leakguard.yaml)
APPROLES = {"payments-api": "payments", "billing-worker": "billing"}
#: the reload commands of examples/estate/leakguard.yaml, stood in for on PATH
STAND_INS = ("kubectl", "docker")
COMMAND_TIMEOUT = 300.0
_AWS_PAIR = re.compile(
    r'aws_access_key_id="(?P<key_id>[^"]+)".*?aws_secret_access_key="(?P<secret>[^"]+)"', re.S
)
_STRIPE_LINE = re.compile(r"^STRIPE_SECRET_KEY=(?P<key>\S+)$", re.M)
Say = Callable[[str], None]


class DemoError(LeakguardError):
    """A step of the demo did not reach its goal."""

    exit_code = EXIT_FINDINGS


@dataclass(frozen=True)
class DemoOptions:
    workdir: Path | None = None  # kept; default: a new temporary directory (also kept)
    examples: Path | None = None  # default: the examples shipped with LeakGuard
    overlap: str = "2s"
    move_timeout: str = "2m"


@dataclass(frozen=True)
class DemoResult:
    workdir: Path
    fingerprint: str
    consumers: tuple[str, ...]
    run_id: str
    new_version: str
    audit_trail: Path
    seconds: float


@dataclass(frozen=True)
class _Leaked:
    """The demo app's planted keys: only to seed the sandbox, never shown."""

    stripe: str = field(repr=False)
    aws_key_id: str = field(repr=False)
    aws_secret: str = field(repr=False)


# --- the working directory --------------------------------------------------------------------


def _prepare(options: DemoOptions) -> Path:
    if options.workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix="leakguard-demo-"))
    else:
        workdir = options.workdir.resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        if any(workdir.iterdir()):
            raise DemoError(
                f"{workdir} is not empty", hint="pass a new or empty directory to --workdir"
            )
    copy_examples(options.examples or examples_dir(), workdir)
    return workdir


def copy_examples(source: Path, workdir: Path) -> Path:
    """Copy the demo app and its estate to ``workdir/examples`` (the paths the README uses)."""
    target = workdir / "examples"
    for name in ("leaky-app", "estate"):
        if not (source / name).is_dir():
            raise DemoError(
                f"the example {name} is missing from {source}",
                hint="reinstall LeakGuard (the examples ship with it)",
            )
        shutil.copytree(source / name, target / name)
    return target


def _leaked(app: Path) -> _Leaked:
    stripe = _STRIPE_LINE.search((app / "config" / ".env").read_text(encoding="utf-8"))
    aws = _AWS_PAIR.search((app / "src" / "deploy.py").read_text(encoding="utf-8"))
    if stripe is None or aws is None:
        raise DemoError(f"{app} no longer holds the demo's Stripe key and AWS pair")
    return _Leaked(stripe["key"], aws["key_id"], aws["secret"])


def _private_file(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def new_stripe_key() -> str:
    """A made-up key of the Stripe secret key's shape (what the operator would paste)."""
    alphabet = string.ascii_letters + string.digits
    return "sk_live_" + "".join(secrets.choice(alphabet) for _ in range(99))


# --- the consumers the reload commands restart ------------------------------------------------


def _install_stand_ins(workdir: Path, box: Sandbox) -> Path:
    """Write the AppRoles' credentials (0600) and the stand-in reload commands on ``bin/``."""
    state = workdir / ".consumers.json"
    doc = {
        "vault": box.vault_url,
        "mount": MOUNT,
        "path": STRIPE_SECRET,
        "roles": {name: [role, *box.consumers[role]] for name, role in APPROLES.items()},
    }
    _private_file(state, json.dumps(doc))
    bin_dir = workdir / "bin"
    bin_dir.mkdir(exist_ok=True)
    python = shlex.quote(sys.executable)
    scripts = {
        tool: "# leakguard demo: stands in for the cluster (a restart = a fresh read)\n"
        f'exec {python} -c {shlex.quote(_PLAYER_ENTRY)} {shlex.quote(str(state))} {tool} "$@"'
        for tool in STAND_INS
    }
    scripts["leakguard"] = f'# this LeakGuard\nexec {python} -c {shlex.quote(ENTRY)} "$@"'
    for tool, body in scripts.items():
        script = bin_dir / tool
        script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
        script.chmod(0o755)
    return state


def play_consumer(argv: Sequence[str] | None = None) -> int:
    """A stand-in reload command: ``STATE TOOL ARGS…``; the restarted consumer (the last
    argument, ``deployment/NAME`` or ``NAME``) reads its entry as its AppRole."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 3:
        print("usage: STATE TOOL ARGS...", file=sys.stderr)
        return 2
    try:
        doc = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    except FileNotFoundError:
        print("the demo's sandbox is stopped: nothing to restart", file=sys.stderr)
        return 1
    name = args[-1].rsplit("/", 1)[-1]
    entry = doc["roles"].get(name)
    if entry is None:
        print(f"{name} restarted (it reads nothing from the sandbox)")
        return 0
    role, role_id, secret_id = entry
    box = Sandbox(
        Path("."), doc["vault"], "", Path("."), "", "", {}, consumers={role: (role_id, secret_id)}
    )
    try:
        version = box.read_as(role, doc["path"], doc["mount"])
    except LeakguardError as exc:
        print(f"{name}: {exc.message}", file=sys.stderr)
        return 1
    print(f"{name} restarted: read {doc['mount']}/{doc['path']} version {version} as {role}")
    return 0


# --- running leakguard as the user would -----------------------------------------------------


def _environment(box: Sandbox, provider: ProviderStandIn, workdir: Path) -> dict[str, str]:
    drop = ("VAULT_", "BAO_", "AWS_", "LEAKGUARD_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(box.aws_env())
    env["VAULT_ADDR"] = box.vault_url
    env["VAULT_TOKEN"] = box.vault_token
    env["VAULT_AUDIT_LOG"] = str(box.audit_log)
    env["LEAKGUARD_VERIFY_ENDPOINTS"] = provider.endpoints()
    env["PATH"] = os.pathsep.join([str(workdir / "bin"), env.get("PATH", os.defpath)])
    # the subprocesses import this very package, wherever the interpreter would look first
    package_root = str(Path(leakguard.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return env


#: how LeakGuard's yes/no questions end (the operator's confirmations)
_QUESTION = re.compile(r"(\[y/N\]|Type 'yes' once this is done):\s*$")
#: the operator confirming a dashboard step (the old key's revocation)
_DASHBOARD_DONE = re.compile(r"Type 'yes' once this is done:\s*$")
Answer = Callable[[str], "str | None"]


def confirm_as_operator(question: str) -> str | None:
    """The operator's reply to a confirmation LeakGuard asks for: yes (it did the step)."""
    return "yes" if _QUESTION.search(question) else None


def run_command(
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    say: Say,
    *,
    answer: Answer | None = None,
    stdin: bytes | None = None,
    timeout: float = COMMAND_TIMEOUT,
) -> tuple[int, str]:
    """Run ``argv``, streaming its output through ``say``; its exit code and output.

    With ``answer``, its standard input is a terminal, and each question it asks (the text
    since its last newline) gets ``answer(question)`` typed in, unless that is None; with
    ``stdin``, those bytes are its input. The process is never left behind: on an error or
    Ctrl-C it is asked to stop (SIGTERM: LeakGuard unwinds and stops any sandbox it started),
    then killed."""
    operator = answer is not None
    master, slave = pty.openpty() if operator else (-1, -1)
    proc = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdin=slave if operator else subprocess.DEVNULL if stdin is None else subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lines: list[str] = []
    try:
        if operator:
            os.close(slave)
        if stdin is not None and proc.stdin is not None:
            proc.stdin.write(stdin)
            proc.stdin.close()
        label = shlex.join(argv)
        _pump(proc, (master, answer), label, lines, say, time.monotonic() + timeout)
        code = proc.wait(timeout)
    finally:
        _stop(proc)
        if operator:
            os.close(master)
    return code, "\n".join(lines)


def _pump(
    proc: subprocess.Popen[bytes],
    operator: tuple[int, Answer | None],
    label: str,
    lines: list[str],
    say: Say,
    deadline: float,
) -> None:
    master, answer = operator
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    pending = b""
    while True:
        if time.monotonic() > deadline:
            raise DemoError(f"`{label}` did not finish in time", hint="see its output above")
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        *done, pending = (pending + chunk).split(b"\n")
        for raw in done:
            lines.append(raw.decode("utf-8", "replace").rstrip("\r"))
            say(f"  {lines[-1]}")
        question = pending.decode("utf-8", "replace")
        reply = answer(question) if answer is not None and question.strip() else None
        if reply is not None:
            lines.append(f"{question.rstrip()} {reply}")
            say(f"  {lines[-1]}   # the demo, as the operator")
            os.write(master, reply.encode() + b"\n")
            pending = b""
    if pending:
        lines.append(pending.decode("utf-8", "replace"))
        say(f"  {lines[-1]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@dataclass
class _Shell:
    workdir: Path
    env: Mapping[str, str] = field(repr=False)
    say: Say

    def leakguard(
        self,
        args: Sequence[str],
        look: str,
        expect: Sequence[int] = (EXIT_OK,),
        *,
        answer: Answer | None = None,
    ) -> str:
        """Print the command and what to look at, run it; its output, or DemoError."""
        self.say("")
        self.say(f"$ leakguard {shlex.join(args)}")
        self.say(f"  # {look}")
        argv = [sys.executable, "-c", ENTRY, *args]
        code, output = run_command(argv, self.workdir, self.env, self.say, answer=answer)
        if code not in expect:
            wanted = " or ".join(str(c) for c in expect)
            raise DemoError(
                f"`leakguard {' '.join(args[:2])}` exited with {code} (expected {wanted})",
                hint=f"its output is above; the demo's files are in {self.workdir}",
            )
        return output


# --- the path ---------------------------------------------------------------------------------


def _seed_plan(leaked: _Leaked) -> SeedPlan:
    entry = (MOUNT, STRIPE_SECRET)
    return SeedPlan(
        vault={entry: {STRIPE_FIELD: leaked.stripe}},
        secretsmanager={
            AWS_SECRET: {
                "aws_access_key_id": leaked.aws_key_id,
                "aws_secret_access_key": leaked.aws_secret,
            }
        },
        approles={role: {entry} for role in APPROLES.values()},
    )


def _stripe_fingerprint(report: Path, leaked: _Leaked) -> str:
    findings = json.loads(report.read_text(encoding="utf-8")).get("findings", [])
    found = {f.get("fingerprint") for f in findings if f.get("rule_id") == STRIPE_RULE}
    expected = fingerprint(leaked.stripe)
    if expected not in found:
        raise DemoError(f"the scan did not report the demo app's Stripe key ({STRIPE_RULE})")
    return expected


def _consumers(blast_radius: str) -> tuple[str, ...]:
    shown = tuple(name for name in APPROLES if re.search(rf"^\s+{name} \(", blast_radius, re.M))
    if shown != tuple(APPROLES):
        missing = ", ".join(sorted(set(APPROLES) - set(shown)))
        raise DemoError(f"the blast radius does not list the consumer(s) {missing}")
    return shown


def _run_outcome(output: str, workdir: Path) -> tuple[str, str, Path]:
    run = re.search(r"^run (?P<id>\S+): completed$", output, re.M)
    version = re.search(r"^\s+new_version: (?P<v>\S+)$", output, re.M)
    trail = re.search(r"^\s+audit trail: (?P<path>.+)$", output, re.M)
    if run is None or version is None or trail is None:
        raise DemoError("the run did not report a completed rotation and its audit trail")
    return run["id"], version["v"], workdir / trail["path"].strip()


def _final_read(box: Sandbox, leaked: _Leaked, new_key: str, say: Say) -> None:
    from leakguard.backends.vault_kv2 import VaultKV2Store

    store = VaultKV2Store(box.vault_url, box.vault_token, MOUNT)
    version, data = store.read_current(STRIPE_SECRET)
    current = data.get(STRIPE_FIELD, "")
    say("")
    say(f"# final read of {MOUNT}/{STRIPE_SECRET} (what consumers are served now)")
    say(
        f"  version {version.version_id}: {STRIPE_FIELD} = {redact(current)} "
        f"({fingerprint(current)})"
    )
    if fingerprint(current) == fingerprint(leaked.stripe) or current != new_key:
        raise DemoError(
            f"{MOUNT}/{STRIPE_SECRET} does not serve the new key: the rotation did not happen"
        )
    say(f"  the leaked key ({fingerprint(leaked.stripe)}) is no longer current")


def _rel(path: Path, workdir: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(workdir))
    return str(path)


def _announce(estate: EstateSandbox, workdir: Path, say: Say) -> None:
    env = estate.env
    say(f"$ cd {workdir}")
    say(f"$ export VAULT_ADDR={env['VAULT_ADDR']} VAULT_TOKEN=…   # the sandbox OpenBao")
    say(f"$ export VAULT_AUDIT_LOG={env['VAULT_AUDIT_LOG']}   # its file audit log")
    say(
        f"$ export AWS_ENDPOINT_URL={env['AWS_ENDPOINT_URL']} AWS_DEFAULT_REGION="
        f"{env['AWS_DEFAULT_REGION']} AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=…   # moto"
    )
    say(
        f"$ export LEAKGUARD_VERIFY_ENDPOINTS={env['LEAKGUARD_VERIFY_ENDPOINTS']}"
        "   # the sandbox's stand-in for Stripe's API"
    )
    say('$ export PATH="$PWD/bin:$PATH"   # this leakguard; kubectl, docker: the cluster')
    say("  # (the demo's stand-ins: a `rollout restart` makes that consumer read its entry")
    say("  # as its AppRole, which the OpenBao audit log records)")


@dataclass(frozen=True)
class EstateSandbox:
    """The sandbox seeded so the estate is true, and the environment a user's shell would
    hold to work against it (addresses, credentials, ``bin/`` first on ``PATH``)."""

    box: Sandbox
    env: Mapping[str, str] = field(repr=False)
    provider: ProviderStandIn | None = None
    leaked: str = ""  # the fingerprint of the app's leaked Stripe key

    def rolled(self, new_key: str) -> None:
        """The operator rolled the Stripe key in the dashboard: "Stripe" accepts ``new_key``."""
        if self.provider is not None:
            self.provider.rolled(new_key)

    def operator(self, question: str) -> str | None:
        """:func:`confirm_as_operator`, doing the dashboard step it confirms: "Stripe" no longer
        accepts the leaked key once the operator says they revoked it."""
        reply = confirm_as_operator(question)
        if reply is not None and self.provider is not None and _DASHBOARD_DONE.search(question):
            self.provider.revoked(self.leaked)
        return reply


@contextlib.contextmanager
def estate_sandbox(workdir: Path) -> Iterator[EstateSandbox]:
    """Start the sandbox for the estate copied to ``workdir/examples``: OpenBao
    ``secret/payments/stripe`` holds the app's leaked Stripe key (field ``api_key``), read by
    the ``payments`` and ``billing`` AppRoles; Secrets Manager ``prod/deploy/aws`` holds its
    leaked AWS pair; the stand-in for Stripe's API accepts the leaked key (the environment's
    ``LEAKGUARD_VERIFY_ENDPOINTS`` points the verifiers at it). The stand-in reload commands
    and a ``leakguard`` go in ``workdir/bin``.
    Everything is stopped, and the AppRoles' credentials removed, on the way out."""
    leaked = _leaked(workdir / "examples" / "leaky-app")
    state: Path | None = None
    try:
        with (
            sandbox.start(plan=_seed_plan(leaked)) as box,
            sandbox.provider_stand_in(live=(leaked.stripe,)) as provider,
        ):
            state = _install_stand_ins(workdir, box)
            env = _environment(box, provider, workdir)
            yield EstateSandbox(box, env, provider, fingerprint(leaked.stripe))
    except PlaybookError as exc:
        if state is not None:
            raise
        raise DemoError(
            f"the sandbox did not start: {exc.message}",
            hint="the demo needs the sandbox extra: pip install -e '.[sandbox]' from a clone, "
            "or pip install 'leakguard-cli[sandbox]'",
        ) from None
    finally:
        if state is not None:
            state.unlink(missing_ok=True)


def run_demo(options: DemoOptions, say: Say) -> DemoResult:
    """Scan → graph → blast radius → plan → rehearse → run → verify → audit verify."""
    started = time.monotonic()
    workdir = _prepare(options)
    leaked = _leaked(workdir / "examples" / "leaky-app")
    say(f"LeakGuard demo in {workdir}: starting the sandbox (OpenBao dev server, moto)")
    value_file = workdir / "new-key"
    try:
        with estate_sandbox(workdir) as estate:
            say(
                f"  seeded OpenBao {MOUNT}/{STRIPE_SECRET} ({STRIPE_FIELD}: the leaked Stripe "
                f"key), read by the AppRoles {', '.join(APPROLES.values())}; Secrets Manager "
                f"{AWS_SECRET}: the leaked AWS pair"
            )
            _announce(estate, workdir, say)
            shell = _Shell(workdir, estate.env, say)
            found = _detect_and_map(shell, leaked)
            rotated = _rotate(shell, estate, leaked, found[0], value_file, options)
    finally:
        value_file.unlink(missing_ok=True)
    say("")
    say("the sandbox servers are stopped")
    fp, consumers = found
    run_id, new_version, trail = rotated
    seconds = time.monotonic() - started
    return DemoResult(workdir, fp, consumers, run_id, new_version, trail, seconds)


_DB = ("--db", "lg.db")
_APP = "examples/leaky-app"
_ESTATE = "examples/estate"


def _detect_and_map(shell: _Shell, leaked: _Leaked) -> tuple[str, tuple[str, ...]]:
    shell.leakguard(
        ["scan", _APP, "-f", "json", "-o", "report.json"],
        "exit 1 is expected: credentials found; report.json holds fingerprints and redacted forms",
        expect=(EXIT_FINDINGS,),
    )
    fp = _stripe_fingerprint(shell.workdir / "report.json", leaked)
    shell.leakguard(
        ["graph", "build", *_DB, "--scan-report", "report.json",
         "--inventory", f"{_ESTATE}/leakguard.yaml", "--config-dir", f"{_ESTATE}/deploy",
         "--vault", shell.env["VAULT_ADDR"], "--aws-secrets",
         "--vault-audit", f"{_ESTATE}/evidence/vault-audit.log",
         "--cloudtrail", f"{_ESTATE}/evidence/cloudtrail"],
        "where each credential lives (store-matches) and who reads it (vault-reads, cloudtrail)",
    )  # fmt: skip
    radius = shell.leakguard(
        ["graph", "blast-radius", fp, *_DB],
        "stored in secret/payments/stripe; consumers payments-api and billing-worker read it",
    )
    return fp, _consumers(radius)


def _rotate(
    shell: _Shell,
    estate: EstateSandbox,
    leaked: _Leaked,
    fp: str,
    value_file: Path,
    options: DemoOptions,
) -> tuple[str, str, Path]:
    inputs = ["-i", f"credential={fp}", "-i", f"secret={STRIPE_SECRET}",
              "-i", f"field={STRIPE_FIELD}"]  # fmt: skip
    shell.leakguard(
        ["playbook", "plan", "stripe-key", *_DB, *inputs],
        "a dry run: `read` steps ran for real, WRITE steps are only described",
    )
    shell.say("")
    shell.say(
        f"# the operator rolls the key in the dashboard, saves it to {value_file.name} (0600)"
    )
    _private_file(value_file, new_stripe_key() + "\n")
    new_key = value_file.read_text(encoding="utf-8").strip()
    estate.rolled(new_key)
    value = ["-i", f"value_file={value_file.name}"]
    shell.leakguard(
        ["playbook", "rehearse", "stripe-key", *_DB, *inputs, *value],
        "the whole playbook in a second, throwaway sandbox: nothing would break",
    )
    output = shell.leakguard(
        ["playbook", "run", "stripe-key", *_DB, "--yes", *inputs, *value,
         "-i", f"audit_log={shell.env['VAULT_AUDIT_LOG']}",
         "-i", f"overlap={options.overlap}", "-i", f"move_timeout={options.move_timeout}"],
        "for real against the sandbox: staged, promoted, consumers restarted and seen reading "
        "the new version in the audit log, the old key superseded; the demo confirms the "
        "dashboard revocation as the operator would, then \"Stripe\" (the stand-in) must "
        "reject the old key and accept the new one",
        answer=estate.operator,
    )  # fmt: skip
    run_id, new_version, trail = _run_outcome(output, shell.workdir)
    shell.leakguard(
        ["playbook", "status", run_id, *_DB], "every step succeeded, consumers-moved included"
    )
    _final_read(estate.box, leaked, new_key, shell.say)
    shell.leakguard(
        ["audit", "verify", _rel(trail, shell.workdir), *_DB],
        "the audit trail's hash chain holds and matches the head the run journal recorded",
    )
    return run_id, new_version, trail
