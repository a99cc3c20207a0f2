"""Decoding layers: find encoded runs in a chunk and yield what they decode to.

Three layers, each started only by a cheap marker found with ``bytes.find`` so that text which
holds nothing encoded costs almost nothing:

* ``json-escape`` (``\\/``, ``\\uXXXX`` inside JSON strings: JSON-lines logs, CloudTrail) and
  ``percent`` (``%2F`` in URLs and access logs) decode to text on the same line. They yield one
  *in-place* chunk per layer: every byte blanked except newlines, each decoded run written where
  its encoded run starts. Line and column then come from offsets as usual and point at the
  encoded text; text outside the runs cannot match twice.
* ``base64`` runs after ``Basic`` (HTTP authorization) and in the values of a Kubernetes
  ``Secret`` manifest (``kind: Secret``) decode to arbitrary text (often several lines). Each
  yields a ``position_fixed`` chunk located at the encoded run.

Every decoded chunk has ``depth = parent.depth + 1`` (the engine stops at ``decode_depth``) and
records its layer in the location extras (``encoding: base64``; nested layers are joined with
``+``). Decoding is bounded per chunk (:data:`MAX_DECODED_BYTES`, :data:`MAX_RUN_BYTES`).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from urllib.parse import unquote_to_bytes

from leakguard.model import Chunk, Extras, Location

#: decoded bytes one chunk may produce per layer
MAX_DECODED_BYTES = 4 * 1024 * 1024
#: longest encoded run decoded
MAX_RUN_BYTES = 64 * 1024
#: decoded runs shorter than this cannot hold a credential
MIN_DECODED = 8

_Decode = Callable[[bytes], bytes]

_BLANK = bytes(b if b == 0x0A else 0x20 for b in range(256))
_CONTROL = bytes(0x20 if (b < 0x20 or b == 0x7F) else b for b in range(256))

_SAFE = rb"A-Za-z0-9_+=.~\-"
# A run starts only where the previous byte cannot extend it (same matches as without the
# lookbehind, since a leftmost match never starts inside a run); it keeps finditer linear.
_RUN_START = rb"(?<![" + _SAFE + rb"/])"
_JSON_RUN = re.compile(
    _RUN_START + rb"[" + _SAFE + rb"/]*(?:\\(?:u[0-9A-Fa-f]{4}|/)[" + _SAFE + rb"/]*)+"
)
_PERCENT_RUN = re.compile(
    _RUN_START + rb"[" + _SAFE + rb"/]*(?:%[0-9A-Fa-f]{2}[" + _SAFE + rb"/]*)+"
)
_PERCENT_ESCAPE = re.compile(rb"%[0-9A-Fa-f]{2}")
_JSON_ESCAPE = re.compile(rb"\\u([0-9A-Fa-f]{4})(?:\\u([0-9A-Fa-f]{4}))?|\\/")
_BASIC = re.compile(rb"(?i:basic)[ \t]+([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])")
_K8S_SECRET = (b"kind: Secret", b'"kind":"Secret"', b'"kind": "Secret"', b"kind: 'Secret'")
_K8S_YAML_VALUE = re.compile(
    rb"^[ \t]+[\w.\-]+:[ \t]*[\"']?([A-Za-z0-9+/]{8,}={0,2})[\"']?[ \t]*\r?$", re.MULTILINE
)
_K8S_JSON_VALUE = re.compile(rb'"[\w.\-]+"[ \t]*:[ \t]*"([A-Za-z0-9+/]{8,}={0,2})"')


def decoded_chunks(chunk: Chunk) -> Iterator[Chunk]:
    data = chunk.data
    # one memchr for the rare backslash before the slower two-byte searches
    if b"\\" in data and (b"\\u" in data or b"\\/" in data):
        yield from _in_place(chunk, "json-escape", (b"\\u", b"\\/"), _JSON_RUN, _json_unescape)
    if b"%" in data and _PERCENT_ESCAPE.search(data):  # "%s" and "%d" decode to nothing
        yield from _in_place(chunk, "percent", (b"%",), _PERCENT_RUN, unquote_to_bytes)
    yield from _base64_runs(chunk)


# -- in-place layers ----------------------------------------------------------------------


def _in_place(
    chunk: Chunk,
    layer: str,
    markers: tuple[bytes, ...],
    run: re.Pattern[bytes],
    decode: _Decode,
) -> Iterator[Chunk]:
    data = chunk.data
    out: bytearray | None = None
    produced = 0
    for line_start, line_end in _marked_lines(data, markers):
        for m in run.finditer(data, line_start, line_end):
            encoded = m.group()
            if len(encoded) > MAX_RUN_BYTES:
                continue
            decoded = decode(encoded).translate(_CONTROL)
            if len(decoded) < MIN_DECODED or decoded == encoded:
                continue
            if out is None:
                out = bytearray(data.translate(_BLANK))
            start = m.start()
            out[start : start + len(decoded)] = decoded  # never longer than what it replaces
            produced += len(decoded)
            if produced > MAX_DECODED_BYTES:
                break
        if produced > MAX_DECODED_BYTES:
            break
    if out is None:
        return
    yield Chunk(
        bytes(out),
        _layered(chunk.location, layer),
        chunk.source_kind,
        report_from=chunk.report_from,
        report_until=chunk.report_until,
        position_fixed=chunk.position_fixed,
        depth=chunk.depth + 1,
    )


def _marked_lines(data: bytes, markers: tuple[bytes, ...]) -> Iterator[tuple[int, int]]:
    """(start, end) of each line holding one of ``markers``, in order, each once."""
    pos = 0
    size = len(data)
    upcoming = [data.find(m) for m in markers]  # next hit of each marker (-1: none left)
    while pos < size:
        for i, marker in enumerate(markers):
            if upcoming[i] != -1 and upcoming[i] < pos:
                upcoming[i] = data.find(marker, pos)
        hits = [h for h in upcoming if h != -1]
        if not hits:
            return
        hit = min(hits)
        start = data.rfind(b"\n", 0, hit) + 1
        end = data.find(b"\n", hit)
        if end == -1:
            end = size
        yield max(start, pos), end
        pos = end + 1


def _json_unescape(encoded: bytes) -> bytes:
    def one(m: re.Match[bytes]) -> bytes:
        if m.group(1) is None:
            return b"/"
        high = int(m.group(1), 16)
        if m.group(2) is not None:
            low = int(m.group(2), 16)
            if 0xD800 <= high < 0xDC00 and 0xDC00 <= low < 0xE000:
                code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                return chr(code).encode("utf-8")
            return _char(high) + _char(low)
        return _char(high)

    return _JSON_ESCAPE.sub(one, encoded)


def _char(code: int) -> bytes:
    if 0xD800 <= code < 0xE000:
        return b"?"
    return chr(code).encode("utf-8")


# -- base64 --------------------------------------------------------------------------------


def _base64_runs(chunk: Chunk) -> Iterator[Chunk]:
    data = chunk.data
    spans: list[tuple[int, int]] = []
    lowered_has_basic = b"asic" in data and (
        b"Basic" in data or b"basic" in data or b"BASIC" in data
    )
    if lowered_has_basic:
        for line_start, line_end in _marked_lines(data, (b"Basic", b"basic", b"BASIC")):
            spans.extend(m.span(1) for m in _BASIC.finditer(data, line_start, line_end))
    if b"Secret" in data and any(marker in data for marker in _K8S_SECRET):
        spans.extend(m.span(1) for m in _K8S_YAML_VALUE.finditer(data))
        spans.extend(m.span(1) for m in _K8S_JSON_VALUE.finditer(data))
    produced = 0
    lo = chunk.report_from
    hi = len(data) if chunk.report_until is None else chunk.report_until
    for start, end in sorted(set(spans)):
        if not lo <= start < hi or end - start > MAX_RUN_BYTES:
            continue  # the neighbouring chunk that owns the run decodes it
        decoded = _b64(data[start:end])
        if decoded is None or len(decoded) < MIN_DECODED:
            continue
        produced += len(decoded)
        if produced > MAX_DECODED_BYTES:
            return
        location = chunk.location if chunk.position_fixed else _locate(chunk, start)
        yield Chunk(
            decoded,
            _layered(location, "base64"),
            chunk.source_kind,
            position_fixed=True,
            depth=chunk.depth + 1,
        )


def _b64(encoded: bytes) -> bytes | None:
    """Decoded bytes when they are text (credentials are), else None."""
    try:
        decoded = base64.b64decode(encoded + b"=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text.isprintable() and not all(c.isprintable() or c in "\r\n\t" for c in text):
        return None
    return decoded


# -- locations -----------------------------------------------------------------------------


def _locate(chunk: Chunk, offset: int) -> Location:
    base = chunk.location
    data = chunk.data
    newlines = data.count(b"\n", 0, offset)
    last_newline = data.rfind(b"\n", 0, offset)
    column = offset - last_newline if newlines else (base.column or 1) + offset
    return Location(base.path, (base.line or 1) + newlines, column, base.commit, base.extras)


def _layered(location: Location, layer: str) -> Location:
    previous = location.get("encoding")
    value = layer if previous is None else f"{previous}+{layer}"
    extras: Extras = tuple((k, v) for k, v in location.extras if k != "encoding")
    return Location(
        location.path,
        location.line,
        location.column,
        location.commit,
        (*extras, ("encoding", value)),
    )
