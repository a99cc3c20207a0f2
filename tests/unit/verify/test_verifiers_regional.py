"""The verifiers of providers with regional hosts (Sentry, New Relic, PagerDuty, Snyk) and the
rest of issue 14's second batch (Vercel; Shopify: test_shopify.py), against the local provider
fake answering as each provider's API reference documents."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from leakguard.errors import UsageError
from leakguard.model import Finding
from leakguard.verify.http_verifiers import HTTP_VERIFIERS, sentry_regions
from leakguard.verify.interface import Reply, Status, Transport
from leakguard.verify.runner import VerifyOptions, parse_endpoints, plan, verify_findings
from leakguard.verify.transport import HttpTransport
from tests.support.provider_fakes import SERVER_ERROR, ProviderFake, provider_fake
from tests.unit.verify.test_verifiers import REGIONAL_AND_MORE, finding, stand_ins

TABLE = {v.name: v for v in HTTP_VERIFIERS}
SECRETS = {name: (rule_id, secret) for name, rule_id, secret, _ in REGIONAL_AND_MORE}

# every official host of each regional provider, written out from its reference (not read back
# from the table): the first is the one a dry run shows
OFFICIAL = {
    "sentry": {"us": "https://sentry.io", "de": "https://de.sentry.io"},
    "newrelic": {
        "us": "https://api.newrelic.com",
        "eu": "https://api.eu.newrelic.com",
        "jp": "https://api.jp.newrelic.com",
    },
    "pagerduty": {"us": "https://api.pagerduty.com", "eu": "https://api.eu.pagerduty.com"},
    "snyk": {
        "us": "https://api.snyk.io",
        "us2": "https://api.us.snyk.io",
        "eu": "https://api.eu.snyk.io",
        "au": "https://api.au.snyk.io",
    },
}
# a region other than the first, where a credential is made to live
ELSEWHERE = {"sentry": "de", "newrelic": "eu", "pagerduty": "eu", "snyk": "au"}


@pytest.fixture(scope="module")
def fake() -> Iterator[ProviderFake]:
    with provider_fake() as server:
        yield server


def _ask(fake: ProviderFake, name: str, found: Finding, secret: str, **endpoints: str) -> object:
    options = VerifyOptions(endpoints=endpoints or stand_ins(fake, name), min_interval=0.0)
    return verify_findings([found], {found.fingerprint: secret}, options)[found.fingerprint]


def _sentry_org_token(payload: dict[str, object]) -> str:
    middle = base64.b64encode(json.dumps(payload).encode()).decode()
    return f"sntrys_{middle}_{'A' * 43}"


def _requests(fake: ProviderFake, since: int) -> list[str]:
    return [path.split("/")[1] for _, path in fake.requests[since:]]


def test_the_regions_are_the_official_hosts_written_in_the_references() -> None:
    for name, hosts in OFFICIAL.items():
        verifier = TABLE[name]
        assert dict(verifier.regions) == hosts, name
        assert verifier.base_url == next(iter(hosts.values()))
        assert verifier.endpoint_names()[0] == name
        assert set(verifier.endpoint_names()[1:]) == {f"{name}@{label}" for label in hosts} - {
            f"{name}@{next(iter(hosts))}"
        }


@pytest.mark.parametrize("name", sorted(ELSEWHERE))
def test_a_credential_of_another_region_is_live_there(fake: ProviderFake, name: str) -> None:
    rule_id, secret = SECRETS[name]
    region = ELSEWHERE[name]
    fake.live.add(secret)
    fake.regions[secret] = region
    before = len(fake.requests)
    try:
        answer = _ask(fake, name, finding(name, rule_id, secret), secret)
    finally:
        fake.live.discard(secret)
        del fake.regions[secret]
    assert answer.status == Status.LIVE, answer
    assert dict(answer.identity)["region"] == region
    # the official host of that region is what the evidence shows, never the stand-in
    assert answer.endpoint.split(" ")[1].startswith(OFFICIAL[name][region] + "/")
    asked = _requests(fake, before)
    assert asked[0] == name and asked[-1] == f"{name}.{region}"


@pytest.mark.parametrize("name", sorted(ELSEWHERE))
def test_revoked_only_when_every_region_refused(fake: ProviderFake, name: str) -> None:
    rule_id, secret = SECRETS[name]
    before = len(fake.requests)
    answer = _ask(fake, name, finding(name, rule_id, secret), secret)
    assert answer.status == Status.REVOKED, answer
    assert len(fake.requests) - before == len(OFFICIAL[name])  # each region asked once
    for host in OFFICIAL[name].values():
        assert host in answer.endpoint
    assert secret not in json.dumps(answer.to_dict())


@pytest.mark.parametrize("name", sorted(ELSEWHERE))
def test_a_refusal_by_the_first_region_alone_is_unknown(fake: ProviderFake, name: str) -> None:
    """The first region refuses; another cannot answer (a server error after retries): the
    credential may live there, so it is not called revoked."""
    rule_id, secret = SECRETS[name]
    region = ELSEWHERE[name]
    endpoints = stand_ins(fake, name)
    with provider_fake() as gone:
        pass  # a closed port: that region is unreachable
    endpoints[f"{name}@{region}"] = f"{gone.url}/{name}.{region}"
    answer = _ask(fake, name, finding(name, rule_id, secret), secret, **endpoints)
    assert answer.status == Status.UNKNOWN, answer
    assert "refused by us" in answer.detail and region in answer.detail


@pytest.mark.parametrize("name", sorted(ELSEWHERE))
def test_a_sandbox_for_one_region_never_reaches_the_real_hosts(
    fake: ProviderFake, name: str
) -> None:
    rule_id, secret = SECRETS[name]
    bases: list[str] = []

    def recording(base: str, local: bool) -> Transport:
        bases.append(base)
        return HttpTransport(base, allow_private=local)

    found = finding(name, rule_id, secret)
    options = VerifyOptions(endpoints=fake.endpoints(name), min_interval=0.0)
    answers = verify_findings([found], {found.fingerprint: secret}, options, transport=recording)
    answer = answers[found.fingerprint]
    assert bases == [f"{fake.url}/{name}"]  # the stand-in only: no official host was called
    assert answer.status == Status.UNKNOWN and "not asked" in answer.detail


@pytest.mark.parametrize("name", [n for n, *_ in REGIONAL_AND_MORE])
def test_a_429_is_retried_then_the_answer_counts(fake: ProviderFake, name: str) -> None:
    rule_id, secret = SECRETS[name]
    fake.live.add(secret)
    fake.flaky.add(secret)
    before = len(fake.requests)
    try:
        answer = _ask(fake, name, finding(name, rule_id, secret), secret)
    finally:
        fake.live.discard(secret)
        fake.flaky.discard(secret)
    assert answer.status == Status.LIVE, answer
    assert _requests(fake, before) == [name, name]  # the 429, then the same host again


@pytest.mark.parametrize("name", [n for n, *_ in REGIONAL_AND_MORE])
def test_server_errors_are_unknown(fake: ProviderFake, name: str) -> None:
    rule_id, _ = SECRETS[name]
    found = finding(name, rule_id, SERVER_ERROR)
    before = len(fake.requests)
    answer = _ask(fake, name, found, SERVER_ERROR)
    assert answer.status == Status.UNKNOWN, answer
    # the first try and two retries on each host asked
    assert len(fake.requests) - before == 3 * max(1, len(OFFICIAL.get(name, {})))


def test_a_sentry_org_token_is_asked_only_in_the_region_it_names(fake: ProviderFake) -> None:
    token = _sentry_org_token(
        {"iat": 1, "url": "https://sentry.io", "region_url": "https://de.sentry.io", "org": "a"}
    )
    found = finding("sentry", "sentry-org-auth-token", token)
    before = len(fake.requests)
    dead = _ask(fake, "sentry", found, token)
    assert dead.status == Status.REVOKED, dead  # the one region it belongs to refused it
    assert _requests(fake, before) == ["sentry.de"]
    fake.live.add(token)
    fake.regions[token] = "de"
    try:
        live = _ask(fake, "sentry", found, token)
    finally:
        fake.live.discard(token)
        del fake.regions[token]
    assert live.status == Status.LIVE
    assert dict(live.identity) == {"scopes": "org:ci", "region": "de"}  # no user: an org token


def test_a_sentry_org_token_naming_only_sentry_io_is_asked_everywhere(fake: ProviderFake) -> None:
    # org tokens of every region carry url/region_url sentry.io (getsentry/sentry#116550)
    token = _sentry_org_token({"iat": 1, "url": "https://sentry.io", "org": "a"})
    before = len(fake.requests)
    answer = _ask(fake, "sentry", finding("sentry", "sentry-org-auth-token", token), token)
    assert answer.status == Status.REVOKED
    assert _requests(fake, before) == ["sentry", "sentry.de"]


@pytest.mark.parametrize(
    "url",
    [
        "https://sentry.example.com",
        "https://de.sentry.io.evil.example",
        "http://127.0.0.1:9000",
        "https://evil.example/?https://de.sentry.io",
    ],
)
def test_a_sentry_token_naming_another_server_is_never_sent(fake: ProviderFake, url: str) -> None:
    token = _sentry_org_token({"iat": 1, "url": url, "region_url": url, "org": "a"})
    assert sentry_regions(token) == ()
    before = len(fake.requests)
    answer = _ask(fake, "sentry", finding("sentry", "sentry-org-auth-token", token), token)
    assert answer.status == Status.UNKNOWN and "not asked" in answer.detail
    assert len(fake.requests) == before


def test_sentry_region_names() -> None:
    assert sentry_regions("sntryu_" + "0" * 64) is None
    assert sentry_regions("sntrys_not-base64-json_" + "A" * 43) is None
    us = _sentry_org_token({"url": "https://sentry.io", "region_url": "https://us.sentry.io"})
    assert sentry_regions(us) == ("us",)


def test_the_sentry_index_answers_anyone_so_no_auth_object_is_not_live() -> None:
    sentry = TABLE["sentry"]
    anonymous = Reply(200, {}, b'{"version": "0", "auth": null, "user": null}')
    assert sentry.classify(anonymous)[0] == Status.UNKNOWN
    other = Reply(401, {}, b'{"detail": "Authentication credentials were not provided."}')
    assert sentry.classify(other)[0] == Status.UNKNOWN


def test_a_vercel_403_is_revoked_only_with_the_invalid_token_flag(fake: ProviderFake) -> None:
    vercel = TABLE["vercel"]
    # the documented 403 (a missing token, or a token without access to the scope)
    scope = Reply(403, {}, b'{"error": {"code": "forbidden", "message": "Not authorized"}}')
    assert vercel.classify(scope)[0] == Status.UNKNOWN
    assert vercel.classify(Reply(401, {}, b"{}"))[0] == Status.UNKNOWN
    bad = b'{"error": {"code": "forbidden", "message": "Not authorized", "invalidToken": true}}'
    assert vercel.classify(Reply(403, {}, bad))[0] == Status.REVOKED
    legacy = "Ab3dE5gH7jK9mN1pQ3sTuVwX"
    fake.live.add(legacy)
    try:
        answer = _ask(
            fake, "vercel", finding("vercel", "vercel-access-token-legacy", legacy), legacy
        )
    finally:
        fake.live.discard(legacy)
    assert answer.status == Status.LIVE
    assert answer.endpoint == "GET https://api.vercel.com/v2/user"


def test_region_endpoint_names_are_accepted_and_others_refused() -> None:
    parsed = parse_endpoints(["sentry=http://127.0.0.1:1/s,sentry@de=http://127.0.0.1:1/d"])
    assert parsed == {"sentry": "http://127.0.0.1:1/s", "sentry@de": "http://127.0.0.1:1/d"}
    for bad in ("sentry@xx=http://127.0.0.1:1", "vercel@eu=http://127.0.0.1:1"):
        with pytest.raises(UsageError):
            parse_endpoints([bad])


def test_kinds_with_no_read_only_identity_call_are_not_verified(fake: ProviderFake) -> None:
    """Ingest and event keys (a check would be a write), and Shopify shared secrets (they sign
    HMACs; Admin tokens have their own verifier: test_shopify.py) get no verifier and no call."""
    from leakguard.engine.rules import RuleSet

    rules = {r.id: r.provider for r in RuleSet.load().rules}
    kinds = [
        ("newrelic", "newrelic-insights-insert-key"),
        ("newrelic", "newrelic-license-key"),
        ("pagerduty", "pagerduty-integration-key"),
        ("shopify", "shopify-shared-secret"),
    ]
    before = len(fake.requests)
    for provider, rule_id in kinds:
        assert rules.get(rule_id) == provider, rule_id
        secret = "shpss_" + "0a" * 16
        found = finding(provider, rule_id, secret, shop="acme.myshopify.com")
        [(_, probe)] = plan([found], VerifyOptions())
        assert probe is None, rule_id
        options = VerifyOptions(endpoints=fake.endpoints("github"), min_interval=0.0)
        assert verify_findings([found], {found.fingerprint: secret}, options) == {}
    assert len(fake.requests) == before


def test_every_rule_of_the_new_families_maps_to_its_verifier() -> None:
    from leakguard.engine.rules import RuleSet

    rules = {r.id: r.provider for r in RuleSet.load().rules}
    for name, rule_id in [
        ("vercel", "vercel-access-token"),
        ("vercel", "vercel-access-token-legacy"),
        ("sentry", "sentry-org-auth-token"),
        ("sentry", "sentry-user-auth-token"),
        ("sentry", "sentry-auth-token-legacy"),
        ("newrelic", "newrelic-user-api-key"),
        ("pagerduty", "pagerduty-api-key"),
        ("snyk", "snyk-api-token"),
    ]:
        assert rules.get(rule_id) == name, rule_id
        [(_, probe)] = plan([finding(name, rule_id, "x")], VerifyOptions())
        assert probe is not None and probe.verifier == name, rule_id


@pytest.mark.parametrize("name", sorted(ELSEWHERE))
def test_one_host_alone_never_says_revoked_for_a_regional_provider(
    fake: ProviderFake, name: str
) -> None:
    """``verify`` with a single transport (the Verifier protocol's call) cannot ask every
    region: a refusal there stays unknown."""
    rule_id, secret = SECRETS[name]
    verifier = TABLE[name]
    transport = HttpTransport(f"{fake.url}/{name}", allow_private=True)
    answer = verifier.verify(
        finding(name, rule_id, secret), secret, transport, f"{fake.url}/{name}"
    )
    assert answer.status == Status.UNKNOWN and "one region only" in answer.detail
