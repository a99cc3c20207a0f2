"""Bundle files with a sibling source map: findings in the bundle carry their original position.

The matcher computes line and column from chunk offsets and cannot look a position up in a map,
so for a bundle whose map has ``mappings`` every long string literal (where credentials sit in
client code) is also yielded as a small chunk *before* the bundle's ordinary chunks: located at
the literal's exact line and column in the bundle, reporting only matches inside the literal,
and carrying ``original_path``/``original_line``/``original_column`` of the literal from the
map. A finding in a literal is therefore found twice at the same place; the scan keeps the first
(the one with the original position). The chunk starts up to 256 bytes before the literal on its
line so that context (``NEXT_PUBLIC_KEY:"...``) still reaches the exposure check.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from leakguard.model import Chunk, Location, SourceKind
from leakguard.sources.sourcemap import Mappings

#: bundles larger than this are read only as ordinary chunks
BUNDLE_LIMIT = 32 * 1024 * 1024
#: context kept before a literal, on its line
CONTEXT_BYTES = 256

_LITERAL = re.compile(
    rb'"(?:[^"\\\n]|\\.){16,}"|\'(?:[^\'\\\n]|\\.){16,}\'|`(?:[^`\\]|\\.){16,}`', re.DOTALL
)


def mapped_literal_chunks(
    data: bytes, display: str, mappings: Mappings, *, commit: str | None = None
) -> Iterator[Chunk]:
    line = 1
    line_start = 0
    position = 0
    for m in _LITERAL.finditer(data):
        start, end = m.span()
        newlines = data.count(b"\n", position, start)
        if newlines:
            line += newlines
            line_start = data.rfind(b"\n", position, start) + 1
        position = start
        original = mappings.original(line, start - line_start + 1)
        if original is None:
            continue
        path, orig_line, orig_column = original
        context = max(line_start, start - CONTEXT_BYTES)
        extras = (
            ("original_path", path),
            ("original_line", orig_line),
            ("original_column", orig_column),
        )
        yield Chunk(
            data[context:end],
            Location(display, line, context - line_start + 1, commit, extras),
            SourceKind.WEB,
            report_from=start - context,
            report_until=end - context,
        )
