"""Pairing: find the other half of a credential a few lines around a match.

Some credentials are two values (an AWS key id and its secret, a Twilio account SID and its auth
token). The generic ``pairing`` validator looks for a partner pattern within a number of lines
and, when found, reports both halves as one credential, with each half as a named part.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from leakguard.engine import params as p
from leakguard.engine.filters import is_placeholder
from leakguard.engine.interface import Candidate, Verdict
from leakguard.model import ValidationStatus, extras
from leakguard.redact import redact

PARAMS = {
    "partner": "regular expression of the other half (its group 'value' if it has one)",
    "lines": "lines before and after the match to search (default 3)",
    "attribute": "finding attribute that receives the partner value (for identifiers only)",
    "required": "reject the match when no partner is found (default false)",
    "unpaired_severity": "severity when no partner is found (default: the rule's)",
    "partner_first": "the credential reads partner:match (default true; false for match:partner)",
    "parts": "names of the two parts, [match, partner] (default: the attribute for the partner "
    "and 'secret' for the match, else 'match' and 'partner')",
}


def prepare(params: Mapping[str, Any]) -> Mapping[str, Any]:
    p.only(params, PARAMS)
    attribute = params.get("attribute")
    if attribute is not None and not isinstance(attribute, str):
        raise ValueError("attribute must be a name")
    names = params.get("parts")
    if names is None:
        names = ["secret", attribute] if attribute else ["match", "partner"]
    if (
        not isinstance(names, list)
        or len(names) != 2
        or not all(isinstance(n, str) and n for n in names)
        or names[0] == names[1]
    ):
        raise ValueError("parts must be two different names: [match, partner]")
    return {
        "parts": tuple(names),
        "partner": p.pattern(params, "partner"),
        "lines": p.integer(params, "lines", 3, 0, 50),
        "attribute": attribute,
        "required": p.flag(params, "required", False),
        "unpaired_severity": p.severity(params, "unpaired_severity"),
        "partner_first": p.flag(params, "partner_first", True),
    }


REACH_BYTES = 2048  # a minified bundle is one long line: never search more than this


def line_span(
    data: bytes, start: int, end: int, lines: int, reach: int = REACH_BYTES
) -> tuple[int, int]:
    """Offsets covering ``lines`` whole lines before and after ``data[start:end]``, but no more
    than ``reach`` bytes either side."""
    floor, ceiling = max(0, start - reach), min(len(data), end + reach)
    lo = start
    for _ in range(lines + 1):  # never look for a line break further away than ``reach``
        lo = data.rfind(b"\n", floor, lo)
        if lo == -1:
            lo = floor
            break
    hi = end
    for _ in range(lines + 1):
        hi = data.find(b"\n", hi + 1, ceiling)
        if hi == -1:
            hi = ceiling
            break
    return lo, hi


def nearest(
    pattern: re.Pattern[bytes],
    data: bytes,
    start: int,
    end: int,
    lines: int,
    plausible: Callable[[bytes], bool],
) -> re.Match[bytes] | None:
    """The closest plausible match of ``pattern`` within ``lines`` lines of ``data[start:end]``
    (fewest line breaks between, then the one that follows), never overlapping it."""
    lo, hi = line_span(data, start, end, lines)
    best: tuple[int, int, re.Match[bytes]] | None = None
    for m in pattern.finditer(data, lo, hi):
        if m.start() < end and m.end() > start:
            continue
        if not plausible(_value(m)):
            continue
        gap = data.count(b"\n", min(end, m.start()), max(start, m.end()))
        rank = (gap, 0 if m.start() >= end else 1)
        if best is None or rank < best[:2]:
            best = (*rank, m)
    return best[2] if best else None


def _value(m: re.Match[bytes]) -> bytes:
    if "value" in m.re.groupindex and m.group("value") is not None:
        return m.group("value")
    return m.group()


def pairing(candidate: Candidate, params: Mapping[str, Any]) -> Verdict:
    partner = nearest(
        params["partner"],
        candidate.data,
        candidate.start,
        candidate.end,
        int(params.get("lines", 3)),
        lambda value: not is_placeholder(value),
    )
    match_name, partner_name = params.get("parts") or ("match", "partner")
    if partner is None:
        if params.get("required"):
            return Verdict.reject("no partner value nearby")
        return Verdict(
            accept=True,
            status=ValidationStatus.UNVERIFIABLE,
            detail="no partner value nearby",
            severity=params.get("unpaired_severity"),
            attributes=extras(paired=False),
            parts=((match_name, candidate.secret),),
        )
    value = _value(partner)
    attribute = params.get("attribute")
    attributes = extras(
        {attribute: value.decode("utf-8", "replace")} if attribute else None, paired=True
    )
    halves = [value, candidate.secret]
    if not params.get("partner_first", True):
        halves.reverse()
    return Verdict(
        accept=True,
        detail="paired with its partner value",
        attributes=attributes,
        secret=b":".join(halves),
        redacted=":".join(redact(half) for half in halves),
        parts=((match_name, candidate.secret), (partner_name, value)),
    )
