"""Pick how to read one file by its content and yield its chunks.

The directory, file and git sources call :func:`file_chunks` for each file; readers for
archives, compressed files, logs, web bundles and source maps plug in here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from leakguard.model import Chunk, Location, ScanStats, SourceKind
from leakguard.options import ScanOptions
from leakguard.sources.streaming import stream_chunks

SNIFF_BYTES = 8192


def looks_binary(head: bytes) -> bool:
    return b"\0" in head


def file_chunks(
    path: Path, display: str, options: ScanOptions, stats: ScanStats
) -> Iterator[Chunk]:
    try:
        size = path.stat().st_size
        if size > options.max_file_bytes:
            stats.skip(display, f"over the size limit ({size} > {options.max_file_bytes} bytes)")
            return
        with path.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
            stats.files += 1
            stats.bytes += size
            yield from stream_chunks_for(fh, head, display, options, stats)
    except PermissionError:
        stats.skip(display, "permission denied")
    except FileNotFoundError:
        stats.skip(display, "vanished during the scan")
    except IsADirectoryError:
        stats.skip(display, "is a directory")
    except OSError as exc:
        stats.skip(display, f"unreadable: {exc.strerror or exc}")


def stream_chunks_for(
    stream: BinaryIO, head: bytes, display: str, options: ScanOptions, stats: ScanStats
) -> Iterator[Chunk]:
    """Chunks of an open stream whose first bytes (``head``) were already read."""
    if looks_binary(head):
        stats.skip(display, "binary")
        return
    yield from stream_chunks(stream, Location(display, 1, 1), SourceKind.FILE, first=head)
