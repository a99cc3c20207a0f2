"""Shopify Admin API tokens: the GraphQL Admin ``shop`` query, on the shops the user named.

A token (``shpat_``, ``shpca_``, ``shppa_``) works only on its own shop's host,
``https://<shop>.myshopify.com``, and does not name the shop. So, as for Vault, there is no fixed
official host: the shops come from ``--shopify-shop`` only, never from scanned content (a
``*.myshopify.com`` next to the token is never asked), and only as a bare shop name, so the one
host shape ever called is ``https://<name>.myshopify.com``. Without a shop the answer is
``unknown`` and nothing is sent.

The call, from Shopify's published reference:

* https://shopify.dev/docs/api/admin-graphql (all GraphQL Admin requests are ``POST
  https://{store}.myshopify.com/admin/api/{version}/graphql.json`` with the token in the
  ``X-Shopify-Access-Token`` header); the ``shop`` query returns the shop the token belongs to
  (``id``, ``name``, ``myshopifyDomain``) and reads nothing else. The REST ``GET shop.json`` is
  not used: https://shopify.dev/docs/api/admin-rest says "The REST Admin API is a legacy API as
  of October 1, 2024".
* https://shopify.dev/docs/api/usage/versioning (each stable version is supported for at least
  12 months; a request to a version no longer supported is answered by the oldest supported
  one, so the pinned version below ages without breaking this read of three long-stable fields).
* https://shopify.dev/docs/api/usage/response-codes (401 Unauthorized: "the necessary
  authentication credentials are not present in the request or are incorrect"; 402 a frozen
  shop, 403, 404, 423 a locked shop: none of them says the token is dead). The 401 body is
  ``{"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}``.

Tri-state: 200 with a ``shop`` object is ``live`` (shop name, id, myshopify domain). A 401 means
"not a valid token *for this shop*": a live token of another shop gets it too. So a 401 is read
as ``revoked`` only when exactly one shop is configured (the user said which shop their tokens
belong to); with several, a 401 from every one of them is ``unknown`` (the token may be a live
token of a shop not listed, and a wrong ``revoked`` would lower a live critical token to low).
Anything else is ``unknown``; 429 and 5xx are retried by the shared transport first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from leakguard.errors import UsageError
from leakguard.model import Finding
from leakguard.redact import looks_like_credential, redact
from leakguard.verify.interface import Probe, Reply, Result, Status, Transport, TransportError

NAME = "shopify"
API_VERSION = "2026-07"
PATH = f"/admin/api/{API_VERSION}/graphql.json"
QUERY = "{ shop { id name myshopifyDomain } }"
SUFFIX = ".myshopify.com"
# the token kinds the Admin API takes in X-Shopify-Access-Token (not shpss_ shared secrets,
# which sign HMACs and have no identity call)
RULES = ("shopify-admin-api-token", "shopify-custom-app-token", "shopify-private-app-token")
NO_SHOP = "<no --shopify-shop>"

_SHOP_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")  # one DNS label under myshopify.com

TransportFor = Callable[[str, bool], Transport]  # (base URL, is a test/sandbox endpoint)


def shop_name(value: str) -> str:
    """``acme`` or ``acme.myshopify.com`` -> ``acme``; anything else is a usage error (a URL,
    another domain, a port, a path, a user part: never a host to call)."""
    text = value.strip().lower()
    name = text.removesuffix(SUFFIX)
    if not _SHOP_NAME.fullmatch(name):
        # a token pasted here by mistake is shown redacted, never whole
        shown = redact(value) if looks_like_credential(value) else repr(value)
        raise UsageError(
            f"invalid --shopify-shop {shown}",
            hint="write the shop's name (acme) or its myshopify domain (acme.myshopify.com)",
        )
    return name


def parse_shops(values: Iterable[str]) -> tuple[str, ...]:
    """The shops of ``--shopify-shop`` (repeatable; comma-separated lists allowed), checked and
    deduplicated in the order given."""
    shops: dict[str, None] = {}
    for value in values:
        for item in value.split(","):
            if item.strip():
                shops.setdefault(shop_name(item), None)
    return tuple(shops)


def endpoint_name(name: str) -> str | None:
    """``shopify@SHOP`` (a ``--verify-endpoint`` name standing in for one shop), normalised;
    None when ``name`` is not one (a bad shop raises like ``--shopify-shop``)."""
    prefix, sep, shop = name.partition("@")
    if prefix != NAME or not sep:
        return None
    return f"{NAME}@{shop_name(shop)}"


def official_url(shop: str) -> str:
    return f"https://{shop}{SUFFIX}"


def _json(reply: Reply) -> Any:
    try:
        return json.loads(reply.body or b"null")
    except ValueError:
        return None


def classify(reply: Reply) -> tuple[Status, dict[str, str], str]:
    """One shop's answer: live with the shop's identity, revoked (for this shop) or unknown."""
    doc = _json(reply)
    data = doc.get("data") if isinstance(doc, dict) else None
    shop = data.get("shop") if isinstance(data, dict) else None
    if reply.status == 200 and isinstance(shop, dict) and shop.get("id"):
        identity = {
            key: str(shop[field_])
            for key, field_ in (("shop", "name"), ("shop_id", "id"), ("domain", "myshopifyDomain"))
            if isinstance(shop.get(field_), str | int) and shop.get(field_) != ""
        }
        return Status.LIVE, identity, "the shop query answered"
    if reply.status == 401:
        return Status.REVOKED, {}, "Invalid API key or access token"
    errors = doc.get("errors") if isinstance(doc, dict) else None
    codes = (
        [
            str(e.get("extensions", {}).get("code", ""))
            for e in errors
            if isinstance(e, dict) and isinstance(e.get("extensions"), dict)
        ]
        if isinstance(errors, list)
        else []
    )
    return Status.UNKNOWN, {}, f"HTTP {reply.status}" + (f" {','.join(codes)}" if codes else "")


@dataclass
class _Tally:
    refused: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    last_status: int | None = None


class ShopifyVerifier:
    """Asks each configured shop in turn: the first ``live`` wins (see the module docstring for
    how refusals read)."""

    name = NAME

    def __init__(self, shops: tuple[str, ...] = (), endpoints: Mapping[str, str] | None = None):
        self.shops = shops
        self.endpoints = dict(endpoints or {})

    def handles(self, finding: Finding) -> bool:
        return finding.provider == NAME and finding.rule_id in RULES

    def _override(self, shop: str) -> str | None:
        return self.endpoints.get(f"{NAME}@{shop}") or self.endpoints.get(NAME)

    def _sandboxed(self) -> bool:
        return any(key == NAME or key.startswith(NAME + "@") for key in self.endpoints)

    def probe(self, finding: Finding) -> Probe | None:
        if not self.shops:
            return Probe(self.name, "POST", NO_SHOP + PATH)
        shown = []
        for shop in self.shops:
            override = self._override(shop)
            if override is not None:
                shown.append(f"{override}{PATH} (test endpoint for {shop})")
            elif self._sandboxed():
                shown.append(f"{official_url(shop)}{PATH} (not asked: no test endpoint)")
            else:
                shown.append(official_url(shop) + PATH)
        return Probe(self.name, "POST", ", ".join(shown))

    def verify(self, finding: Finding, secret: str, transport: Transport) -> Result:
        return self.verify_shops(finding, secret, lambda base, local: transport)

    def verify_shops(self, finding: Finding, secret: str, transport_for: TransportFor) -> Result:
        if not self.shops:
            return Result(
                Status.UNKNOWN,
                self.name,
                f"POST {NO_SHOP}{PATH}",
                detail="pass --shopify-shop to check Shopify tokens",
            )
        tally = _Tally()
        headers = {
            "X-Shopify-Access-Token": secret,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        body = json.dumps({"query": QUERY}).encode()
        for shop in self.shops:
            override = self._override(shop)
            if override is None and self._sandboxed():
                tally.notes.append(f"{shop}: no test endpoint given, not asked")
                continue
            base = override or official_url(shop)
            try:
                reply = transport_for(base, override is not None).send(
                    "POST", base + PATH, headers, body
                )
            except TransportError as exc:
                tally.notes.append(f"{shop}: {exc.message}")
                continue
            status, identity, detail = classify(reply)
            tally.last_status = reply.status
            if status == Status.LIVE:
                return Result(
                    Status.LIVE,
                    self.name,
                    f"POST {official_url(shop)}{PATH}",
                    http_status=reply.status,
                    identity=tuple(sorted(identity.items())),
                    detail=f"{detail} ({shop}{SUFFIX})",
                )
            if status == Status.REVOKED:
                tally.refused.append(shop)
            else:
                tally.notes.append(f"{shop}: {detail}")
        return self._verdict(tally)

    def _verdict(self, tally: _Tally) -> Result:
        endpoint = ", ".join(f"POST {official_url(shop)}{PATH}" for shop in self.shops)
        hosts = ", ".join(shop + SUFFIX for shop in tally.refused)
        if tally.refused == list(self.shops) and len(self.shops) == 1:
            return Result(
                Status.REVOKED,
                self.name,
                endpoint,
                http_status=tally.last_status,
                detail=f"Invalid API key or access token on {hosts}, the one shop configured",
            )
        parts = [f"refused by {hosts}"] if tally.refused else []
        if tally.refused == list(self.shops):
            parts.append("a live token of a shop not configured is refused the same way")
        return Result(
            Status.UNKNOWN,
            self.name,
            endpoint,
            http_status=tally.last_status,
            detail="; ".join(parts + tally.notes) or "no shop asked",
        )
