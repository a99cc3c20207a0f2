"""Cut a byte stream into overlapping chunks so a secret on a read boundary is found once.

The chunks fall on a grid of ``chunk_bytes`` blocks from the start of the stream, so a byte range
of whole blocks (:func:`stream_chunks` with ``carried`` and ``blocks``) yields exactly the chunks
the whole stream yields for those blocks: a large file is scanned in such ranges in parallel."""

from __future__ import annotations

from collections.abc import Generator

from leakguard.model import Chunk, Location
from leakguard.sources.limits import Readable

CHUNK_BYTES = 2 * 1024 * 1024  # small enough that per-finding line counting stays cheap
OVERLAP_BYTES = 8 * 1024  # longer than any secret a rule extracts (PEM keys included)

#: a (line, column) place, both 1-based
Position = tuple[int, int]


def overlap_for(chunk_bytes: int) -> int:
    """The bytes consecutive chunks of ``chunk_bytes`` blocks share."""
    return min(OVERLAP_BYTES, chunk_bytes // 2)


def stream_chunks(
    stream: Readable,
    location: Location,
    source_kind: str,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    overlap: int = OVERLAP_BYTES,
    first: bytes = b"",
    carried: bytes = b"",
    blocks: int | None = None,
) -> Generator[Chunk, None, Position | None]:
    """Yield chunks of ``stream`` (after ``first``, bytes already read from it).

    Consecutive chunks share ``overlap`` bytes; each reports only matches starting in the part
    it owns, so every match is reported by exactly one chunk and is complete in it.

    ``carried``: the ``overlap`` bytes before the stream's position, the end of the block before
    (a range that starts at a block of the grid); ``blocks``: stop after that many blocks, the
    last one's chunk reporting as it would with the stream read on. Returns the (line, column)
    where the last chunk's owned part ends, or None when the stream ended (then nothing of it
    is left to report).
    """
    line = location.line or 1
    column = location.column or 1
    block = first + stream.read(max(0, chunk_bytes - len(first)))
    left = blocks
    while block:
        last_block = left is not None and left <= 1
        # the block after a range's last one is not its own: one byte says whether it exists
        following = stream.read(1 if last_block else chunk_bytes)
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
            return None
        newlines = data.count(b"\n", 0, cut)
        if newlines:
            line += newlines
            column = cut - data.rfind(b"\n", 0, cut)
        else:
            column += cut
        if last_block:
            return line, column
        carried = data[cut:]
        block = following
        if left is not None:
            left -= 1
    return None


def placed(position: Position, at: Position) -> Position:
    """``position``, counted from (1, 1) at the start of a range, in the whole stream where the
    range starts at ``at``."""
    line, column = position
    return (at[0], at[1] + column - 1) if line == 1 else (at[0] + line - 1, column)
