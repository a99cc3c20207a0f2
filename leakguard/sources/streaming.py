"""Cut a byte stream into overlapping chunks so a secret on a read boundary is found once."""

from __future__ import annotations

from collections.abc import Iterator

from leakguard.model import Chunk, Location
from leakguard.sources.limits import Readable

CHUNK_BYTES = 2 * 1024 * 1024  # small enough that per-finding line counting stays cheap
OVERLAP_BYTES = 8 * 1024  # longer than any secret a rule extracts (PEM keys included)


def stream_chunks(
    stream: Readable,
    location: Location,
    source_kind: str,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    overlap: int = OVERLAP_BYTES,
    first: bytes = b"",
) -> Iterator[Chunk]:
    """Yield chunks of ``stream`` (after ``first``, bytes already read from it).

    Consecutive chunks share ``overlap`` bytes; each reports only matches starting in the part
    it owns, so every match is reported by exactly one chunk and is complete in it.
    """
    line = location.line or 1
    column = location.column or 1
    carried = b""
    block = first + stream.read(max(0, chunk_bytes - len(first)))
    while block:
        following = stream.read(chunk_bytes)
        data = carried + block
        more = bool(following)
        cut = max(0, len(data) - overlap) if more else len(data)
        yield Chunk(
            data,
            Location(location.path, line, column, location.commit, location.extras),
            source_kind,
            report_until=cut if more else None,
        )
        if not more:
            return
        newlines = data.count(b"\n", 0, cut)
        if newlines:
            line += newlines
            column = cut - data.rfind(b"\n", 0, cut)
        else:
            column += cut
        carried = data[cut:]
        block = following
