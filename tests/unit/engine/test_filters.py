"""The shipped allowlist of public documentation values and the placeholder filter."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from leakguard.engine import filters
from leakguard.engine.filters import documentation, is_placeholder, is_public_example
from leakguard.engine.matcher import Engine
from leakguard.engine.rulecache import RuleCache
from leakguard.engine.rules import RuleSet

JWT_IO = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0"
    "IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
# the jwt.io demo claims under RS256 with another signature: public whatever the header
JWT_IO_RS256 = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiYWRt"
    "aW4iOnRydWUsImlhdCI6MTUxNjIzOTAyMn0.NHVaYe26MbtOYhSKkoKYdFVomg4i8ZJd8_-RU8VNbftc4TSMb4bXP3l3YlNW"
)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(RuleSet.load())


@pytest.mark.parametrize(
    "text",
    [
        "aws_access_key_id = AKIAI44QH8DHBEXAMPLE\naws_secret_access_key = "
        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
        "stripe.api_key = 'sk_test_BQokikJOvBiI2HlWgH4olfQ2'",
        "Stripe('pk_test_6pRNASCoBOKtIshFeQd4XMUh')",
        "access_token=gho_16C7e42F292c6912E7710c838347Ae178B4a&scope=repo",
        "SLACK_BOT_TOKEN=xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
        f"Authorization: Bearer {JWT_IO}",
        f"token = '{JWT_IO_RS256}'",
    ],
)
def test_published_documentation_values_are_not_reported(engine: Engine, text: str) -> None:
    assert engine.scan_text(text) == []


def test_allowlist_is_loaded_from_data() -> None:
    values, parts = documentation()
    assert b"AKIAIOSFODNN7EXAMPLE" in values
    assert len(values) >= 10 and len(parts) >= 2
    assert is_public_example(JWT_IO.encode()) and is_public_example(JWT_IO_RS256.encode())


def test_the_allowlist_is_kept_parsed_in_the_rule_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second process reads the parsed allowlist from the cache (no YAML parser); a damaged
    entry is parsed again and stored over."""
    shipped = documentation()
    cache = RuleCache(tmp_path)
    monkeypatch.setattr(filters, "_documentation", None)
    assert documentation(cache) == shipped
    [entry] = list((tmp_path / "rules").glob("*.examples.json"))
    assert oct(entry.stat().st_mode & 0o777) == "0o600"

    def no_yaml(text: str) -> tuple[list[str], list[str]]:
        raise AssertionError("parsed again although the cache holds it")

    monkeypatch.setattr(filters, "_documentation", None)
    monkeypatch.setattr(filters, "_parsed", no_yaml)
    assert documentation(cache) == shipped
    monkeypatch.undo()

    damaged = entry.read_bytes().replace(b'"values"', b'"valuez"')
    entry.write_bytes(damaged)  # the header's digest no longer matches: ignored, stored again
    monkeypatch.setattr(filters, "_documentation", None)
    assert documentation(cache) == shipped
    assert entry.read_bytes() != damaged


def test_a_real_shaped_value_is_not_public() -> None:
    value = b"sk_live_51WK59PFkl0JfI2yyVlbPegBPrUhRZdsvDQuc8dW"
    assert not is_public_example(value) and not is_placeholder(value, 8)


@pytest.mark.parametrize(
    "value", [b"sk_live_xxxxxxxxxxxxxxxx", b"${STRIPE_KEY}", b"<your-key>", b"aaaaaaaaaaaa"]
)
def test_placeholders(value: bytes) -> None:
    assert is_placeholder(value)


def test_entropy_is_the_same_float_from_the_table_of_terms() -> None:
    """Values up to 256 bytes sum their terms from a table per length: the very float the
    definition gives (a floor compared with ``<`` must not move by a rounding), and known
    answers where the entropy is exact."""
    import math
    import random

    def defined(value: bytes) -> float:
        n = len(value)
        return -sum(c / n * math.log2(c / n) for c in map(value.count, dict.fromkeys(value)))

    rng = random.Random(11)
    for _ in range(2000):
        n = rng.choice([1, 2, 3, 12, 20, 40, 64, 100, 255, 256, 257, 600])
        alphabet = rng.choice([b"ab", b"0123456789abcdef", bytes(range(256))])
        value = bytes(rng.choices(alphabet, k=n))
        assert filters.shannon_entropy(value) == defined(value)
    assert filters.shannon_entropy(b"") == 0.0
    assert filters.shannon_entropy(b"aaaa") == 0.0
    assert filters.shannon_entropy(b"abab") == 1.0
    assert filters.shannon_entropy(bytes(range(256))) == 8.0
    assert filters.shannon_entropy(bytes(range(256)) * 2) == 8.0  # past the table: the formula


def test_the_placeholder_answer_is_the_values_own_whatever_was_asked_before() -> None:
    """The last answer is kept for the next question about the same value (the JWT rules ask
    in turn): a random run of questions about a few values and prefix lengths, each answered
    as the uncached check answers it."""
    # the same value, another answer by its prefix: a run of one letter, then a random tail
    value = b"aaaaaaaaaaaaQ7x9Lm2PwZ4k"
    assert filters._placeholder(value, 0) and not filters._placeholder(value, 12)
    pool = [value, b"your_api_key_here", b"sk_live_" + b"x" * 24, b"Zq8RmT4vWx2Yb6Nc1Pd9Lf3H"]
    rng = random.Random(3)
    for _ in range(400):
        secret, prefix = rng.choice(pool), rng.choice([0, 0, 8, 12])
        assert is_placeholder(secret, prefix) == filters._placeholder(secret, prefix)


@pytest.mark.parametrize(
    "value",
    [
        b"xoxb-xxxx-xxxx",  # runs of x between separators
        b"sk_live_key_xxxx",  # a run that ends the value
        b"XXXXq8Jf2LmZ0vTn",  # a run that starts it
        b"api_secret____",  # underscores that end it
    ],
)
def test_four_xs_in_one_case_at_an_edge_mark_a_placeholder(value: bytes) -> None:
    assert is_placeholder(value)


@pytest.mark.parametrize(
    "value",
    [
        # JWT signatures (base64url, 43 characters) that once were dropped as placeholders
        b"kw3ZHEcclOpQ0F1XP8YDRzkmSmFT4rQYXXxXbVo7xi0",
        b"bxQxxXx2auprcE6L3hHPFGQvxXlCE9dy3zyJUfXtyvc",
        b"ue-UmGHbksfB00ad6WL2HcKaau9-0tNphIxXXxkxX1k",
        b"Qm9vX3Nd8XXXXz1LpT4vRw0aKe7jF2hG5nB6cY9uIq",  # one case, inside the value
        b"wdeFIVHBWbCIB26ZcbIChwN_l____CDF94U-W39Ibmp",  # underscores inside the value
    ],
)
def test_four_xs_by_chance_inside_a_random_value_are_no_placeholder(value: bytes) -> None:
    assert not is_placeholder(value)


def test_random_signatures_are_not_taken_for_placeholders() -> None:
    """100,000 random base64url signatures of a JWT's length (seed 6): the filter before
    546135e took 5 of them for placeholders (four x's in some mix of cases, or four
    underscores, inside them); none now. Edge runs can still occur by chance (about one value
    in 3 million), none in this sample."""
    import random

    rng = random.Random(6)
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    flagged = [
        value
        for value in (bytes(rng.choices(alphabet, k=43)) for _ in range(100_000))
        if is_placeholder(value)
    ]
    assert flagged == []
