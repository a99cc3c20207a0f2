"""Files, directories (recursive), standard input and pipes handed over as ``/dev/fd/N``.

Only regular files are read: a FIFO, device or socket met in a directory is skipped with a
warning (opening one could block forever or never end)."""

from __future__ import annotations

import itertools
import os
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from leakguard.model import Chunk, Finding, Location, RangeEnd, ScanStats, SourceKind
from leakguard.options import ScanOptions
from leakguard.pathfilter import PathFilter
from leakguard.sources.interface import Source
from leakguard.sources.limits import CountingReader
from leakguard.sources.readers import (
    SNIFF_BYTES,
    file_chunks,
    plain_text_size,
    stream_chunks_for,
    text_range_chunks,
    unreadable_reason,
)
from leakguard.sources.sourcemap import RepeatedSources
from leakguard.sources.streaming import CHUNK_BYTES, Position, placed
from leakguard.sources.webbundle import ReadMaps

SKIP_DIRS = frozenset({".git", ".hg", ".svn"})
BATCH_FILES = 2048
MIN_BATCH_BYTES = 1024 * 1024
MAX_BATCH_BYTES = 32 * 1024 * 1024
#: each batch holds this share of the bytes not yet batched, per worker (guided scheduling)
SHARE_PER_WORKER = 2


def batch_bytes(remaining: int, options: ScanOptions) -> int:
    """Bytes of the next batch while ``remaining`` bytes are still to be batched: a share of
    them per worker, within sane bounds. Batches shrink as the tree is cut (the web benchmark's
    216 MB on two workers: 34, 34, 34, 28, 22 ... 2, 1 MB, 16 batches), so the last ones handed
    out are small and the workers finish together (1-3 ms apart, where twelve equal batches of
    18 MB left one worker alone for up to 20 ms), while the first ones are few and large."""
    share = remaining // (SHARE_PER_WORKER * options.workers)
    return max(MIN_BATCH_BYTES, min(MAX_BATCH_BYTES, share))


#: a file from this size on, read as plain text, is scanned in byte ranges on every worker
SPLIT_MIN_BYTES = 128 * 1024 * 1024  # measured: below it the pool costs what it saves
RANGES_PER_WORKER = 4  # enough ranges to even out the workers' loads
MIN_RANGE_BLOCKS = 4  # a range of fewer blocks costs more to hand out than it saves


@dataclass
class FileSource:
    """One file as given on the command line; findings name it as given.

    A large file read as plain text is split into ranges of whole blocks of the reader's
    block grid (:mod:`leakguard.sources.streaming`), so each range yields exactly the chunks
    the whole file's stream yields for those blocks; :meth:`join` places each range's
    findings, located from the range's start, in the whole file."""

    path: Path
    label: str
    chunk_bytes: int = CHUNK_BYTES
    split_min_bytes: int = SPLIT_MIN_BYTES
    parallel_safe = True

    def split(self, options: ScanOptions) -> Sequence[Source]:
        workers = options.workers
        try:
            if workers < 2 or self.path.stat().st_size < self.split_min_bytes:
                return [self]  # a small file (a pre-commit hook's): no pool, no second open
        except OSError:
            return [self]  # the scan reports it
        size = plain_text_size(self.path, options, chunk_bytes=self.chunk_bytes)
        blocks = -(-size // self.chunk_bytes)
        count = min(workers * RANGES_PER_WORKER, blocks // MIN_RANGE_BLOCKS)
        if size < self.split_min_bytes or count < 2:
            return [self]
        starts = [blocks * i // count for i in range(count)]
        return [
            FileRange(self.path, self.label, start, end - start, self.chunk_bytes)
            for start, end in itertools.pairwise(starts)
        ] + [FileRange(self.path, self.label, starts[-1], None, self.chunk_bytes)]

    def iter_chunks(self, options: ScanOptions, stats: ScanStats) -> Iterator[Chunk]:
        yield from file_chunks(self.path, self.label, options, stats, chunk_bytes=self.chunk_bytes)

    def join(
        self, pieces: Sequence[tuple[list[Finding], ScanStats]], stats: ScanStats
    ) -> list[Finding]:
        """The ranges' findings placed in the whole file, up to the range where the file ended
        or could not be read (reported once, as the whole file's read reports it: what follows
        is not read)."""
        findings: list[Finding] = []
        at: Position = (1, 1)
        for range_findings, range_stats in pieces:
            findings.extend(_placed(f, at) for f in range_findings)
            end = range_stats.range_end
            if end is not None and end.error is not None:
                stats.skip(self.label, end.error)
            if end is None or end.position is None:
                break
            at = placed(end.position, at)
        return findings


@dataclass
class FileRange:
    """Blocks ``first`` to ``first + blocks`` (None: to the end) of a large plain text file,
    scanned apart from the rest; findings are located from line 1, column 1 at the start of the
    range's first chunk, and the range's end comes back in ``ScanStats.range_end`` for
    :meth:`FileSource.join`."""

    path: Path
    label: str
    first: int
    blocks: int | None
    chunk_bytes: int
    parallel_safe = True

    def split(self, options: ScanOptions) -> Sequence[Source]:
        return [self]

    def iter_chunks(self, options: ScanOptions, stats: ScanStats) -> Iterator[Chunk]:
        try:
            end = yield from text_range_chunks(
                self.path,
                self.label,
                stats,
                first=self.first,
                blocks=self.blocks,
                chunk_bytes=self.chunk_bytes,
            )
        except OSError as exc:
            stats.range_end = RangeEnd(error=unreadable_reason(exc))
        else:
            stats.range_end = RangeEnd(position=end)


def _placed(finding: Finding, at: Position) -> Finding:
    """``finding``, located from (1, 1) at the start of a range, in the whole file where the
    range starts at ``at`` (its place, and every other place it names)."""
    if at == (1, 1):
        return finding
    return replace(
        finding,
        location=_moved(finding.location, at),
        occurrences=tuple(_moved(o, at) for o in finding.occurrences),
    )


def _moved(location: Location, at: Position) -> Location:
    if location.line < 1:
        return location  # no place in the text to move
    line, column = placed((location.line, location.column), at)
    return replace(location, line=line, column=column)


@dataclass
class FileBatch:
    """Some files of a directory, scanned by one worker. Paths are relative to ``root``.

    An original source repeated in the batch's source maps is matched once; :meth:`enrich`
    copies its findings to its other places."""

    root: Path
    relpaths: tuple[str, ...]
    label: str
    parallel_safe = True
    _repeated: RepeatedSources | None = field(default=None, init=False, repr=False, compare=False)

    def split(self, options: ScanOptions) -> Sequence[Source]:
        return [self]

    def iter_chunks(self, options: ScanOptions, stats: ScanStats) -> Iterator[Chunk]:
        walked = _walk_reaches(self.root, options.excludes)
        self._repeated = RepeatedSources()
        maps = ReadMaps(self._repeated)  # a bundle and its map (next in the walk): read once
        for rel in self.relpaths:
            yield from file_chunks(self.root / rel, rel, options, stats, walked=walked, maps=maps)

    def enrich(self, findings: Sequence[Finding], stats: ScanStats) -> list[Finding]:
        """``findings``, with those in repeated original sources copied to their other places."""
        repeated, self._repeated = self._repeated, None
        return list(findings) if repeated is None else repeated.with_copies(findings)


@dataclass
class DirectorySource:
    root: Path
    label: str
    parallel_safe = True

    def walk(
        self, stats: ScanStats, excludes: PathFilter | None = None
    ) -> Iterator[tuple[str, int]]:
        """(relative path, size) of every regular file, skipping VCS internals and links."""

        def on_error(exc: OSError) -> None:
            where = os.path.relpath(exc.filename or str(self.root), self.root)
            stats.skip(where, "unreadable directory")

        for dirpath, dirnames, filenames in os.walk(self.root, onerror=on_error):
            here = os.path.relpath(dirpath, self.root)
            kept = []
            for d in sorted(dirnames):
                if d in SKIP_DIRS:
                    continue
                if excludes and excludes.excluded(os.path.join(here, d), is_dir=True):
                    stats.count("excluded_dirs")
                    continue
                kept.append(d)
            dirnames[:] = kept
            for name in sorted(filenames):
                full = os.path.join(dirpath, name)
                rel = name if here == "." else os.path.join(here, name)  # relpath costs 7 us
                if excludes and excludes.excluded(rel):
                    stats.count("excluded_files")
                    continue
                try:
                    st = os.lstat(full)
                except OSError:
                    stats.skip(rel, "unreadable")
                    continue
                if not stat.S_ISREG(st.st_mode):
                    if stat.S_ISLNK(st.st_mode):
                        stats.count("symlinks_skipped")
                    elif not stat.S_ISDIR(st.st_mode):
                        kind = _special_name(st.st_mode)
                        stats.warn(f"{rel}: a {kind}; skipped, not read")
                        stats.skip(rel, f"{kind} (not read)")
                    continue
                yield rel, st.st_size

    def split(self, options: ScanOptions) -> Sequence[Source]:
        """Batches of files (see :func:`batch_bytes`), largest first so no worker is left with
        a big one at the end."""
        stats = ScanStats()
        files = list(self.walk(stats, options.excludes))
        remaining = sum(size for _, size in files)
        limit = batch_bytes(remaining, options)
        batches: list[tuple[int, FileBatch]] = []
        current: list[str] = []
        size = 0
        for index, (rel, file_size) in enumerate(files):
            current.append(rel)
            size += file_size
            full = len(current) >= BATCH_FILES or size >= limit
            if full and not _map_follows(files, index + 1):
                batches.append((size, FileBatch(self.root, tuple(current), self.label)))
                remaining -= size
                limit = batch_bytes(remaining, options)
                current, size = [], 0
        if current:
            batches.append((size, FileBatch(self.root, tuple(current), self.label)))
        batches.sort(key=lambda b: -b[0])
        pieces: list[Source] = [batch for _, batch in batches]
        if stats.skipped or stats.warnings:
            pieces.append(_Notices(tuple(stats.skipped), tuple(stats.warnings), self.label))
        return pieces

    def iter_chunks(self, options: ScanOptions, stats: ScanStats) -> Iterator[Chunk]:
        walked = _walk_reaches(self.root, options.excludes)
        maps = ReadMaps()
        for rel, _size in self.walk(stats, options.excludes):
            yield from file_chunks(self.root / rel, rel, options, stats, walked=walked, maps=maps)


#: how far apart in a walk a bundle and its map (``app.js``, ``app.js.LICENSE.txt``,
#: ``app.js.map``) are kept in one batch
_MAP_NEAR = 8


def _map_follows(files: Sequence[tuple[str, int]], cut: int) -> bool:
    """Whether cutting ``files`` before ``cut`` would part a bundle from the map named after
    it: a bundle's findings have its map read and parsed, then kept for the map's own scan
    (in the same batch), not read again."""
    before = {rel + ".map" for rel, _ in files[max(0, cut - _MAP_NEAR) : cut]}
    return any(rel in before for rel, _ in files[cut : cut + _MAP_NEAR])


@dataclass
class _Notices:
    """Carries what the directory walk could not read into the scan's stats."""

    skipped: tuple[object, ...]
    warnings: tuple[str, ...]
    label: str
    parallel_safe = False

    def split(self, options: ScanOptions) -> Sequence[Source]:
        return [self]

    def iter_chunks(self, options: ScanOptions, stats: ScanStats) -> Iterator[Chunk]:
        for item in self.skipped:
            stats.skipped.append(item)  # type: ignore[arg-type]
        stats.warnings.extend(self.warnings)
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


@dataclass
class PipeSource:
    """A pipe handed over as ``/dev/fd/N`` (``leakguard scan <(cmd)``): opened once and read as
    a stream, sniffed like a file (a pipe cannot be read twice)."""

    path: Path
    label: str
    parallel_safe = False

    def split(self, options: ScanOptions) -> Sequence[Source]:
        return [self]

    def iter_chunks(self, options: ScanOptions, stats: ScanStats) -> Iterator[Chunk]:
        with self.path.open("rb") as fh:
            stream = CountingReader(fh)
            head = stream.read(SNIFF_BYTES)
            stats.files += 1
            yield from stream_chunks_for(stream, head, self.label, options, stats)
            stats.bytes += stream.count


_DESCRIPTOR_DIRS = ("/dev/fd/", "/proc/self/fd/", "/dev/stdin")


def is_inherited_descriptor(target: str) -> bool:
    """``/dev/fd/N``, ``/proc/self/fd/N``, ``/dev/stdin``: what a shell's process substitution
    or redirection passes, as opposed to a named FIFO someone left in a directory."""
    return target.startswith(_DESCRIPTOR_DIRS)


def special_kind(path: Path) -> str | None:
    """``pipe``/``named pipe (FIFO)``, ``device``, ``socket`` for a path (symbolic links
    followed) that is none of file, directory; None otherwise."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "pipe" if is_inherited_descriptor(str(path)) else "named pipe (FIFO)"
    return _special_name(mode)


def _special_name(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def _walk_reaches(root: Path, excludes: PathFilter | None) -> Callable[[Path, str], bool]:
    """Whether a walk of ``root`` (no links, no VCS directories, nothing ``excludes`` names)
    reaches the file a ``sourceMappingURL`` of ``url`` names next to ``path``, a file it
    reached: such a map is scanned by the walk, so its bundle does not follow it again."""
    top = os.path.abspath(root)

    def reaches(path: Path, url: str) -> bool:
        if "://" in url or url.startswith(("/", "data:")) or "?" in url or "#" in url:
            return False
        target = os.path.normpath(os.path.join(os.path.abspath(path.parent), url))
        rel = os.path.relpath(target, top)
        parts = Path(rel).parts
        if rel == os.curdir or parts[0] == os.pardir or SKIP_DIRS.intersection(parts[:-1]):
            return False
        if excludes and (
            excludes.excluded(rel)
            or any(
                excludes.excluded(os.path.join(*parts[:n]), is_dir=True)
                for n in range(1, len(parts))
            )
        ):
            return False
        try:
            if not stat.S_ISREG(os.lstat(target).st_mode):
                return False
        except (OSError, ValueError):  # ValueError: a NUL in the URL
            return False
        if "/" not in url and os.sep not in url:
            return True  # next to a file the walk reached: its directory was walked
        return os.path.realpath(target) == os.path.join(os.path.realpath(top), rel)

    return reaches
