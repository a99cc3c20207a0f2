"""The generic validator's verdict is judged once per rule, name and value while an engine lives
(a source map repeats the same assignments in every source), with the same findings; and the
placeholder filter runs once per candidate, whichever of the engine and the validator runs it."""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest

from leakguard.engine import matcher
from leakguard.engine.generic import reason_to_reject
from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet
from leakguard.engine.validators import VALIDATORS
from leakguard.model import Chunk, Finding, Location

PARAMS = {"min_entropy": 3.3, "min_length": 12}


def _random(n: int, seed: int) -> str:
    """Values are made when the test runs, so this file holds none for a scan to find."""
    rng = random.Random(seed)
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


def _where(findings: list[Finding]) -> list[tuple[str, str, int, int, str | None]]:
    return sorted(
        (f.rule_id, f.fingerprint, f.location.line, f.location.column, f.location.get("encoding"))
        for f in findings
    )


def _text() -> str:
    good, other = _random(32, 1), _random(28, 2)
    lines = []
    for i in range(300):  # the same few pairs, again and again, among other values
        lines.append(f'client_secret = "{good}"')
        lines.append(f'db_password = "{other}"')
        lines.append(f'api_token = "{_random(24, 100 + i % 7)}"')
        lines.append('client_secret = "your_client_secret_here"')  # a placeholder
        lines.append(f'mock_client_secret = "{good}"')  # a name that is not a credential's
        lines.append(f'cfg = "{{\\"client_secret\\": \\"{good}\\"}}"')  # again, JSON-escaped
    return "\n".join(lines) + "\n"


def test_memoised_verdicts_give_the_findings_judged_one_by_one() -> None:
    rules = RuleSet.load()
    memoised = Engine(rules, "re")
    # explicit validators: the engine cannot know what they depend on, so it judges each
    one_by_one = Engine(rules, "re", validators=dict(VALIDATORS))
    chunk = Chunk(_text().encode(), Location("app.py", 1, 1))
    found = memoised.scan(chunk, decode_depth=2)
    assert _where(found) == _where(one_by_one.scan(chunk, decode_depth=2))
    generic = [f for f in found if f.rule_id == "generic-secret"]
    # every place is reported: 300 x client_secret, 300 x db_password, 300 x api_token
    assert len({(f.location.line, f.location.column) for f in generic}) >= 900
    assert not {f.location.line % 6 for f in generic} & {4, 5}  # placeholder, mock_ name


def test_a_validator_that_is_not_told_the_placeholder_check_ran_runs_it() -> None:
    assert reason_to_reject(b"client_secret", b"your_client_secret_here", PARAMS) is not None
    template = ("${" + _random(24, 6) + "}").encode()  # a placeholder, random-looking inside
    assert reason_to_reject(b"client_secret", template, PARAMS) == "placeholder or test value"
    assert reason_to_reject(b"client_secret", template, PARAMS, check_placeholder=False) is None


RULE_WITHOUT_FILTER = """
provider: demo
rules:
  - id: demo-generic
    title: Demo credential-named value
    severity: high
    keywords: [demo_key]
    pattern: 'demo_key\\s*=\\s*"(?P<secret>[^"]{12,64})"'
    placeholder_filter: false
    validator:
      name: generic_secret
    examples: ['demo_key = "q8ZfT2mW9xKd4LpR7vNc"']
    negative_examples: ['demo_key = "your_demo_key_goes_here"']
"""


def test_a_rule_without_the_placeholder_filter_still_gets_it_from_the_validator(
    tmp_path: Path,
) -> None:
    (tmp_path / "demo.yaml").write_text(RULE_WITHOUT_FILTER)
    engine = Engine(RuleSet.load([tmp_path], builtin=False), "re")
    assert engine.scan_text(f'demo_key = "${{{_random(24, 6)}}}"\n') == []
    assert len(engine.scan_text(f'demo_key = "{_random(24, 5)}"\n')) == 1


def test_verdicts_remembered_across_scan_calls_change_no_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The memo lives as long as the engine (config files repeat the same values): a chunk
    scanned after others, by an engine whose memo is full or was emptied, gives what a fresh
    engine gives."""
    rules = RuleSet.load()
    chunks = [
        Chunk(_text().encode(), Location("app.py", 1, 1)),
        Chunk(_text().replace("db_password", "db_passwd").encode(), Location("b.py", 1, 1)),
    ]
    fresh = [_where(Engine(rules, "re").scan(chunk, decode_depth=2)) for chunk in chunks]
    for entries in (16384, 2):  # the second empties the memo again and again
        monkeypatch.setattr(matcher, "MEMO_ENTRIES", entries)
        engine = Engine(rules, "re")
        for _ in range(2):
            assert [_where(engine.scan(chunk, decode_depth=2)) for chunk in chunks] == fresh


@pytest.mark.parametrize("show_secrets", [False, True])
def test_findings_sharing_a_memoised_verdict_are_those_made_one_by_one(
    show_secrets: bool,
) -> None:
    """The places of one value share what the verdict on it decided (fingerprint, preview,
    validation, attributes): every field of every finding is the one an engine that judges
    each match alone gives, a public prefix's exposure attribute and the secret included."""
    text = _text() + f'VITE_API_TOKEN = "{_random(30, 3)}"\n' * 3 + _text()
    found, _ = _judged_both_ways(text, "app.js", show_secrets)
    assert any(f.attribute("exposure") == "public" for f in found)
    assert len({f.fingerprint for f in found}) < len(found) / 50  # values do repeat


def test_the_context_read_without_a_candidate_is_the_candidates() -> None:
    """The engine reads a memoised validator's context from the chunk before it builds a
    candidate; for every such validator it is the context the validator's spec names, at
    every offset (near the chunk's start, after a long name, with the keyword repeated)."""
    from leakguard.engine.interface import Candidate
    from leakguard.engine.validators import MEMO_CONTEXTS, MEMO_CONTEXTS_AT

    assert MEMO_CONTEXTS_AT and set(MEMO_CONTEXTS_AT) <= set(MEMO_CONTEXTS)
    rng = random.Random(5)
    pieces = ["secret", "SECRET", "_", "db", "-", ".", " ", "=", '"', "x" * 60, "\n", "token"]
    for _ in range(3000):
        data = "".join(rng.choices(pieces, k=rng.randint(0, 40))).encode()
        start = rng.randint(0, len(data))
        groups = {"name": rng.choice([b"secret", b"token", b"SECRET", None])}
        candidate = Candidate("r", data[start:], start, len(data), data, groups, False)
        for name, context_at in MEMO_CONTEXTS_AT.items():
            assert context_at(data, start, groups) == MEMO_CONTEXTS[name](candidate, {})


def _judged_both_ways(
    text: str, path: str, show_secrets: bool
) -> tuple[list[Finding], list[Finding]]:
    """The findings of ``text`` from an engine that memoises verdicts and from one that judges
    each match (explicit validators), checked equal field by field."""
    rules = RuleSet.load()
    chunk = Chunk(text.encode(), Location(path, 1, 1))
    memoised = Engine(rules, "re", show_secrets=show_secrets)
    one_by_one = Engine(rules, "re", show_secrets=show_secrets, validators=dict(VALIDATORS))
    found = memoised.scan(chunk, decode_depth=2)
    alone = one_by_one.scan(chunk, decode_depth=2)
    assert [f.to_dict(show_secrets=True) for f in found] == [
        f.to_dict(show_secrets=True) for f in alone
    ]
    return found, alone


def _aws_log() -> str:
    """Key ids on line after line (a service logging its key with each request), a few with
    their secret access key 0 to 7 lines away (in reach or not), an implausible secret, the
    documentation's example id, and the secret once more with no key id near it; the values
    are made when the test runs."""
    rng = random.Random(11)
    ids = ["AKIA" + "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", k=16)) for _ in "ab"]
    secret = "".join(rng.choices(string.ascii_letters + string.digits + "/+", k=40))
    lines = []
    for i in range(400):
        key_id = ids[i % 2]
        lines.append(f"{i} GET /bucket 200 key={key_id}")
        if i % 37 == 0:
            lines += ["filler"] * (i % 8) + [f"aws_secret_access_key = {secret}"]
        if i % 53 == 0:
            lines.append(f"secret={'a' * 40}")  # not random: never paired
        if i % 61 == 0:
            lines.append("AKIAIOSFODNN7EXAMPLE")
    # the same secret with no key id in reach: reported alone
    lines += ["filler"] * 10 + [f"aws_secret_access_key = {secret}"] + ["filler"] * 10
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("show_secrets", [False, True])
def test_aws_key_ids_are_judged_once_per_partner_with_the_same_findings(
    show_secrets: bool,
) -> None:
    found, alone = _judged_both_ways(_aws_log(), "requests.log", show_secrets)
    aws = [f for f in found if f.provider == "aws"]
    paired = [f for f in aws if f.attribute("paired")]
    assert len(aws) >= 400 and paired and len(paired) < len(aws)
    # one verdict per key id and partner, not one per line: the findings share it
    assert len({id(f.validation) for f in aws}) <= 12
    assert len({id(f.validation) for f in alone if f.provider == "aws"}) >= 400


def _url_log() -> str:
    """One connection URL on line after line, and the same password with another user, host
    (a local one: another severity) or scheme (of the same rule too), a template and an elided
    password."""
    password = _random(20, 21)
    urls = [
        f"postgres://app:{password}@db.internal:5432/orders",
        f"postgres://admin:{password}@db.internal:5432/orders",
        f"postgres://app:{password}@localhost:5432/orders",
        f"postgresql://app:{password}@db.internal:5432/orders",
        f"mysql://app:{password}@db.internal/orders",
        f"mariadb://app:{password}@db.internal/orders",
        "postgres://app:${DB_PASSWORD}@db.internal/orders",
        "postgres://app:***@db.internal/orders",
    ]
    return "".join(f"{i} connect {urls[i % 9 % 8]}\n" for i in range(800))


@pytest.mark.parametrize("show_secrets", [False, True])
def test_connection_urls_are_judged_once_per_scheme_user_and_host_with_the_same_findings(
    show_secrets: bool,
) -> None:
    found, alone = _judged_both_ways(_url_log(), "app.log", show_secrets)
    assert len(found) >= 300 and len({f.severity for f in found}) == 2  # the local host's
    assert len({(f.attribute("host"), f.attribute("user")) for f in found}) == 3
    assert len({f.attribute("scheme") for f in found}) == 4
    assert len({id(f.validation) for f in found}) <= 12  # each URL's, not each line's
    assert len({id(f.validation) for f in alone}) >= 300


def _jwt(claims: dict[str, object], alg: str = "HS256", signature: str = "") -> str:
    """A compact JWS made here (the values are the test's own), signed with a random tail."""
    import base64
    import json

    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    tail = signature if alg == "none" else _random(43, len(json.dumps(claims)))
    return f"{part({'alg': alg, 'typ': 'JWT'})}.{part(claims)}.{tail}"


def _jwt_log() -> str:
    """Bearer tokens line after line: one Supabase service_role key again and again, an anon
    key, an expired token, an unsigned one, and a token of its own on some lines."""
    now = 1_900_000_000
    tokens = [
        _jwt({"iss": "supabase", "ref": "abcdefghijklmnopqrst", "role": "service_role"}),
        _jwt({"iss": "supabase", "ref": "abcdefghijklmnopqrst", "role": "anon"}),
        _jwt({"sub": "svc", "exp": 1_000_000_000}),
        _jwt({"sub": "svc", "exp": now}, alg="none"),
    ]
    lines = []
    for i in range(500):
        token = tokens[i % 5] if i % 5 < 4 else _jwt({"sub": f"user{i}", "exp": now})
        lines.append(f'10.0.0.{i % 255} "GET /rest/v1/{i}" 200 Authorization: Bearer {token}')
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("show_secrets", [False, True])
def test_tokens_are_judged_once_per_rule_with_the_same_findings(show_secrets: bool) -> None:
    found, alone = _judged_both_ways(_jwt_log(), "access.log", show_secrets)
    assert len({f.rule_id for f in found}) >= 2 and len(found) >= 400
    assert len({f.attribute("jwt_class") for f in found}) == 3  # signed, expired, unsigned
    assert len({id(f.validation) for f in found}) <= 110  # 4 repeated tokens, 100 of their own
    assert len({id(f.validation) for f in alone}) >= 400


def test_a_token_decodes_to_its_own_claims_whichever_was_decoded_before() -> None:
    from leakguard.engine.jwt import decode

    one, other = _jwt({"sub": "one"}).encode(), _jwt({"sub": "other"}).encode()
    for token, sub in [(one, "one"), (one, "one"), (other, "other"), (one, "one")]:
        decoded = decode(token)
        assert decoded is not None and decoded.claims["sub"] == sub
    assert decode(b"not.a.token") is None
    assert decode(one) is not None
