"""Source maps: scan the original sources they carry (``sourcesContent``) and say where each
finding was written (``original_path``, ``original_line``) besides where it sits in the map.

Each original line becomes its own chunk whose location is the map file, at the line and column
where that original line starts inside the JSON string, so the column of a finding is its column
in the map (exact unless a JSON escape precedes it on the same original line). A map decoded from
an inline ``data:`` URL has no file of its own: its findings point at the URL in the bundle.

Bundles name their map in a trailing ``//# sourceMappingURL=...`` comment
(:func:`source_mapping_url`); the file reader follows it to a sibling file and the site reader to
a URL.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import re
import urllib.parse
from collections.abc import Callable, Iterator
from typing import cast

from leakguard.model import Chunk, Location, ScanStats, SourceKind

#: an original line shorter than this (stripped) cannot hold a credential
MIN_LINE = 8

_scanstring = cast(Callable[[str, int], tuple[str, int]], json.decoder.scanstring)  # type: ignore[attr-defined]
_VERSION_3 = re.compile(rb'\{\s*"version"\s*:\s*3\s*[,}]')
_CONTENT_KEY = re.compile(r'"sourcesContent"\s*:\s*\[')
_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{4}|.)", re.DOTALL)
_NEWLINE_ESCAPES = frozenset({"\\n", "\\u000a", "\\u000A"})
_MAPPING_URL = re.compile(rb"[#@][ \t]*sourceMappingURL=([^\s'\"*]+)")
_BUNDLER_PREFIX = re.compile(r"^(?:webpack|vite|rollup|turbopack)://[^/]*/")


def parse_map(data: bytes) -> tuple[str, object]:
    """A source map's text (after the optional ``)]}'`` XSSI guard) and its JSON document
    (None when it is not valid JSON)."""
    text = data.decode("utf-8", "replace")
    if text.startswith(")]}'"):
        text = text[4:]
    try:
        return text, json.loads(text)
    except (ValueError, RecursionError):
        return text, None


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


def source_mapping_url(data: bytes) -> tuple[str, int] | None:
    """The last ``sourceMappingURL`` comment in ``data``: (URL, offset of the URL)."""
    # every text file's last chunk comes here: a forward ``in`` is several times faster than
    # ``rfind`` over the (usual) text that holds no comment
    if b"sourceMappingURL=" not in data:
        return None
    pos = data.rfind(b"sourceMappingURL=")
    if pos == -1:
        return None
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


def map_chunks(
    data: bytes,
    display: str,
    stats: ScanStats,
    *,
    source_kind: str = SourceKind.WEB,
    anchor: Location | None = None,
    commit: str | None = None,
) -> Iterator[Chunk]:
    """Chunks of every original line in a map's ``sourcesContent``; nothing if it is not a map.

    With ``anchor`` (an inline map), every chunk is reported at the anchor, with the original
    position in extras."""
    text, doc = parse_map(data)
    if doc is None:
        stats.warn(f"{display}: source map is not valid JSON; scanned as text")
        return
    if not isinstance(doc, dict):
        return
    candidates = [_sources(doc)]
    sections = doc.get("sections")
    if isinstance(sections, list):
        candidates += [_sources(s.get("map", {})) for s in sections if isinstance(s, dict)]
    source_lists = [s for s in candidates if s is not None]
    stats.count("source_maps")
    line_base, col_base, last = 1, 1, 0
    for index, m in enumerate(_CONTENT_KEY.finditer(text)):
        names = source_lists[index] if index < len(source_lists) else []
        pos = m.end()
        entry = 0
        while pos < len(text):
            pos = _skip_blank(text, pos)
            if pos >= len(text) or text[pos] == "]":
                break
            if text[pos] == '"':
                try:
                    content, end = _scanstring(text, pos + 1)
                except ValueError:
                    break
                name = names[entry] if entry < len(names) else f"<source {entry}>"
                # line/column in the map of the string start, counted incrementally
                newlines = text.count("\n", last, pos + 1)
                if newlines:
                    line_base += newlines
                    col_base = pos + 1 - text.rfind("\n", 0, pos + 1)
                else:
                    col_base += pos + 1 - last
                last = pos + 1
                yield from _entry_chunks(
                    text,
                    pos + 1,
                    end - 1,
                    content,
                    name,
                    display,
                    (line_base, col_base),
                    source_kind,
                    anchor,
                    commit,
                )
                pos = end
            else:  # null or another value: skip to the next comma
                nxt = text.find(",", pos)
                close = text.find("]", pos)
                if nxt == -1 or (close != -1 and close < nxt):
                    pos = close if close != -1 else len(text)
                    continue
                pos = nxt
            pos = _skip_blank(text, pos)
            if pos < len(text) and text[pos] == ",":
                pos += 1
            entry += 1


class Mappings:
    """A decoded ``mappings`` string: generated (line, column) -> original (path, line, column).

    Lines and columns are 0-based here, as in the format; :meth:`original` takes and gives
    1-based ones, like locations."""

    def __init__(self, mappings: str, sources: list[str]) -> None:
        self.sources = sources
        #: per generated line, sorted (generated column, source index, original line, column)
        self.lines: list[list[tuple[int, int, int, int]]] = []
        source = line = column = 0
        for text in mappings.split(";"):
            segments: list[tuple[int, int, int, int]] = []
            generated = 0
            for field in text.split(","):
                if not field:
                    continue
                values = _vlq(field)
                if not values:
                    break  # malformed: keep what was decoded so far
                generated += values[0]
                if len(values) >= 4:
                    source += values[1]
                    line += values[2]
                    column += values[3]
                    segments.append((generated, source, line, column))
            self.lines.append(segments)

    @classmethod
    def from_map(cls, data: bytes) -> Mappings | None:
        """The mappings of a (non-index) map, or None when there are none."""
        _text, doc = parse_map(data)
        if not isinstance(doc, dict) or not isinstance(doc.get("mappings"), str):
            return None
        return cls(doc["mappings"], _sources(doc) or [])

    def original(self, line: int, column: int) -> tuple[str, int, int] | None:
        """(original path, line, column), all 1-based, of generated ``line``:``column``."""
        if not 1 <= line <= len(self.lines):
            return None
        segments = self.lines[line - 1]
        index = bisect.bisect_right(segments, (column - 1, 1 << 62, 0, 0)) - 1
        if index < 0:
            return None
        _, source, orig_line, orig_column = segments[index]
        if not 0 <= source < len(self.sources):
            return None
        return self.sources[source], orig_line + 1, orig_column + 1


_B64 = {
    c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
}


def _vlq(field: str) -> list[int]:
    """Base64 VLQ values of one segment (empty if malformed)."""
    values: list[int] = []
    value = shift = 0
    for char in field:
        digit = _B64.get(char)
        if digit is None:
            return []
        value += (digit & 31) << shift
        if digit & 32:
            shift += 5
            continue
        values.append(-(value >> 1) if value & 1 else value >> 1)
        value = shift = 0
    return values


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


def _entry_chunks(
    text: str,
    raw_start: int,
    raw_end: int,
    content: str,
    name: str,
    display: str,
    start: tuple[int, int],
    source_kind: str,
    anchor: Location | None,
    commit: str | None,
) -> Iterator[Chunk]:
    # raw offsets (in the map) where each original line starts
    starts = [raw_start]
    for esc in _ESCAPE.finditer(text, raw_start, raw_end):
        if esc.group() in _NEWLINE_ESCAPES:
            starts.append(esc.end())
    map_line, map_col = start
    for number, line in enumerate(content.split("\n"), 1):
        if len(line.strip()) < MIN_LINE:
            continue
        origin = (("original_path", name), ("original_line", number))
        raw = starts[number - 1] if number - 1 < len(starts) else raw_start
        if anchor is not None:
            location = Location(
                anchor.path,
                anchor.line,
                anchor.column,
                anchor.commit,
                anchor.extras + origin + (("encoding", "data-url"),),
            )
            fixed = True
        else:
            location = Location(display, map_line, map_col + raw - raw_start, commit, origin)
            fixed = False
        yield Chunk(line.encode("utf-8", "replace"), location, source_kind, position_fixed=fixed)
