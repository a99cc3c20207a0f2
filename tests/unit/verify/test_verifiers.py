"""Every HTTP verifier against a local fake that answers as the provider's API reference says."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from leakguard.model import Finding, Location, Severity
from leakguard.redact import fingerprint, redact
from leakguard.verify.http_verifiers import HTTP_VERIFIERS
from leakguard.verify.interface import Status
from leakguard.verify.runner import VerifyOptions, plan, verify_findings
from leakguard.verify.transport import HttpTransport
from tests.support.provider_fakes import RATE_LIMITED, SERVER_ERROR, ProviderFake, provider_fake


def _jwt(claims: dict[str, object]) -> str:
    def part(doc: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk"


SUPABASE_JWT = _jwt({"iss": "supabase", "ref": "abcdefghijklmnopqrst", "role": "service_role"})

# The verifiers of issue 14's second batch (regional ones ask every region; see
# test_verifiers_regional.py): name, rule id, a value in its shape, the first official host
REGIONAL_AND_MORE = [
    (
        "vercel",
        "vercel-access-token",
        "vcp_" + "Ab3dE5gH7jK9mN1pQ3sT" * 2 + "uV",
        "https://api.vercel.com",
    ),
    ("sentry", "sentry-user-auth-token", "sntryu_" + "0123456789abcdef" * 4, "https://sentry.io"),
    (
        "newrelic",
        "newrelic-user-api-key",
        "NRAK-AB3DE5GH7JK9MN1PQ3STUVWXYZ1",
        "https://api.newrelic.com",
    ),
    ("pagerduty", "pagerduty-api-key", "u+Ab3dE5gH7jK9mN1pQ3sT", "https://api.pagerduty.com"),
    ("snyk", "snyk-api-token", "3f2c9a1e-7b4d-4e6f-9a8b-1c2d3e4f5a6b", "https://api.snyk.io"),
]

# The verifiers added for the detection-breadth families: name (= provider), rule id, a value in
# its shape, and the official host (written out here, not read from the table)
NEW = [
    (
        "figma",
        "figma-personal-access-token",
        "figd_" + "Ab3dE5gH7jK9mN1pQ3sTuVwXyZ1234567890_-Ab",
        "https://api.figma.com",
    ),
    ("linear", "linear-api-key", "lin_api_" + "Ab3dE5gH7jK9mN1pQ3sT" * 2, "https://api.linear.app"),
    (
        "digitalocean",
        "digitalocean-personal-access-token",
        "dop_v1_" + "0123456789abcdef" * 4,
        "https://api.digitalocean.com",
    ),
    (
        "cloudflare",
        "cloudflare-api-token",
        "Ab3dE5gH7jK9mN1pQ3sTuVwXyZ1234567890_-Ab",
        "https://api.cloudflare.com",
    ),
    (
        "heroku",
        "heroku-api-key",
        "HRKU-" + "Ab3dE5gH7jK9" * 5,
        "https://api.heroku.com",
    ),
    (
        "netlify",
        "netlify-access-token",
        "nfp_" + "Ab3dE5gH7jK9" * 3,
        "https://api.netlify.com",
    ),
    (
        "notion",
        "notion-integration-token",
        "ntn_12345678901" + "Ab3dE5gH7jK9mN1pQ3sTuVwXyZ123456789",
        "https://api.notion.com",
    ),
    (
        "postman",
        "postman-api-key",
        "PMAK-" + "0123456789abcdef01234567-" + "0123456789abcdef" * 2 + "01",
        "https://api.getpostman.com",
    ),
    (
        "groq",
        "groq-api-key",
        "gsk_" + "Ab3dE5gH7jK9mN1p" * 3 + "QrSt",
        "https://api.groq.com",
    ),
    ("mistral", "mistral-api-key", "Ab3dE5gH7jK9mN1p" * 2, "https://api.mistral.ai"),
    ("cohere", "cohere-api-key", "Ab3dE5gH7jK9mN1pQ3sT" * 2, "https://api.cohere.com"),
    (
        "replicate",
        "replicate-api-token",
        "r8_" + "Ab3dE5gH7jK9mN1pQ3sTuVwXyZ1234567890A",
        "https://api.replicate.com",
    ),
    (
        "doppler",
        "doppler-personal-token",
        "dp.pt." + "Ab3dE5gH7jK9mN1pQ3sT" * 2 + "uVwX",
        "https://api.doppler.com",
    ),
    (
        "terraform",
        "terraform-cloud-token",
        "Ab3dE5gH7jK9mN.atlasv1." + "Ab3dE5gH7jK9mN1pQ3sT" * 3 + "uVwXyZ",
        "https://app.terraform.io",
    ),
    (
        "pulumi",
        "pulumi-access-token",
        "pul-" + "0123456789abcdef0123456789abcdef01234567",
        "https://api.pulumi.com",
    ),
    *[(name, rule_id, secret, host) for name, rule_id, secret, host in REGIONAL_AND_MORE],
]

# (verifier, provider, rule id, a credential in the provider's shape)
CASES = [
    (
        "github",
        "github",
        "github-personal-access-token",
        "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",
    ),
    ("gitlab", "gitlab", "gitlab-personal-access-token", "glpat-Ab3dE5gH7jK9mN1pQ3sT"),
    ("slack", "slack", "slack-bot-token", "xoxb-1234567890-1234567890123-Ab3dE5gH7jK9mN1pQ3sTuVwX"),
    ("stripe", "stripe", "stripe-live-secret-key", "sk_live_4eC39HqLyjWDarjtT1zdp7dc9f2c"),
    ("openai", "openai", "openai-project-key", "sk-proj-" + "Ab3dE5gH7jK9mN1p" * 4),
    ("anthropic", "anthropic", "anthropic-api-key", "sk-ant-api03-" + "Ab3dE5gH7jK9" * 7 + "AA"),
    ("sendgrid", "sendgrid", "sendgrid-api-key", "SG.Ab3dE5gH7jK9mN1pQ3sTuV.wXyZ" + "a1B2c3" * 7),
    ("twilio", "twilio", "twilio-auth-token", "AC" + "0123456789abcdef" * 2 + ":" + "f" * 32),
    ("npm", "npm", "npm-access-token", "npm_" + "Ab3dE5gH7jK9" * 3),
    ("pypi", "pypi", "pypi-upload-token", "pypi-AgEIcHlwaS5vcmc" + "Ab3dE5gH" * 8),
    (
        "huggingface",
        "huggingface",
        "huggingface-access-token",
        "hf_" + "Ab3dE5gH7jK9mN1pQ3sTuVwXyZ1234567",
    ),
    (
        "telegram",
        "telegram",
        "telegram-bot-token",
        "123456789:AAH" + "Ab3dE5gH7jK9mN1pQ3sTuVwXyZ12345",
    ),
    (
        "discord",
        "discord",
        "discord-bot-token",
        "MTIzNDU2Nzg5MDEyMzQ1Njc4.GAbCdE.Ab3dE5gH7jK9mN1pQ3sTuVwXyZ1234567",
    ),
    ("datadog", "datadog", "datadog-api-key", "0123456789abcdef0123456789abcdef"),
    ("mailgun", "mailgun", "mailgun-api-key", "key-0123456789abcdef0123456789abcdef"),
    ("google", "google", "google-api-key", "AIzaSyA" + "b3dE5gH7jK9mN1pQ3sTuVwXyZ12345"),
    ("supabase", "supabase", "supabase-service-role-key", SUPABASE_JWT),
    *[(name, name, rule_id, secret) for name, rule_id, secret, _ in NEW],
]
# Verifiers whose "invalid" answer is not proof of revocation, so an unknown token is unknown:
# Datadog (another site's key gets the same 403), Cloudflare (an account-owned token gets the
# same 401 on the user endpoint)
NEVER_REVOKED_BY_401 = {"datadog", "cloudflare"}


def finding(provider: str, rule_id: str, secret: str, **attributes: str | bool) -> Finding:
    return Finding(
        rule_id=rule_id,
        provider=provider,
        title=rule_id,
        severity=Severity.HIGH,
        fingerprint=fingerprint(secret),
        redacted=redact(secret),
        source_kind="file",
        location=Location("config/.env", 1, 1),
        attributes=tuple(attributes.items()),
    )


@pytest.fixture(scope="module")
def fake() -> Iterator[ProviderFake]:
    with provider_fake() as server:
        yield server


def stand_ins(fake: ProviderFake, name: str) -> dict[str, str]:
    """The fake standing in for every official host of verifier ``name`` (all its regions)."""
    verifier = next((v for v in HTTP_VERIFIERS if v.name == name), None)
    return fake.endpoints(*(verifier.endpoint_names() if verifier is not None else (name,)))


def _verify(fake: ProviderFake, name: str, found: Finding, secret: str) -> object:
    options = VerifyOptions(endpoints=stand_ins(fake, name), min_interval=0.0)
    answers = verify_findings([found], {found.fingerprint: secret}, options)
    return answers[found.fingerprint]


@pytest.mark.parametrize(
    ("name", "provider", "rule_id", "secret"), CASES, ids=[c[0] for c in CASES]
)
def test_live_then_revoked(
    fake: ProviderFake, name: str, provider: str, rule_id: str, secret: str
) -> None:
    found = finding(provider, rule_id, secret)
    fake.live.add(secret)
    live = _verify(fake, name, found, secret)
    assert live.status == Status.LIVE and live.verifier == name, live
    assert live.http_status in (200, 400, 403)
    fake.live.discard(secret)
    dead = _verify(fake, name, found, secret)
    expected = Status.UNKNOWN if name in NEVER_REVOKED_BY_401 else Status.REVOKED
    assert dead.status == expected, dead
    for answer in (live, dead):
        assert secret not in json.dumps(answer.to_dict())
        assert secret not in answer.endpoint


def test_identity_is_what_the_provider_said(fake: ProviderFake) -> None:
    secret = CASES[0][3]
    fake.live.add(secret)
    answer = _verify(
        fake, "github", finding("github", "github-personal-access-token", secret), secret
    )
    assert dict(answer.identity) == {
        "login": "octo-leaker",
        "id": "583231",
        "type": "User",
        "scopes": "repo,read:org",
    }
    assert answer.endpoint == "GET https://api.github.com/user"  # the official host, as shown


@pytest.mark.parametrize("secret", [RATE_LIMITED, SERVER_ERROR])
def test_rate_limits_and_server_errors_are_unknown_after_retries(
    fake: ProviderFake, secret: str
) -> None:
    before = len(fake.requests)
    answer = _verify(fake, "npm", finding("npm", "npm-access-token", secret), secret)
    assert answer.status == Status.UNKNOWN
    assert len(fake.requests) - before == 3  # the first try and two retries


def test_an_unreachable_provider_is_unknown() -> None:
    with provider_fake() as gone:
        url = gone.url
    secret = CASES[0][3]
    options = VerifyOptions(endpoints={"github": url + "/github"}, min_interval=0.0)
    found = finding("github", "github-personal-access-token", secret)
    answer = verify_findings([found], {found.fingerprint: secret}, options)[found.fingerprint]
    assert answer.status == Status.UNKNOWN and "reached" in answer.detail


def test_a_dry_run_calls_nothing(fake: ProviderFake) -> None:
    before = len(fake.requests)
    findings = [finding(p, r, s) for _, p, r, s in CASES]
    probes = plan(findings, VerifyOptions())
    assert len(fake.requests) == before
    assert all(probe is not None for _, probe in probes)
    shown = " ".join(probe.endpoint for _, probe in probes if probe is not None)
    assert "https://api.github.com/user" in shown and "127.0.0.1" not in shown
    assert not any(s in shown for *_, s in CASES)


def test_half_a_pair_is_not_sent() -> None:
    alone = finding("aws", "aws-access-key", "AKIAIOSFODNN7EXAMPLE", paired=False)
    [(_, probe)] = plan([alone], VerifyOptions())
    assert probe is None


def test_every_verifier_host_is_fixed_https() -> None:
    for verifier in HTTP_VERIFIERS:
        assert verifier.base_url.startswith("https://"), verifier.name
        assert verifier.base_url.count("/") == 2, verifier.name  # scheme://host, no path


def test_the_transport_refuses_any_other_origin(fake: ProviderFake) -> None:
    from leakguard.verify.interface import TransportError

    transport = HttpTransport(fake.url + "/github", allow_private=True)
    before = len(fake.requests)
    with pytest.raises(TransportError, match="not the verifier's host"):
        transport.send("GET", "http://127.0.0.2:9/github/user", {})
    assert len(fake.requests) == before


def test_supabase_host_comes_only_from_a_well_formed_project_ref(fake: ProviderFake) -> None:
    hostile = _jwt({"ref": "evil.example.com/x", "role": "service_role"})
    supabase = next(v for v in HTTP_VERIFIERS if v.name == "supabase")
    assert supabase.base_for(hostile) == "https://{ref}.supabase.co"
    assert supabase.build(hostile) is None
    assert supabase.base_for(SUPABASE_JWT) == "https://abcdefghijklmnopqrst.supabase.co"


# What each new verifier records, as the fake answers per the provider's reference.
NEW_IDENTITIES = {
    "figma": {"id": "1234567890", "handle": "leaky-design", "email": "d@example.com"},
    "linear": {"id": "8f9e1a2b-user", "name": "Leaky Dev", "email": "dev@example.com"},
    "digitalocean": {
        "uuid": "b6fr89dbf6d9156cace5f3c78dc9851d957381ef",
        "email": "sammy@example.com",
        "status": "active",
    },
    "cloudflare": {"id": "f267e341f3dd4697bd3b9f71dd96247f", "status": "active"},
    "heroku": {"id": "01234567-89ab-cdef-0123-456789abcdef", "email": "ops@example.com"},
    "netlify": {"id": "5a1b2c3d4e", "email": "web@example.com", "slug": "acme-web"},
    "notion": {
        "id": "16d84278-ab0e-484c-9bdd-b35da3bd8905",
        "name": "pied piper",
        "type": "bot",
        "workspace_name": "Acme",
    },
    "postman": {"id": "12345678", "username": "leaky-api", "email": "api@example.com"},
    "groq": {},
    "mistral": {},
    "cohere": {},
    "replicate": {"type": "organization", "username": "acme"},
    "doppler": {"type": "personal", "name": "laptop", "slug": "acme-workplace"},
    "terraform": {
        "id": "user-V3R563qtJNcExAkN",
        "username": "leaky-ops",
        "email": "ops@example.com",
    },
    "pulumi": {"githubLogin": "leaky-infra", "name": "Leaky Infra", "email": "infra@example.com"},
    "vercel": {
        "id": "FpjQZzXL1mRbnQ2Hk9g0aTCk",
        "username": "leaky-web",
        "email": "web@example.com",
        "defaultTeamId": "team_nllPyCtREAqxxdyFKbbMDlxd",
    },
    "sentry": {
        "id": "1",
        "username": "leaky-dev",
        "email": "dev@example.com",
        "scopes": "org:read,project:read",
        "region": "us",
    },
    "newrelic": {"id": "1234567", "email": "obs@example.com", "name": "Obs", "region": "us"},
    "pagerduty": {"region": "us"},
    "snyk": {
        "id": "55a348e2-c3ad-4bbc-b40e-9b232d1f4121",
        "name": "Leaky Sec",
        "username": "leaky-sec",
        "email": "sec@example.com",
        "region": "us",
    },
}


@pytest.mark.parametrize(("name", "rule_id", "secret", "host"), NEW, ids=[n[0] for n in NEW])
def test_new_verifiers_record_the_identity_and_show_the_official_host(
    fake: ProviderFake, name: str, rule_id: str, secret: str, host: str
) -> None:
    fake.live.add(secret)
    try:
        answer = _verify(fake, name, finding(name, rule_id, secret), secret)
    finally:
        fake.live.discard(secret)
    assert answer.status == Status.LIVE, answer
    assert dict(answer.identity) == NEW_IDENTITIES[name]
    assert answer.endpoint.split(" ", 1)[1].startswith(host + "/")
    assert "127.0.0.1" not in answer.endpoint


@pytest.mark.parametrize("secret", [RATE_LIMITED, SERVER_ERROR])
@pytest.mark.parametrize("name", ["digitalocean", "postman", "pulumi"])
def test_new_verifiers_read_rate_limits_and_server_errors_as_unknown(
    fake: ProviderFake, name: str, secret: str
) -> None:
    rule_id = next(r for n, r, _, _ in NEW if n == name)
    assert _verify(fake, name, finding(name, rule_id, secret), secret).status == Status.UNKNOWN


def test_the_new_verifiers_hosts_are_the_official_ones_and_fixed() -> None:
    table = {v.name: v for v in HTTP_VERIFIERS}
    for name, rule_id, secret, host in NEW:
        verifier = table[name]
        assert verifier.base_url == host and not verifier.per_project_host
        # nothing in a credential or a finding's attributes picks another host
        assert verifier.base_for(secret) == host
        assert verifier.base_for("https://evil.example.com") == host
        found = finding(name, rule_id, secret, host="evil.example.com", url="http://127.0.0.1")
        probe = verifier.probe(found)
        assert probe is not None and probe.url.startswith(host + "/")


def test_the_new_verifiers_handle_existing_rules_of_their_provider() -> None:
    from leakguard.engine.rules import RuleSet

    rules = {r.id: r.provider for r in RuleSet.load().rules}
    for name, rule_id, secret, _ in NEW:
        assert rules.get(rule_id) == name, rule_id
        [(_, probe)] = plan([finding(name, rule_id, secret)], VerifyOptions())
        assert probe is not None and probe.verifier == name
    # kinds these verifiers cannot check are left to no verifier
    for provider, rule_id in [
        ("digitalocean", "digitalocean-refresh-token"),
        ("cloudflare", "cloudflare-global-api-key"),
        ("cloudflare", "cloudflare-origin-ca-key"),
        ("doppler", "doppler-scim-token"),
        ("doppler", "doppler-audit-token"),
    ]:
        assert rules.get(rule_id) == provider, rule_id
        [(_, probe)] = plan([finding(provider, rule_id, "x")], VerifyOptions())
        assert probe is None, rule_id


def test_a_disabled_cloudflare_token_is_revoked(fake: ProviderFake) -> None:
    secret = "disabled" + "Ab3dE5gH7jK9mN1pQ3sTuVwXyZ12345_"
    fake.live.add(secret)
    try:
        answer = _verify(
            fake, "cloudflare", finding("cloudflare", "cloudflare-api-token", secret), secret
        )
    finally:
        fake.live.discard(secret)
    assert answer.status == Status.REVOKED
    assert dict(answer.identity)["status"] == "disabled"


def test_a_linear_oauth_token_goes_as_a_bearer_token_and_a_key_as_it_is(fake: ProviderFake) -> None:
    linear = next(v for v in HTTP_VERIFIERS if v.name == "linear")
    key, oauth = "lin_api_" + "A" * 40, "lin_oauth_" + "0a" * 32
    built_key, built_oauth = linear.build(key), linear.build(oauth)
    assert built_key is not None and built_key.headers["Authorization"] == key
    assert built_oauth is not None and built_oauth.headers["Authorization"] == "Bearer " + oauth
    assert built_key.body is not None and b"mutation" not in built_key.body  # a read-only query
    fake.live.add(oauth)
    try:
        answer = _verify(fake, "linear", finding("linear", "linear-oauth-token", oauth), oauth)
    finally:
        fake.live.discard(oauth)
    assert answer.status == Status.LIVE


def test_a_figma_403_that_is_not_an_invalid_token_is_unknown() -> None:
    from leakguard.verify.interface import Reply

    figma = next(v for v in HTTP_VERIFIERS if v.name == "figma")
    scope = Reply(403, {}, b'{"status": 403, "err": "Invalid scope(s): current_user:read"}')
    assert figma.classify(scope)[0] == Status.UNKNOWN
    bad = Reply(403, {}, b'{"status": 403, "err": "Invalid token"}')
    assert figma.classify(bad)[0] == Status.REVOKED


def test_every_verifier_of_the_table_is_tested_against_the_fake() -> None:
    assert {c[0] for c in CASES} == {v.name for v in HTTP_VERIFIERS}
