from __future__ import annotations

import base64
import random
import re
from pathlib import Path
from urllib.parse import quote

import pytest

from leakguard.engine.matcher import (
    Engine,
    Keyword,
    _find_scanner,
    _hyperscan_scanner,
    _nesting,
)
from leakguard.engine.rules import RuleSet
from leakguard.engine.ruletest import available_engines
from leakguard.errors import RuleError
from leakguard.model import Chunk, Location

RULES = """
provider: demo
rules:
  - id: demo-token
    title: Demo token
    severity: high
    keywords: [dmo_]
    pattern: '(?P<secret>dmo_[0-9A-Za-z]{20})(?![0-9A-Za-z])'
    examples: ['t = dmo_Ab3dE5gH7jK9mN1pQ3sT']
"""


@pytest.fixture()
def ruleset(tmp_path: Path) -> RuleSet:
    (tmp_path / "demo.yaml").write_text(RULES)
    return RuleSet.load([tmp_path], builtin=False)


@pytest.mark.parametrize("kind", available_engines())
def test_line_and_column_are_one_based(ruleset: RuleSet, kind: str) -> None:
    engine = Engine(ruleset, kind)
    [f] = engine.scan_text("first line\n  x = dmo_Ab3dE5gH7jK9mN1pQ3sT\n")
    assert (f.location.line, f.location.column) == (2, 7)
    assert f.redacted == "dmo_…Q3sT"
    assert f.secret is None


@pytest.mark.parametrize("kind", available_engines())
def test_report_range_owns_matches_by_start(ruleset: RuleSet, kind: str) -> None:
    engine = Engine(ruleset, kind)
    data = b"dmo_Ab3dE5gH7jK9mN1pQ3sT dmo_Zb3dE5gH7jK9mN1pQ3sT"
    owned_first = Chunk(data, Location("f", 1, 1), report_until=10)
    owned_second = Chunk(data, Location("f", 1, 1), report_from=10)
    assert len(engine.scan(owned_first)) == 1
    assert len(engine.scan(owned_second)) == 1


def test_allow_marker_suppresses_only_its_line(ruleset: RuleSet) -> None:
    engine = Engine(ruleset, "re")
    text = "a = dmo_Ab3dE5gH7jK9mN1pQ3sT  # leakguard:allow\nb = dmo_Zb3dE5gH7jK9mN1pQ3sT\n"
    [f] = engine.scan_text(text)
    assert f.location.line == 2


OVERLAP_RULES = """
provider: demo
rules:
  - id: demo-generic
    title: Any demo token
    severity: low
    keywords: [dmo_]
    pattern: '(?P<secret>dmo_[0-9A-Za-z]{20,40})(?![0-9A-Za-z])'
    examples: ['t = dmo_Ab3dE5gH7jK9mN1pQ3sT']
  - id: demo-special
    title: Special demo token
    severity: critical
    priority: 5
    keywords: [dmo_]
    pattern: '(?P<secret>dmo_S[0-9A-Za-z]{19,39})(?![0-9A-Za-z])'
    examples: ['t = dmo_Sb3dE5gH7jK9mN1pQ3sT']
  - id: demo-inner
    title: Inner part
    severity: high
    keywords: [kx7]
    pattern: '(?P<secret>kx7[0-9]{6})'
    examples: ['kx7482913']
"""


@pytest.fixture()
def overlapping(tmp_path: Path) -> RuleSet:
    (tmp_path / "demo.yaml").write_text(OVERLAP_RULES)
    return RuleSet.load([tmp_path], builtin=False)


@pytest.mark.parametrize("kind", available_engines())
def test_priority_decides_between_rules_on_the_same_text(overlapping: RuleSet, kind: str) -> None:
    engine = Engine(overlapping, kind)
    [special] = engine.scan_text("t = dmo_Sb3dE5gH7jK9mN1pQ3sT")
    assert special.rule_id == "demo-special"
    [generic] = engine.scan_text("t = dmo_Ab3dE5gH7jK9mN1pQ3sT")
    assert generic.rule_id == "demo-generic"


@pytest.mark.parametrize("kind", available_engines())
def test_a_secret_inside_a_longer_one_is_not_reported_again(
    overlapping: RuleSet, kind: str
) -> None:
    engine = Engine(overlapping, kind)
    [outer] = engine.scan_text("x = 'dmo_Ab3dE5gHkx74829137jK9mN1p'")  # contains kx7482913
    assert outer.rule_id == "demo-generic"
    assert [f.rule_id for f in engine.scan_text("kx7482913")] == ["demo-inner"]


@pytest.mark.parametrize("kind", available_engines())
def test_keywords_are_case_insensitive_by_default(tmp_path: Path, kind: str) -> None:
    (tmp_path / "demo.yaml").write_text(RULES.replace("'(?P<secret>dmo_", "'(?P<secret>(?i:dmo_)"))
    engine = Engine(RuleSet.load([tmp_path], builtin=False), kind)
    [f] = engine.scan_text("t = DMO_Ab3dE5gH7jK9mN1pQ3sT")  # keyword dmo_ hits in upper case
    assert f.rule_id == "demo-token"


# -- the keyword pass without Hyperscan ---------------------------------------------------------


def _every_occurrence(keywords: list[Keyword], data: bytes) -> list[tuple[int, int]]:
    """(keyword index, end) of every occurrence, overlapping ones included, one find at a time;
    a guarded keyword's only where its guard matches after it (``re``, caseless unless exact)."""
    found = []
    for index, (kw, exact, guard) in enumerate(keywords):
        haystack = data if exact else data.lower()
        check = re.compile(guard.encode(), 0 if exact else re.I) if guard else None
        at = haystack.find(kw)
        while at != -1:
            if check is None or check.match(data, at + len(kw)):
                found.append((index, at + len(kw)))
            at = haystack.find(kw, at + 1)
    return sorted(found)


def test_the_re_keyword_pass_sees_every_overlapping_occurrence() -> None:
    keywords: list[Keyword] = [
        (b"token", False, ""),
        (b"token=", False, ""),  # the same start as another keyword
        (b"ken=", False, ""),  # starts inside another keyword's occurrence
        (b"aaa", False, ""),  # overlaps itself
        (b"AKIA", True, ""),
        (b"akia", False, ""),  # the same letters, another case rule
        (b"sk_", True, ""),
        (b"k_l", True, ""),
        (b"a.b", False, ""),  # regex metacharacters are literal
        (b"\n=", False, ""),
    ]
    data = b"TOKEN=x token= aaaaa AKIAakia akia sk_live a.b axb \n= Ken= sk_sk_"
    assert _find_scanner(keywords)(data)
    assert sorted(_find_scanner(keywords)(data)) == _every_occurrence(keywords, data)


def test_the_re_keyword_pass_agrees_with_the_shipped_keywords() -> None:
    engine = Engine(RuleSet.load(), "re")
    rules = RuleSet.load().rules
    data = b"\n".join(e.encode() for r in rules[::7] for e in r.examples + r.negative_examples)
    data += b" PASSWORD= Password = ApiKey: token: "
    found = sorted(engine._scan_keywords(data))
    assert found == _every_occurrence(engine._keywords, data)
    assert any(guard for _, _, guard in engine._keywords)  # the guarded keywords are checked too


# -- keyword guards -----------------------------------------------------------------------------

GUARDED: list[Keyword] = [
    (b"ab", False, "[ab]{0,4}c"),  # a second ab inside the first one's guard, the same end
    (b"ab", False, ""),  # the same keyword unguarded: its own hits
    (b"key=", False, "[ \t]{0,3}[\"']?[A-Za-z0-9]{6}"),
    (b"key=", True, "AQE"),  # exact: its guard is exact too
    (b"x-", False, "(?:y|zz)+[^q]"),
    (b"tok", True, ""),
    (b"k=", False, "[a-z=]{2,6};"),  # found again inside its own guard, ``=`` and all
    (b"zaz", True, "[az]{1,5};"),  # found again overlapping itself (zazaz)
]
_GUARD_TEXT = ["ab", "abab", "c", "key=", "KEY=", " ", "\t", '"', "AQE", "aqe", "x-", "y", "zz"]
_GUARD_TEXT += ["k=", "K=", ";", "=", "zaz", "za"]


def _scanners() -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = [("re", _find_scanner(GUARDED))]
    if "hyperscan" in available_engines():
        layered, _quiet = _hyperscan_scanner(GUARDED)
        found.append(("hyperscan", lambda data: layered(data)[0]))
    return found


def test_a_guarded_keyword_hits_only_where_its_guard_follows() -> None:
    data = b"ababc abx key=AQE KEY= 'Ab3dE5 key=aqe x-yzzy x-q ab"
    expected = _every_occurrence(GUARDED, data)
    assert (0, 2) in expected and (0, 4) in expected and (0, 7) not in expected  # abab|c
    assert (3, 14) in expected and (2, 14) not in expected and (2, 22) in expected
    assert (3, 35) not in expected and (2, 35) not in expected  # aqe: not the exact AQE
    for kind, scan in _scanners():
        assert sorted(set(scan(data))) == expected, kind  # type: ignore[operator]


def test_where_a_keyword_can_be_found_again_inside_its_own_match() -> None:
    assert _nesting((b"api_key", False, "[ \t]{0,8}=")) is None  # the guard holds no letter
    assert _nesting((b"api_key", False, "")) is None  # unguarded: each hit is reported
    assert _nesting((b"AQE", True, "aqe")) is None  # an exact guard holds no capital
    ab = _nesting((b"ab", False, "[AB]{0,4}c"))  # a caseless guard holds either case
    assert ab is not None and ab.skip == 2  # only in the guard's text: ab cannot overlap ab
    zaz = _nesting((b"zaz", True, "x"))  # zazaz: the second from the third byte on
    assert zaz is not None and zaz.skip == 1 and zaz.probe == b""
    assert _nesting((b"k=", False, "[a-z=]{2,6};")) == (b"k=", False, "[a-z=]{2,6};", 2, b"=")


def test_a_keyword_overlapping_itself_is_found_inside_its_match() -> None:
    # zaz at 0 and at 2 with their guards ("azaz;", "az;") end at the ';': Hyperscan reports
    # that end with the leftmost start only; zaz at 4 has no guard (";" alone)
    data = b"zazazaz;"
    expected = _every_occurrence(GUARDED, data)
    assert [(kw, end) for kw, end in expected if kw == 7] == [(7, 3), (7, 5)]
    for kind, scan in _scanners():
        assert sorted(set(scan(data))) == expected, kind  # type: ignore[operator]


def test_both_keyword_passes_agree_on_random_text_with_guards() -> None:
    rng = random.Random(7)
    scanners = _scanners()
    for _ in range(400):
        data = "".join(rng.choice(_GUARD_TEXT + list("abcAQ0x9")) for _ in range(40)).encode()
        expected = _every_occurrence(GUARDED, data)
        for kind, scan in scanners:
            assert sorted(set(scan(data))) == expected, (kind, data)  # type: ignore[operator]


def test_the_quiet_pass_is_quiet_only_where_the_keyword_pass_finds_no_keyword() -> None:
    """Over text full of near misses (guards that do not follow, keywords cut short): quiet
    where no keyword is found; where one is, not quiet (a guarded keyword's guard counts)."""
    pytest.importorskip("hyperscan")
    layered, quiet = _hyperscan_scanner(GUARDED)
    rng = random.Random(11)
    answers = set()
    for _ in range(2000):
        size = rng.choice([1, 3, 8, 40])
        data = "".join(rng.choice(_GUARD_TEXT + list("abcAQ0x9")) for _ in range(size)).encode()
        hits = layered(data)[0]
        is_quiet = quiet(data, False)
        assert quiet(data, True) is is_quiet  # no decoding marker in this text
        if is_quiet:
            assert hits == [] and _every_occurrence(GUARDED, data) == [], data
        elif not hits:  # cautious: only a guarded keyword whose guard took a second look
            assert any(kw.lower() in data.lower() for kw, _, guard in GUARDED if guard), data
        answers.add((is_quiet, bool(hits)))
    assert answers >= {(True, False), (False, True)}


# -- anchored rules -----------------------------------------------------------------------------

ANCHORED = """
provider: demo
rules:
  - id: demo-assigned
    title: Demo assigned value
    severity: low
    keywords: ['dmo_key=']
    pattern: '(?P<name>dmo_keys?)=(?P<secret>[0-9A-Za-z]{20})(?![0-9A-Za-z])'
    before: 0
    anchored: ANCHORED
    examples: ['dmo_key=Ab3dE5gH7jK9mN1pQ3sT']
"""


@pytest.mark.parametrize("kind", available_engines())
def test_an_anchored_rule_matches_at_its_keywords_only(tmp_path: Path, kind: str) -> None:
    """``dmo_keys=`` holds no keyword: a window search finds it only when a keyword hit happens
    to be near; an anchored rule never does, and finds every keyword's match however close."""
    text = "dmo_key=Ab3dE5gH7jK9mN1pQ3sT dmo_keys=Zy9xW8vU7tS6rQ5pO4nM dmo_key=Qw1eR2tY3uI4oP5aS6dF"
    found = {}
    for anchored in ("true", "false"):
        (tmp_path / "demo.yaml").write_text(ANCHORED.replace("ANCHORED", anchored))
        engine = Engine(RuleSet.load([tmp_path], builtin=False), kind)
        found[anchored] = [f.location.column for f in engine.scan_text(text)]
    assert found == {"true": [9, 68], "false": [9, 39, 68]}


def test_an_anchored_rule_reads_nothing_before_its_keyword(tmp_path: Path) -> None:
    (tmp_path / "demo.yaml").write_text(
        ANCHORED.replace("ANCHORED", "true").replace("before: 0", "before: 8")
    )
    with pytest.raises(RuleError, match="anchored rule reads nothing before its keyword"):
        RuleSet.load([tmp_path], builtin=False)


def _planted(rng: random.Random, count: int) -> tuple[bytes, list[int], list[bytes]]:
    """Text of lines of every length (empty, short, a minified line of kilobytes) with demo
    tokens at random places: the text, each token's offset and each token."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    parts: list[bytes] = []
    offsets: list[int] = []
    tokens: list[bytes] = []
    size = 0
    for _ in range(count):
        filler = "".join(
            rng.choice([" ", "\n", "x", "\n\n"]) if rng.random() < 0.3 else "y"
            for _ in range(rng.choice([0, 1, 5, 40, 3000]))
        )
        token = ("dmo_" + "".join(rng.choices(alphabet, k=20))).encode()
        piece = filler.encode() + b" "
        parts.append(piece + token + b" ")
        offsets.append(size + len(piece))
        tokens.append(token)
        size += len(piece) + len(token) + 1
    return b"".join(parts), offsets, tokens


@pytest.mark.parametrize("kind", available_engines())
def test_findings_are_located_as_their_chunk_locates_each_offset(
    ruleset: RuleSet, kind: str
) -> None:
    """The engine counts lines from one finding to the next; each place is the one
    ``Chunk.location_at`` gives for the finding's offset, whatever the chunk's first line and
    column (0: unknown), the lines' lengths and the report range."""
    engine = Engine(ruleset, kind, show_secrets=True)
    rng = random.Random(7)
    for base in (Location("a", 1, 1), Location("b", 0, 0), Location("c", 40, 9, "ab" * 20)):
        for _ in range(6):
            data, offsets, tokens = _planted(rng, rng.choice([1, 3, 30]))
            low = rng.choice([0, 0, len(data) // 3])
            chunk = Chunk(data, base, report_from=low)
            found = [(f.location, f.secret) for f in engine.scan(chunk)]
            expected = [
                (chunk.location_at(at), token.decode())
                for at, token in zip(offsets, tokens, strict=True)
                if at >= low
            ]
            assert found == expected


def test_probe_answers_from_the_keyword_pass_the_next_scan_of_those_bytes_reuses(
    ruleset: RuleSet,
) -> None:
    """``Engine.probe`` says whether bytes name a source map; the scan of a chunk of exactly
    those bytes that follows takes over its keyword pass (one pass over them, not two) and
    finds what a scan without a probe finds."""
    pytest.importorskip("hyperscan")
    engine = Engine(ruleset, "hyperscan")
    passes: list[bytes] = []
    layered = engine._scan_layered
    assert layered is not None
    engine._scan_layered = lambda data: passes.append(data) or layered(data)
    text = b"t = dmo_Ab3dE5gH7jK9mN1pQ3sT\n//# sourceMappingURL=app.js.map\n"
    expected = Engine(ruleset, "hyperscan").scan(Chunk(text, Location("a.js")))
    assert [f.rule_id for f in expected] == ["demo-token"]

    assert engine.probe(text) is True
    assert engine.scan(Chunk(text, Location("a.js"))) == expected
    assert passes == [text]  # the scan made no pass of its own

    # equal bytes in another object are scanned themselves (the probe is only taken over
    # for the very bytes it looked at), and the probe's pass is dropped by that scan
    assert engine.probe(text) is True
    assert engine.scan(Chunk(bytes(bytearray(text)), Location("a.js"))) == expected
    assert engine.scan(Chunk(text, Location("a.js"))) == expected
    assert len(passes) == 4

    plain = b"t = dmo_Ab3dE5gH7jK9mN1pQ3sT\nsourceMappingURL is a word here\n"
    assert engine.probe(plain) is False
    assert engine.scan(Chunk(plain, Location("b.js"))) != []
    assert len(passes) == 5
    assert Engine(ruleset, "re").probe(text) is None  # no keyword pass to share: None


def test_quiet_says_bytes_hold_nothing_only_where_their_scan_has_nothing_to_do(
    ruleset: RuleSet,
) -> None:
    """``Engine.quiet(depth)(data)`` is True only for bytes the keyword pass finds nothing in:
    no keyword, no marker (``sourceMappingURL=``, ``__NEXT_DATA__``), and no decoding marker
    when a chunk of them would be decoded. It reads only the view it is given."""
    pytest.importorskip("hyperscan")
    engine = Engine(ruleset, "hyperscan")
    check, decoding = engine.quiet(0), engine.quiet(2)
    assert check is not None and decoding is not None
    token = b"t = dmo_Ab3dE5gH7jK9mN1pQ3sT\n"
    assert engine.scan(Chunk(token, Location("a"))) != []
    assert check(token) is False and decoding(token) is False
    for plain in (b"nothing to see\n", b"x", b"DMO without its underscore\n"):
        assert check(plain) is True and decoding(plain) is True
        assert engine.scan(Chunk(plain, Location("a")), 2) == []
    for marked in (b"//# sourceMappingURL=a.js.map\n", b'<script id="__NEXT_DATA__">'):
        assert check(marked) is False
    escaped = b'x = "\\u0041bc"\n'  # a JSON escape: decoded when decoding is asked for
    assert check(escaped) is True and decoding(escaped) is False
    # a view of a buffer's first bytes: what lies after it is not read
    buffer = bytearray(b"nothing here " + token)
    assert check(memoryview(buffer)[:13]) is True
    assert check(memoryview(buffer)) is False
    assert check(buffer) is False
    assert Engine(ruleset, "re").quiet(0) is None  # no keyword pass: no answer


def test_quiet_bytes_give_no_finding_with_the_shipped_rules() -> None:
    """Over every shipped rule's examples (the detectors' own positive and negative
    samples; each cut in two, base64- and percent-encoded, and run together), bytes called
    quiet are bytes whose scan finds nothing, at depth 0 and with decoding."""
    pytest.importorskip("hyperscan")
    rules = RuleSet.load()
    engine = Engine(rules, "hyperscan")
    samples: list[bytes] = []
    for rule in rules.rules:
        for text in (*rule.examples, *rule.negative_examples):
            data = text.encode()
            samples += [data, data[: len(data) // 2], data[len(data) // 2 :]]
            samples += [b'v = "' + base64.b64encode(data) + b'"', quote(text, safe="").encode()]
    rng = random.Random(5)
    samples += [b"\n".join(rng.sample(samples, 8)) for _ in range(200)]
    assert len(samples) > 1000
    found = decoded = 0
    for depth in (0, 2):
        check = engine.quiet(depth)
        assert check is not None
        for data in samples:
            findings = engine.scan(Chunk(data, Location("a")), depth)
            found += bool(findings)
            decoded += bool(depth and findings and not engine.scan(Chunk(data, Location("a"))))
            if check(data):
                assert findings == [], data[:60]
    assert found > 500  # the samples do hold findings
    assert decoded > 100  # and some only once decoded
