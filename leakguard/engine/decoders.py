"""Decoding layers: find encoded runs in a chunk and yield what they decode to.

Three layers, each started only by markers found in one pass over the chunk (a Hyperscan
literal set when it loads, else ``in`` tests), so that text which holds nothing encoded costs
one scan:

* ``json-escape`` (``\\uXXXX``, and ``\\/`` beside a credential-length segment: JSON-lines logs,
  CloudTrail) and ``percent`` (``%2B``, ``%2F``, ``%5F``... in URLs and access logs; ``%20``
  alone never starts it) decode to text on the same line. They yield one
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
from dataclasses import dataclass, replace
from itertools import pairwise
from urllib.parse import unquote_to_bytes

from leakguard.engine.literals import escaped
from leakguard.engine.markers import EVERY_MARKER
from leakguard.engine.rulecache import RuleCache, block_database
from leakguard.model import Chunk, Extras, Location

#: decoded bytes one chunk may produce per layer
MAX_DECODED_BYTES = 4 * 1024 * 1024
#: longest encoded run decoded
MAX_RUN_BYTES = 64 * 1024
#: decoded runs shorter than this cannot hold a credential
MIN_DECODED = 12

_Decode = Callable[[bytes], bytes]

_BLANK = bytes(b if b == 0x0A else 0x20 for b in range(256))
_CONTROL = bytes(0x20 if (b < 0x20 or b == 0x7F) else b for b in range(256))

_SAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+=.~-/"


def _class_table(members: bytes) -> bytes:
    """A ``bytes.translate`` table: ``members`` -> ``a``, everything else -> space."""
    return bytes(0x61 if b in members else 0x20 for b in range(256))


_JSON_RUN_CLASS = _class_table(_SAFE + b"\\:@")
_PERCENT_RUN_CLASS = _class_table(_SAFE + b"%")
# escapes that decode to a character credentials are made of (``%20`` or ``%3A`` cannot start
# a credential run on their own); each starts with a literal, which ``re`` searches fast
_PERCENT_TRIGGER = re.compile(rb"%(?:2[BbDdEeFf]|3[0-9Dd]|[46][1-9A-Fa-f]|[57][0-9Aa]|5[Ff]|7[Ee])")
# ``\/`` matters inside a credential (base64 keys, webhook paths), whose segments are long:
# an escaped slash starts the layer only beside 8 credential characters (``com\/v1\/orders``
# in a URL does not); any ``\uXXXX`` does
_JSON_TRIGGER = re.compile(
    rb"\\(?:u[0-9A-Fa-f]{4}|(?<=[A-Za-z0-9+=_\-]{8}\\)/|/(?=[A-Za-z0-9+=_\-]{8})"
    rb"|/\\/(?<=:\\/\\/)(?=[^\s\"'\\/@]{1,128}@))"  # scheme:\/\/user:password@
)
_JSON_ESCAPE = re.compile(rb"\\u([0-9A-Fa-f]{4})(?:\\u([0-9A-Fa-f]{4}))?|\\/")
_ONE_ESCAPE = re.compile(rb"\\u[0-9A-Fa-f]{4}|\\/")  # one escape, one backslash
_SURROGATE = re.compile(rb"\\u[Dd][89A-Fa-f]")
# a Basic header, found in a chunk's lower-case copy (the same spans as the caseless pattern
# ``(?i:basic)[ \t]+([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])`` in the chunk): it starts
# with a literal ``re`` searches for
_BASIC_LOWER = re.compile(rb"basic[ \t]+([a-z0-9+/]{8,}={0,2})(?![a-z0-9+/=])")
# a header is decoded on a line that holds one as clients write it
_BASIC_TRIGGER = re.compile(rb"[Bb]asic [A-Za-z0-9+/]")
_BASIC_SCHEMES = (b"Basic ", b"basic ")  # what starts a _BASIC_TRIGGER match
_K8S_SECRET = (b"kind: Secret", b'"kind":"Secret"', b'"kind": "Secret"', b"kind: 'Secret'")

# Secrets split across string literals joined by ``+``: ``"-----BEGIN..." + "MIIE..." +``
# (Java, JS, Go, C#, Python), the ``+`` at the end of a line or at the start of the next. Once
# started, the layer also joins literals that follow each other across lines (Python's implicit
# concatenation). Each trigger holds a ``+`` so that Hyperscan has a rare literal to look for:
# a quote followed by a newline alone is on every other line of source code.
_LITERAL = rb'"(?:[^"\\\r\n]|\\.){0,4096}"|\'(?:[^\'\\\r\n]|\\.){0,4096}\''
_JOIN = rb"[ \t]*(?:\+[ \t]*(?:\\?\r?\n[ \t]*)?|\\?\r?\n[ \t]*(?:\+[ \t]*)?)"
_CONCAT = re.compile(rb"(?:" + _LITERAL + rb")(?:" + _JOIN + rb"(?:" + _LITERAL + rb")){1,512}")
_LITERALS = re.compile(_LITERAL)
_QUOTE = re.compile(rb"[\"']")  # where a literal, so an expression, may start
_CONCAT_TRIGGERS = (
    rb"[\"'][ \t]?\+[ \t]?[\"']",  # "..." + "..."
    rb"[\"'][ \t]?\+[ \t]?\r?\n",  # "..." +\n
    rb"[\"']\r?\n[ \t]*\+",  # "..."\n    + "..."
)
_CONCAT_TRIGGER = re.compile(b"|".join(_CONCAT_TRIGGERS))
#: how far before a trigger a concatenation may start
_CONCAT_BACK = 4096


def _base64_markers(prefixes: tuple[bytes, ...]) -> tuple[bytes, ...]:
    """The base64 text that encodes each prefix at each of the three alignments, and the
    base64 of that text (a base64 of a base64): a run holding one may decode to a credential.
    Only characters that depend on the prefix alone are kept."""

    def aligned(value: bytes) -> list[bytes]:
        out = []
        for skip in range(3):
            encoded = base64.b64encode(b"\0" * skip + value)
            out.append(encoded[-(-8 * skip // 6) : 8 * (skip + len(value)) // 6])
        return out

    once = [m for p in prefixes for m in aligned(p)]
    twice = [m for inner in once for m in aligned(inner)]
    return tuple(sorted(set(once + twice)))


# what a base64 run must encode (once or twice) to be decoded outside Basic/Secret contexts
_ENCODED_PREFIXES = (
    b"https://",
    b"http://",
    b"-----BEGIN ",
    b"postgres",
    b"mysql://",
    b"mongodb",
    b"redis://",
    b"amqp://",
    b"xoxb-",
    b"xoxp-",
    b"sk_live_",
    b"ghp_",
    b"github_pat_",
    b"glpat-",
    b"AKIA",
)
_BASE64_MARKERS = _base64_markers(_ENCODED_PREFIXES)
_B64_CLASS = _class_table(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")
_B64_TAIL = re.compile(rb"[A-Za-z0-9+/_\-]*={0,2}")

# what starts each layer: (literal, regex) pairs, one Hyperscan pass finds which are present
_JSON, _PERCENT, _BASIC_MARK = 0, 1, 2
_K8S_MARKS = frozenset(range(3, 3 + len(_K8S_SECRET)))
_CONCAT_MARK = 3 + len(_K8S_SECRET)
_B64_MARK = _CONCAT_MARK + 1
_MARKERS: tuple[tuple[bytes, re.Pattern[bytes] | None], ...] = (
    (b"\\", _JSON_TRIGGER),
    (b"%", _PERCENT_TRIGGER),
    (b"asic ", None),  # "Basic <token>", as clients write the scheme
    *((marker, None) for marker in _K8S_SECRET),
    (b"", _CONCAT_TRIGGER),
    (b"", None),  # any of _BASE64_MARKERS
)
# the same triggers, (marker index, Hyperscan expression), for one Hyperscan pass: the JSON
# trigger without its lookarounds (Hyperscan has none) and the percent escapes as literals, so
# a marker found means its trigger matches (no ``re`` pass over a chunk that holds none)
_CREDENTIAL_RUN = rb"[A-Za-z0-9+=_\-]{8}"
_LITERAL_EXPRESSIONS: tuple[tuple[int, bytes], ...] = (
    *((_PERCENT, b"%%%02X" % c) for c in sorted(set(_SAFE) - {ord("%")})),
    *(
        (index, literal)
        for index, (literal, pattern) in enumerate(_MARKERS)
        if literal and not pattern
    ),
    *((_B64_MARK, marker) for marker in _BASE64_MARKERS),
)
_REGEX_EXPRESSIONS: tuple[tuple[int, bytes], ...] = (
    (_JSON, rb"\\u[0-9A-Fa-f]{4}"),
    (_JSON, _CREDENTIAL_RUN + rb"\\/"),
    (_JSON, rb"\\/" + _CREDENTIAL_RUN),
    (_JSON, rb":\\/\\/[^\s\"'\\/@]{1,128}@"),
    *((_CONCAT_MARK, trigger) for trigger in _CONCAT_TRIGGERS),
)
_K8S_YAML_VALUE = re.compile(
    rb"^[ \t]+[\w.\-]+:[ \t]*[\"']?([A-Za-z0-9+/]{8,}={0,2})[\"']?[ \t]*\r?$", re.MULTILINE
)
_K8S_JSON_VALUE = re.compile(rb'"[\w.\-]+"[ \t]*:[ \t]*"([A-Za-z0-9+/]{8,}={0,2})"')


MarkerScanner = Callable[[bytes], set[int]]
OffsetScanner = Callable[[bytes], list[int]]


@dataclass(frozen=True, slots=True)
class DecoderScanners:
    """The passes that find where layers start, all of one engine ``kind`` (``hyperscan`` or
    ``re``): an engine builds them once (:func:`decoder_scanners`) and passes them in."""

    kind: str
    #: which layers a chunk may hold (indexes into the marker table)
    markers: MarkerScanner
    #: end offsets of the string-concatenation triggers
    concat: OffsetScanner
    #: start offsets of the base64 text of a credential prefix
    prefixes: OffsetScanner


def decoder_scanners(kind: str, cache: RuleCache | None = None) -> DecoderScanners:
    """The scanners of an engine of ``kind`` (``hyperscan``: compiled databases, kept in
    ``cache`` when one is given; ``re``: ``in`` tests and ``re``)."""
    if kind == "re":
        return DecoderScanners("re", _find_markers, _find_concat, _find_prefixes)
    if kind != "hyperscan":
        raise ValueError(f"unknown decoder scanner kind {kind!r}")
    return DecoderScanners(
        "hyperscan", marker_scanner(cache), _concat_scanner(cache), _prefix_scanner(cache)
    )


def decoded_chunks(
    chunk: Chunk, scanners: DecoderScanners, present: set[int] | None = None
) -> Iterator[Chunk]:
    """The layers ``chunk`` holds, decoded, found with ``scanners`` (the engine's).
    ``present``: the markers in ``chunk`` when the caller found them already (the indexes
    :func:`marker_expressions` reports); else ``scanners.markers`` looks for them."""
    data = chunk.data
    if present is None:
        present = scanners.markers(data)
    if not present:
        return
    if _JSON in present:
        yield from _in_place(chunk, "json-escape", _JSON_TRIGGER, _JSON_RUN_CLASS, _json_unescape)
    if _PERCENT in present:
        yield from _in_place(
            chunk, "percent", _PERCENT_TRIGGER, _PERCENT_RUN_CLASS, unquote_to_bytes
        )
    if _CONCAT_MARK in present:
        yield from _concatenations(chunk, scanners.concat)
    basic: set[int] = set()
    if _BASIC_MARK in present:
        yield from _basic_credentials(chunk, basic)
    if _B64_MARK in present or present & _K8S_MARKS:
        yield from _base64_runs(chunk, present, basic, scanners.prefixes)


# -- in-place layers ----------------------------------------------------------------------


def _in_place(
    chunk: Chunk,
    layer: str,
    trigger: re.Pattern[bytes],
    run_class: bytes,
    decode: _Decode,
) -> Iterator[Chunk]:
    data = chunk.data
    search = trigger.search
    m = search(data)
    if m is None:
        return
    # a run is the stretch of credential characters and escapes around an escape; its ends
    # are found with translate + find (C loops), so the work stays linear in the chunk
    classes = data.translate(run_class)
    pieces: list[bytes] = []  # blank text and decoded runs, in order
    blank = data.translate(_BLANK)
    done = 0
    produced = 0
    owned = _run_owner(chunk)
    while m is not None and produced <= MAX_DECODED_BYTES:
        start = classes.rfind(b" ", 0, m.start()) + 1
        end = classes.find(b" ", m.end())
        if end == -1:
            end = len(data)
        # a run shorter than MIN_DECODED decodes shorter still (an escape is never shorter
        # than what it stands for): not decoded at all; a run starting outside the chunk's
        # own range is its neighbour's to decode
        if MIN_DECODED <= end - start <= MAX_RUN_BYTES and owned(start):
            decoded = decode(data[start:end])
            if len(decoded) >= MIN_DECODED:
                # the decoded run starts where the encoded run does: same line and column
                pieces.append(blank[done:start])
                pieces.append(decoded.translate(_CONTROL))
                done = start + len(decoded)  # never longer than the run it replaces
                produced += len(decoded)
        m = search(data, end)
    if produced:
        pieces.append(blank[done:])
        yield _in_place_chunk(chunk, layer, b"".join(pieces))


_CREDENTIAL_TAIL = re.compile(rb"[A-Za-z0-9+/=_\-]{6,}$")
_CREDENTIAL_HEAD = re.compile(rb"[A-Za-z0-9+/=_\-]{6,}")


def _find_concat(data: bytes) -> list[int]:
    return [m.end() for m in _CONCAT_TRIGGER.finditer(data)]


def _concat_scanner(cache: RuleCache | None) -> OffsetScanner:
    """End offsets of the concatenation triggers: one Hyperscan pass."""
    db = block_database(
        list(_CONCAT_TRIGGERS),
        list(range(len(_CONCAT_TRIGGERS))),
        [0] * len(_CONCAT_TRIGGERS),
        cache,
    )

    def scan(data: bytes) -> list[int]:
        found: list[int] = []

        def on_match(_index: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            found.append(to)

        db.scan(data, match_event_handler=on_match)
        return found

    return scan


def _splits_a_secret(parts: list[bytes], joined: bytes) -> bool:
    """Whether joining the literals builds what none of them holds: a key block, or a run of
    credential characters across a join (``"sk_live_" + "51WK59..."``). Ordinary messages
    (``"Failed to read " + "the file"``) are not worth a decoded chunk."""
    if b"-----BEGIN" in joined:
        return True
    for left, right in pairwise(parts):
        tail = _CREDENTIAL_TAIL.search(left)
        head = _CREDENTIAL_HEAD.match(right)
        if tail and head and len(tail.group()) + len(head.group()) >= 20:
            return True
    return False


def _run_owner(chunk: Chunk) -> Callable[[int], bool]:
    """Whether an encoded run starting at an offset is ``chunk``'s to decode (every layer
    asks): a run is decoded by the chunk its encoded text starts in. A chunk that starts
    mid-line (a stream cut inside a line) may start inside a run that began in the chunk
    before: a run at its first byte is that chunk's, which owns a run starting right at its
    cut for that reason (else a run starting exactly there would be nobody's)."""
    lo, hi = chunk.owned()
    data = chunk.data
    continued = not chunk.position_fixed and (chunk.location.column or 1) > 1
    before_cut = data[hi - 1 : hi] if 0 < hi < len(data) else b"\n"
    next_continues = before_cut != b"\n"

    def owned(start: int) -> bool:
        if start == lo and lo == 0 and continued:
            return False
        return lo <= start < hi or (start == hi and next_continues)

    return owned


def _in_place_chunk(chunk: Chunk, layer: str, data: bytes) -> Chunk:
    """An in-place chunk holds only the runs ``chunk`` owns (each decoded by the chunk its
    encoded run starts in), so all it finds is its own: a decoded secret that lies past the
    end of the parent's range (``user:`` before a password) is not lost between two chunks."""
    # ``replace`` keeps the chunk's class: a source-map chunk locates offsets its own way
    return replace(
        chunk,
        data=data,
        location=_layered(chunk.location, layer),
        depth=chunk.depth + 1,
        report_from=0,
        report_until=None,
    )


def _concatenations(chunk: Chunk, concat_triggers: OffsetScanner) -> Iterator[Chunk]:
    """One in-place chunk where each run of concatenated string literals is replaced by the
    text it builds (escapes kept as written: ``\\n`` stays two characters, which key validators
    read), followed by the newlines the expression spanned, so later lines keep their numbers."""
    data = chunk.data
    pieces: list[bytes] = []
    blank = b""
    done = 0
    produced = 0
    owned = _run_owner(chunk)
    for m in _expressions(data, sorted(set(concat_triggers(data)))):
        if produced > MAX_DECODED_BYTES:
            break
        start, end = m.span()
        if not owned(start):
            continue  # the neighbouring chunk's expression
        parts = [lit[1:-1] for lit in _LITERALS.findall(data, start, end)]
        joined = b"".join(parts)
        start += 1  # the text starts after the opening quote, as the first literal's does
        if not _splits_a_secret(parts, joined):
            continue
        newlines = data.count(b"\n", start, end)
        if len(joined) >= MIN_DECODED and len(joined) + newlines <= end - start:
            if not blank:
                blank = _keep_markers(data, data.translate(_BLANK))
            pieces.append(blank[done:start])
            pieces.append(joined.translate(_CONTROL))
            pieces.append(b" " * (end - start - len(joined) - newlines) + b"\n" * newlines)
            done = end
            produced += len(joined)
    if produced:
        pieces.append(blank[done:])
        yield _in_place_chunk(chunk, "concatenation", b"".join(pieces))


def _expressions(data: bytes, hits: list[int]) -> Iterator[re.Match[bytes]]:
    """The concatenation expression around each trigger end in ``hits`` (sorted), found in one
    left-to-right pass: an expression starts no further back than the line before its trigger
    (a trigger may span a line break) and :data:`_CONCAT_BACK` bytes, never inside one found
    before, and no later than its trigger. Each position is looked at once, so many triggers
    on one long line cost one pass over it, not one per trigger."""
    after = 0  # no expression starts before this that was not taken or passed over
    for hit in hits:
        if hit < after:
            continue  # inside the expression just taken
        begin = _line_before_start(data, hit, max(hit - _CONCAT_BACK, after))
        stop = min(len(data), hit + MAX_RUN_BYTES)
        m = _expression_from(data, begin, hit, stop)
        while m is not None and m.end() <= hit:  # an earlier expression, without a trigger
            m = _expression_from(data, m.end(), hit, stop)
        if m is None:
            after = hit + 1
        else:
            after = m.end()
            yield m


def _expression_from(data: bytes, begin: int, last: int, stop: int) -> re.Match[bytes] | None:
    """The first expression that starts in ``data[begin:last + 1]`` (ending by ``stop``):
    ``_CONCAT.search`` would go on looking up to ``stop``, 64 KiB past the trigger."""
    quote = _QUOTE.search(data, begin, last + 1)
    while quote is not None:
        m = _CONCAT.match(data, quote.start(), stop)
        if m is not None:
            return m
        quote = _QUOTE.search(data, quote.start() + 1, last + 1)
    return None


def _line_before_start(data: bytes, hit: int, lo: int) -> int:
    """Where the line before the one ``hit`` ends on starts, or ``lo`` if that is further back
    (only ``data[lo:hit]`` is searched: a long line costs no more per trigger)."""
    newline = data.rfind(b"\n", lo, hit - 1)
    if newline == -1:
        return lo
    return max(lo, data.rfind(b"\n", lo, newline) + 1)


def _keep_markers(data: bytes, blank: bytes) -> bytes:
    """``blank`` with every inline allow marker of ``data`` back at its place, so a line marked
    ``leakguard:allow`` stays marked in the layer that rebuilds its concatenated string."""
    if not any(marker in data for marker in EVERY_MARKER):
        return blank
    out = bytearray(blank)
    for marker in EVERY_MARKER:
        at = data.find(marker)
        while at != -1:
            out[at : at + len(marker)] = marker
            at = data.find(marker, at + len(marker))
    return bytes(out)


def _json_unescape(encoded: bytes) -> bytes:
    if b"\\u" not in encoded:
        return encoded.replace(b"\\/", b"/")
    if encoded.count(b"\\") == len(_ONE_ESCAPE.findall(encoded)) and not _SURROGATE.search(encoded):
        # every backslash starts an escape and none is a surrogate: each \uXXXX stands for
        # its own character, which the C codec decodes (not one Python call per escape)
        return encoded.replace(b"\\/", b"/").decode("unicode_escape").encode("utf-8")
    return _unescape_each(encoded)


def _unescape_each(encoded: bytes) -> bytes:
    """:func:`_json_unescape` one escape at a time (surrogate pairs joined, a lone surrogate
    read as ``?``, a backslash not starting an escape kept)."""

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


def _basic_credentials(chunk: Chunk, decoded_runs: set[int]) -> Iterator[Chunk]:
    """``Authorization: Basic <base64>`` decodes to one ``user:password`` line: every header of
    the chunk is decoded into one in-place chunk (a log with a header on every line costs one
    more scan, not one per header).

    The headers are those ``_BASIC_LOWER`` finds on the lines that hold a ``_BASIC_TRIGGER``
    match. One search of the chunk's lower-case copy finds them all (``basic`` is then a
    literal ``re`` jumps to, where the caseless pattern would be tried at every byte), and a
    header that is a trigger itself (``Basic dXNl...``, as clients write it) needs no look at
    its line: a log with a header on every line costs about a microsecond per header."""
    data = chunk.data
    out: bytearray | None = None
    produced = 0
    full_line_end = -1  # past MAX_DECODED_BYTES: the line being finished (then stop)
    line = (-1, -1, False)  # the last line looked at: its start, end, whether it holds one
    owned = _run_owner(chunk)
    lo, hi = chunk.owned()  # a run strictly inside is owned: owned() is asked at the edges
    a2b = binascii.a2b_base64
    for m in _BASIC_LOWER.finditer(data.lower()):
        at = m.start()
        start, end = m.span(1)
        if full_line_end >= 0 and at > full_line_end:
            break
        if not (start == at + 6 and data.startswith(_BASIC_SCHEMES, at)):
            # not "[Bb]asic <base64>" itself: its line must hold such a trigger elsewhere,
            # looked for once per line (a long line of "BASIC ..." is searched once, not once
            # per header)
            if not line[0] <= at < line[1]:
                line_start = data.rfind(b"\n", 0, at) + 1
                line_end = data.find(b"\n", at)
                line_end = len(data) if line_end == -1 else line_end
                found = _BASIC_TRIGGER.search(data, line_start, line_end) is not None
                line = (line_start, line_end, found)
            if not line[2]:
                continue
        if end - start > MAX_RUN_BYTES or not (lo < start < hi or owned(start)):
            continue
        # _b64 without its call (the pattern's alphabet is the standard one): a run padded
        # as it should be is decoded as it is, any other with its padding made right
        try:
            decoded = a2b(data[start:end], strict_mode=True)
        except binascii.Error:
            stripped = data[start:end].rstrip(b"=")
            try:
                decoded = a2b(stripped + b"=" * (-len(stripped) % 4), strict_mode=True)
            except binascii.Error:
                continue
        try:
            text = decoded.decode("utf-8")
        except UnicodeDecodeError:
            continue
        size = len(decoded)  # base64 decodes to 3/4 of its length: it fits in its run
        if size < MIN_DECODED:
            continue
        if not text.isprintable():  # printable text holds no control character to blank
            if not all(c.isprintable() or c in "\r\n\t" for c in text):
                continue
            decoded = decoded.translate(_CONTROL)
        decoded_runs.add(start)
        if out is None:
            out = bytearray(data.translate(_BLANK))
        out[start : start + size] = decoded  # inside its own run: runs never overlap
        produced += size
        if produced > MAX_DECODED_BYTES and full_line_end < 0:
            full_line_end = data.find(b"\n", start)
            full_line_end = len(data) if full_line_end == -1 else full_line_end
    if out is not None:
        yield _in_place_chunk(chunk, "base64", bytes(out))


def _base64_runs(
    chunk: Chunk, present: set[int], done: set[int], prefixes: OffsetScanner
) -> Iterator[Chunk]:
    """Kubernetes Secret values and runs that encode a credential prefix: each decodes to
    text of its own (often several lines), yielded as a chunk located at the run."""
    data = chunk.data
    spans: list[tuple[int, int]] = []
    if present & _K8S_MARKS:
        spans.extend(m.span(1) for m in _K8S_YAML_VALUE.finditer(data))
        spans.extend(m.span(1) for m in _K8S_JSON_VALUE.finditer(data))
    if _B64_MARK in present:
        spans.extend(_encoded_prefix_runs(data, prefixes))
    produced = 0
    owned = _run_owner(chunk)
    # newlines before each run, counted once from the previous run (runs are sorted): a log
    # with a Basic header on every line costs the same per byte as one without
    counted, newlines = 0, 0
    last_end = -1
    for start, end in sorted(set(spans)):
        if start in done or start < last_end or not owned(start) or end - start > MAX_RUN_BYTES:
            continue  # inside a run already decoded, or owned by the neighbouring chunk
        decoded = _b64(data[start:end])
        if decoded is None or len(decoded) < MIN_DECODED:
            continue
        last_end = end
        produced += len(decoded)
        if produced > MAX_DECODED_BYTES:
            return
        newlines += data.count(b"\n", counted, start)
        counted = start
        location = chunk.location if chunk.position_fixed else chunk.location_at(start, newlines)
        yield Chunk(
            decoded,
            _layered(location, "base64"),
            chunk.source_kind,
            position_fixed=True,
            depth=chunk.depth + 1,
        )


def _encoded_prefix_runs(data: bytes, prefixes: OffsetScanner) -> Iterator[tuple[int, int]]:
    """Spans of base64 runs holding one of :data:`_BASE64_MARKERS` (searched for only in a
    chunk where the marker pass saw one), their places reported by ``prefixes``."""
    end = -1
    classes = b""  # ``data`` with each byte outside the alphabet a space, made once
    for pos in sorted(prefixes(data)):
        if pos < end:
            continue  # inside the run just decoded
        classes = classes or data.translate(_B64_CLASS)
        # the run starts after the last byte outside the alphabet (and at most a run's length
        # back): searched in the chunk's one translation, not a translation of the 64 KiB
        # before each prefix (a line of base64 per prefix cost 40 us each)
        back = max(0, pos - MAX_RUN_BYTES)
        start = max(classes.rfind(b" ", back, pos) + 1, back)
        tail = _B64_TAIL.match(data, pos)
        end = tail.end() if tail is not None else pos
        # a data: URL (``;base64,``) is decoded by the source that reads it (source maps)
        if end - start >= 16 and not data.endswith(b"base64,", max(0, start - 7), start):
            yield start, end


def _find_prefixes(data: bytes) -> list[int]:
    """Start offsets of every :data:`_BASE64_MARKERS` occurrence."""
    found = []
    for marker in _BASE64_MARKERS:
        pos = data.find(marker)
        while pos != -1:
            found.append(pos)
            pos = data.find(marker, pos + 1)
    return found


def _prefix_scanner(cache: RuleCache | None) -> OffsetScanner:
    """:func:`_find_prefixes` in one Hyperscan pass."""
    db = block_database(
        [escaped(m) for m in _BASE64_MARKERS],
        list(range(len(_BASE64_MARKERS))),
        [0] * len(_BASE64_MARKERS),
        cache,
    )
    lengths = [len(m) for m in _BASE64_MARKERS]

    def scan(data: bytes) -> list[int]:
        found: list[int] = []

        def on_match(index: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            found.append(to - lengths[index])

        db.scan(data, match_event_handler=on_match)
        return found

    return scan


#: the URL-safe alphabet's two letters read as the standard ones (what ``altchars`` does)
_URL_SAFE = bytes.maketrans(b"-_", b"+/")


def _b64(encoded: bytes) -> bytes | None:
    """Decoded bytes when they are text (credentials are), else None. Padding is optional;
    ``-`` and ``_`` read as ``+`` and ``/``; any other byte outside the alphabet refuses it
    (``base64.b64decode(..., altchars, validate=True)``, called without its Python wrapper:
    a log with a Basic header on every line decodes one per line)."""
    stripped = encoded.rstrip(b"=")
    padded = stripped + b"=" * (-len(stripped) % 4)
    if b"-" in padded or b"_" in padded:
        padded = padded.translate(_URL_SAFE)
    try:
        decoded = binascii.a2b_base64(padded, strict_mode=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text.isprintable() and not all(c.isprintable() or c in "\r\n\t" for c in text):
        return None
    return decoded


def _find_markers(data: bytes) -> set[int]:
    """Indexes into :data:`_MARKERS` of the layers ``data`` may hold, with ``in`` and ``re``."""
    found = {
        i
        for i, (literal, pattern) in enumerate(_MARKERS)
        if (literal in data if literal else pattern is not None)
        and (pattern is None or pattern.search(data))
    }
    if any(marker in data for marker in _BASE64_MARKERS):
        found.add(_B64_MARK)
    else:
        found.discard(_B64_MARK)
    return found


def marker_expressions() -> list[tuple[int, bytes, bool]]:
    """The markers as Hyperscan expressions: (marker index, expression, caseless). A scanner
    reports each index at most once per chunk (``HS_FLAG_SINGLEMATCH``); the set of indexes
    found is what :func:`decoded_chunks` takes as ``present``. The engine adds these to its
    keyword database, so one pass over a chunk finds both."""
    literal = [(index, escaped(lit)) for index, lit in _LITERAL_EXPRESSIONS]
    return [(index, expr, index == _PERCENT) for index, expr in (*literal, *_REGEX_EXPRESSIONS)]


def marker_scanner(cache: RuleCache | None = None) -> MarkerScanner:
    """:func:`_find_markers` in one Hyperscan pass (several times faster than one search per
    marker), its database compiled once and kept in ``cache``."""
    import hyperscan

    expressions = marker_expressions()
    db = block_database(
        [expr for _, expr, _ in expressions],
        [index for index, _, _ in expressions],
        [
            hyperscan.HS_FLAG_SINGLEMATCH | (hyperscan.HS_FLAG_CASELESS if caseless else 0)
            for _, _, caseless in expressions
        ],
        cache,
    )

    def scan(data: bytes) -> set[int]:
        found: set[int] = set()

        def on_match(index: int, _from: int, _to: int, _flags: int, _ctx: object) -> None:
            found.add(index)

        db.scan(data, match_event_handler=on_match)
        return found

    return scan


# -- locations -----------------------------------------------------------------------------


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
