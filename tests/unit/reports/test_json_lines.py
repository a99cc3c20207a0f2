"""JSON lines are written from cached parts (the text around a repeated credential's location,
a path's text around its line and column): each line is the text ``json.dumps`` gives for the
finding's dictionary, checked on random findings sharing and varying every field."""

from __future__ import annotations

import json
import random

import pytest

from leakguard.model import (
    Finding,
    LiveCheck,
    LiveStatus,
    Location,
    ScanResult,
    ScanStats,
    Severity,
    Validation,
    ValidationStatus,
)
from leakguard.reports import render
from leakguard.reports.json_report import VARIANTS, LineWriter

# odd text a path or value may hold: quotes, backslashes, controls, non-ASCII, a lone surrogate
_TEXT = ['a"b', "c\\d", "e\nf", "tab\t", "é", "\u2026", "\udc80x", "plain", "", "日本"]


def _text(rng: random.Random) -> str:
    return "".join(rng.choices(_TEXT, k=rng.randint(0, 3)))


def _location(rng: random.Random) -> Location:
    extras_keys = ["encoding", "original_line", "commit", "line", "column", "path", "url"]
    extras = tuple(
        (key, rng.choice([_text(rng), rng.randint(0, 9), None, True, 1.5]))
        for key in rng.sample(extras_keys, rng.choice([0, 0, 0, 1, 2]))
    )
    return Location(
        rng.choice(["src/app.py", "dist.zip!a/b.js", _text(rng)]),
        rng.choice([0, 1, 2, 10**9, True]),
        rng.choice([0, 1, 77, False]),
        rng.choice([None, None, "0123abcd" * 5]),
        extras,
    )


def _flipped(value: object) -> object:
    """An equal value of the other type: ``1`` for ``True``, ``False`` for ``0``."""
    if isinstance(value, bool):
        return int(value)
    if type(value) is int and value in (0, 1):
        return bool(value)
    return value


def _variant(rng: random.Random, f: Finding) -> Finding:
    """``f`` with one field other than its fingerprint changed, or equal but encoded
    differently (``1`` for ``True``), or equal in a copy of its own."""
    fields = {name: getattr(f, name) for name in Finding.__dataclass_fields__}
    name = rng.choice(["title", "attributes", "attributes", "validation", "parts", "secret"])
    if name == "attributes":
        fields[name] = tuple((k, _flipped(v)) for k, v in f.attributes)
        if rng.random() < 0.5:
            fields[name] = (*f.attributes, ("n", 1.0))
    elif name == "validation":
        fields[name] = Validation(f.validation.status, f.validation.validator, "other")
    elif name == "parts":
        fields[name] = () if f.parts else (("user", "sha256:22"),)
    else:
        fields[name] = str(fields[name]) + "x"
    fields["location"] = _location(rng)
    return Finding(**fields)


def _finding(rng: random.Random, shared: list[Finding]) -> Finding:
    if shared and rng.random() < 0.2:  # the same fingerprint, something else differs
        return _variant(rng, rng.choice(shared))
    if shared and rng.random() < 0.6:  # the same credential again, somewhere else
        f = rng.choice(shared)
        return Finding(
            f.rule_id,
            f.provider,
            f.title,
            f.severity,
            f.fingerprint,
            f.redacted,
            f.source_kind,
            _location(rng),
            f.validation,
            f.attributes,
            f.rotation,
            f.occurrences,
            f.secret,
            f.parts,
            f.verification,
        )
    check = LiveCheck(LiveStatus.LIVE, "demo", "GET https://example.com", "2026-01-01T00:00:00Z")
    f = Finding(
        rule_id=rng.choice(["generic-secret", "demo-token"]),
        provider=rng.choice(["generic", _text(rng)]),
        title=_text(rng),
        severity=rng.choice(list(Severity)),
        fingerprint=f"sha256:{rng.getrandbits(256):064x}",
        redacted=_text(rng) + "\u2026",
        source_kind=rng.choice(["file", "git", "web"]),
        location=_location(rng),
        validation=Validation(rng.choice(list(ValidationStatus)), rng.choice([None, "x"]), "d"),
        attributes=tuple((k, rng.choice([_text(rng), 3, None, False])) for k in ("name", "n")),
        rotation=rng.choice([None, "generic-secret"]),
        occurrences=tuple(_location(rng) for _ in range(rng.choice([0, 0, 2]))),
        secret=rng.choice([None, _text(rng) + "v"]),
        parts=rng.choice([(), (("user", "sha256:00"), ("password", "sha256:11"))]),
        verification=rng.choice([None, check]),
    )
    shared.append(f)
    return f


@pytest.mark.parametrize("show_secrets", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_each_line_is_what_json_dumps_gives(seed: int, show_secrets: bool) -> None:
    rng = random.Random(seed)
    shared: list[Finding] = []
    findings = [_finding(rng, shared) for _ in range(400)]
    writer = LineWriter(show_secrets=show_secrets)
    for f in findings:
        assert writer.line(f) == json.dumps(f.to_dict(show_secrets=show_secrets)) + "\n"
    result = ScanResult(tuple(findings), ScanStats())
    expected = "".join(json.dumps(f.to_dict(show_secrets=show_secrets)) + "\n" for f in findings)
    assert render(result, "jsonl", show_secrets=show_secrets) == expected


def test_a_secret_shown_on_one_line_is_not_carried_to_the_next() -> None:
    """Two findings equal but for their secret (it takes no part in equality) each show their
    own when asked, and neither when not."""
    base = Finding("r", "p", "t", Severity.LOW, "sha256:00", "…", "file", Location("a", 1, 1))
    one = Finding(**{**_fields(base), "secret": "first-value"})
    two = Finding(**{**_fields(base), "secret": "other-value"})
    shown = LineWriter(show_secrets=True)
    assert json.loads(shown.line(one))["secret"] == "first-value"
    assert json.loads(shown.line(two))["secret"] == "other-value"
    hidden = LineWriter()
    assert "secret" not in json.loads(hidden.line(one)) | json.loads(hidden.line(two))


def _fields(f: Finding) -> dict[str, object]:
    return {name: getattr(f, name) for name in Finding.__dataclass_fields__}


def test_a_credential_whose_findings_differ_at_every_place_keeps_few_surroundings() -> None:
    """A verdict made per match (a key id with no secret near it) gives each finding of one
    credential its own validation object: each is compared with a bounded number of earlier
    ones, not with all (100,000 findings of one key took 12 minutes), and each line is still
    what ``json.dumps`` gives."""
    writer = LineWriter()
    base = Finding("r", "p", "t", Severity.LOW, "sha256:00", "…", "file", Location("a", 1, 1))
    for n in range(2_000):
        validation = Validation(ValidationStatus.UNVERIFIABLE, "pairing", "no pair near it")
        f = Finding(**{**_fields(base), "validation": validation, "location": Location("a", n, 1)})
        assert writer.line(f) == json.dumps(f.to_dict()) + "\n"
    assert len(writer._around["sha256:00"]) <= VARIANTS
