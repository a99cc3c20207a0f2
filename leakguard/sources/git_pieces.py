"""The pieces a git scan is made of: the work tree, blobs by id, and how problems are named.

:class:`GitWorkTree` and :class:`GitBlobs` are picklable pool pieces (the scanner spreads them
over worker processes); :func:`blob_chunks` and :func:`work_tree_chunks` also serve the
single-process scan in :mod:`leakguard.sources.git`.
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from leakguard.errors import InputError
from leakguard.model import Chunk, Location, ScanStats, SourceKind
from leakguard.options import ScanOptions
from leakguard.sources.git_objects import GitObject, objects_by_id
from leakguard.sources.git_repo import (
    GITLINK_MODE,
    Repository,
    head_tree,
    index_entries,
    work_tree_changes,
    work_tree_files,
)
from leakguard.sources.interface import QuietCheck, Source, quiet_check
from leakguard.sources.readers import (
    SNIFF_BYTES,
    file_chunks,
    is_text,
    is_text_head,
    stream_chunks_for,
)
from leakguard.sources.sourcemap import names_mapping_url_of_chunk, source_mapping_url
from leakguard.sources.streaming import CHUNK_BYTES

LFS_POINTER = b"version https://git-lfs.github.com/spec/"
NAMED_PER_REASON = 100  # stats name this many objects per problem, then only count them


class Problems:
    """Counts problems per kind and names the first few of each in the stats."""

    def __init__(self, stats: ScanStats) -> None:
        self.stats = stats
        self.named: dict[str, int] = {}

    def __call__(self, counter: str, name: str, reason: str) -> None:
        self.stats.count(counter)
        shown = self.named.get(counter, 0)
        if shown < NAMED_PER_REASON:
            self.stats.skip(name, reason)
        self.named[counter] = shown + 1


def display_path(raw: bytes, problems: Problems | None = None) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        shown = raw.decode("utf-8", "backslashreplace")
        if problems is not None:
            problems("git_non_utf8_paths", shown, "path is not UTF-8 (shown with \\x escapes)")
        return shown


def blob_limit(options: ScanOptions) -> int:
    return min(options.git.max_blob_bytes, options.max_file_bytes)


def ranges_by_size(blobs: list[tuple[str, int]], count: int) -> list[tuple[str, ...]]:
    """Cut the blob list into about ``count`` consecutive ranges of similar byte size
    (consecutive in pack order keeps delta chains inside one cat-file process)."""
    if not blobs:
        return []
    total = sum(size for _, size in blobs) or len(blobs)
    target = max(1, total // count)
    out: list[tuple[str, ...]] = []
    current: list[str] = []
    acc = 0
    for oid, size in blobs:
        current.append(oid)
        acc += size or 1
        if acc >= (len(out) + 1) * target:  # boundaries on the running total: no drift
            out.append(tuple(current))
            current = []
    if current:
        out.append(tuple(current))
    return out


def work_tree_chunks(
    repo: Repository, label: str, options: ScanOptions, stats: ScanStats, problems: Problems
) -> Iterator[Chunk]:
    """Uncommitted and untracked files (every file with ``--no-history``), as files."""
    assert repo.work_tree is not None
    try:
        entries = work_tree_changes(repo) if options.git.history else work_tree_files(repo)
    except InputError as exc:
        stats.warn(f"{label}: work tree not scanned: {exc.message}")
        return
    root = repo.work_tree
    for raw, state in entries:
        rel = display_path(raw, problems)
        full = root / os.fsdecode(raw)
        if full.is_symlink():
            stats.count("symlinks_skipped")
            continue
        if full.is_dir():
            problems("git_submodules", rel, "submodule work tree (scan it separately)")
            continue
        for chunk in file_chunks(full, rel, options, stats):
            loc = chunk.location
            extras = (*loc.extras, ("worktree", state))
            yield dataclasses.replace(chunk, location=dataclasses.replace(loc, extras=extras))


SYMLINK_MODE = "120000"


def staged_chunks(
    repo: Repository, label: str, options: ScanOptions, stats: ScanStats, problems: Problems
) -> Iterator[Chunk]:
    """``--staged``: the blobs the next commit adds (index entries whose blob differs from
    ``HEAD``'s at that path), read from the object store, named by path."""
    if repo.work_tree is None:
        stats.warn(f"{label}: a bare repository has no index; --staged scans nothing")
        return
    head = head_tree(repo) or {}
    wanted: dict[str, list[bytes]] = {}
    # in a pre-commit hook git names the index being committed (`git commit -a`, `git commit
    # FILE` commit a temporary one); only its path is taken from the environment
    for path, entry in index_entries(repo, os.environ.get("GIT_INDEX_FILE")).items():
        if entry.mode in (GITLINK_MODE, SYMLINK_MODE) or head.get(path) == entry.oid:
            continue
        wanted.setdefault(entry.oid, []).append(path)
    stats.count("git_staged_blobs", len(wanted))
    for obj in objects_by_id(repo.git_dir, list(wanted), blob_limit(options)):
        for raw in wanted.get(obj.oid, []):
            rel = display_path(raw, problems)
            if obj.kind != "blob" or obj.data is None:
                reason = "over the size limit" if obj.oversized else f"{obj.kind} object"
                problems("git_unreadable_staged_blobs", rel, reason)
                continue
            stats.files += 1
            stats.bytes += len(obj.data)
            stream = io.BytesIO(obj.data)
            head_bytes = stream.read(SNIFF_BYTES)
            for chunk in stream_chunks_for(
                stream, head_bytes, rel, options, stats, source_kind=SourceKind.GIT
            ):
                loc = chunk.location
                extras = (*loc.extras, ("staged", True), ("blob", obj.oid))
                yield dataclasses.replace(chunk, location=dataclasses.replace(loc, extras=extras))


def blob_chunks(
    obj: GitObject, options: ScanOptions, stats: ScanStats, problems: Problems
) -> Iterator[Chunk]:
    """The chunks of one blob, named by its id (``enrich`` replaces it with path and commit);
    missing, corrupt, oversized, binary blobs and LFS pointers are counted and named."""
    if obj.kind == "corrupt":
        problems("git_corrupt_objects", obj.oid, "corrupt object (git could not read it)")
        return
    if obj.kind == "missing":
        problems("git_missing_blobs", obj.oid, "missing blob (not in the object store)")
        return
    if obj.kind != "blob":
        return
    stats.count("git_blobs")
    if obj.data is None:
        limit = blob_limit(options)
        problems(
            "git_oversized_blobs", obj.oid, f"over the size limit ({obj.size} > {limit} bytes)"
        )
        return
    data = obj.data
    if data.startswith(LFS_POINTER) and len(data) < 1024:
        problems("git_lfs_pointers", obj.oid, "Git LFS pointer (the content is not in git)")
        return
    stats.files += 1
    stats.bytes += len(data)
    if _plain_text(data):
        # most blobs of a history: one chunk, exactly what the general reader below makes of
        # them, without its dispatch (a third of the per-blob cost of a scan)
        yield Chunk(data, Location(obj.oid, 1, 1, obj.oid), SourceKind.GIT)
        return
    if not data:
        return
    stream = io.BytesIO(data)
    head = stream.read(SNIFF_BYTES)
    before = len(stats.skipped)
    # Until enrich knows the commit, the blob id stands in its place: every reader carries
    # ``commit`` into the locations of nested members too, and no chunk needs copying.
    yield from stream_chunks_for(
        stream, head, obj.oid, options, stats, commit=obj.oid, source_kind=SourceKind.GIT
    )
    if len(stats.skipped) > before and stats.skipped[-1].reason == "binary":
        stats.skipped.pop()
        problems("git_binary_blobs", obj.oid, "binary")


def history_chunks(
    git_dir: Path,
    oids: Iterable[str],
    limit: int,
    options: ScanOptions,
    stats: ScanStats,
    problems: Problems,
) -> Iterator[Chunk]:
    """The chunks of the blobs ``oids`` names, each read if no larger than ``limit`` bytes
    (see :func:`blob_chunks`). When the scan's engine can tell bytes with nothing to find
    (:func:`~leakguard.sources.interface.quiet_check`), a blob that would be one plain chunk
    with nothing in it is counted as read where git's output lies and makes no chunk: over a
    history, all but a few hundred blobs."""
    check = quiet_check()
    taken = _Taken(check, stats) if check is not None else None
    try:
        for obj in objects_by_id(git_dir, oids, limit, taken, CHUNK_BYTES):
            yield from blob_chunks(obj, options, stats, problems)
    finally:
        if taken is not None and taken.blobs:
            stats.count("git_blobs", taken.blobs)


class _Taken:
    """``taken(view)``: whether a blob's content (a view of the first bytes of the buffer
    git's output is read into) is what :func:`blob_chunks` would make one plain chunk of, and
    the engine's ``check`` finds nothing in it; if so it is counted as read, as blob_chunks
    counts it."""

    def __init__(self, check: QuietCheck, stats: ScanStats) -> None:
        self.check = check
        self.stats = stats
        self.blobs = 0

    def __call__(self, view: memoryview) -> bool:
        size = len(view)
        buffer = view.obj
        assert isinstance(buffer, bytearray)
        if size < 1024 and view[: len(LFS_POINTER)] == LFS_POINTER:
            return False
        # a blob whose content names a source map is not plain text; the engine's keyword
        # pass counts ``sourceMappingURL=`` as something to find, so check() says so
        if not is_text_head(buffer, size) or not self.check(view):
            return False
        stats = self.stats
        stats.files += 1
        stats.bytes += size
        self.blobs += 1
        return True


def _plain_text(data: bytes) -> bool:
    """Whether the general reader would read ``data`` as one text chunk with nothing after
    it: not empty, no longer than a chunk, sniffed as text, naming no source map."""
    # one forward search for the comment's name first: over a blob that holds none (almost
    # every blob) it is half the cost of source_mapping_url's look at the tail, then the whole;
    # during a scan the engine's keyword pass answers it, and is reused for the blob's chunk
    return (
        0 < len(data) <= CHUNK_BYTES
        and is_text(data)
        and (not names_mapping_url_of_chunk(data) or source_mapping_url(data) is None)
    )


@dataclasses.dataclass
class GitWorkTree:
    """The work tree of a repository as one pool piece."""

    repo: Repository
    label: str
    parallel_safe = True

    def split(self, options: ScanOptions) -> Sequence[Source]:
        return [self]

    def iter_chunks(self, options: ScanOptions, stats: ScanStats) -> Iterator[Chunk]:
        yield from work_tree_chunks(self.repo, self.label, options, stats, Problems(stats))


@dataclasses.dataclass
class GitBlobs:
    """A range of blob ids, read by this piece's own ``cat-file --batch`` process."""

    git_dir: Path
    oids: tuple[str, ...]
    label: str
    limit: int
    parallel_safe = True

    def split(self, options: ScanOptions) -> Sequence[Source]:
        return [self]

    def iter_chunks(self, options: ScanOptions, stats: ScanStats) -> Iterator[Chunk]:
        problems = Problems(stats)
        yield from history_chunks(self.git_dir, self.oids, self.limit, options, stats, problems)
