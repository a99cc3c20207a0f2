"""Files, directories (recursive) and standard input."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from leakguard.model import Chunk, ScanStats, SourceKind
from leakguard.options import ScanOptions
from leakguard.sources.interface import Source
from leakguard.sources.limits import CountingReader
from leakguard.sources.readers import SNIFF_BYTES, file_chunks, stream_chunks_for

SKIP_DIRS = frozenset({".git", ".hg", ".svn"})
BATCH_FILES = 2048
MIN_BATCH_BYTES = 1024 * 1024
MAX_BATCH_BYTES = 32 * 1024 * 1024
BATCHES_PER_WORKER = 6  # enough pieces to even out the workers' loads, few enough to be cheap


def batch_bytes(total: int, options: ScanOptions) -> int:
    """Bytes per batch: the tree cut into a few pieces per worker, within sane bounds."""
    workers = options.jobs if options.jobs > 0 else (os.cpu_count() or 1)
    return max(MIN_BATCH_BYTES, min(MAX_BATCH_BYTES, total // (workers * BATCHES_PER_WORKER)))


@dataclass
class FileSource:
    """One file as given on the command line; findings name it as given."""

    path: Path
    label: str
    parallel_safe = True

    def split(self, options: ScanOptions) -> Sequence[Source]:
        return [self]

    def iter_chunks(self, options: ScanOptions, stats: ScanStats) -> Iterator[Chunk]:
        yield from file_chunks(self.path, self.label, options, stats)


@dataclass
class FileBatch:
    """Some files of a directory, scanned by one worker. Paths are relative to ``root``."""

    root: Path
    relpaths: tuple[str, ...]
    label: str
    parallel_safe = True

    def split(self, options: ScanOptions) -> Sequence[Source]:
        return [self]

    def iter_chunks(self, options: ScanOptions, stats: ScanStats) -> Iterator[Chunk]:
        for rel in self.relpaths:
            yield from file_chunks(self.root / rel, rel, options, stats, walked=self.root)


@dataclass
class DirectorySource:
    root: Path
    label: str
    parallel_safe = True

    def walk(self, stats: ScanStats) -> Iterator[tuple[str, int]]:
        """(relative path, size) of every regular file, skipping VCS internals and links."""

        def on_error(exc: OSError) -> None:
            where = os.path.relpath(exc.filename or str(self.root), self.root)
            stats.skip(where, "unreadable directory")

        for dirpath, dirnames, filenames in os.walk(self.root, onerror=on_error):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            for name in sorted(filenames):
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, self.root)
                try:
                    st = os.lstat(full)
                except OSError:
                    stats.skip(rel, "unreadable")
                    continue
                if not _is_regular(st.st_mode):
                    if os.path.islink(full):
                        stats.count("symlinks_skipped")
                    continue
                yield rel, st.st_size

    def split(self, options: ScanOptions) -> Sequence[Source]:
        """Batches of files, largest first so no worker is left with a big one at the end."""
        stats = ScanStats()
        files = list(self.walk(stats))
        limit = batch_bytes(sum(size for _, size in files), options)
        batches: list[tuple[int, FileBatch]] = []
        current: list[str] = []
        size = 0
        for rel, file_size in files:
            current.append(rel)
            size += file_size
            if len(current) >= BATCH_FILES or size >= limit:
                batches.append((size, FileBatch(self.root, tuple(current), self.label)))
                current, size = [], 0
        if current:
            batches.append((size, FileBatch(self.root, tuple(current), self.label)))
        batches.sort(key=lambda b: -b[0])
        pieces: list[Source] = [batch for _, batch in batches]
        if stats.skipped:
            pieces.append(_Notices(tuple(stats.skipped), self.label))
        return pieces

    def iter_chunks(self, options: ScanOptions, stats: ScanStats) -> Iterator[Chunk]:
        for rel, _size in self.walk(stats):
            yield from file_chunks(self.root / rel, rel, options, stats, walked=self.root)


@dataclass
class _Notices:
    """Carries what the directory walk could not read into the scan's stats."""

    skipped: tuple[object, ...]
    label: str
    parallel_safe = False

    def split(self, options: ScanOptions) -> Sequence[Source]:
        return [self]

    def iter_chunks(self, options: ScanOptions, stats: ScanStats) -> Iterator[Chunk]:
        for item in self.skipped:
            stats.skipped.append(item)  # type: ignore[arg-type]
        return iter(())


@dataclass
class StdinSource:
    label: str = "-"
    parallel_safe = False

    def split(self, options: ScanOptions) -> Sequence[Source]:
        return [self]

    def iter_chunks(self, options: ScanOptions, stats: ScanStats) -> Iterator[Chunk]:
        # Sniffed like a file, so `zcat`-less pipes of archives and gzipped logs work too.
        stream = CountingReader(sys.stdin.buffer)
        head = stream.read(SNIFF_BYTES)
        stats.files += 1
        yield from stream_chunks_for(
            stream, head, self.label, options, stats, source_kind=SourceKind.STDIN
        )
        stats.bytes += stream.count


def _is_regular(mode: int) -> bool:
    import stat

    return stat.S_ISREG(mode)
