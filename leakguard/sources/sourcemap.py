"""Source maps: scan the original sources they carry (``sourcesContent``) and say where each
finding was written (``original_path``, ``original_line``, ``original_column``) besides where it
sits in the map.

Each original source is one chunk (:class:`SourceTextChunk`): its decoded text, so a secret
spread over lines (a PEM key) is matched like in the original file. A finding is located in the
map, at the line and column of the secret inside the JSON string (escapes before it counted),
and in the original source. A map decoded from an inline ``data:`` URL has no file of its own:
its findings point at the URL in the bundle.

:class:`Mappings` answers "where was generated line:column written" without decoding the whole
``mappings`` string: it decodes only up to the asked position, in blocks, remembering where it
got to, and never holds a Python object per segment.

Bundles name their map in a trailing ``//# sourceMappingURL=...`` comment
(:func:`source_mapping_url`); the file reader follows it to a sibling file and the site reader to
a URL. A map is hostile input like any other: one holding millions of tiny JSON values (which
would cost gigabytes as Python objects) is scanned as text instead, with a warning.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import contextlib
import functools
import json
import re
import sys
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import accumulate
from operator import itemgetter, mul
from typing import cast

from leakguard.engine.literals import SOURCE_MAP_NAME
from leakguard.model import Chunk, Extras, Finding, Location, ScanStats, SourceKind
from leakguard.sources.interface import source_map_probe
from leakguard.sources.limits import Readable

#: an original source shorter than this (stripped) cannot hold a credential
MIN_SOURCE = 8
#: JSON values (containers, strings, numbers) a map may hold before it is scanned as text: as
#: Python objects each costs ~60 bytes, so this bounds parsing to ~120 MB beyond the text
MAX_JSON_VALUES = 2_000_000
#: source names read to locate bundle findings (a hostile map may name millions)
MAX_SOURCES = 1_000_000
#: maps up to this size cannot reach MAX_JSON_VALUES' memory and are parsed without counting
_COUNT_ABOVE = 4 * 1024 * 1024

_scanstring = cast(Callable[[str, int], tuple[str, int]], json.decoder.scanstring)  # type: ignore[attr-defined]
_VERSION_3 = re.compile(rb'\{\s*"version"\s*:\s*3\s*[,}]')
_CONTENT_KEY = re.compile(r'"sourcesContent"\s*:\s*\[')
#: one escape, or one character escaped as two (a UTF-16 surrogate pair: an emoji)
_ESCAPE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\(?:u[0-9a-fA-F]{4}|.)",
    re.DOTALL,
)
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
#: what every ``sourceMappingURL`` comment holds (a text without it names no map)
MAPPING_URL_NAME = SOURCE_MAP_NAME
_MAPPING_URL = re.compile(rb"[#@][ \t]*sourceMappingURL=([^\s'\"*]+)")
_MAPPINGS_KEY = re.compile(r'"mappings"\s*:\s*"')
_SOURCES_KEY = re.compile(r'"sources"\s*:\s*\[')
_ROOT_KEY = re.compile(r'"sourceRoot"\s*:\s*"')
_SECTIONS_KEY = re.compile(r'"sections"\s*:\s*\[')
_BUNDLER_PREFIX = re.compile(r"^(?:webpack|vite|rollup|turbopack)://[^/]*/")


#: where a JSON string's body sits in a text: (start, end)
Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class ParsedMap:
    text: str
    #: the JSON document (of a plain map, only the members a scan reads), None when there is
    #: none to use
    doc: object
    #: where the strings of ``sourcesContent`` sit in ``text``
    raw: RawSources = field(repr=False, compare=False)
    problem: str = ""  # why ``doc`` is None, for a warning


def parse_map(data: bytes, text: str | None = None) -> ParsedMap:
    """A source map's text (after the optional ``)]}'`` XSSI guard) and its JSON document;
    ``text``: that text, when it was decoded already.

    A plain map's document holds only what a scan reads (``sources``, ``sourceRoot``,
    ``sourcesContent``), as ``json.loads`` gives them: ``mappings`` and ``names`` are checked,
    never made into Python objects (see :func:`_scanned_members`); anything else is parsed
    whole. A large map is parsed only if it holds at most :data:`MAX_JSON_VALUES` values: a
    90 MB map of empty lists would otherwise take gigabytes."""
    if text is None:
        text = map_text(data)
    if len(text) > _COUNT_ABOVE and _json_values(text) > MAX_JSON_VALUES:
        problem = f"holds more than {MAX_JSON_VALUES} JSON values"
        return ParsedMap(text, None, RawSources(text), problem)
    members = _scanned_members(text)
    if members is not None:
        return ParsedMap(text, members[0], RawSources(text, members[1]))
    try:
        return ParsedMap(text, json.loads(text), RawSources(text))
    except (ValueError, RecursionError):
        return ParsedMap(text, None, RawSources(text), "is not valid JSON")


_WHITESPACE = re.compile(r"[ \t\n\r]*")  # what JSON allows between tokens


def _after_blank(text: str, pos: int) -> int:
    """Where the JSON whitespace at ``pos`` ends."""
    blank = _WHITESPACE.match(text, pos)
    return pos if blank is None else blank.end()


_DECODER = json.JSONDecoder()  # what ``json.loads`` parses with
#: the members of a map's top-level object that a scan reads
_SCANNED = frozenset({"sources", "sourceRoot", "sourcesContent"})
#: ``sourcesContent`` strings read one by one (where each sits is kept); past it, the map is
#: parsed whole and they are found when a finding asks
MAX_SPANS = 10_000
#: top-level members read one by one (a map has about six); past it, the map is parsed whole
#: (by C code: a hostile map of a million members must not cost a Python loop each)
MAX_MEMBERS = 64


def _scanned_members(text: str) -> tuple[dict[str, object], list[Span | None] | None] | None:
    """The members of a map's top-level object a scan reads, each as ``json.loads`` gives it,
    and where each string of ``sourcesContent`` sits; the other members are checked by the
    same C scanner, but not kept (``mappings`` is a few hundred KB, ``names`` thousands of
    strings). None for anything but a plain map, to be parsed whole: not an object, an index
    map (``sections``), a key given twice (``json.loads`` keeps the last), invalid JSON."""
    pos = _after_blank(text, 0)
    if not text.startswith("{", pos):
        return None
    members: dict[str, object] = {}
    spans: list[Span | None] | None = None
    pos = _after_blank(text, pos + 1)
    close = text.startswith("}", pos)
    try:
        while not close:
            if not text.startswith('"', pos):
                return None
            key, pos = _scanstring(text, pos + 1)
            pos = _after_blank(text, pos)
            if key in members or key == "sections" or not text.startswith(":", pos):
                return None
            if len(members) >= MAX_MEMBERS:
                return None
            pos = _after_blank(text, pos + 1)
            if key == "sourcesContent" and text.startswith("[", pos):
                content = _content_strings(text, pos + 1)
                if content is None:
                    return None
                members[key], spans, pos = content
            elif key in _SCANNED:
                members[key], pos = _DECODER.raw_decode(text, pos)
            elif text.startswith('"', pos):  # seen, checked, not kept
                members[key], pos = None, _scanstring(text, pos + 1)[1]
            else:
                members[key], pos = None, _skip_value(text, pos)[1]
            pos = _after_blank(text, pos)
            close = text.startswith("}", pos)
            if not close and not text.startswith(",", pos):
                return None
            pos = _after_blank(text, pos + 1) if not close else pos
    except (ValueError, RecursionError):
        return None
    if _after_blank(text, pos + 1) != len(text):
        return None  # data after the object: not JSON
    return {k: v for k, v in members.items() if k in _SCANNED}, spans


def _skip_value(text: str, pos: int) -> tuple[object, int]:
    return cast(tuple[object, int], _DECODER.raw_decode(text, pos))


class DecodedStrings:
    """A bounded memo of the JSON strings of ``sourcesContent`` decoded in this process, by
    their text: a source repeated in other maps (a vendor module in every chunk of a build,
    the same build read again) is recognised by comparing its escaped text with one decoded
    already (``memcmp`` speed), not decoded again. What it gives is what the C scanner gives
    (strings, ends and errors alike): a string is taken from the memo only where its whole
    escaped text and closing quote follow, and a JSON string body that was valid once is the
    same string wherever it is written.

    Strings are found by their first :data:`HEAD` characters, at most :data:`PER_HEAD` per
    head: a map of many strings with one head costs at most that many comparisons per string,
    each stopping at the string's end. Until sources are seen to repeat (one string in
    :data:`REPEATING` a repeat), a string is kept only the second time a string of its head
    and length is decoded: a build whose sources are all different (most real ones)
    then costs no copy and no memory, where keeping every string cost it 7% more time (the
    copies, and the pages of memory each worker touches for the first time). Past ``budget``
    characters kept (escaped text, decoded text and a head per string sighted), the memo
    starts over."""

    HEAD = 64
    PER_HEAD = 4
    #: shorter strings are decoded as fast as they are compared
    MIN_CHARS = 512
    #: once one string in this many is a repeat (taken from the memo, or a second one of a
    #: head and length), sources repeat: a string is kept the first time it is decoded
    REPEATING = 64
    #: what a sighting holds besides its head: the pair, its length, the set's slot
    SIGHTING_BYTES = 130

    def __init__(self, budget: int = 48 * 1024 * 1024) -> None:
        self._budget = budget
        self._kept = 0
        self._by_head: dict[str, list[tuple[str, str]]] = {}
        #: (head, length) of the strings decoded once and not kept
        self._sighted: set[tuple[str, int]] = set()
        self._repeats = 0  # strings taken from the memo, or decoded again (head and length)
        self._misses = 0  # strings long enough to keep that were decoded
        #: a decoded string of the memo (by identity) -> it, and its UTF-8 bytes once asked
        self._encoded: dict[int, tuple[str, bytes | None]] = {}

    @property
    def kept(self) -> int:
        """Characters and bytes held (escaped, decoded and encoded texts; heads sighted)."""
        return self._kept

    def string_at(self, text: str, start: int) -> tuple[str, int]:
        """The JSON string whose body starts at ``start`` in ``text``, decoded, and where it
        ends (after its closing quote): ``json.decoder.scanstring(text, start)``."""
        head = text[start : start + self.HEAD]
        known = self._by_head.get(head)
        if known is not None:
            for raw, decoded in known:
                after = start + len(raw)
                if text.startswith(raw, start) and text.startswith('"', after):
                    self._repeats += 1
                    return decoded, after + 1
        decoded, end = _scanstring(text, start)
        size = end - 1 - start
        if size >= self.MIN_CHARS and (known is None or len(known) < self.PER_HEAD):
            self._misses += 1
            if (head, size) in self._sighted:
                self._repeats += 1
                self._keep(head, text[start : end - 1], decoded)
            elif self._repeats * self.REPEATING >= self._misses:
                self._keep(head, text[start : end - 1], decoded)
            else:
                self._sighted.add((head, size))
                self._kept += sys.getsizeof(head) + self.SIGHTING_BYTES
                if self._kept > self._budget:
                    self._start_over()
        return decoded, end

    def encoded(self, decoded: str) -> bytes:
        """``decoded`` as UTF-8 (an unpaired surrogate as ``?``); a string of the memo gets the
        same bytes object each time (hashed once where a walk recognises repeated sources)."""
        known = self._encoded.get(id(decoded))
        if known is None or known[0] is not decoded:
            return decoded.encode("utf-8", "replace")
        data = known[1]
        if data is None:
            data = decoded.encode("utf-8", "replace")
            self._encoded[id(decoded)] = (decoded, data)
            self._kept += len(data)
        return data

    def _keep(self, head: str, raw: str, decoded: str) -> None:
        cost = len(raw) + len(decoded)
        if cost > self._budget:
            return
        if self._kept + cost > self._budget:
            self._start_over()
        self._by_head.setdefault(head, []).append((raw, decoded))
        self._encoded[id(decoded)] = (decoded, None)
        self._kept += cost

    def _start_over(self) -> None:
        self._by_head.clear()
        self._encoded.clear()
        self._sighted.clear()
        self._kept = 0


#: the process's memo of decoded ``sourcesContent`` strings
DECODED = DecodedStrings()


def _content_strings(text: str, pos: int) -> tuple[list[object], list[Span | None], int] | None:
    """The values of the JSON array whose first element is at or after ``pos``, where each
    string's body sits (None for other values), and where the array ends; None past
    :data:`MAX_SPANS` values or at what does not continue an array."""
    values: list[object] = []
    spans: list[Span | None] = []
    pos = _after_blank(text, pos)
    if text.startswith("]", pos):
        return values, spans, pos + 1
    while len(values) < MAX_SPANS:
        if text.startswith('"', pos):
            string, end = DECODED.string_at(text, pos + 1)
            values.append(string)
            spans.append((pos + 1, end - 1))
        else:
            value, end = _skip_value(text, pos)
            values.append(value)
            spans.append(None)
        pos = _after_blank(text, end)
        if text.startswith("]", pos):
            return values, spans, pos + 1
        if not text.startswith(",", pos):
            return None
        pos = _after_blank(text, pos + 1)
    return None


def _json_values(text: str) -> int:
    """An upper bound of the JSON values in ``text``: its commas, brackets and braces, less
    those inside strings when there seem to be too many (counted string by string, without
    copying the text; past MAX_JSON_VALUES strings there are too many values anyway)."""
    count = text.count(",") + text.count("[") + text.count("{")
    if count <= MAX_JSON_VALUES:
        return count
    for strings, string in enumerate(_JSON_STRING.finditer(text), 1):
        if strings > MAX_JSON_VALUES:
            return strings
        start, end = string.span()
        count -= text.count(",", start, end) + text.count("[", start, end)
        count -= text.count("{", start, end)
    return count


#: what a map is read by: ``read(n)`` allocates ``n`` bytes first, so one read up to the size
#: limit (100 MiB) costs several times the read of a map of a few MB
_READ_STEP = 4 * 1024 * 1024


def read_at_most(stream: Readable, limit: int, size: int | None = None) -> bytes:
    """Up to ``limit`` bytes of ``stream`` (``limit + 1`` when there are more: the caller
    tells a map over its limit that way), read a few MB at a time. ``size``: the bytes the
    stream is expected to hold (a file's size): the first read asks for that many and one
    more, not a whole step (each read allocates what it asks for, fresh memory for a step of
    MBs, whatever the file holds); a file that grew since is still read to its end."""
    parts: list[bytes] = []
    total = 0
    step = _READ_STEP if size is None else max(0, size) + 1
    while total <= limit:
        want = min(step, limit + 1 - total)
        part = stream.read(want)
        # a short read of the size expected was its end: the next read (most likely empty)
        # need not allocate a step
        step = _READ_STEP if size is None or len(part) == want else 1
        size = None
        if not part:
            break
        parts.append(part)
        total += len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def looks_like_source_map(head: bytes) -> bool:
    """A JSON object that starts like a map: ``"version": 3`` first (what bundlers write), or
    both ``"sources"`` and ``"mappings"`` among its first bytes."""
    text = head.lstrip()
    if text.startswith(b")]}'"):  # XSSI guard some servers prepend
        text = text[4:].lstrip()
    if not text.startswith(b"{"):
        return False
    if _VERSION_3.match(text):
        return True
    return b'"mappings"' in head and b'"sources"' in head


#: the end of a text looked at first for its ``sourceMappingURL`` comment
_URL_TAIL = 4096


class _LiteralSearch:
    """``literal in data``, by a Hyperscan search for the literal where Hyperscan is installed:
    over text that holds none (almost every file and blob) it is several times faster than
    ``in`` (over the 28,153 blobs of the real-shaped benchmark history, 0.04 s of CPU instead
    of 0.10 s, of the scan's 1.3 s). The database is compiled at the first call (under a
    millisecond), in each process that searches."""

    def __init__(self, literal: bytes) -> None:
        self.literal = literal
        self._search: Callable[[bytes], bool] | None = None

    def __call__(self, data: bytes) -> bool:
        search = self._search
        if search is None:
            search = self._search = self._compiled()
        return search(data)

    def _compiled(self) -> Callable[[bytes], bool]:
        literal = self.literal
        try:
            import hyperscan
        except ImportError:
            return lambda data: literal in data
        from leakguard.engine.literals import escaped
        from leakguard.engine.rulecache import block_database

        db = block_database([escaped(literal)], [0], [hyperscan.HS_FLAG_SINGLEMATCH], None)
        failure = hyperscan.error

        def search(data: bytes) -> bool:
            found: list[bool] = []
            try:
                db.scan(data, match_event_handler=lambda *_: found.append(True))
            except failure:  # its scratch busy in another thread: the plain search
                return literal in data
            return bool(found)

        return search


#: ``MAPPING_URL_NAME in data`` (see :class:`_LiteralSearch`)
names_mapping_url = _LiteralSearch(MAPPING_URL_NAME)


def names_mapping_url_of_chunk(data: bytes) -> bool:
    """``MAPPING_URL_NAME in data``, for bytes the caller makes one chunk of, unchanged, when
    the answer is False (a git blob). The scan's engine answers it, when it can, from the
    keyword pass it then reuses for that chunk (see
    :func:`~leakguard.sources.interface.offering`): the bytes are read once, not twice."""
    probe = source_map_probe()
    if probe is not None:
        found = probe(data)
        if found is not None:
            return found
    return names_mapping_url(data)


def source_mapping_url(data: bytes) -> tuple[str, int] | None:
    """The last ``sourceMappingURL`` comment in ``data``: (URL, offset of the URL)."""
    # a bundle's comment is in its last bytes, and an occurrence in the tail is the last one:
    # looked for there first (a forward search of a whole bundle would read it all to find
    # it at the end); every text file's last chunk and every text blob comes here too, and
    # over the (usual) text that holds none a forward ``in`` is several times faster than
    # ``rfind``
    pos = data.rfind(MAPPING_URL_NAME, max(0, len(data) - _URL_TAIL))
    if pos == -1:
        if not names_mapping_url(data):
            return None
        pos = data.rfind(MAPPING_URL_NAME)
    m = _MAPPING_URL.search(data, max(0, pos - 8))
    last = None
    while m is not None:
        last = m
        m = _MAPPING_URL.search(data, m.end())
    if last is None:
        return None
    return last.group(1).decode("utf-8", "replace"), last.start(1)


def decode_data_url(url: str) -> bytes | None:
    """The bytes of a ``data:`` URL (base64 or percent-encoded), or None if it is not one."""
    if not url.startswith("data:"):
        return None
    meta, sep, payload = url[5:].partition(",")
    if not sep:
        return None
    if meta.endswith(";base64"):
        try:
            return base64.b64decode(payload + "=" * (-len(payload) % 4))
        except (binascii.Error, ValueError):
            return None
    return urllib.parse.unquote_to_bytes(payload)


def original_name(source: str, root: str) -> str:
    name = _BUNDLER_PREFIX.sub("", root.rstrip("/") + "/" + source if root else source)
    while name.startswith("./"):
        name = name[2:]
    return name


# -- sourcesContent -----------------------------------------------------------------------


class RawSources:
    """Where each ``sourcesContent`` string sits in a map's text (escapes included), found on
    the first finding that asks, and only as far as it asks: scanning a map needs only its
    parsed document."""

    def __init__(self, text: str, spans: list[Span | None] | None = None) -> None:
        """``spans``: those of the (only) ``sourcesContent`` array, when a parse found them."""
        self.text = text
        self._arrays: list[int] = []  # where each array's first element starts, found so far
        #: per array: the spans found so far, and where the walk goes on (-1: at its end)
        self._spans: dict[int, tuple[list[tuple[int, int] | None], int]] = {}
        if spans is not None:
            self._arrays.append(-1)  # never searched for: its spans are all known
            self._spans[0] = (spans, -1)

    def span(self, group: int, entry: int) -> tuple[int, int] | None:
        """(start, end) in the text of the body of string ``entry`` in the ``group``-th
        ``sourcesContent`` array."""
        spans = self._walk(group, lambda found: len(found) > entry)
        return spans[entry] if entry < len(spans) else None

    def entry_at(self, offset: int) -> tuple[int, int] | None:
        """(entry, start of its string body) of the string of the first ``sourcesContent``
        array that holds ``offset``, or None."""
        spans = self._walk(0, lambda found: bool(found) and (found[-1] or (0, 0))[1] >= offset)
        for entry in range(len(spans) - 1, -1, -1):
            span = spans[entry]
            if span is not None and span[0] <= offset < span[1]:
                return entry, span[0]
            if span is not None and span[1] < offset:
                break
        return None

    def _array(self, group: int) -> int | None:
        """Where the ``group``-th ``sourcesContent`` array's first element starts."""
        text, arrays = self.text, self._arrays
        at = max(0, arrays[-1]) if arrays else 0
        while len(arrays) <= group:
            at = text.find('"sourcesContent"', at)
            if at == -1:
                return None
            found = _CONTENT_KEY.match(text, at)
            at += 1
            if found is not None:
                arrays.append(found.end())
        return arrays[group]

    def _walk(
        self, group: int, enough: Callable[[list[tuple[int, int] | None]], bool]
    ) -> list[tuple[int, int] | None]:
        start = self._array(group)
        if start is None:
            return []
        spans, pos = self._spans.get(group, ([], start))
        text = self.text
        while pos != -1 and not enough(spans):
            if len(spans) >= MAX_SOURCES:
                pos = -1
                break
            pos = _skip_blank(text, pos)
            if pos >= len(text) or text[pos] == "]":
                pos = -1
                break
            if text[pos] == '"':
                try:
                    end = _scanstring(text, pos + 1)[1]  # the C scanner: the fastest skip
                except ValueError:
                    pos = -1
                    break
                spans.append((pos + 1, end - 1))
                pos = end
            else:  # null or another value: skip to the next comma
                spans.append(None)
                nxt = text.find(",", pos)
                close = text.find("]", pos)
                if nxt == -1 or (close != -1 and close < nxt):
                    pos = -1
                    break
                pos = nxt
            pos = _skip_blank(text, pos)
            if pos < len(text) and text[pos] == ",":
                pos += 1
        self._spans[group] = (spans, pos)
        return spans


@dataclass(frozen=True, slots=True)
class SourceTextChunk(Chunk):
    """One original source of a map, decoded. :meth:`location_at` locates a finding in the
    original source and in the map: at the secret inside its JSON string, or, for an inline map
    (``raw`` None), at the ``data:`` URL in the bundle that ``location`` names."""

    original_path: str = ""
    raw: RawSources | None = field(default=None, repr=False, compare=False)
    group: int = 0
    entry: int = 0

    def location_at(self, offset: int, newlines: int | None = None) -> Location:
        data = self.data
        if newlines is None:
            newlines = data.count(b"\n", 0, offset)
        line_start = data.rfind(b"\n", 0, offset) + 1
        origin: Extras = (
            ("original_path", self.original_path),
            ("original_line", newlines + 1),
            ("original_column", _chars(data[line_start:offset]) + 1),
        )
        base = self.location
        extras = _with_origin(base.extras, origin)
        at = self.map_position(_chars(data[:offset]))
        if at is None:
            return Location(base.path, base.line, base.column, base.commit, extras)
        return Location(base.path, at[0], at[1], base.commit, extras)

    def map_position(self, chars: int) -> tuple[int, int] | None:
        """(line, column) in the map's text of the ``chars``-th character of this source (None
        for an inline map)."""
        span = None if self.raw is None else self.raw.span(self.group, self.entry)
        if span is None:
            return None
        text = self.raw.text  # type: ignore[union-attr]
        raw = _raw_offset(text, span[0], span[1], chars)
        if text.find("\n", 0, raw) == -1:  # a map is most often one line: no count over it
            return 1, raw + 1
        return text.count("\n", 0, raw) + 1, raw - text.rfind("\n", 0, raw)

    def chars_before(self, line: int, column: int) -> int | None:
        """The characters of this source before map position ``line``:``column`` (what
        :meth:`map_position` was given), or None if the position is not in its string."""
        span = None if self.raw is None else self.raw.span(self.group, self.entry)
        if span is None or line < 1 or column < 1:
            return None
        text = self.raw.text  # type: ignore[union-attr]
        pos = -1
        for _ in range(line - 1):
            pos = text.find("\n", pos + 1)
            if pos == -1:
                return None
        pos += column
        if not span[0] <= pos <= span[1]:
            return None
        try:
            return len(_scanstring(text[span[0] : pos] + '"', 0)[0])
        except ValueError:
            return None


#: bytes of original sources, and of the map texts that locate them, one walk keeps to
#: recognise sources repeated across its maps
REPEAT_BUDGET = 64 * 1024 * 1024
#: what recording one more place of a repeated source costs (a chunk object and its fields): a
#: hostile map of a million identical sources must not keep a million of them
PLACE_COST = 512


class RepeatedSources:
    """Original sources already scanned in one walk, by content. The same source in another
    map (a vendor module bundled into several entry points, the same app built twice, client
    and server maps of one build) is matched once; :meth:`with_copies` then copies each of its
    findings to every other place, at the position a scan of that place gives (the map's line
    and column of the secret, the other original path; the original line and column are the
    same text's). What is kept to recognise repeats (sources and their maps' text) stays
    within ``budget`` bytes; past it, sources are scanned wherever they are."""

    def __init__(self, budget: int = REPEAT_BUDGET) -> None:
        self._budget = budget
        self._first: dict[bytes, SourceTextChunk] = {}
        self._texts: set[int] = set()  # the map texts kept (their ids: each is referenced)
        #: (map, original path) of a source scanned -> that source, and its other places
        self._copies: dict[tuple[str, str], tuple[SourceTextChunk, list[SourceTextChunk]]] = {}

    def repeats(self, chunk: SourceTextChunk) -> bool:
        """True when a source with ``chunk``'s content was scanned in this walk (``chunk`` is
        then recorded as one of its places, and need not be scanned)."""
        first = self._first.get(chunk.data)
        cost = self._text_cost(chunk)
        if first is not None:
            if not self._spend(cost + PLACE_COST, chunk):
                return False
            key = (first.location.path, first.original_path)
            # the place keeps the first's bytes (not a copy of them); from the memo of decoded
            # strings, they are most often the same object already
            place = chunk if chunk.data is first.data else replace(chunk, data=first.data)
            self._copies.setdefault(key, (first, []))[1].append(place)
            return True
        if self._spend(cost + len(chunk.data), chunk):
            self._first[chunk.data] = chunk
        return False

    def with_copies(self, findings: Sequence[Finding]) -> list[Finding]:
        """``findings``, and a copy of each one in a repeated source at each of its other
        places."""
        out = list(findings)
        if not self._copies:
            return out
        for finding in findings:
            location = finding.location
            name = location.get("original_path")
            entry = self._copies.get((location.path, name)) if isinstance(name, str) else None
            if entry is None or location.commit != entry[0].location.commit:
                continue
            first, copies = entry
            chars = first.chars_before(location.line, location.column)
            out.extend(replace(finding, location=_moved(location, c, chars)) for c in copies)
        return out

    def _text_cost(self, chunk: SourceTextChunk) -> int:
        raw = chunk.raw
        return 0 if raw is None or id(raw) in self._texts else len(raw.text)

    def _spend(self, cost: int, chunk: SourceTextChunk) -> bool:
        if cost > self._budget:
            return False
        self._budget -= cost
        if chunk.raw is not None:
            self._texts.add(id(chunk.raw))
        return True


def _moved(location: Location, place: SourceTextChunk, chars: int | None) -> Location:
    """``location`` (of a finding in a source) moved to the same text at ``place``."""
    at = None if chars is None else place.map_position(chars)
    line, column = at if at is not None else (place.location.line, place.location.column)
    extras = tuple(
        (key, place.original_path if key == "original_path" else value)
        for key, value in location.extras
    )
    return Location(place.location.path, line, column, place.location.commit, extras)


def _chars(data: bytes) -> int:
    return len(data) if data.isascii() else len(data.decode("utf-8", "replace"))


def _with_origin(extras: Extras, origin: Extras) -> Extras:
    """``origin`` added before an ``encoding`` entry (kept last, as decoding layers add it)."""
    kept = tuple(item for item in extras if item[0] not in ("original_path", "original_line"))
    plain = tuple(item for item in kept if item[0] != "encoding")
    return plain + origin + tuple(item for item in kept if item[0] == "encoding")


def _raw_offset(text: str, start: int, end: int, chars: int) -> int:
    """The offset in ``text`` of the ``chars``-th decoded character of the JSON string body
    ``text[start:end]``."""
    pos = start
    decoded = 0
    for esc in _ESCAPE.finditer(text, start, end):
        plain = esc.start() - pos
        if decoded + plain >= chars:
            break
        decoded += plain + 1
        pos = esc.end()
        if decoded > chars:
            return esc.start()
    return min(end, pos + chars - decoded)


def map_chunks(
    data: bytes,
    display: str,
    stats: ScanStats,
    *,
    source_kind: str = SourceKind.WEB,
    anchor: Location | None = None,
    commit: str | None = None,
    known: MapText | None = None,
    repeated: RepeatedSources | None = None,
) -> Iterator[Chunk]:
    """One chunk per original source in a map's ``sourcesContent``; nothing if it is not a map
    (or one too hostile to parse: then a warning, and the caller scans it as text).

    With ``anchor`` (an inline map), every finding is reported at the anchor, with the original
    position in extras. ``known``: ``data`` already decoded (to locate a bundle's findings), so
    its text and the string spans found in it are used, not made again. ``repeated``: the
    sources the walk scanned already (a source found there again is not yielded: its caller
    copies the findings, see :class:`RepeatedSources`)."""
    parsed = known.parsed() if known is not None else parse_map(data)
    doc = parsed.doc
    if doc is None:
        stats.warn(f"{display}: source map {parsed.problem}; scanned as text")
        return
    if not isinstance(doc, dict):
        return
    stats.count("source_maps")
    groups: list[object] = [doc]
    sections = doc.get("sections")
    if isinstance(sections, list):
        groups += [s.get("map") for s in sections if isinstance(s, dict)]
    # a map's sources in the order their ``sourcesContent`` arrays appear in its text
    contents = [
        (_sources(g) or [], g["sourcesContent"])
        for g in groups
        if isinstance(g, dict) and isinstance(g.get("sourcesContent"), list)
    ]
    if anchor is None:
        raw: RawSources | None = parsed.raw
        located = Location(display, 1, 1, commit)
    else:
        raw = None
        extras = (*anchor.extras, ("encoding", "data-url"))
        located = Location(anchor.path, anchor.line, anchor.column, anchor.commit, extras)
    if raw is None:
        repeated = None  # an inline map's findings all point at its URL: nothing to tell apart
    # a finding is told to be at a place by its map and original path: a name given to two
    # sources of one map leaves both out of repeats
    named = Counter(name for names, _ in contents for name in names)
    for group, (names, texts) in enumerate(contents):
        for entry, content in enumerate(texts):
            if not isinstance(content, str) or len(content) < MIN_SOURCE or content.isspace():
                continue
            chunk = SourceTextChunk(
                DECODED.encoded(content),
                located,
                source_kind,
                original_path=names[entry] if entry < len(names) else f"<source {entry}>",
                raw=raw,
                group=group,
                entry=entry,
            )
            single = named[chunk.original_path] < 2
            if repeated is not None and single and repeated.repeats(chunk):
                stats.count("repeated_sources")
                continue
            yield chunk


def _key(text: str, key: re.Pattern[str], literal: str) -> re.Match[str] | None:
    """The first match of ``key`` (which starts with ``literal``): ``str.find`` runs at memory
    speed over a map's megabytes where a regular expression search would not."""
    at = text.find(literal)
    while at != -1:
        found = key.match(text, at)
        if found is not None:
            return found
        at = text.find(literal, at + 1)
    return None


def _string_list(text: str, pos: int, limit: int) -> list[str]:
    """The strings of the JSON array whose first element starts at ``pos`` (``null`` and other
    values as ""); at most ``limit`` of them, and none after a value it cannot skip."""
    out: list[str] = []
    while len(out) < limit:
        pos = _skip_blank(text, pos)
        if pos >= len(text) or text[pos] == "]":
            break
        if text[pos] == '"':
            try:
                value, pos = _scanstring(text, pos + 1)
            except ValueError:
                break
            out.append(value)
        elif text.startswith("null", pos):
            out.append("")
            pos += 4
        else:
            break
        pos = _skip_blank(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos += 1
    return out


def _listed(values: list[object]) -> list[str]:
    """The names of a parsed ``sources`` list as :func:`_string_list` reads them from the text:
    ``null`` as "", up to the first value of another kind."""
    out: list[str] = []
    for value in values[:MAX_SOURCES]:
        if not isinstance(value, str) and value is not None:
            break
        out.append(value or "")
    return out


def _sources(doc: object) -> list[str] | None:
    if not isinstance(doc, dict):
        return None
    sources = doc.get("sources")
    if not isinstance(sources, list):
        return None
    root = doc.get("sourceRoot") if isinstance(doc.get("sourceRoot"), str) else ""
    return [original_name(s, str(root)) if isinstance(s, str) else "" for s in sources]


def _skip_blank(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


# -- locating bundle findings ---------------------------------------------------------------


def map_text(data: bytes) -> str:
    """A map's bytes as text, without the ``)]}'`` XSSI guard some servers prepend."""
    text = data.decode("utf-8", "replace")
    return text[4:] if text.startswith(")]}'") else text


class MapText:
    """A (non-index) map read only as far as locating bundle findings needs: the JSON strings
    after ``mappings``, ``sources`` and ``sourceRoot``, never ``names``; a finding in a
    ``sourcesContent`` string has the map parsed (:func:`parse_map`, kept for the scan of the
    map's own sources, which follows)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._parsed: ParsedMap | None = None
        self._names: list[str] | None = None
        self._mappings: Mappings | None = None
        self._read = False

    def parsed(self) -> ParsedMap:
        """The map's document, parsed on the first call."""
        if self._parsed is None:
            self._parsed = parse_map(b"", self.text)
        return self._parsed

    @property
    def raw(self) -> RawSources:
        return self.parsed().raw

    def names(self) -> list[str]:
        """``sources``, with ``sourceRoot`` applied and bundler prefixes dropped: from the
        parsed document when the map was parsed already (a search for a ``sourceRoot`` most
        maps lack reads the whole text), else from the text."""
        doc = None if self._parsed is None else self._parsed.doc
        if self._names is None and isinstance(doc, dict) and "sections" not in doc:
            root = doc.get("sourceRoot")
            sources = doc.get("sources")
            listed = _listed(sources) if isinstance(sources, list) else []
            self._names = [original_name(n, root if isinstance(root, str) else "") for n in listed]
        if self._names is None:
            text = self.text
            root = ""
            found = _key(text, _ROOT_KEY, '"sourceRoot"')
            if found is not None:
                with contextlib.suppress(ValueError):
                    root = _scanstring(text, found.end())[0]
            found = _key(text, _SOURCES_KEY, '"sources"')
            names = [] if found is None else _string_list(text, found.end(), MAX_SOURCES)
            self._names = [original_name(name, root) for name in names]
        return self._names

    def mappings(self) -> Mappings | None:
        if not self._read:
            self._read = True
            found = _key(self.text, _MAPPINGS_KEY, '"mappings"')
            if found is None or _key(self.text, _SECTIONS_KEY, '"sections"') is not None:
                return None  # an index map: its sections' mappings are not read
            try:
                mappings = _scanstring(self.text, found.end())[0]
            except ValueError:
                return None
            if mappings.strip(";,"):
                self._mappings = Mappings(mappings, self.names())
        return self._mappings

    def written_once(self, literal: str) -> tuple[str, int, int] | None:
        """(original path, line, column) where ``literal`` is written, when the map's text holds
        it exactly once, inside an original source of ``sourcesContent``; else None."""
        text = self.text
        at = text.find(literal)
        if at == -1 or text.find(literal, at + 1) != -1:
            return None
        found = self.raw.entry_at(at)
        if found is None:
            return None
        entry, start = found
        try:
            before = _scanstring(text[start:at] + '"', 0)[0]
        except ValueError:
            return None
        names = self.names()
        name = names[entry] if entry < len(names) else f"<source {entry}>"
        return name, before.count("\n") + 1, len(before) - before.rfind("\n")


# -- mappings -----------------------------------------------------------------------------

#: mapping text summed per step (C-level counting of repeated segment texts); the step that
#: holds the asked column is then walked segment by segment
_BLOCK = 16 * 1024
#: a segment longer than this is malformed (five 32-bit VLQ values take at most 35)
_MAX_SEGMENT = 64
#: resume points remembered per map
_MARK_LIMIT = 4096
#: distinct segments one map may have decoded before its lookups give up (real maps repeat a
#: few thousand; each costs a few microseconds)
MAX_DECODED = 1_000_000

#: (generated column delta, source delta, original line delta, original column delta, mapped)
_Delta = tuple[int, int, int, int, int]
_NOTHING: _Delta = (0, 0, 0, 0, 0)
#: a resume point: (generated line, generated column, offset in the mappings text, source,
#: original line, original column, whether a mapped segment was seen on the line)
_Mark = tuple[int, int, int, int, int, int, int]

_B64 = {
    c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
}


_GENERATED, _SOURCE, _LINE, _COLUMN, _MAPPED = (itemgetter(i) for i in range(5))


@functools.lru_cache(maxsize=1 << 16)
def _decode_segment(segment: str) -> _Delta:
    """A segment's deltas; a malformed one (bad character, too long) counts as nothing. Memoised:
    real maps repeat a few thousand distinct segments, across maps too."""
    if not segment or len(segment) > _MAX_SEGMENT:
        return _NOTHING
    values: list[int] = []
    value = shift = 0
    for char in segment:
        digit = _B64.get(char)
        if digit is None:
            return _NOTHING
        value += (digit & 31) << shift
        if digit & 32:
            shift += 5
            continue
        values.append(-(value >> 1) if value & 1 else value >> 1)
        value = shift = 0
    if len(values) >= 4:
        return (values[0], values[1], values[2], values[3], 1)
    return (values[0], 0, 0, 0, 0) if values else _NOTHING


def _sums(text: str) -> _Delta:
    """The deltas of every segment in ``text`` (``,``/``;``-separated) added up; ``mapped`` is
    1 if any segment is mapped. Each distinct segment text is decoded once."""
    counts = Counter(text.replace(";", ",").split(","))
    deltas = list(map(_decode_segment, counts))
    times = list(counts.values())
    return (
        sum(map(mul, map(_GENERATED, deltas), times)),
        sum(map(mul, map(_SOURCE, deltas), times)),
        sum(map(mul, map(_LINE, deltas), times)),
        sum(map(mul, map(_COLUMN, deltas), times)),
        int(any(map(_MAPPED, deltas))),
    )


class Mappings:
    """A ``mappings`` string: generated (line, column) -> original (path, line, column).

    Nothing is decoded up front. A lookup starts from the nearest remembered point before it
    (the start, or where an earlier lookup got to) and goes forward a block of mapping text at
    a time: sources, original lines and columns are deltas that run across generated lines, so
    every segment before the asked one counts, but a block is only summed (distinct segment
    texts counted at C speed, each decoded once), never held as a Python object per segment;
    only the block holding the asked column is walked segment by segment. Lines and columns
    are 0-based in the format; :meth:`original` takes and gives 1-based ones, like locations.
    A malformed segment counts as nothing."""

    def __init__(self, mappings: str, sources: list[str]) -> None:
        self.sources = sources
        self._text = mappings
        self._marks: list[_Mark] = [(0, 0, 0, 0, 0, 0, 0)]
        #: distinct segments this map had decoded (in Python); a hostile map of millions of
        #: distinct segments stops answering at MAX_DECODED instead of costing minutes
        self._decoded = 0

    def _sums(self, text: str) -> _Delta | None:
        """:func:`_sums` of ``text``, None once this map has decoded too much."""
        if self._decoded > MAX_DECODED:
            return None
        before = _decode_segment.cache_info().misses
        step = _sums(text)
        self._decoded += _decode_segment.cache_info().misses - before
        return step

    @classmethod
    def from_map(cls, data: bytes) -> Mappings | None:
        """The mappings of a (non-index) map, or None when there are none."""
        return MapText(map_text(data)).mappings()

    @property
    def lines(self) -> int:
        """The number of generated lines."""
        return self._text.count(";") + 1 if self._text else 0

    def original(
        self, line: int, column: int, literal: str | None = None
    ) -> tuple[str, int, int] | None:
        """(original path, line, column), all 1-based, of generated ``line``:``column`` (the
        text there, ``literal``, plays no part)."""
        if line < 1 or column < 1:
            return None
        found = self._lookup(line - 1, column - 1)
        if found is None:
            return None
        source, orig_line, orig_column = found
        if not 0 <= source < len(self.sources) or orig_line < 0 or orig_column < 0:
            return None
        return self.sources[source], orig_line + 1, orig_column + 1

    def _lookup(self, line: int, column: int) -> tuple[int, int, int] | None:
        index = bisect.bisect_right(self._marks, (line, column, 1 << 62)) - 1
        at_line, generated, pos, source, orig_line, orig_column, seen = self._marks[index]
        if at_line < line:
            start = self._line_start(at_line, pos, line, (source, orig_line, orig_column))
            if start is None:
                return None
            pos, (source, orig_line, orig_column) = start
            generated, seen = 0, 0
        text = self._text
        end = text.find(";", pos)
        if end == -1:
            end = len(text)
        while pos < end:
            stop = _cut(text, pos, end, _BLOCK)
            block = text[pos:stop]
            step = self._sums(block)
            if step is None:
                return None
            if generated + step[0] <= column:  # the whole block is at or before the column
                generated += step[0]
                source, orig_line, orig_column = (
                    source + step[1],
                    orig_line + step[2],
                    orig_column + step[3],
                )
                seen = seen or step[4]
                pos = stop + 1
                if pos < end:
                    self._mark((line, generated, pos, source, orig_line, orig_column, seen))
                continue
            decoded = list(map(_decode_segment, block.split(",")))
            columns = list(accumulate(map(_GENERATED, decoded), initial=generated))
            count = bisect.bisect_right(columns, column, 1) - 1  # segments at or before it
            decoded = decoded[:count]
            source += sum(map(_SOURCE, decoded))
            orig_line += sum(map(_LINE, decoded))
            orig_column += sum(map(_COLUMN, decoded))
            seen = seen or any(map(_MAPPED, decoded))
            break
        return (source, orig_line, orig_column) if seen else None

    def _line_start(
        self, line: int, pos: int, target: int, state: tuple[int, int, int]
    ) -> tuple[int, tuple[int, int, int]] | None:
        """Where generated line ``target`` starts and the state there, summing every segment
        from ``pos`` (on ``line``) on; None if the mappings end before it."""
        text = self._text
        source, orig_line, orig_column = state
        while line < target:
            if pos >= len(text):
                return None
            stop = min(len(text), pos + _BLOCK)
            newlines = text.count(";", pos, stop)
            if line + newlines >= target:  # the target line starts in this block
                stop = pos - 1
                for _ in range(target - line):
                    stop = text.find(";", stop + 1)
                stop += 1
                newlines = target - line
            elif newlines:
                stop = text.rfind(";", pos, stop) + 1
            else:
                stop = _cut(text, pos, len(text), _BLOCK)
            step = self._sums(text[pos:stop])
            if step is None:
                return None
            source, orig_line, orig_column = (
                source + step[1],
                orig_line + step[2],
                orig_column + step[3],
            )
            line += newlines
            pos = stop
            if newlines:
                self._mark((line, 0, pos, source, orig_line, orig_column, 0))
        return pos, (source, orig_line, orig_column)

    def _mark(self, mark: _Mark) -> None:
        if len(self._marks) < _MARK_LIMIT:
            bisect.insort(self._marks, mark)


def _cut(text: str, pos: int, end: int, size: int) -> int:
    """The end of a block of about ``size`` characters from ``pos``, at a segment boundary
    (a ``,`` or ``;``) or ``end``."""
    stop = pos + size
    if stop >= end:
        return end
    comma = text.find(",", stop, end)
    semicolon = text.find(";", stop, end)
    cuts = [c for c in (comma, semicolon) if c != -1]
    return min(cuts) if cuts else end
