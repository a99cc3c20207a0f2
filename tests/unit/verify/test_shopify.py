"""The Shopify verifier: the GraphQL Admin ``shop`` query on the shops the user named, against
the local fake of Shopify's Admin API (tests/support/provider_fakes.py), which answers as
https://shopify.dev/docs/api/admin-graphql and .../usage/response-codes document."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leakguard.errors import UsageError
from leakguard.model import Finding
from leakguard.verify.interface import Reply, Result, Status, Transport
from leakguard.verify.runner import (
    VerifyOptions,
    parse_endpoints,
    plan,
    verifier_for,
    verify_findings,
)
from leakguard.verify.shopify import classify, parse_shops, shop_name
from leakguard.verify.transport import HttpTransport
from tests.support.provider_fakes import RATE_LIMITED, SERVER_ERROR, ProviderFake, provider_fake
from tests.unit.verify.test_verifiers import finding

TOKEN = "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"
RULE = "shopify-admin-api-token"
# written out from Shopify's reference, not read from the module
ACME_CALL = "POST https://acme.myshopify.com/admin/api/2026-07/graphql.json"
BETA_CALL = "POST https://beta.myshopify.com/admin/api/2026-07/graphql.json"


@pytest.fixture()
def fake() -> Iterator[ProviderFake]:
    with provider_fake() as server:
        yield server


def _shopify(secret: str = TOKEN, rule_id: str = RULE, **attributes: str) -> Finding:
    return finding("shopify", rule_id, secret, **attributes)


def _ask(
    fake: ProviderFake, shops: tuple[str, ...], *stand_ins: str, secret: str = TOKEN
) -> Result:
    found = _shopify(secret)
    endpoints = fake.endpoints(*(f"shopify@{shop}" for shop in stand_ins or shops))
    options = VerifyOptions(endpoints=endpoints, shopify_shops=shops, min_interval=0.0)
    return verify_findings([found], {found.fingerprint: secret}, options)[found.fingerprint]


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("acme", "acme"),
        ("acme.myshopify.com", "acme"),
        ("Acme-Store.MyShopify.com", "acme-store"),
        (" 3d-prints ", "3d-prints"),
    ],
)
def test_a_shop_is_its_name_or_its_myshopify_domain(value: str, name: str) -> None:
    assert shop_name(value) == name


@pytest.mark.parametrize(
    "value",
    [
        "",
        "evil.com",
        "acme.myshopify.com.evil.com",
        "evil.com/acme.myshopify.com",
        "https://acme.myshopify.com",
        "acme.myshopify.com:8443",
        "user@acme.myshopify.com",
        "acme.myshopify.com/admin",
        "127.0.0.1",
        "-acme",
        "acme_store",
        "a.b",
        "ac\u00e9me",
        "a" * 64,
        "acme.shopify.com",
    ],
)
def test_anything_else_is_refused_with_one_clear_line(value: str) -> None:
    with pytest.raises(UsageError) as caught:
        shop_name(value)
    assert caught.value.message == f"invalid --shopify-shop {value!r}"
    assert "\n" not in caught.value.message


def test_a_token_pasted_as_the_shop_is_never_echoed() -> None:
    token = "shpat_" + "0123456789abcdef" * 2
    with pytest.raises(UsageError) as caught:
        shop_name(token)
    assert token not in caught.value.message and "invalid --shopify-shop" in caught.value.message


def test_shops_are_repeatable_comma_separated_and_deduplicated() -> None:
    assert parse_shops(["acme", "beta.myshopify.com,acme.myshopify.com", " "]) == ("acme", "beta")
    with pytest.raises(UsageError):
        parse_shops(["acme", "evil.com"])


def test_live_answers_with_the_shop_identity(fake: ProviderFake) -> None:
    fake.live.add(TOKEN)
    fake.regions[TOKEN] = "acme"
    answer = _ask(fake, ("acme",))
    assert answer.status == Status.LIVE
    assert answer.http_status == 200 and answer.endpoint == ACME_CALL
    identity = dict(answer.identity)
    assert identity["domain"] == "acme.myshopify.com"
    assert identity["shop"] == "Acme"
    assert identity["shop_id"].startswith("gid://shopify/Shop/")
    assert fake.requests == [("POST", "/shopify.acme/admin/api/2026-07/graphql.json")]
    assert TOKEN not in repr(answer)


def test_a_401_is_revoked_when_one_shop_is_configured(fake: ProviderFake) -> None:
    answer = _ask(fake, ("acme",))
    assert answer.status == Status.REVOKED and answer.http_status == 401
    assert "acme.myshopify.com" in answer.detail and answer.endpoint == ACME_CALL


def test_a_401_from_every_one_of_two_shops_is_still_unknown(fake: ProviderFake) -> None:
    """It may be a live token of a third shop: a wrong revoked would hide a live token."""
    answer = _ask(fake, ("acme", "beta"))
    assert answer.status == Status.UNKNOWN
    assert "acme.myshopify.com, beta.myshopify.com" in answer.detail
    assert answer.endpoint == f"{ACME_CALL}, {BETA_CALL}"
    assert [path for _, path in fake.requests] == [
        "/shopify.acme/admin/api/2026-07/graphql.json",
        "/shopify.beta/admin/api/2026-07/graphql.json",
    ]


def test_a_token_of_the_second_shop_is_live_there(fake: ProviderFake) -> None:
    fake.live.add(TOKEN)
    fake.regions[TOKEN] = "beta"
    answer = _ask(fake, ("acme", "beta"))
    assert answer.status == Status.LIVE and answer.endpoint == BETA_CALL
    assert dict(answer.identity)["domain"] == "beta.myshopify.com"


def test_no_shop_configured_is_unknown_and_calls_nothing(fake: ProviderFake) -> None:
    found = _shopify()
    options = VerifyOptions(endpoints=fake.endpoints("shopify"), min_interval=0.0)
    [(_, probe)] = plan([found], options)
    assert probe is not None and probe.endpoint.startswith("POST <no --shopify-shop>")
    answer = verify_findings([found], {found.fingerprint: TOKEN}, options)[found.fingerprint]
    assert answer.status == Status.UNKNOWN
    assert answer.detail == "pass --shopify-shop to check Shopify tokens"
    assert fake.requests == []


def test_rate_limited_is_retried_then_unknown(fake: ProviderFake) -> None:
    answer = _ask(fake, ("acme",), secret=RATE_LIMITED)
    assert answer.status == Status.UNKNOWN and answer.http_status == 429
    assert len(fake.requests) == 3  # the shared transport's two retries


def test_a_server_error_is_retried_then_unknown(fake: ProviderFake) -> None:
    answer = _ask(fake, ("acme",), secret=SERVER_ERROR)
    assert answer.status == Status.UNKNOWN and answer.http_status == 500
    assert len(fake.requests) == 3


@pytest.mark.parametrize(
    ("status", "body", "detail"),
    [
        (402, b'{"errors":"Unavailable Shop"}', "HTTP 402"),  # a frozen shop
        (423, b'{"errors":"Locked"}', "HTTP 423"),  # a locked shop
        (404, b'{"errors":"Not Found"}', "HTTP 404"),  # no such shop
        (403, b"", "HTTP 403"),
        (  # GraphQL's own throttling answer: 200, errors, no data
            200,
            b'{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}]}',
            "HTTP 200 THROTTLED",
        ),
        (200, b'{"data":{"shop":null}}', "HTTP 200"),
    ],
)
def test_answers_that_do_not_say_are_unknown(status: int, body: bytes, detail: str) -> None:
    assert classify(Reply(status, {}, body)) == (Status.UNKNOWN, {}, detail)


def test_a_shop_without_a_stand_in_is_not_asked_in_a_sandbox_run(fake: ProviderFake) -> None:
    answer = _ask(fake, ("acme", "beta"), "acme")
    options = VerifyOptions(
        endpoints=fake.endpoints("shopify@acme"), shopify_shops=("acme", "beta")
    )
    [(_, probe)] = plan([_shopify()], options)
    assert probe is not None and probe.endpoint == (
        f"POST {fake.url}/shopify.acme/admin/api/2026-07/graphql.json (test endpoint for acme), "
        "https://beta.myshopify.com/admin/api/2026-07/graphql.json (not asked: no test endpoint)"
    )
    assert answer.status == Status.UNKNOWN
    assert "beta: no test endpoint given, not asked" in answer.detail
    assert len(fake.requests) == 1


def test_a_myshopify_host_in_the_scanned_content_is_never_contacted(fake: ProviderFake) -> None:
    """The finding's surroundings name another shop: only the configured one is asked."""
    found = _shopify(shop="evil-shop.myshopify.com", url="https://evil-shop.myshopify.com/admin")
    options = VerifyOptions(
        endpoints=fake.endpoints("shopify@acme"), shopify_shops=("acme",), min_interval=0.0
    )
    [(_, probe)] = plan([found], options)
    assert probe is not None and "evil" not in probe.endpoint
    bases: list[str] = []

    def recording(base: str, local: bool) -> Transport:
        bases.append(base)
        return HttpTransport(base, allow_private=local)

    verify_findings([found], {found.fingerprint: TOKEN}, options, transport=recording)
    assert bases == [f"{fake.url}/shopify.acme"]
    # without a stand-in the one host is the configured shop's official one
    plain = VerifyOptions(shopify_shops=("acme",))
    [(_, probe)] = plan([found], plain)
    assert probe is not None and probe.endpoint == ACME_CALL


def test_stand_in_names_are_checked_like_shops() -> None:
    assert parse_endpoints(["shopify@Acme.myshopify.com=http://127.0.0.1:1"]) == {
        "shopify@acme": "http://127.0.0.1:1"
    }
    for bad in ("shopify@evil.com=http://127.0.0.1:1", "shopify@=http://127.0.0.1:1"):
        with pytest.raises(UsageError):
            parse_endpoints([bad])


def test_only_admin_tokens_are_handled() -> None:
    options = VerifyOptions(shopify_shops=("acme",))
    for rule_id in (RULE, "shopify-custom-app-token", "shopify-private-app-token"):
        verifier = verifier_for(_shopify(rule_id=rule_id), options)
        assert verifier is not None and verifier.name == "shopify", rule_id
    secret = _shopify("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", "shopify-shared-secret")
    assert verifier_for(secret, options) is None
