"""Tokens that carry base64 structure: a segment decodes to a known shape.

Several providers build tokens by base64-encoding something with a fixed shape: a Discord bot
token starts with the base64 of the bot's numeric user id, an Intercom access token is the
base64 of ``tok:…``, an Amazon Bedrock long-term API key is ``ABSK`` + the base64 of
``BedrockAPIKey-…``, a Mapbox token's middle segment is base64url JSON naming the user. The
``base64_structure`` validator decodes one ``.``-separated segment (after skipping a fixed
prefix) and requires the decoded bytes to match a regular expression from its start; named
groups can become finding attributes. Random text of the right alphabet almost never decodes
to the expected shape, so this rejects look-alikes the pattern alone would accept.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from leakguard.engine import params as p
from leakguard.engine.interface import Candidate, Verdict

PARAMS = {
    "segment": "index of the '.'-separated segment to decode (default 0)",
    "skip": "characters dropped from the start of that segment before decoding (default 0)",
    "match": "regular expression the decoded bytes must match from their start",
    "attributes": "{attribute: group} copied from named groups of 'match' to the finding",
}


def prepare(params: Mapping[str, Any]) -> Mapping[str, Any]:
    p.only(params, PARAMS)
    shape = p.pattern(params, "match")
    attributes = p.string_map(params, "attributes")
    unknown = sorted(set(attributes.values()) - set(shape.groupindex))
    if unknown:
        raise ValueError(f"attributes: 'match' has no group {unknown[0]!r}")
    return {
        "segment": p.integer(params, "segment", 0, 0, 8),
        "skip": p.integer(params, "skip", 0, 0, 64),
        "match": shape,
        "attributes": attributes,
    }


def decode_segment(value: bytes, segment: int, skip: int) -> bytes | None:
    """The base64 (standard or URL-safe, padding optional) decoding of one segment."""
    parts = value.split(b".")
    if segment >= len(parts):
        return None
    text = parts[segment][skip:].rstrip(b"=")
    if not text or len(text) % 4 == 1:
        return None
    altchars = b"-_" if (b"-" in text or b"_" in text) else None
    try:
        return base64.b64decode(text + b"=" * (-len(text) % 4), altchars, validate=True)
    except (binascii.Error, ValueError):
        return None


def base64_structure(candidate: Candidate, params: Mapping[str, Any]) -> Verdict:
    decoded = decode_segment(candidate.secret, params.get("segment", 0), params.get("skip", 0))
    if decoded is None:
        return Verdict.reject("segment is not base64")
    shape: re.Pattern[bytes] = params["match"]
    m = shape.match(decoded)
    if m is None:
        return Verdict.reject("decoded segment does not have the provider's structure")
    attributes = tuple(
        (name, value.decode("ascii", "replace"))
        for name, group in params.get("attributes", {}).items()
        if (value := m.group(group)) is not None
    )
    return Verdict(accept=True, detail="decoded structure checked", attributes=attributes)
