"""Decoding layers: base64 (Kubernetes Secrets, Basic auth), percent-encoding, JSON escapes.
Findings point at the encoded text and name the layer."""

from __future__ import annotations

import base64
import functools
import io
import json
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import pytest

from leakguard.engine.decoders import decoded_chunks, decoder_scanners
from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet
from leakguard.model import Chunk, Finding, Location
from tests.support.keys import stripe_key

KEY = stripe_key(21)
#: the scanners of an ``re`` engine (those of a Hyperscan engine are compared with them below)
PLAIN = decoder_scanners("re")


def _engine_pass(text: bytes) -> tuple[list[tuple[int, int]], set[int]]:
    """The keyword pass of a Hyperscan engine with the shipped rules: (hits, markers)."""
    engine = _hyperscan_engine()
    assert engine._scan_layered is not None
    return engine._scan_layered(text)


@functools.cache
def _hyperscan_engine() -> Engine:
    return Engine(RuleSet.load(), "hyperscan")


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(RuleSet.load(), show_secrets=True)


def _scan(engine: Engine, text: str, depth: int = 2) -> list[Finding]:
    return engine.scan(Chunk(text.encode(), Location("f", 1, 1)), depth)


def _where(f: Finding) -> tuple[int, int, object]:
    return (f.location.line, f.location.column, f.location.get("encoding"))


def test_kubernetes_secret_yaml(engine: Engine) -> None:
    encoded = base64.b64encode(KEY.encode()).decode()
    manifest = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: payments\ntype: Opaque\ndata:\n"
        f"  USER: {base64.b64encode(b'svc-payments').decode()}\n"
        f"  API_KEY: {encoded}\n"
    )
    [finding] = _scan(engine, manifest)
    assert finding.secret == KEY
    assert _where(finding) == (8, 12, "base64")


def test_kubernetes_secret_json_and_env_file_value(engine: Engine) -> None:
    env_file = f"# payments\nSTRIPE_KEY={KEY}\nDEBUG=0\n"
    doc = {"kind": "Secret", "data": {".env": base64.b64encode(env_file.encode()).decode()}}
    text = json.dumps(doc)
    [finding] = _scan(engine, text)
    assert finding.secret == KEY
    assert _where(finding) == (1, text.index('"', text.index(".env") + 6) + 2, "base64")


def test_basic_authorization_header(engine: Engine) -> None:
    token = base64.b64encode(f"billing:{KEY}".encode()).decode()
    log = f'10.0.0.1 - - [01/Jan/2026] "GET / HTTP/1.1" 200 "Authorization: Basic {token}"\n'
    [finding] = _scan(engine, "first\n" + log)
    assert finding.secret == KEY
    # decoded in place: the column falls inside the encoded token, where its decoded text sits
    line, column, layer = _where(finding)
    assert (line, layer) == (2, "base64")
    assert log.index(token) < column <= log.index(token) + len(token)


def test_percent_encoded_value(engine: Engine) -> None:
    encoded = quote(KEY, safe="").replace("_", "%5F")
    line = f"GET /v1/charges?limit=3&api_key={encoded}&x=1 HTTP/1.1\n"
    [finding] = _scan(engine, "x\n" + line)
    assert finding.secret == KEY
    assert _where(finding) == (2, line.index(encoded) + 1, "percent")


def test_json_escapes_in_a_json_log_line(engine: Engine) -> None:
    escaped = "".join(f"\\u{ord(c):04x}" if c == "_" else c for c in KEY)
    line = '{"ts":"2026-01-01","url":"https:\\/\\/api.example.com\\/v1","auth":"' + escaped + '"}'
    text = "{}\n" + line + "\n"
    [finding] = _scan(engine, text)
    assert finding.secret == KEY
    assert _where(finding) == (2, line.index(escaped) + 1, "json-escape")


def test_plain_secret_next_to_encoded_text_is_reported_once(engine: Engine) -> None:
    line = '{"url":"https:\\/\\/x.example\\/a%2Fb%2Fc%2Fd","key":"' + KEY + '"}\n'
    findings = _scan(engine, line)
    assert [(f.secret, f.location.get("encoding")) for f in findings] == [(KEY, None)]


def test_layers_nest_and_are_bounded_by_depth(engine: Engine) -> None:
    inner = quote(KEY, safe="").replace("_", "%5F")
    token = base64.b64encode(f"u:{inner}".encode()).decode()
    text = f"Authorization: Basic {token}\n"
    [finding] = _scan(engine, text, depth=2)
    assert finding.location.get("encoding") == "base64+percent"
    assert _scan(engine, text, depth=1) == []
    assert _scan(engine, text, depth=0) == []


def test_text_without_markers_is_not_decoded() -> None:
    chunk = Chunk(b"2026-01-01 INFO user=42 action=login ok\n" * 1000, Location("f", 1, 1))
    assert list(decoded_chunks(chunk, PLAIN)) == []


def test_binary_base64_is_not_scanned() -> None:
    blob = base64.b64encode(bytes(range(256))).decode()
    chunk = Chunk(f"kind: Secret\ndata:\n  cert: {blob}\n".encode(), Location("f", 1, 1))
    assert list(decoded_chunks(chunk, PLAIN)) == []


def test_in_place_layer_keeps_lines_and_ownership() -> None:
    data = b"a\nurl=https%3A%2F%2Fexample.com%2Fpath\nb\n"
    chunk = Chunk(data, Location("f", 5, 1), report_until=30)
    [decoded] = list(decoded_chunks(chunk, PLAIN))
    assert len(decoded.data) == len(data)
    assert decoded.data.count(b"\n") == data.count(b"\n")
    # the run starts in the chunk's own range: decoded here, and all the layer holds is owned
    assert decoded.report_until is None and decoded.depth == 1
    assert b"https://example.com/path" in decoded.data
    assert decoded.data.index(b"https://") == data.index(b"https%3A")
    # a run starting at or after the end of the range is the next chunk's to decode
    assert list(decoded_chunks(replace(chunk, report_until=data.index(b"url=")), PLAIN)) == []


SLASH_RULES = """
provider: demo
rules:
  - id: demo-slash-token
    title: Demo token with slashes
    severity: high
    keywords: [tok_]
    pattern: '(?P<secret>tok_[A-Za-z0-9/+]{20,60})(?![A-Za-z0-9/+])'
    examples: ['t = tok_Ab3dE5gH7jK9m/N1pQ3sTuV5wX7yZ9aB1cD3']
"""


def test_escaped_slash_inside_a_credential(tmp_path: Path) -> None:
    (tmp_path / "demo.yaml").write_text(SLASH_RULES)
    engine = Engine(RuleSet.load([tmp_path], builtin=False), show_secrets=True)
    token = "tok_Ab3dE5gH7jK9mN1pQ3s/TuV5wX7yZ9aB1cD3eF"
    line = '{"url":"https:\\/\\/api.example.com\\/v1","token":"' + token.replace("/", "\\/") + '"}'
    [finding] = engine.scan(Chunk(f"{line}\n".encode(), Location("f", 1, 1)), 2)
    assert finding.secret == token
    assert _where(finding) == (1, line.index("tok_") + 1, "json-escape")


def test_escaped_slashes_of_a_plain_url_are_not_decoded() -> None:
    line = b'{"url":"https:\\/\\/api.example.com\\/v1\\/orders\\/42","level":"info"}\n'
    assert list(decoded_chunks(Chunk(line * 1000, Location("f", 1, 1)), PLAIN)) == []


@pytest.mark.parametrize(
    "text",
    [
        b'{"url":"https:\\/\\/api.example.com\\/v1\\/orders\\/42"}',  # no trigger
        b'{"key":"abcdEFGH12\\/rest"}',  # credential run before an escaped slash
        b'{"key":"x\\/abcdEFGH12"}',  # credential run after it
        b'{"msg":"caf\\u00e9"}',
        b"GET /?api_key=sk%5Flive%5F1234 HTTP/1.1",
        b"GET /?q=a%20b%3Ac HTTP/1.1",  # escapes no credential is made of
        b"Authorization: Basic dXNlcjpwYXNz\nkind: Secret\n",
        b"plain text, nothing encoded",
    ],
)
def test_hyperscan_markers_agree_with_the_re_triggers(text: bytes) -> None:
    _assert_scanners_agree(text)


def _assert_scanners_agree(text: bytes) -> None:
    pytest.importorskip("hyperscan")
    fast = decoder_scanners("hyperscan")
    assert fast.kind == "hyperscan" and PLAIN.kind == "re"
    assert fast.markers(text) == PLAIN.markers(text)
    # the engine finds the markers in its keyword pass (one database for both)
    assert _engine_pass(text)[1] == PLAIN.markers(text)
    assert sorted(set(fast.concat(text))) == sorted(set(PLAIN.concat(text)))
    assert sorted(fast.prefixes(text)) == sorted(PLAIN.prefixes(text))


# -- issue #10: decoding that real leaks need ------------------------------------------------

WEBHOOK = "https://hooks.slack.com/services/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"
PEM_LINES = [
    "MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu",
    "KUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQJAIJLixBy2qpFoS4DSmoEm",
    "o3qGy0t6z09AIJtH+5OeRV1be+N4cDYJKffGzDa88vQENZiRm0GRq6a+HPGQMd2k",
    "TQIhAKMSvzIBnni7ot/OSie2TmJLY4SwTQAevXysE2RbFDYdAiEBCUEaRQnMnbp7",
    "9mxDXDf6AU0cN/RPBjb9qSHDcWZHGzUCIG2Es59z8ugGrDY+pxLQnwfotadxd+Uy",
    "v/Ow5T0q5gIJAiEAyS4RaI9YG8EWx/2w0T67ZUVAw8eOMB6BIUg0Xcu+3okCIBOs",
    "/5OiPgoTdSy7bcF9IGpSE8ZgGKzgYQVO58THKfM=",
]


def test_escaped_urls_in_any_json_file(engine: Engine) -> None:
    text = (
        '{"slack": {"webhook": "' + WEBHOOK.replace("/", "\\/") + '"},\n'
        ' "db": "postgres:\\/\\/app:Zq8vT2mK9pLx@db.internal:5432\\/app"}\n'
    )
    found = {(f.rule_id, f.location.line) for f in _scan(engine, text)}
    assert found == {("slack-webhook-url", 1), ("postgres-url-password", 2)}


def test_base64_of_a_base64_holding_a_webhook(engine: Engine) -> None:
    nested = base64.b64encode(base64.b64encode(f"notify: {WEBHOOK}".encode())).decode()
    [finding] = _scan(engine, f"# alerts\nNOTIFY_CONFIG={nested}\n")
    assert finding.secret == WEBHOOK
    assert _where(finding) == (2, len("NOTIFY_CONFIG=") + 1, "base64+base64")
    assert _scan(engine, f"NOTIFY_CONFIG={nested}\n", depth=1) == []


def test_base64_noise_is_not_decoded() -> None:
    blob = base64.b64encode(bytes(range(256)) * 4).decode()
    chunk = Chunk(
        f"icon = '{blob}'\nhash = 9f86d081884c7d659a2feaa0c55ad015\n".encode(), Location("f", 1, 1)
    )
    assert list(decoded_chunks(chunk, PLAIN)) == []


def _pem(joiner: str, head: str, tail: str) -> str:
    lines = ["-----BEGIN RSA PRIVATE KEY-----", *PEM_LINES, "-----END RSA PRIVATE KEY-----"]
    return head + joiner.join(f'"{line}\\n"' for line in lines) + tail


@pytest.mark.parametrize(
    ("language", "source"),
    [
        ("java", _pem(" +\n        ", "String key =\n        ", ";\nint retries = 3;\n")),
        ("javascript", _pem("\n  + ", "const key = ", ";\n")),
        ("go", _pem(" +\n\t", "var key = ", "\n")),
        ("python", _pem("\n    ", "KEY = (\n    ", "\n)\n")),
    ],
)
def test_secret_split_across_string_literals(engine: Engine, language: str, source: str) -> None:
    findings = _scan(engine, source)
    assert [f.rule_id for f in findings] == ["private-key"], language


def test_split_vendor_key_keeps_later_line_numbers(engine: Engine) -> None:
    text = f'a = "x"\nkey = "{KEY[:12]}" +\n      "{KEY[12:]}"\n\nother = "{stripe_key(22)}"\n'
    found = sorted((f.secret, f.location.line) for f in _scan(engine, text))
    assert found == sorted([(KEY, 2), (stripe_key(22), 5)])


def test_dense_basic_headers_decode_into_one_chunk() -> None:
    lines = [
        f'10.0.0.{i % 250} - - "GET / HTTP/1.1" 200 Authorization: Basic '
        + base64.b64encode(f"user{i}:pw{i * 7919:08d}".encode()).decode()
        for i in range(2000)
    ]
    data = ("\n".join(lines) + "\n").encode()
    [decoded] = list(decoded_chunks(Chunk(data, Location("f", 1, 1)), PLAIN))
    assert len(decoded.data) == len(data) and decoded.data.count(b"\n") == 2000
    assert b"user1999:pw" in decoded.data


@pytest.mark.parametrize(
    "text",
    [
        b'key = "abc" +\n  "def"',
        b"x = 'a'+'b'",
        b'{"u":"postgres:\\/\\/app:pw@db\\/x"}',
        b"cfg=" + base64.b64encode(b"https://example.org/x"),
        b"cfg=" + base64.b64encode(base64.b64encode(b"https://example.org/x")),
        b"cfg=aHR0cHM6 and nothing else",
    ],
)
def test_new_markers_agree_on_both_engines(text: bytes) -> None:
    _assert_scanners_agree(text)


# -- issue #17: the decoders follow the engine the caller chose ------------------------------

ENCODED_EXAMPLES = [
    f"Authorization: Basic {base64.b64encode(f'deploy:{KEY}'.encode()).decode()}\n",
    '{"msg":"key=' + KEY.replace("_", "\\u005f") + '"}\n',
    "GET /hook?key=" + KEY.replace("_", "%5F") + " HTTP/1.1\n",
    f'key = "{KEY[:12]}" +\n      "{KEY[12:]}"\n',
    f"cfg={base64.b64encode(f'https://u:{KEY}@example.org/'.encode()).decode()}\n",
    "kind: Secret\ndata:\n  key: " + base64.b64encode(KEY.encode()).decode() + "\n",
    _pem(" +\n\t", "var key = ", "\n"),
]


def test_an_explicit_re_engine_decodes_with_re_although_hyperscan_loads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("hyperscan")
    monkeypatch.setenv("LEAKGUARD_ENGINE", "hyperscan")  # a default only: the argument wins
    rules = RuleSet.load()
    plain = Engine(rules, "re", show_secrets=True)
    fast = Engine(rules, "hyperscan", show_secrets=True)
    assert plain.decoders.kind == "re" and fast.decoders.kind == "hyperscan"
    for text in ENCODED_EXAMPLES:
        found = _scan(plain, text)
        assert found and all(f.location.get("encoding") for f in found), text
        assert found == _scan(fast, text), text


def test_the_engine_pass_finds_the_markers_the_re_triggers_do_on_random_text() -> None:
    """Random text built from the triggers' pieces: the markers the engine's one Hyperscan
    pass reports are exactly those the ``re`` triggers find."""
    pytest.importorskip("hyperscan")
    import random

    pieces = [
        *("\\", "\\/", "\\u00e9", "%2F", "%20", "%5f", "Basic ", "basic ", "kind: Secret", '"'),
        *("'", " + ", "+\n", "\n", "\n  +", "aHR0cHM6", "LS0tLS1CRUdJTi", "abcdEFGH12", ":", "@"),
        *("https://", "x", "=", "/", "Zq8vT2mK9pLx"),
    ]
    rng = random.Random(10)
    for _ in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 30))).encode()
        assert _engine_pass(text)[1] == PLAIN.markers(text), text


def test_json_unescape_decodes_as_one_escape_at_a_time_does() -> None:
    """The codec path (every backslash an escape, no surrogate) and the escape-by-escape
    path give the same bytes on random runs of escapes, surrogates and stray backslashes."""
    import random

    from leakguard.engine.decoders import _json_unescape, _unescape_each

    pieces = [
        *("\\u0041", "\\u00e9", "\\u2500", "\\u002F", "\\u0000", "\\uD83D", "\\ude00", "\\/"),
        *("\\", "\\\\", "\\u12", "\\uZZZZ", "u0041", "a", "Zq8v", "/", ":", "@", "%2F"),
    ]
    rng = random.Random(12)
    fast = 0
    for _ in range(5000):
        run = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))).encode()
        assert _json_unescape(run) == _unescape_each(run), run
        fast += run.count(b"\\") == run.count(b"\\u") and b"\\u" in run
    assert fast > 100  # runs of escapes alone (the codec path) were drawn


def _encoded_forms(key: str) -> dict[str, str]:
    """A line holding ``key`` in each in-place layer, the key some bytes into its run."""
    escaped = key.replace("_", "\\u005f")
    return {
        "basic": "Authorization: Basic " + base64.b64encode(f"user:{key}".encode()).decode(),
        "json-escape": '{"token": "' + escaped + '"}',
        "percent": "GET /?api_key=" + quote(key, safe=""),
        "concatenation": f'k = "{key[:12]}" + "{key[12:]}";',
    }


@pytest.mark.parametrize("layer", ["basic", "json-escape", "percent", "concatenation"])
def test_an_encoded_key_across_a_chunk_boundary_is_found_once(engine: Engine, layer: str) -> None:
    """Cut into chunks that share an overlap (as every stream is), a key whose encoded run
    starts just before a cut while the decoded key lies past it is found once: by the chunk
    the run starts in. Every offset of the line around the cut is tried."""
    from leakguard.sources.streaming import stream_chunks

    key = stripe_key(77)
    line = _encoded_forms(key)[layer]
    missed, doubled = [], []
    for pad in range(0, 300):  # the run starts on either side of the cuts at 256 and 512
        data = ("x" * pad + " " + line + " end\n").encode() + b"tail\n" * 200
        found = [
            f.location.line
            for chunk in stream_chunks(
                io.BytesIO(data), Location("f", 1, 1), "file", chunk_bytes=512, overlap=256
            )
            for f in engine.scan(chunk, 2)
            if f.secret == key
        ]
        if not found:
            missed.append(pad)
        elif len(found) > 1:
            doubled.append(pad)
    assert (missed, doubled) == ([], []), layer
