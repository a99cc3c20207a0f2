"""Verifiers that make one HTTPS request to a provider's fixed official host.

Each provider family is one :class:`HttpVerifier` entry: which findings it handles, the request
(method, URL on the official host, where the credential goes), and how the provider's answer reads
(from its published API reference). ``live`` needs an explicit success answer; ``revoked`` needs
the provider's own "invalid credential" answer; anything else is ``unknown``. The URL never holds
the credential except where the provider's API puts it in the path (Telegram); such a credential
is checked against its format first, and shown URLs hide it.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from leakguard.model import Finding
from leakguard.verify.interface import Probe, Reply, Result, Status, Transport
from leakguard.verify.regions import Call, Region, TransportFor, ask_regions

Classify = Callable[[Reply], tuple[Status, dict[str, str], str]]
Build = Callable[[str], "Request | None"]


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # appended to the verifier's base URL
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    shown_path: str | None = None  # the path as shown (a credential in the path is hidden)


def _json(reply: Reply) -> Any:
    try:
        return json.loads(reply.body or b"null")
    except ValueError:
        return None


def _pick(doc: Any, *keys: str) -> dict[str, str]:
    """Copy the named top-level (or dotted) fields that are plain values."""
    out: dict[str, str] = {}
    for key in keys:
        value: Any = doc
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str | int | bool) and value != "":
            out[key.rsplit(".", 1)[-1] if "." in key else key] = str(value)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[key.rsplit(".", 1)[-1]] = ",".join(value)
    return out


def _status_only(live: set[int], revoked: set[int]) -> Classify:
    def classify(reply: Reply) -> tuple[Status, dict[str, str], str]:
        if reply.status in live:
            return Status.LIVE, {}, "accepted"
        if reply.status in revoked:
            return Status.REVOKED, {}, "rejected as invalid"
        return Status.UNKNOWN, {}, f"HTTP {reply.status}"

    return classify


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _fixed(method: str, path: str, headers: Callable[[str], dict[str, str]]) -> Build:
    return lambda secret: Request(method, path, headers(secret))


# --- provider answers ---------------------------------------------------------------------


def _github(reply: Reply) -> tuple[Status, dict[str, str], str]:
    doc = _json(reply)
    if reply.status == 200 and isinstance(doc, dict) and doc.get("login"):
        identity = _pick(doc, "login", "id", "type")
        scopes = reply.headers.get("x-oauth-scopes")
        if scopes is not None:
            identity["scopes"] = scopes.replace(" ", "") or "(none)"
        return Status.LIVE, identity, "GET /user answered for the token's owner"
    if reply.status == 401:
        return Status.REVOKED, {}, "Bad credentials"
    message = doc.get("message", "") if isinstance(doc, dict) else ""
    if reply.status == 403 and "not accessible by integration" in str(message):
        return Status.LIVE, {"kind": "app-installation"}, "valid app token without /user access"
    return Status.UNKNOWN, {}, f"HTTP {reply.status}"


def _gitlab(reply: Reply) -> tuple[Status, dict[str, str], str]:
    doc = _json(reply)
    if reply.status == 200 and isinstance(doc, dict) and "id" in doc:
        if doc.get("revoked") or doc.get("active") is False:
            return Status.REVOKED, _pick(doc, "name", "user_id"), "the token is revoked or expired"
        return Status.LIVE, _pick(doc, "name", "user_id", "scopes", "expires_at"), "active token"
    if reply.status == 401:
        return Status.REVOKED, {}, "401 Unauthorized"
    return Status.UNKNOWN, {}, f"HTTP {reply.status}"


_SLACK_DEAD = {"invalid_auth", "token_revoked", "account_inactive", "token_expired", "not_authed"}


def _slack(reply: Reply) -> tuple[Status, dict[str, str], str]:
    doc = _json(reply)
    if reply.status != 200 or not isinstance(doc, dict):
        return Status.UNKNOWN, {}, f"HTTP {reply.status}"
    if doc.get("ok") is True:
        return (
            Status.LIVE,
            _pick(doc, "team", "team_id", "user", "user_id", "bot_id"),
            "auth.test ok",
        )
    error = str(doc.get("error", ""))
    if error in _SLACK_DEAD:
        return Status.REVOKED, {}, error
    return Status.UNKNOWN, {}, error or "ok: false"


def _stripe(reply: Reply) -> tuple[Status, dict[str, str], str]:
    doc = _json(reply)
    if reply.status == 200 and isinstance(doc, dict) and doc.get("id"):
        identity = _pick(doc, "id", "email", "business_profile.name", "country")
        return Status.LIVE, identity, "GET /v1/account answered"
    if reply.status == 401:
        return Status.REVOKED, {}, "Invalid API Key provided"
    if reply.status == 403:  # a restricted key without the account permission: valid, limited
        return Status.LIVE, {"restricted": "true"}, "accepted; no permission to read the account"
    return Status.UNKNOWN, {}, f"HTTP {reply.status}"


def _with_headers(*names: str) -> Classify:
    def classify(reply: Reply) -> tuple[Status, dict[str, str], str]:
        if reply.status == 200:
            identity = {n: reply.headers[n] for n in names if reply.headers.get(n)}
            return Status.LIVE, identity, "accepted"
        if reply.status == 401:
            return Status.REVOKED, {}, "401 invalid credential"
        return Status.UNKNOWN, {}, f"HTTP {reply.status}"

    return classify


def _fields_on_200(*keys: str) -> Classify:
    def classify(reply: Reply) -> tuple[Status, dict[str, str], str]:
        doc = _json(reply)
        if reply.status == 200 and isinstance(doc, dict):
            return Status.LIVE, _pick(doc, *keys), "accepted"
        if reply.status == 401:
            return Status.REVOKED, {}, "401 invalid credential"
        return Status.UNKNOWN, {}, f"HTTP {reply.status}"

    return classify


def _telegram(reply: Reply) -> tuple[Status, dict[str, str], str]:
    doc = _json(reply)
    if reply.status == 200 and isinstance(doc, dict) and doc.get("ok") is True:
        return Status.LIVE, _pick(doc, "result.id", "result.username"), "getMe ok"
    if reply.status in (401, 404):
        return Status.REVOKED, {}, "Unauthorized"
    return Status.UNKNOWN, {}, f"HTTP {reply.status}"


def _datadog(reply: Reply) -> tuple[Status, dict[str, str], str]:
    doc = _json(reply)
    if reply.status == 200 and isinstance(doc, dict) and doc.get("valid") is True:
        return Status.LIVE, {}, "validate: valid"
    if reply.status == 403:  # invalid here; a key of another Datadog site also gets 403 here
        return Status.UNKNOWN, {}, "not valid on the US1 site (revoked, or another site's key)"
    return Status.UNKNOWN, {}, f"HTTP {reply.status}"


def _google(reply: Reply) -> tuple[Status, dict[str, str], str]:
    text = reply.body.decode("utf-8", "replace")
    if reply.status == 200:
        return Status.LIVE, {}, "accepted"
    if reply.status == 400 and "API_KEY_INVALID" in text:
        return Status.REVOKED, {}, "API_KEY_INVALID"
    if reply.status == 403:  # the key exists; this API is not enabled or the key is restricted
        return Status.LIVE, {"restricted": "true"}, "key accepted; API not enabled for it"
    return Status.UNKNOWN, {}, f"HTTP {reply.status}"


def _pypi(reply: Reply) -> tuple[Status, dict[str, str], str]:
    if reply.status == 400:  # authenticated, then refused the empty upload
        return Status.LIVE, {}, "authenticated; the empty upload was refused"
    if reply.status == 403:
        return Status.REVOKED, {}, "Invalid or non-existent authentication information"
    return Status.UNKNOWN, {}, f"HTTP {reply.status}"


def _supabase(reply: Reply) -> tuple[Status, dict[str, str], str]:
    if reply.status == 200:
        return Status.LIVE, {}, "the project's REST root accepted the key"
    if reply.status == 401:
        return Status.REVOKED, {}, "Invalid API key"
    return Status.UNKNOWN, {}, f"HTTP {reply.status}"


def _cloudflare(reply: Reply) -> tuple[Status, dict[str, str], str]:
    doc = _json(reply)
    result = doc.get("result") if isinstance(doc, dict) else None
    if reply.status == 200 and isinstance(result, dict) and doc.get("success") is True:
        identity = _pick(result, "id", "status", "expires_on")
        if result.get("status") == "active":
            return Status.LIVE, identity, "This API Token is valid and active"
        if result.get("status") in ("disabled", "expired"):
            return Status.REVOKED, identity, f"the token is {result['status']}"
    # 401 (code 1000 "Invalid API Token") is also the answer an account-owned token gets on the
    # user endpoint: not proof that the token is dead
    return Status.UNKNOWN, {}, f"HTTP {reply.status}"


def _fields_under_200(wrapper: str, *keys: str) -> Classify:
    """200 with the identity under ``wrapper`` (``{"account": {...}}``) is live; 401 revoked."""

    def classify(reply: Reply) -> tuple[Status, dict[str, str], str]:
        doc = _json(reply)
        inner = doc.get(wrapper) if isinstance(doc, dict) else None
        if reply.status == 200 and isinstance(inner, dict):
            return Status.LIVE, _pick(inner, *keys), "accepted"
        if reply.status == 401:
            return Status.REVOKED, {}, "401 invalid credential"
        return Status.UNKNOWN, {}, f"HTTP {reply.status}"

    return classify


def _figma(reply: Reply) -> tuple[Status, dict[str, str], str]:
    doc = _json(reply)
    if reply.status == 200 and isinstance(doc, dict) and doc.get("id"):
        return Status.LIVE, _pick(doc, "id", "handle", "email"), "GET /v1/me answered"
    err = doc.get("err") if isinstance(doc, dict) else None
    if reply.status == 403 and err == "Invalid token":  # Figma's answer for a bad token
        return Status.REVOKED, {}, "Invalid token"
    return Status.UNKNOWN, {}, f"HTTP {reply.status}"


def _linear(reply: Reply) -> tuple[Status, dict[str, str], str]:
    doc = _json(reply)
    viewer = doc.get("data", {}).get("viewer") if isinstance(doc, dict) else None
    if reply.status == 200 and isinstance(viewer, dict) and viewer.get("id"):
        return Status.LIVE, _pick(viewer, "id", "name", "email"), "viewer answered"
    errors = doc.get("errors") if isinstance(doc, dict) else None
    for error in errors if isinstance(errors, list) else []:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        if isinstance(extensions, dict) and (
            str(extensions.get("type", "")).lower().replace(" ", "_") == "authentication_error"
            or extensions.get("code") == "AUTHENTICATION_ERROR"
        ):
            return Status.REVOKED, {}, "authentication error"
    return Status.UNKNOWN, {}, f"HTTP {reply.status}"


def _linear_request(secret: str) -> Request | None:
    # a personal API key is sent as it is; an OAuth access token as a bearer token
    auth = f"Bearer {secret}" if secret.startswith("lin_oauth_") else secret
    body = json.dumps({"query": "query { viewer { id name email } }"}).encode()
    return Request(
        "POST", "/graphql", {"Authorization": auth, "Content-Type": "application/json"}, body
    )


def _vercel(reply: Reply) -> tuple[Status, dict[str, str], str]:
    doc = _json(reply)
    user = doc.get("user") if isinstance(doc, dict) else None
    if reply.status == 200 and isinstance(user, dict) and user.get("id"):
        identity = _pick(user, "id", "username", "email", "defaultTeamId")
        return Status.LIVE, identity, "GET /v2/user answered"
    error = doc.get("error") if isinstance(doc, dict) else None
    # the reference documents 403 "forbidden"/"Not authorized" for a missing token *and* a
    # token without access to the scope: only the explicit invalidToken flag says "invalid"
    if reply.status == 403 and isinstance(error, dict) and error.get("invalidToken") is True:
        return Status.REVOKED, {}, "invalidToken"
    return Status.UNKNOWN, {}, f"HTTP {reply.status}"


_SENTRY_DEAD = {"Invalid token", "Invalid org token"}


def _sentry(reply: Reply) -> tuple[Status, dict[str, str], str]:
    doc = _json(reply)
    auth = doc.get("auth") if isinstance(doc, dict) else None
    # the index answers 200 to anyone; only an "auth" object says the token was accepted
    if reply.status == 200 and isinstance(auth, dict):
        identity = _pick(doc, "user.id", "user.username", "user.email")
        scopes = auth.get("scopes")
        if isinstance(scopes, list) and all(isinstance(s, str) for s in scopes):
            identity["scopes"] = ",".join(sorted(scopes)) or "(none)"
        return Status.LIVE, identity, "the API index answered for the token"
    detail = doc.get("detail") if isinstance(doc, dict) else None
    if reply.status == 401 and detail in _SENTRY_DEAD:
        return Status.REVOKED, {}, str(detail)
    return Status.UNKNOWN, {}, f"HTTP {reply.status}"


def _newrelic(reply: Reply) -> tuple[Status, dict[str, str], str]:
    doc = _json(reply)
    data = doc.get("data") if isinstance(doc, dict) else None
    actor = data.get("actor") if isinstance(data, dict) else None
    user = actor.get("user") if isinstance(actor, dict) else None
    if reply.status == 200 and isinstance(user, dict) and user.get("id") is not None:
        return Status.LIVE, _pick(user, "id", "email", "name"), "actor { user } answered"
    if reply.status == 401:
        return Status.REVOKED, {}, "401 Unauthorized"
    return Status.UNKNOWN, {}, f"HTTP {reply.status}"


def _pagerduty(reply: Reply) -> tuple[Status, dict[str, str], str]:
    doc = _json(reply)
    abilities = doc.get("abilities") if isinstance(doc, dict) else None
    if reply.status == 200 and isinstance(abilities, list):
        return Status.LIVE, {}, "GET /abilities answered"
    if reply.status == 401:  # error code 2006 "Authentication failed"
        return Status.REVOKED, {}, "401 Unauthorized"
    return Status.UNKNOWN, {}, f"HTTP {reply.status}"


_SENTRY_HOSTS = {"https://us.sentry.io": ("us",), "https://de.sentry.io": ("de",)}


def sentry_regions(secret: str) -> tuple[str, ...] | None:
    """The region an organization token (``sntrys_``) names in its payload: ``("de",)`` for
    de.sentry.io; None when it names none (user tokens) or only ``sentry.io`` (which org tokens
    of every region carry); ``()`` when it names a server that is not Sentry's (self-hosted)."""
    if not secret.startswith("sntrys_"):
        return None
    payload = secret[len("sntrys_") :].rsplit("_", 1)[0]
    try:
        doc = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    for key in ("region_url", "url"):
        value = doc.get(key)
        if not isinstance(value, str) or not value:
            continue
        host = value.rstrip("/").lower()
        if host == "https://sentry.io":
            continue
        return _SENTRY_HOSTS.get(host, ())
    return None


def _newrelic_request(secret: str) -> Request | None:
    body = json.dumps({"query": "{ actor { user { id email name } } }"}).encode()
    return Request(
        "POST", "/graphql", {"API-Key": secret, "Content-Type": "application/json"}, body
    )


# --- requests that depend on the credential's shape ---------------------------------------------

_TELEGRAM = re.compile(r"^[0-9]{5,16}:[A-Za-z0-9_-]{30,64}$")
_TWILIO_SID = re.compile(r"^(AC|SK)[0-9a-f]{32}$")
_SUPABASE_REF = re.compile(r"^[a-z0-9]{20}$")


def _telegram_request(secret: str) -> Request | None:
    if not _TELEGRAM.match(secret):
        return None
    return Request("GET", f"/bot{secret}/getMe", shown_path="/bot<token>/getMe")


def _twilio_request(secret: str) -> Request | None:
    sid, _, token = secret.partition(":")
    if not _TWILIO_SID.match(sid) or not token:
        return None
    path = (
        f"/2010-04-01/Accounts/{sid}.json" if sid.startswith("AC") else "/2010-04-01/Accounts.json"
    )
    return Request("GET", path, _basic(sid, token))


def _pypi_request(secret: str) -> Request | None:
    body = b":action=file_upload&protocol_version=1"
    headers = {**_basic("__token__", secret), "Content-Type": "application/x-www-form-urlencoded"}
    return Request("POST", "/legacy/", headers, body)


def _google_request(secret: str) -> Request | None:
    return Request("GET", f"/v1beta/models?key={secret}", shown_path="/v1beta/models?key=<key>")


def supabase_ref(secret: str) -> str | None:
    """The project ref a Supabase JWT names (``ref`` claim), or None."""
    parts = secret.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    ref = payload.get("ref") if isinstance(payload, dict) else None
    return ref if isinstance(ref, str) and _SUPABASE_REF.match(ref) else None


def _supabase_request(secret: str) -> Request | None:
    if supabase_ref(secret) is None:
        return None
    return Request("GET", "/rest/v1/", {"apikey": secret, **_bearer(secret)})


# --- the table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpVerifier:
    """One provider family's identity check on its fixed official host."""

    name: str
    base_url: str  # scheme://host, fixed; Supabase's per-project host is {ref}.supabase.co
    providers: frozenset[str]
    build: Build
    classify: Classify
    rule_prefixes: tuple[str, ...] = ()  # when set, only these rule ids
    per_project_host: bool = False
    # a provider with regional hosts: every official (label, base URL), ``base_url``'s first;
    # ``named_regions`` gives the labels a credential's own format names (None: it names none;
    # empty: it names a server that is no official host, which is never asked)
    regions: tuple[tuple[str, str], ...] = ()
    named_regions: Callable[[str], tuple[str, ...] | None] | None = None

    def handles(self, finding: Finding) -> bool:
        if finding.provider not in self.providers:
            return False
        return not self.rule_prefixes or finding.rule_id.startswith(self.rule_prefixes)

    def base_for(self, secret: str | None) -> str:
        if self.per_project_host and secret is not None:
            ref = supabase_ref(secret)
            if ref is not None:
                return self.base_url.replace("{ref}", ref)
        return self.base_url

    def probe(self, finding: Finding) -> Probe | None:
        if finding.attribute("paired") is False:
            return None  # half of a pair: nothing the provider can check
        request = self.build(_SHAPE_SAMPLES.get(self.name, "x"))
        path = (request.shown_path or request.path) if request else "/"
        return Probe(self.name, request.method if request else "GET", self.base_url + path)

    def region_hosts(self) -> tuple[Region, ...]:
        """Every official host; the first is stood in for by ``--verify-endpoint NAME=…``, the
        others by ``NAME@LABEL=…``."""
        return tuple(
            Region(label, base, self.name if i == 0 else f"{self.name}@{label}")
            for i, (label, base) in enumerate(self.regions)
        )

    def endpoint_names(self) -> tuple[str, ...]:
        return tuple(region.endpoint_key for region in self.region_hosts()) or (self.name,)

    def verify_regions(
        self,
        finding: Finding,
        secret: str,
        endpoints: Mapping[str, str],
        transport_for: TransportFor,
    ) -> Result:
        """Ask the regional hosts (leakguard.verify.regions: ``revoked`` only when every region
        the credential could belong to refused it)."""
        request = self.build(secret)
        if request is None:
            return Result(
                Status.UNKNOWN, self.name, self.base_url, detail="not in a verifiable shape"
            )
        regions = self.region_hosts()
        named = self.named_regions(secret) if self.named_regions is not None else None
        if named is not None:
            regions = tuple(region for region in regions if region.label in named)
            if not regions:
                return Result(
                    Status.UNKNOWN,
                    self.name,
                    self.base_url,
                    detail="the credential names a server that is not an official host: not asked",
                )
        call = Call(request.method, request.path, request.headers, request.body)
        return ask_regions(self.name, call, regions, self.classify, endpoints, transport_for)

    def verify(
        self, finding: Finding, secret: str, transport: Transport, base_url: str | None = None
    ) -> Result:
        request = self.build(secret)
        base = base_url or self.base_for(secret)
        if request is None:
            return Result(Status.UNKNOWN, self.name, base, detail="not in a verifiable shape")
        host = self.base_url.replace("{ref}", "…")
        shown = f"{request.method} {host}{request.shown_path or request.path}"
        reply = transport.send(request.method, base + request.path, request.headers, request.body)
        status, identity, detail = self.classify(reply)
        if self.regions and status == Status.REVOKED:  # one region's refusal proves nothing
            status, detail = Status.UNKNOWN, f"refused by one region only ({detail})"
        return Result(
            status,
            self.name,
            shown,
            http_status=reply.status,
            identity=tuple(sorted(identity.items())),
            detail=detail,
        )


# Samples only for building the shown request of a dry run (no value is sent in a dry run).
_SHAPE_SAMPLES = {
    "telegram": "123456:" + "A" * 35,
    "twilio": "AC" + "0" * 32 + ":x",
    "supabase": "e30.eyJyZWYiOiJ4eHh4eHh4eHh4eHh4eHh4eHh4eCJ9.x",  # {"ref": "xxxx…"}
}

_UA = {"User-Agent": "LeakGuard-verify"}

HTTP_VERIFIERS: tuple[HttpVerifier, ...] = (
    HttpVerifier(
        "github",
        "https://api.github.com",
        frozenset({"github"}),
        _fixed(
            "GET",
            "/user",
            lambda s: {
                **_bearer(s),
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                **_UA,
            },
        ),
        _github,
    ),
    HttpVerifier(
        "gitlab",
        "https://gitlab.com",
        frozenset({"gitlab"}),
        _fixed("GET", "/api/v4/personal_access_tokens/self", lambda s: {"PRIVATE-TOKEN": s}),
        _gitlab,
        rule_prefixes=("gitlab-personal", "gitlab-project", "gitlab-group", "gitlab-pat"),
    ),
    HttpVerifier(
        "slack",
        "https://slack.com",
        frozenset({"slack"}),
        _fixed("POST", "/api/auth.test", _bearer),
        _slack,
        rule_prefixes=(
            "slack-bot",
            "slack-user",
            "slack-app",
            "slack-token",
            "slack-legacy",
            "slack-config",
        ),
    ),
    HttpVerifier(
        "stripe",
        "https://api.stripe.com",
        frozenset({"stripe"}),
        _fixed("GET", "/v1/account", _bearer),
        _stripe,
        rule_prefixes=(
            "stripe-live-secret",
            "stripe-live-restricted",
            "stripe-test-secret",
            "stripe-test-restricted",
            "stripe-restricted",
            "stripe-secret",
        ),
    ),
    HttpVerifier(
        "openai",
        "https://api.openai.com",
        frozenset({"openai"}),
        _fixed("GET", "/v1/models", _bearer),
        _with_headers("openai-organization", "openai-project"),
    ),
    HttpVerifier(
        "anthropic",
        "https://api.anthropic.com",
        frozenset({"anthropic"}),
        _fixed("GET", "/v1/models", lambda s: {"x-api-key": s, "anthropic-version": "2023-06-01"}),
        _with_headers("anthropic-organization-id"),
    ),
    HttpVerifier(
        "sendgrid",
        "https://api.sendgrid.com",
        frozenset({"sendgrid"}),
        _fixed("GET", "/v3/scopes", _bearer),
        _fields_on_200("scopes"),
    ),
    HttpVerifier(
        "twilio",
        "https://api.twilio.com",
        frozenset({"twilio"}),
        _twilio_request,
        _fields_on_200("sid", "friendly_name", "status"),
    ),
    HttpVerifier(
        "npm",
        "https://registry.npmjs.org",
        frozenset({"npm"}),
        _fixed("GET", "/-/whoami", _bearer),
        _fields_on_200("username"),
    ),
    HttpVerifier("pypi", "https://upload.pypi.org", frozenset({"pypi"}), _pypi_request, _pypi),
    HttpVerifier(
        "huggingface",
        "https://huggingface.co",
        frozenset({"huggingface", "hugging-face"}),
        _fixed("GET", "/api/whoami-v2", _bearer),
        _fields_on_200("name", "type", "auth.accessToken.role"),
    ),
    HttpVerifier(
        "telegram",
        "https://api.telegram.org",
        frozenset({"telegram"}),
        _telegram_request,
        _telegram,
    ),
    HttpVerifier(
        "discord",
        "https://discord.com",
        frozenset({"discord"}),
        _fixed("GET", "/api/v10/users/@me", lambda s: {"Authorization": f"Bot {s}", **_UA}),
        _fields_on_200("id", "username"),
        rule_prefixes=("discord-bot",),
    ),
    HttpVerifier(
        "datadog",
        "https://api.datadoghq.com",
        frozenset({"datadog"}),
        _fixed("GET", "/api/v1/validate", lambda s: {"DD-API-KEY": s}),
        _datadog,
        rule_prefixes=("datadog-api",),
    ),
    HttpVerifier(
        "mailgun",
        "https://api.mailgun.net",
        frozenset({"mailgun"}),
        _fixed("GET", "/v3/domains", lambda s: _basic("api", s)),
        _fields_on_200("total_count"),
    ),
    HttpVerifier(
        "google",
        "https://generativelanguage.googleapis.com",
        frozenset({"google"}),
        _google_request,
        _google,
        rule_prefixes=("google-api-key", "gcp-api-key"),
    ),
    HttpVerifier(
        "supabase",
        "https://{ref}.supabase.co",
        frozenset({"supabase"}),
        _supabase_request,
        _supabase,
        rule_prefixes=("supabase-service-role", "supabase-anon"),
        per_project_host=True,
    ),
    # https://docs.digitalocean.com/reference/api/digitalocean/#tag/Account (401 "unauthorized")
    HttpVerifier(
        "digitalocean",
        "https://api.digitalocean.com",
        frozenset({"digitalocean"}),
        _fixed("GET", "/v2/account", _bearer),
        _fields_under_200("account", "uuid", "email", "status"),
        rule_prefixes=("digitalocean-personal-access-token", "digitalocean-oauth-token"),
    ),
    # https://developers.cloudflare.com/api/resources/user/subresources/tokens/methods/verify/
    HttpVerifier(
        "cloudflare",
        "https://api.cloudflare.com",
        frozenset({"cloudflare"}),
        _fixed("GET", "/client/v4/user/tokens/verify", _bearer),
        _cloudflare,
        rule_prefixes=("cloudflare-api-token",),
    ),
    # https://devcenter.heroku.com/articles/platform-api-reference#account-info
    # (401 {"id": "unauthorized", "message": "Invalid credentials provided."})
    HttpVerifier(
        "heroku",
        "https://api.heroku.com",
        frozenset({"heroku"}),
        _fixed(
            "GET",
            "/account",
            lambda s: {**_bearer(s), "Accept": "application/vnd.heroku+json; version=3"},
        ),
        _fields_on_200("id", "email"),
    ),
    # https://open-api.netlify.com/#tag/user/operation/getCurrentUser
    HttpVerifier(
        "netlify",
        "https://api.netlify.com",
        frozenset({"netlify"}),
        _fixed("GET", "/api/v1/user", _bearer),
        _fields_on_200("id", "email", "slug"),
    ),
    # https://developers.notion.com/reference/get-self (401 "unauthorized": API token is invalid)
    HttpVerifier(
        "notion",
        "https://api.notion.com",
        frozenset({"notion"}),
        _fixed("GET", "/v1/users/me", lambda s: {**_bearer(s), "Notion-Version": "2022-06-28"}),
        _fields_on_200("id", "name", "type", "bot.workspace_name"),
    ),
    # https://learning.postman.com/docs/developer/postman-api/authentication/ (GET /me;
    # 401 AuthenticationError "Invalid API Key")
    HttpVerifier(
        "postman",
        "https://api.getpostman.com",
        frozenset({"postman"}),
        _fixed("GET", "/me", lambda s: {"X-Api-Key": s}),
        _fields_under_200("user", "id", "username", "email"),
    ),
    # https://console.groq.com/docs/api-reference#models-list (401 invalid_api_key)
    HttpVerifier(
        "groq",
        "https://api.groq.com",
        frozenset({"groq"}),
        _fixed("GET", "/openai/v1/models", _bearer),
        _status_only({200}, {401}),
    ),
    # https://docs.mistral.ai/api/#tag/models/operation/list_models_v1_models_get
    HttpVerifier(
        "mistral",
        "https://api.mistral.ai",
        frozenset({"mistral"}),
        _fixed("GET", "/v1/models", _bearer),
        _status_only({200}, {401}),
    ),
    # https://docs.cohere.com/reference/list-models (401 "invalid api token")
    HttpVerifier(
        "cohere",
        "https://api.cohere.com",
        frozenset({"cohere"}),
        _fixed("GET", "/v1/models", _bearer),
        _status_only({200}, {401}),
    ),
    # https://replicate.com/docs/reference/http#account.get
    HttpVerifier(
        "replicate",
        "https://api.replicate.com",
        frozenset({"replicate"}),
        _fixed("GET", "/v1/account", _bearer),
        _fields_on_200("type", "username"),
    ),
    # https://docs.doppler.com/reference/auth-me (401 {"messages": ["Invalid Auth token"]})
    HttpVerifier(
        "doppler",
        "https://api.doppler.com",
        frozenset({"doppler"}),
        _fixed("GET", "/v3/me", _bearer),
        _fields_on_200("type", "name", "workplace.slug"),
        rule_prefixes=(
            "doppler-personal-token",
            "doppler-cli-token",
            "doppler-service-account-token",
            "doppler-service-token",
        ),
    ),
    # https://developer.hashicorp.com/terraform/cloud-docs/api-docs/account#get-your-account-details
    # (team and organization tokens get their synthetic "service user" here)
    HttpVerifier(
        "terraform",
        "https://app.terraform.io",
        frozenset({"terraform"}),
        _fixed(
            "GET",
            "/api/v2/account/details",
            lambda s: {**_bearer(s), "Content-Type": "application/vnd.api+json"},
        ),
        _fields_under_200("data", "id", "attributes.username", "attributes.email"),
    ),
    # https://www.pulumi.com/docs/reference/cloud-rest-api/api-basics/ (`Authorization: token
    # {token}`; "a 401 status code if the token is missing or invalid"; GET /api/user)
    HttpVerifier(
        "pulumi",
        "https://api.pulumi.com",
        frozenset({"pulumi"}),
        _fixed(
            "GET",
            "/api/user",
            lambda s: {
                "Authorization": f"token {s}",
                "Accept": "application/vnd.pulumi+8",
                "Content-Type": "application/json",
            },
        ),
        _fields_on_200("githubLogin", "name", "email"),
    ),
    # https://developers.figma.com/docs/rest-api/users-endpoints/ (GET /v1/me, X-Figma-Token;
    # errors: 403 "Invalid token")
    HttpVerifier(
        "figma",
        "https://api.figma.com",
        frozenset({"figma"}),
        _fixed("GET", "/v1/me", lambda s: {"X-Figma-Token": s}),
        _figma,
    ),
    # https://linear.app/developers/graphql (a read-only `viewer` query; keys as `Authorization:
    # <key>`, OAuth tokens as Bearer; an invalid key answers an AUTHENTICATION_ERROR)
    HttpVerifier(
        "linear", "https://api.linear.app", frozenset({"linear"}), _linear_request, _linear
    ),
    # https://vercel.com/docs/rest-api/user/get-the-user (GET /v2/user, Bearer; 200 {"user":
    # {id, email, username, defaultTeamId…}}; 401/403 listed) and
    # https://vercel.com/docs/rest-api/errors (403 {"error": {"code": "forbidden", "message":
    # "Not authorized"}}, "usually … missing an user token"). A 403 is also a valid token
    # without access to the scope, so only a 403 with `"invalidToken": true` (the flag the API
    # sends for a bad token, not in the published reference) is read as revoked
    HttpVerifier(
        "vercel",
        "https://api.vercel.com",
        frozenset({"vercel"}),
        _fixed("GET", "/v2/user", _bearer),
        _vercel,
        rule_prefixes=("vercel-access-token",),
    ),
    # https://docs.sentry.io/api/auth/ (Bearer tokens; "Choosing the Right API Base Domain":
    # sentry.io, us.sentry.io, de.sentry.io). GET /api/0/ is the API index sentry-cli's `info`
    # reads: 200 {"version": "0", "auth": {"scopes": […]}, "user": {…} | null} for an accepted
    # token; an invalid one gets 401 {"detail": "Invalid token"} ("Invalid org token" for
    # sntrys_), as Sentry's own source (src/sentry/api/authentication.py) raises them
    HttpVerifier(
        "sentry",
        "https://sentry.io",
        frozenset({"sentry"}),
        _fixed("GET", "/api/0/", _bearer),
        _sentry,
        rule_prefixes=("sentry-org-auth-token", "sentry-user-auth-token", "sentry-auth-token"),
        regions=(("us", "https://sentry.io"), ("de", "https://de.sentry.io")),
        named_regions=sentry_regions,
    ),
    # https://docs.newrelic.com/docs/apis/nerdgraph/get-started/introduction-new-relic-nerdgraph/
    # (POST /graphql, `API-Key` header with a user key; endpoints api.newrelic.com and, for the
    # EU data center, api.eu.newrelic.com); a missing or invalid key is a 401, and so is a valid
    # key sent to the other region's endpoint. newrelic.com also names api.jp.newrelic.com: it is
    # asked too, so a key of that region is never read as revoked by the other two
    HttpVerifier(
        "newrelic",
        "https://api.newrelic.com",
        frozenset({"newrelic"}),
        _newrelic_request,
        _newrelic,
        rule_prefixes=("newrelic-user-api-key",),
        regions=(
            ("us", "https://api.newrelic.com"),
            ("eu", "https://api.eu.newrelic.com"),
            ("jp", "https://api.jp.newrelic.com"),
        ),
    ),
    # https://developer.pagerduty.com/docs/rest-api-v2/authentication/ (`Authorization: Token
    # token=…`; "Requests that cannot be authenticated will return a 401"), errors (401; code
    # 2006 "Authentication failed"), https://support.pagerduty.com/docs/service-regions (US
    # api.pagerduty.com, EU api.eu.pagerduty.com). GET /abilities answers any valid REST key,
    # account-level or user-level (no identity: an account key has no user)
    HttpVerifier(
        "pagerduty",
        "https://api.pagerduty.com",
        frozenset({"pagerduty"}),
        _fixed(
            "GET",
            "/abilities",
            lambda s: {
                "Authorization": f"Token token={s}",
                "Accept": "application/vnd.pagerduty+json;version=2",
            },
        ),
        _pagerduty,
        rule_prefixes=("pagerduty-api-key",),
        regions=(("us", "https://api.pagerduty.com"), ("eu", "https://api.eu.pagerduty.com")),
    ),
    # https://docs.snyk.io/snyk-api/rest-api/authentication-for-api (GET /rest/self?version=…,
    # `Authorization: token …`; otherwise 401 {"status": "401", "code": "Unauthorized"}) and
    # https://docs.snyk.io/snyk-api/v1-api (API URLs: SNYK-US-01 api.snyk.io, SNYK-US-02
    # api.us.snyk.io, SNYK-EU-01 api.eu.snyk.io, SNYK-AU-01 api.au.snyk.io)
    HttpVerifier(
        "snyk",
        "https://api.snyk.io",
        frozenset({"snyk"}),
        _fixed(
            "GET",
            "/rest/self?version=2024-06-10",
            lambda s: {"Authorization": f"token {s}", "Accept": "application/vnd.api+json"},
        ),
        _fields_under_200(
            "data", "id", "attributes.name", "attributes.username", "attributes.email"
        ),
        rule_prefixes=("snyk-api-token",),
        regions=(
            ("us", "https://api.snyk.io"),
            ("us2", "https://api.us.snyk.io"),
            ("eu", "https://api.eu.snyk.io"),
            ("au", "https://api.au.snyk.io"),
        ),
    ),
)
