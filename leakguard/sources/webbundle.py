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

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from leakguard.model import Chunk, Location, ScanStats
from leakguard.sources.sourcemap import MapText, RepeatedSources, map_text, read_at_most

#: a credential-like token at a finding (long enough to be specific when searched for)
_TOKEN = re.compile(rb"[A-Za-z0-9_\-+.~=]{16,}")


class OriginalPositions(Protocol):
    def original(
        self, line: int, column: int, literal: str | None = None
    ) -> tuple[str, int, int] | None:
        """(original path, line, column), 1-based, of a generated position (where ``literal``,
        the text of a finding's token, starts), or None."""
        ...


#: what tells a file read earlier from its current content: device, inode, size, mtime (ns)
FileIdentity = tuple[int, int, int, int]


def file_identity(st: os.stat_result) -> FileIdentity:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class ReadMaps:
    """The map a bundle's findings last had read, kept for the scan of that map file itself
    (soon after in a directory walk, or followed from the bundle): a bundle and its map are
    each read and decoded once. One map at a time, until it is taken or another replaces it;
    a file changed since (another identity) is read again.

    ``repeated``: where the walk records the original sources its maps hold, so a source
    repeated in another map is matched once (the walk then copies its findings, see
    :class:`~leakguard.sources.sourcemap.RepeatedSources`); None: every source is scanned."""

    def __init__(self, repeated: RepeatedSources | None = None) -> None:
        self._kept: tuple[FileIdentity, bytes, MapText] | None = None
        self.repeated = repeated

    def keep(self, identity: FileIdentity, data: bytes, text: MapText) -> None:
        self._kept = (identity, data, text)

    def take(self, identity: FileIdentity) -> tuple[bytes, MapText] | None:
        """The bytes and decoded text of the file of ``identity``, if it is the one kept."""
        kept = self._kept
        if kept is None or kept[0] != identity:
            return None
        self._kept = None
        return kept[1], kept[2]


class SiblingMap:
    """A bundle's map file, read on the first lookup (a map that cannot be read gives no
    positions), and handed to ``read`` for the map's own scan.

    A finding's token whose text the map holds exactly once, inside an original source of
    ``sourcesContent``, is located there, at its exact column (a search of the map's text and a
    decode of one source's beginning); any other finding through ``mappings``, at the segment
    covering its column."""

    def __init__(
        self, path: Path, max_bytes: int, stats: ScanStats, read: ReadMaps | None = None
    ) -> None:
        self._path = path
        self._max_bytes = max_bytes
        self._stats = stats
        self._read = read
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
                identity = file_identity(os.fstat(fh.fileno()))
                data = read_at_most(fh, self._max_bytes, identity[2])
        except OSError:
            return None  # the map is optional; reading it as a file reports what is wrong
        if len(data) > self._max_bytes:
            return None
        text = MapText(map_text(data))
        if self._read is not None and len(data) == identity[2]:
            self._read.keep(identity, data, text)
        return text


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
