"""Bundle files with a sibling source map: findings in the bundle carry their original position.

The bundle is scanned like any text, at full engine speed, and nothing about its map is read
until a finding needs it: each chunk of the bundle is a :class:`MappedChunk`, whose
:meth:`~MappedChunk.location_at` (what the engine calls for a finding, and only then) adds
``original_path``/``original_line``/``original_column`` from the map's ``mappings``. The map
file is read and parsed on the first finding, and :class:`~leakguard.sources.sourcemap.Mappings`
decodes only up to the generated position asked for, so a bundle without findings costs
nothing beyond its own scan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from leakguard.model import Chunk, Location, ScanStats
from leakguard.sources.sourcemap import MapText, map_text

#: a credential-like token at a finding (long enough to be specific when searched for)
_TOKEN = re.compile(rb"[A-Za-z0-9_\-+.~=]{16,}")


class OriginalPositions(Protocol):
    def original(
        self, line: int, column: int, literal: str | None = None
    ) -> tuple[str, int, int] | None:
        """(original path, line, column), 1-based, of a generated position (where ``literal``,
        the text of a finding's token, starts), or None."""
        ...


class SiblingMap:
    """A bundle's map file, read on the first lookup (a map that cannot be read gives no
    positions).

    A finding's token whose text the map holds exactly once, inside an original source of
    ``sourcesContent``, is located there, at its exact column (a search of the map's text and a
    decode of one source's beginning); any other finding through ``mappings``, at the segment
    covering its column."""

    def __init__(self, path: Path, max_bytes: int, stats: ScanStats) -> None:
        self._path = path
        self._max_bytes = max_bytes
        self._stats = stats
        self._map: MapText | None = None
        self._loaded = False
        self._mapped = False

    def original(
        self, line: int, column: int, literal: str | None = None
    ) -> tuple[str, int, int] | None:
        if not self._loaded:
            self._loaded = True
            self._map = self._load()
        if self._map is None:
            return None
        found = self._map.written_once(literal) if literal else None
        if found is None:
            mappings = self._map.mappings()
            found = None if mappings is None else mappings.original(line, column)
        if found is not None and not self._mapped:
            self._mapped = True
            self._stats.count("bundles_mapped_to_original")
        return found

    def _load(self) -> MapText | None:
        try:
            with self._path.open("rb") as fh:
                data = fh.read(self._max_bytes + 1)
        except OSError:
            return None  # the map is optional; reading it as a file reports what is wrong
        if len(data) > self._max_bytes:
            return None
        return MapText(map_text(data))


@dataclass(frozen=True, slots=True)
class MappedChunk(Chunk):
    """A chunk of a bundle whose findings are also located where they were written."""

    mapping: OriginalPositions | None = field(default=None, repr=False, compare=False)

    def location_at(self, offset: int, newlines: int | None = None) -> Location:
        location = Chunk.location_at(self, offset, newlines)
        if self.mapping is None or location.get("original_path") is not None:
            return location
        token = _TOKEN.match(self.data, offset)
        literal = token.group().decode("ascii") if token is not None else None
        found = self.mapping.original(location.line, location.column, literal)
        if found is None:
            return location
        path, line, column = found
        origin = (("original_path", path), ("original_line", line), ("original_column", column))
        return Location(
            location.path,
            location.line,
            location.column,
            location.commit,
            location.extras + origin,
        )


def mapped_chunks(chunks: Iterable[Chunk], mapping: OriginalPositions) -> Iterator[Chunk]:
    """``chunks`` of a bundle, as :class:`MappedChunk` (chunks of another kind, such as an
    inline map's sources, pass unchanged)."""
    for chunk in chunks:
        if type(chunk) is not Chunk:
            yield chunk
            continue
        yield MappedChunk(
            chunk.data,
            chunk.location,
            chunk.source_kind,
            chunk.report_from,
            chunk.report_until,
            chunk.position_fixed,
            chunk.depth,
            mapping=mapping,
        )
