"""Validators: checksums, AWS pairing and account ids, JWT classes, Supabase roles, keys, URLs."""

from __future__ import annotations

import base64
import json
import random
import string
import zlib
from pathlib import Path

import pytest

from leakguard.engine import aws, checksums, jwt
from leakguard.engine.interface import Candidate
from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet
from leakguard.engine.ruletest import available_engines
from leakguard.model import Severity, ValidationStatus
from leakguard.redact import fingerprint

ALL = RuleSet.load()
ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase


@pytest.fixture(scope="module", params=available_engines())
def engine(request: pytest.FixtureRequest) -> Engine:
    built = Engine(ALL, request.param)
    assert built.kind == request.param
    return built


def token(prefix: str, seed: int, *, good: bool = True) -> str:
    """A token with a CRC32/base62 checksum computed independently of the code under test."""
    rng = random.Random(seed)
    body = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(30))
    n, digits = zlib.crc32(body.encode()), ""
    while n:
        n, r = divmod(n, 62)
        digits = ALPHABET[r] + digits
    check = digits.rjust(6, "0")
    if not good:
        check = check[:-1] + ("a" if check[-1] != "a" else "b")
    return prefix + body + check


def candidate(secret: str, data: str | None = None) -> Candidate:
    text = (data if data is not None else secret).encode()
    start = text.index(secret.encode())
    return Candidate("t", secret.encode(), start, start + len(secret), text, {})


# -- checksums ---------------------------------------------------------------------------


def test_base62_is_left_padded() -> None:
    assert checksums.base62(0) == b"000000"
    assert checksums.base62(61) == b"00000z"
    assert checksums.base62(62) == b"000010"


@pytest.mark.parametrize("prefix", ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"])
def test_github_checksum_good_and_bad(engine: Engine, prefix: str) -> None:
    good, bad = token(prefix, 1), token(prefix, 1, good=False)
    [f] = engine.scan_text(f"token = {good}")
    assert f.provider == "github" and f.validation.status == ValidationStatus.PASSED
    assert engine.scan_text(f"token = {bad}") == []


def test_known_github_token_from_the_demo_app(engine: Engine) -> None:
    demo = Path(__file__).parents[3] / "examples/leaky-app/src/deploy.py"
    found = [f for f in engine.scan_text(demo.read_text()) if f.provider == "github"]
    assert [f.rule_id for f in found] == ["github-personal-access-token"]


def test_long_refresh_token_is_whole_and_unverifiable(engine: Engine) -> None:
    rng = random.Random(3)
    long = "ghr_" + "".join(rng.choice(ALPHABET) for _ in range(76))
    [f] = engine.scan_text(f"refresh={long} next")
    assert f.fingerprint == fingerprint(long)  # never truncated
    assert f.validation.status == ValidationStatus.UNVERIFIABLE
    # other GitHub prefixes have no longer format: a 76-character ghp_ body is not a token
    assert engine.scan_text(f"t={long.replace('ghr_', 'ghp_')}") == []


def test_npm_checksum(engine: Engine) -> None:
    [f] = engine.scan_text(f"NPM_TOKEN={token('npm_', 5)}")
    assert f.rule_id == "npm-access-token"
    assert engine.scan_text(f"NPM_TOKEN={token('npm_', 5, good=False)}") == []


# -- AWS -----------------------------------------------------------------------------------


def key_id(account: int, prefix: str = "AKIA", seed: int = 0) -> str:
    rng = random.Random(seed)
    raw = ((account << 7) | rng.getrandbits(7)).to_bytes(6, "big") + rng.randbytes(4)
    return prefix + base64.b32encode(raw).decode()


SECRET = "q3Hk9Vt2Lm8Rx4Zp7Wc1Nf6Bj0Ds5Ga2Ye9Tu4Ko"


def test_account_id_of_the_published_example() -> None:
    # The example key id from Tal Be'ery's note on decoding AWS key ids.
    assert aws.account_id("ASIAY34FZKBOKMUTVV7A") == "609629065308"


def test_account_id_round_trip_and_old_ids() -> None:
    assert aws.account_id(key_id(123456789012)) == "123456789012"
    assert aws.account_id(key_id(42, "ASIA")) == "000000000042"  # zero-padded to 12 digits
    assert aws.account_id("AKIAIOSFODNN7EXAMPLE") is None  # older ids carry no account


def test_pair_on_separate_lines_is_one_credential(engine: Engine) -> None:
    kid = key_id(210987654321)
    text = f"[prod]\naws_access_key_id = {kid}\nregion = eu-west-1\n\n"
    text += f"aws_secret_access_key = {SECRET}\n"
    [f] = engine.scan_text(text)
    assert f.rule_id == "aws-access-key" and f.severity == Severity.CRITICAL
    assert f.fingerprint == fingerprint(f"{kid}:{SECRET}")
    assert f.redacted == f"AKIA…{kid[-4:]}:…{SECRET[-4:]}"
    assert SECRET[:-4] not in f.redacted
    assert f.attribute("account_id") == "210987654321" and f.attribute("paired") is True
    assert (f.location.line, f.location.column) == (2, 21)


def test_id_without_a_secret_nearby_is_reported_lower(engine: Engine) -> None:
    kid = key_id(555566667777)
    far = f"id = {kid}\n" + "x = 1\n" * 8 + f"aws_secret_access_key = {SECRET}\n"
    found = {f.rule_id: f for f in engine.scan_text(far)}
    assert found["aws-access-key"].severity == Severity.MEDIUM
    assert found["aws-access-key"].attribute("paired") is False
    assert found["aws-access-key"].fingerprint == fingerprint(kid)
    assert found["aws-secret-access-key"].severity == Severity.HIGH


def test_two_profiles_pair_with_their_own_secrets(engine: Engine) -> None:
    ids = key_id(310987654321, seed=1), key_id(420987654321, seed=2)
    secrets = SECRET, SECRET[::-1]
    text = "".join(
        f"[p{i}]\naws_access_key_id = {k}\naws_secret_access_key = {s}\n"
        for i, (k, s) in enumerate(zip(ids, secrets, strict=True))
    )
    prints = {f.fingerprint for f in engine.scan_text(text)}
    assert prints == {fingerprint(f"{k}:{s}") for k, s in zip(ids, secrets, strict=True)}


@pytest.mark.parametrize(
    "secret",
    [
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",  # documentation
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",  # a git object id
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    ],
)
def test_documentation_and_hashes_never_pair(engine: Engine, secret: str) -> None:
    kid = key_id(777788889999)
    [f] = [f for f in engine.scan_text(f"id={kid}\nsecret={secret}\n")]
    assert f.attribute("paired") is False


def test_documentation_example_pair_is_never_reported(engine: Engine) -> None:
    text = (
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    )
    assert engine.scan_text(text) == []


# -- JWT and Supabase ------------------------------------------------------------------------


def make_jwt(claims: dict[str, object], alg: str = "HS256", signature: str = "c2lnbmF0dXJl") -> str:
    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': alg, 'typ': 'JWT'})}.{part(claims)}.{signature if alg != 'none' else ''}"


def test_jwt_classes(engine: Engine) -> None:
    live = make_jwt({"sub": "u1", "exp": 4_102_444_800})
    old = make_jwt({"sub": "u1", "exp": 1_000_000_000})
    unsigned = make_jwt({"sub": "admin"}, alg="none")
    classes = {}
    for name, value in (("live", live), ("old", old), ("unsigned", unsigned)):
        [f] = engine.scan_text(f"Authorization: Bearer {value}")
        classes[name] = (f.rule_id, f.severity, f.attribute("jwt_class"))
    assert classes == {
        "live": ("jwt", Severity.MEDIUM, "signed"),
        "old": ("jwt", Severity.LOW, "expired"),
        "unsigned": ("jwt", Severity.LOW, "unsigned"),
    }


def test_decode_rejects_what_is_not_a_jwt() -> None:
    assert jwt.decode(b"eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.sig") is None
    assert jwt.decode(b"eyJ0eXAiOiJKV1QifQ.eyJhIjoxfQ.sig") is None  # no alg
    assert jwt.decode(b"a.b") is None


@pytest.mark.parametrize(
    ("role", "rule_id", "severity"),
    [
        ("service_role", "supabase-service-role-key", Severity.CRITICAL),
        ("anon", "supabase-anon-key", Severity.INFO),
    ],
)
def test_supabase_role_decides(engine: Engine, role: str, rule_id: str, severity: Severity) -> None:
    value = make_jwt({"iss": "supabase", "ref": "abcdefghijklmnopqrst", "role": role, "exp": 4e9})
    [f] = engine.scan_text(f'createClient(url, "{value}")')
    assert (f.rule_id, f.severity, f.provider) == (rule_id, severity, "supabase")
    assert f.attribute("project_ref") == "abcdefghijklmnopqrst"
    assert f.rotation == "supabase-service-role"


def test_one_supabase_jwt_is_one_finding(engine: Engine) -> None:
    value = make_jwt({"iss": "supabase", "ref": "abcdefghijklmnopqrst", "role": "service_role"})
    [f] = engine.scan_text(f"KEY={value}")  # not also a generic 'jwt' finding
    assert f.rule_id == "supabase-service-role-key"
    # one token in two places: two findings (two places), one credential (one fingerprint)
    twice = engine.scan_text(f"A={value}\nB={value}\n")
    assert [f.location.line for f in twice] == [1, 2]
    assert len({f.fingerprint for f in twice}) == 1


def test_supabase_local_demo_keys_are_not_reported(engine: Engine) -> None:
    demo = make_jwt({"iss": "supabase-demo", "role": "service_role", "exp": 1983812996})
    assert engine.scan_text(f"SERVICE_ROLE_KEY={demo}") == []


# -- private keys, GCP, connection URLs ----------------------------------------------------


def _rule_example(rule_id: str, index: int) -> str:
    return ALL.by_id()[rule_id].examples[index]


def test_pem_in_a_file_and_escaped_in_json_is_one_credential(engine: Engine) -> None:
    pem = _rule_example("private-key", 2)  # an EC key block
    escaped = json.dumps({"key": pem})
    [a] = engine.scan_text(pem)
    [b] = engine.scan_text(escaped)
    assert a.fingerprint == b.fingerprint and a.rule_id == b.rule_id == "private-key"
    assert a.redacted.startswith("-----BEGIN EC PRIVATE KEY-----…")


def test_gcp_key_file_is_one_finding_with_the_private_keys_fingerprint(engine: Engine) -> None:
    doc = _rule_example("gcp-service-account-key", 0)
    [f] = engine.scan_text(doc)
    assert f.rule_id == "gcp-service-account-key"
    [bare] = engine.scan_text(json.loads(doc)["private_key"])
    assert bare.rule_id == "private-key" and bare.fingerprint == f.fingerprint
    assert f.attribute("client_email", "").endswith(".iam.gserviceaccount.com")  # type: ignore[union-attr]


def test_a_truncated_key_block_is_not_a_key(engine: Engine) -> None:
    pem = _rule_example("private-key", 0)
    lines = pem.splitlines()
    damaged = "\n".join([lines[0], lines[1][:-7] + "!!", *lines[2:]])
    assert engine.scan_text(damaged) == []


def test_connection_url_password_is_the_secret(engine: Engine) -> None:
    [f] = engine.scan_text("DATABASE_URL=postgres://app:Xk29vLq81ZbTw0Rm@db.prod:5432/app")
    assert f.fingerprint == fingerprint("Xk29vLq81ZbTw0Rm")
    assert f.attribute("host") == "db.prod" and f.attribute("user") == "app"
    assert "Xk29vLq81Z" not in f.redacted
    [local] = engine.scan_text("postgres://app:Xk29vLq81ZbTw0Rm@localhost/app")
    assert local.severity == Severity.LOW


def test_twilio_token_pairs_with_the_account_sid(engine: Engine) -> None:
    sid, tok = "AC" + "3f" * 16, "9be1c07d" * 4
    [f] = engine.scan_text(f"TWILIO_ACCOUNT_SID={sid}\nTWILIO_AUTH_TOKEN={tok}\n")
    assert f.fingerprint == fingerprint(f"{sid}:{tok}")
    assert f.attribute("account_sid") == sid


# -- robustness --------------------------------------------------------------------------------


def test_validators_survive_mangled_examples(engine: Engine) -> None:
    """Truncated, doubled and bit-flipped examples never make a validator raise."""
    rng = random.Random(11)
    for rule in ALL.rules:
        for text in rule.examples:
            for _ in range(6):
                cut = rng.randrange(1, len(text))
                flipped = list(text)
                for _ in range(3):
                    i = rng.randrange(len(flipped))
                    flipped[i] = rng.choice(string.printable)
                for variant in (text[:cut], text[cut:], text + text, "".join(flipped)):
                    engine.scan_text(variant)


def test_unit_candidate_interface() -> None:
    good = token("ghp_", 9)
    verdict = checksums.crc32_token(candidate(good), {"allow_longer": False})
    assert verdict.accept and verdict.status == ValidationStatus.PASSED
    verdict = checksums.crc32_token(candidate("ghp_short"), {})
    assert not verdict.accept


def test_entropy_validator_and_its_parameters() -> None:
    from leakguard.engine.validators import SPECS, prepare_params

    params = prepare_params("entropy", {"min": 3.5, "skip": 4})
    check = SPECS["entropy"].check
    assert check(candidate("tok_Q8mZ2vT4nR7kW1xB5cJ9"), params).accept
    assert not check(candidate("tok_abababababababab"), params).accept
    with pytest.raises(ValueError, match="min must be a number"):
        prepare_params("entropy", {"min": "high"})


def test_pairing_can_require_its_partner() -> None:
    from leakguard.engine.validators import SPECS, prepare_params

    params = prepare_params("pairing", {"partner": "ID-[0-9]{6}", "lines": 1, "required": True})
    check = SPECS["pairing"].check
    near = check(candidate("s3cr3tV4lue", "id: ID-482913\nkey: s3cr3tV4lue\n"), params)
    assert near.accept and near.secret == b"ID-482913:s3cr3tV4lue"
    far = check(candidate("s3cr3tV4lue", "id: ID-482913\n\n\nkey: s3cr3tV4lue\n"), params)
    assert not far.accept


def test_pairing_reach_is_bounded_on_long_lines(engine: Engine) -> None:
    kid = key_id(123412341234)
    near = f"var a='{kid}',b='{SECRET}';"
    far = f"var a='{kid}';" + "x=1;" * 1000 + f"var b='{SECRET}';"  # one 4 KB minified line
    [paired] = engine.scan_text(near)
    [alone] = engine.scan_text(far)
    assert paired.attribute("paired") is True and alone.attribute("paired") is False


def test_every_validator_survives_hostile_candidates() -> None:
    from leakguard.engine.validators import SPECS

    hostile = [
        b"",
        b"_",
        b"\xff\xfe\x00" * 20,
        b"eyJ.eyJ.",
        b"eyJhbGciOiJub25lIn0.W1tbW1tbW1td.",  # claims are a list
        b'{"type": "service_account", "private_key": "\\ud800", "client_email": "\\ud800@x"}',
        b'{"type": "service_account", "private_key": 5, "client_email": []}',
        b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA/////w==\n"
        b"-----END OPENSSH PRIVATE KEY-----",
        b"-----BEGIN RSA PRIVATE KEY-----\n\xff\n-----END RSA PRIVATE KEY-----",
    ]
    params_of = {r.validator: r.validator_params for r in ALL.rules if r.validator}
    rng = random.Random(5)
    hostile += [rng.randbytes(rng.randrange(1, 300)) for _ in range(200)]
    for name, spec in SPECS.items():
        params = params_of.get(name) or (spec.prepare({}) if spec.prepare else {})
        if name == "pairing" and "partner" not in params:
            continue
        for value in hostile:
            data = b"x = " + value + b"\n"
            verdict = spec.check(Candidate("t", value, 4, 4 + len(value), data, {}), params)
            assert isinstance(verdict.accept, bool)
