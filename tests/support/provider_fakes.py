"""A local stand-in for the providers' identity endpoints, answering as each provider's published
API reference documents them (status codes, headers, body shapes), on a free 127.0.0.1 port.

One server serves every provider under a path prefix named after the verifier
(``http://127.0.0.1:PORT/github/user``); tests point LeakGuard's verifiers at it through the
explicit test endpoint option, never through scanned content. A credential is ``live`` when
:attr:`ProviderFake.live` holds it, revoked otherwise; the values ``RATE_LIMITED`` and
``SERVER_ERROR`` make the provider answer 429 and 500 (every time, so retries are seen).
Every request is recorded (path and header names, never values) for assertions.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RATE_LIMITED = "rate-limited-token"
SERVER_ERROR = "server-error-token"


@dataclass
class ProviderFake:
    url: str
    live: set[str] = field(default_factory=set)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    # a regional provider's credential is live only in its region (the first host when absent);
    # the stand-in for region LABEL of verifier NAME is served under /NAME.LABEL/
    regions: dict[str, str] = field(default_factory=dict)
    flaky: set[str] = field(default_factory=set)  # answered 429 once, then as usual

    def endpoints(self, *names: str) -> dict[str, str]:
        """``--verify-endpoint`` values: ``NAME`` or a region's ``NAME@LABEL``."""
        return {name: f"{self.url}/{name.replace('@', '.')}" for name in names}


def _credential(provider: str, handler: BaseHTTPRequestHandler, path: str, body: bytes) -> str:
    headers = handler.headers
    auth = headers.get("Authorization", "")
    if provider == "gitlab":
        return headers.get("PRIVATE-TOKEN", "")
    if provider == "anthropic":
        return headers.get("x-api-key", "")
    if provider == "datadog":
        return headers.get("DD-API-KEY", "")
    if provider == "postman":
        return headers.get("X-Api-Key", "")
    if provider == "figma":
        return headers.get("X-Figma-Token", "")
    if provider == "newrelic":
        return headers.get("API-Key", "")
    if provider == "shopify":
        return headers.get("X-Shopify-Access-Token", "")
    if provider == "pagerduty":
        return auth.removeprefix("Token token=")
    if provider == "linear":  # an API key as it is, an OAuth token as Bearer
        return auth.removeprefix("Bearer ")
    if provider == "telegram":
        return path.split("/")[1][3:] if path.startswith("/bot") else ""
    if provider == "google":
        return path.partition("key=")[2]
    if auth.startswith("Basic "):
        user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        if provider == "twilio":
            return f"{user}:{password}"
        return password
    return auth.split(" ", 1)[1] if " " in auth else ""


def _json(status: int, doc: object, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(doc).encode()


def _answer(provider: str, path: str, token: str, live: bool):  # type: ignore[no-untyped-def]
    """The provider's documented answer for a live or an invalid credential."""
    if provider == "github":
        if live:
            return _json(
                200,
                {"login": "octo-leaker", "id": 583231, "type": "User"},
                {"X-OAuth-Scopes": "repo, read:org", "X-GitHub-Media-Type": "github.v3"},
            )
        return _json(
            401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
        )
    if provider == "gitlab":
        if live:
            return _json(
                200,
                {
                    "id": 42,
                    "name": "deploy",
                    "revoked": False,
                    "active": True,
                    "scopes": ["api", "read_repository"],
                    "user_id": 7,
                    "expires_at": "2027-01-01",
                },
            )
        return _json(401, {"message": "401 Unauthorized"})
    if provider == "slack":
        if live:
            return _json(
                200,
                {
                    "ok": True,
                    "url": "https://acme.slack.com/",
                    "team": "Acme",
                    "user": "deploybot",
                    "team_id": "T0JTRSW4Q",
                    "user_id": "U0B2C3D4E",
                },
            )
        return _json(200, {"ok": False, "error": "invalid_auth"})
    if provider == "stripe":
        if live and token.startswith("rk_"):
            return _json(
                403,
                {
                    "error": {
                        "type": "invalid_request_error",
                        "message": "The provided key does not have the required permissions",
                    }
                },
            )
        if live:
            return _json(
                200,
                {
                    "id": "acct_1Ac9QeWJKY40uvSw",
                    "object": "account",
                    "email": "payments@example.com",
                    "country": "US",
                },
            )
        return _json(
            401,
            {
                "error": {
                    "type": "invalid_request_error",
                    "message": "Invalid API Key provided: sk_live_****",
                }
            },
        )
    if provider == "openai":
        if live:
            return _json(
                200,
                {"object": "list", "data": []},
                {"openai-organization": "org-leakguard-demo", "openai-project": "proj_abc"},
            )
        return _json(401, {"error": {"code": "invalid_api_key", "type": "invalid_request_error"}})
    if provider == "anthropic":
        if live:
            return _json(
                200, {"data": [], "has_more": False}, {"anthropic-organization-id": "0d1e2f3a-demo"}
            )
        return _json(
            401,
            {
                "type": "error",
                "error": {"type": "authentication_error", "message": "invalid x-api-key"},
            },
        )
    if provider == "sendgrid":
        if live:
            return _json(200, {"scopes": ["mail.send", "alerts.read"]})
        return _json(401, {"errors": [{"field": None, "message": "authorization required"}]})
    if provider == "twilio":
        if live:
            return _json(
                200, {"sid": token.split(":")[0], "friendly_name": "Acme prod", "status": "active"}
            )
        return _json(401, {"code": 20003, "message": "Authenticate", "status": 401})
    if provider == "npm":
        return (
            _json(200, {"username": "leaky-publisher"})
            if live
            else _json(401, {"error": "Unauthorized"})
        )
    if provider == "pypi":
        if live:
            return 400, {"Content-Type": "text/plain"}, b"400 Invalid value for name."
        return (
            403,
            {"Content-Type": "text/plain"},
            (b"403 Invalid or non-existent authentication information."),
        )
    if provider == "huggingface":
        if live:
            return _json(
                200,
                {
                    "type": "user",
                    "name": "leaky-ml",
                    "auth": {"accessToken": {"displayName": "ci", "role": "write"}},
                },
            )
        return _json(401, {"error": "Invalid credentials in Authorization header"})
    if provider == "telegram":
        if live:
            return _json(
                200, {"ok": True, "result": {"id": 123456, "is_bot": True, "username": "leaky_bot"}}
            )
        return _json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    if provider == "discord":
        if live:
            return _json(200, {"id": "80351110224678912", "username": "leakybot", "bot": True})
        return _json(401, {"message": "401: Unauthorized", "code": 0})
    if provider == "datadog":
        return _json(200, {"valid": True}) if live else _json(403, {"errors": ["Forbidden"]})
    if provider == "mailgun":
        if live:
            return _json(200, {"total_count": 1, "items": [{"name": "mg.example.com"}]})
        return 401, {"Content-Type": "text/plain"}, b"Forbidden"
    if provider == "google":
        if live:
            return _json(200, {"models": []})
        return _json(
            400,
            {
                "error": {
                    "code": 400,
                    "message": "API key not valid.",
                    "status": "INVALID_ARGUMENT",
                    "details": [{"reason": "API_KEY_INVALID"}],
                }
            },
        )
    if provider == "supabase":
        if live:
            return _json(200, {"swagger": "2.0", "info": {"title": "PostgREST API"}})
        return _json(401, {"message": "Invalid API key"})
    more = _MORE.get(provider)
    if more is not None:
        return more(token, live)
    return _json(404, {"message": "unknown provider in the fake"})


def _cloudflare(token: str, live: bool):  # type: ignore[no-untyped-def]
    if live:
        status = "disabled" if token.startswith("disabled") else "active"
        return _json(
            200,
            {
                "success": True,
                "errors": [],
                "messages": [{"code": 10000, "message": "This API Token is valid and active"}],
                "result": {"id": "f267e341f3dd4697bd3b9f71dd96247f", "status": status},
            },
        )
    return _json(
        401,
        {"success": False, "errors": [{"code": 1000, "message": "Invalid API Token"}]},
    )


def _simple(doc: object, invalid: object):  # type: ignore[no-untyped-def]
    return lambda token, live: _json(200, doc) if live else _json(401, invalid)


def _figma(token: str, live: bool):  # type: ignore[no-untyped-def]
    if live:
        return _json(200, {"id": "1234567890", "handle": "leaky-design", "email": "d@example.com"})
    return _json(403, {"status": 403, "err": "Invalid token"})


def _linear(token: str, live: bool):  # type: ignore[no-untyped-def]
    if live:
        viewer = {"id": "8f9e1a2b-user", "name": "Leaky Dev", "email": "dev@example.com"}
        return _json(200, {"data": {"viewer": viewer}})
    return _json(
        400,
        {
            "errors": [
                {
                    "message": "Authentication required, not authenticated",
                    "extensions": {
                        "type": "authentication error",
                        "code": "AUTHENTICATION_ERROR",
                        "userPresentableMessage": "You need to authenticate.",
                    },
                }
            ]
        },
    )


def _vercel(token: str, live: bool):  # type: ignore[no-untyped-def]
    if live:
        user = {
            "id": "FpjQZzXL1mRbnQ2Hk9g0aTCk",
            "email": "web@example.com",
            "name": "Leaky Web",
            "username": "leaky-web",
            "defaultTeamId": "team_nllPyCtREAqxxdyFKbbMDlxd",
        }
        return _json(200, {"user": user})
    return _json(
        403, {"error": {"code": "forbidden", "message": "Not authorized", "invalidToken": True}}
    )


def _sentry(token: str, live: bool):  # type: ignore[no-untyped-def]
    org = token.startswith("sntrys_")
    if live:
        user = None if org else {"id": "1", "username": "leaky-dev", "email": "dev@example.com"}
        scopes = ["org:ci"] if org else ["org:read", "project:read"]
        return _json(200, {"version": "0", "auth": {"scopes": scopes}, "user": user})
    return _json(401, {"detail": "Invalid org token" if org else "Invalid token"})


_SHOPIFY_INVALID = "[API] Invalid API key or access token (unrecognized login or wrong password)"
_SHOPIFY_GRAPHQL = re.compile(r"/admin/api/\d{4}-\d{2}/graphql\.json")


def _shopify(shop: str, path: str, body: bytes, live: bool):  # type: ignore[no-untyped-def]
    """The GraphQL Admin API of shop ``shop`` (https://shopify.dev/docs/api/admin-graphql;
    https://shopify.dev/docs/api/usage/response-codes): only POST graphql.json with a JSON
    query; a bad token gets 401 with the documented ``errors`` string, a good one the shop."""
    if not _SHOPIFY_GRAPHQL.fullmatch(path):
        return _json(404, {"errors": "Not Found"})
    if not live:
        return _json(
            401,
            {"errors": _SHOPIFY_INVALID},
        )
    query = json.loads(body or b"{}").get("query", "")
    if "mutation" in query or "shop" not in query:  # the fake serves the one read it knows
        return _json(400, {"errors": [{"message": "the fake answers only the shop query"}]})
    shop_doc = {
        "id": "gid://shopify/Shop/" + str(sum(shop.encode()) * 7919),
        "name": shop.replace("-", " ").title(),
        "myshopifyDomain": f"{shop}.myshopify.com",
    }
    cost = {"requestedQueryCost": 1, "actualQueryCost": 1}
    return _json(200, {"data": {"shop": shop_doc}, "extensions": {"cost": cost}})


# The answers of the providers added with the detection-breadth families, per their references
# (the URL of each is next to its verifier in leakguard/verify/http_verifiers.py).
_MORE = {
    "digitalocean": _simple(
        {
            "account": {
                "droplet_limit": 25,
                "email": "sammy@example.com",
                "uuid": "b6fr89dbf6d9156cace5f3c78dc9851d957381ef",
                "email_verified": True,
                "status": "active",
            }
        },
        {"id": "unauthorized", "message": "Unable to authenticate you"},
    ),
    "cloudflare": _cloudflare,
    "figma": _figma,
    "linear": _linear,
    "heroku": _simple(
        {"id": "01234567-89ab-cdef-0123-456789abcdef", "email": "ops@example.com"},
        {"id": "unauthorized", "message": "Invalid credentials provided."},
    ),
    "netlify": _simple(
        {"id": "5a1b2c3d4e", "email": "web@example.com", "slug": "acme-web"},
        {"code": 401, "message": "Access Denied: your token is invalid"},
    ),
    "notion": _simple(
        {
            "object": "user",
            "id": "16d84278-ab0e-484c-9bdd-b35da3bd8905",
            "name": "pied piper",
            "type": "bot",
            "bot": {"owner": {"type": "workspace", "workspace": True}, "workspace_name": "Acme"},
        },
        {
            "object": "error",
            "status": 401,
            "code": "unauthorized",
            "message": "API token is invalid.",
        },
    ),
    "postman": _simple(
        {"user": {"id": 12345678, "username": "leaky-api", "email": "api@example.com"}},
        {
            "error": {
                "name": "AuthenticationError",
                "message": "Invalid API Key. Every request requires a valid API Key to be sent.",
            }
        },
    ),
    "groq": _simple(
        {"object": "list", "data": []},
        {"error": {"message": "Invalid API Key", "code": "invalid_api_key"}},
    ),
    "mistral": _simple({"object": "list", "data": []}, {"message": "Unauthorized"}),
    "cohere": _simple({"models": []}, {"message": "invalid api token"}),
    "replicate": _simple(
        {"type": "organization", "username": "acme", "name": "Acme Corp"},
        {"title": "Unauthenticated", "detail": "Invalid token.", "status": 401},
    ),
    "doppler": _simple(
        {
            "workplace": {"slug": "acme-workplace", "name": "Acme"},
            "type": "personal",
            "slug": "0a1b2c3d-4e5f",
            "name": "laptop",
        },
        {"messages": ["Invalid Auth token"], "success": False},
    ),
    "terraform": _simple(
        {
            "data": {
                "id": "user-V3R563qtJNcExAkN",
                "type": "users",
                "attributes": {"username": "leaky-ops", "email": "ops@example.com"},
            }
        },
        {"errors": [{"status": "401", "title": "unauthorized"}]},
    ),
    "pulumi": _simple(
        {"githubLogin": "leaky-infra", "name": "Leaky Infra", "email": "infra@example.com"},
        {"code": 401, "message": "Unauthorized: No credentials provided or are invalid."},
    ),
    "vercel": _vercel,
    "sentry": _sentry,
    "newrelic": _simple(
        {"data": {"actor": {"user": {"id": 1234567, "email": "obs@example.com", "name": "Obs"}}}},
        {"errors": [{"message": "Invalid API key"}]},
    ),
    "pagerduty": _simple(
        {"abilities": ["teams", "read_only_users", "service_support_hours"]},
        {"error": {"message": "Authentication failed", "code": 2006}},
    ),
    "snyk": _simple(
        {
            "jsonapi": {"version": "1.0"},
            "data": {
                "type": "user",
                "id": "55a348e2-c3ad-4bbc-b40e-9b232d1f4121",
                "attributes": {
                    "name": "Leaky Sec",
                    "username": "leaky-sec",
                    "email": "sec@example.com",
                },
            },
        },
        {"jsonapi": {"version": "1.0"}, "errors": [{"status": "401", "detail": "Unauthorized"}]},
    ),
}


@contextlib.contextmanager
def provider_fake() -> Iterator[ProviderFake]:
    fake = ProviderFake(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            prefix, _, rest = self.path.lstrip("/").partition("/")
            fake.requests.append((self.command, "/" + prefix + "/" + rest.split("?")[0]))
            provider, _, region = prefix.partition(".")
            token = _credential(provider, self, "/" + rest, body)
            live = token in fake.live and fake.regions.get(token, "") == region
            if token in fake.flaky:
                fake.flaky.discard(token)
                status, headers, payload = _json(
                    429, {"error": "rate limited"}, {"Retry-After": "0"}
                )
            elif token == RATE_LIMITED or token.endswith(":" + RATE_LIMITED):
                status, headers, payload = _json(
                    429, {"error": "rate limited"}, {"Retry-After": "0"}
                )
            elif token == SERVER_ERROR:
                status, headers, payload = _json(500, {"error": "internal"})
            elif provider == "shopify":  # one stand-in per shop: the shop is the "region"
                status, headers, payload = _shopify(region or "fake-shop", "/" + rest, body, live)
            else:
                status, headers, payload = _answer(provider, "/" + rest, token, live)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
