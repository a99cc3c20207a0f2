"""Git bundle files: checked, indexed into a temporary bare repository, every object scanned.

``git bundle verify`` checks the file. Its pack is indexed (``index-pack --fix-thin``; for a thin
pack whose delta bases are absent, ``unpack-objects -r`` recovers what it can) into a temporary
bare repository, the bundle's refs are created there, and the git source scans every object in
it with provenance from the bundle's own commits. An incremental bundle whose prerequisite
commits are absent is still scanned: its boundary commits are marked shallow and the stats carry
a note. Nothing is checked out; the temporary repository is removed after the scan.
"""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from leakguard.errors import InputError
from leakguard.model import Chunk, Finding, ScanStats
from leakguard.options import ScanOptions
from leakguard.sources import git_run
from leakguard.sources.git import GitSource
from leakguard.sources.git_objects import list_objects, objects_by_id
from leakguard.sources.git_repo import Repository
from leakguard.sources.interface import Source

SIGNATURES = (b"# v2 git bundle\n", b"# v3 git bundle\n")
MAX_HEADER_BYTES = 64 * 1024 * 1024


def is_bundle(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(16) in SIGNATURES
    except OSError:
        return False


def bundle_source(path: Path, label: str, options: ScanOptions) -> Source:
    return BundleSource(path, label)


@dataclasses.dataclass(frozen=True, slots=True)
class BundleHeader:
    prerequisites: tuple[str, ...]
    refs: tuple[tuple[str, str], ...]  # (oid, refname)
    pack_offset: int


def read_header(path: Path, label: str) -> BundleHeader:
    prerequisites: list[str] = []
    refs: list[tuple[str, str]] = []
    with path.open("rb") as fh:
        signature = fh.readline()
        if signature not in SIGNATURES:
            raise InputError(f"{label}: not a git bundle")
        while True:
            line = fh.readline(MAX_HEADER_BYTES)
            if not line.endswith(b"\n"):
                raise InputError(f"{label}: truncated git bundle header")
            if line == b"\n":
                return BundleHeader(tuple(prerequisites), tuple(refs), fh.tell())
            text = line.decode("utf-8", "replace").rstrip("\n")
            if text.startswith("@"):  # v3 capabilities
                continue
            if text.startswith("-"):
                prerequisites.append(text[1:].split(" ", 1)[0])
            else:
                oid, _, name = text.partition(" ")
                refs.append((oid, name))


class BundleSource:
    """A ``.bundle`` file, scanned through a temporary bare repository."""

    parallel_safe = False

    def __init__(self, path: Path, label: str) -> None:
        self.path = path
        self.label = label
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._inner: GitSource | None = None
        self._stats: ScanStats | None = None

    def split(self, options: ScanOptions) -> Sequence[Source]:
        """With a process pool, the indexed bundle is split like a repository."""
        jobs = options.workers
        if jobs < 2:
            return [self]
        self._stats = ScanStats()
        inner = self._open(self._stats)
        return inner.split(self._options(options))

    def iter_chunks(self, options: ScanOptions, stats: ScanStats) -> Iterator[Chunk]:
        inner = self._open(stats)
        yield from inner.iter_chunks(self._options(options), stats)

    def _open(self, stats: ScanStats) -> GitSource:
        header = read_header(self.path, self.label)
        self._tmp = tempfile.TemporaryDirectory(prefix="leakguard-bundle-")
        git_dir = Path(self._tmp.name) / "repo.git"
        init = ["init", "-q", "--bare", "--template=", str(git_dir)]
        _git(init, self.label, "creating a repository")
        note = self._index(git_dir, header, stats)
        key = "bundle:" + _digest(self.path)
        self._inner = GitSource(Repository(git_dir, None, key), self.label, note=note)
        return self._inner

    @staticmethod
    def _options(options: ScanOptions) -> ScanOptions:
        """Every object of a bundle, nothing remembered (a bundle is a snapshot)."""
        git = dataclasses.replace(options.git, include_unreachable=True, incremental=False, refs=())
        return dataclasses.replace(options, git=git)

    def enrich(self, findings: Sequence[Finding], stats: ScanStats) -> list[Finding]:
        if self._stats is not None:
            stats.merge(self._stats)
            self._stats = None
        try:
            if self._inner is None:
                return list(findings)
            return self._inner.enrich(findings, stats)
        finally:
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    def _index(self, git_dir: Path, header: BundleHeader, stats: ScanStats) -> str | None:
        verify = _run(git_dir, ["bundle", "verify", str(self.path)])
        note = None
        if verify.returncode != 0:
            if not header.prerequisites:
                raise InputError(
                    f"{self.label}: git bundle verify failed: {_last_line(verify.stderr)}",
                    hint="the bundle is damaged; re-create it with git bundle create",
                )
            stats.count("git_bundle_missing_prerequisites", len(header.prerequisites))
            note = (
                f"incremental bundle: {len(header.prerequisites)} prerequisite commit(s) absent;"
                " scanned what it contains, provenance stops at its boundary"
            )
        with self.path.open("rb") as fh:
            fh.seek(header.pack_offset)
            indexed = _run(git_dir, ["index-pack", "--stdin", "--fix-thin"], stdin=fh)
            if indexed.returncode != 0 and not header.prerequisites:
                raise InputError(
                    f"{self.label}: the bundle's pack is damaged: {_last_line(indexed.stderr)}",
                    hint="re-create it with git bundle create",
                )
            if indexed.returncode != 0:
                fh.seek(header.pack_offset)
                unpacked = _run(git_dir, ["unpack-objects", "-r", "-q"], stdin=fh)
                stats.count("git_bundle_partial_packs")
                stats.warn(
                    f"{self.label}: some objects could not be rebuilt (delta bases outside the"
                    f" bundle): {_last_line(indexed.stderr)}"
                )
                if unpacked.returncode != 0:
                    stats.warn(f"{self.label}: {_last_line(unpacked.stderr)}")
        present = {oid: kind for oid, kind, _size in list_objects(git_dir)}
        updates = "".join(
            f"create {name} {oid}\n"
            for oid, name in header.refs
            if name.startswith("refs/") and oid in present
        )
        if updates:
            _run(git_dir, ["update-ref", "--stdin"], updates.encode())
        if header.prerequisites:
            _mark_boundary(git_dir, present)
        return note


def _mark_boundary(git_dir: Path, present: dict[str, str]) -> None:
    """Commits whose parents are absent become shallow, so history walks stop there."""
    commits = [oid for oid, kind in present.items() if kind == "commit"]
    boundary = []
    for obj in objects_by_id(git_dir, commits, 16 * 1024 * 1024):
        if obj.data is None:
            continue
        for line in obj.data.split(b"\n\n", 1)[0].split(b"\n"):
            if line.startswith(b"parent ") and line[7:].decode() not in present:
                boundary.append(obj.oid)
                break
    if boundary:
        (git_dir / "shallow").write_text("".join(f"{c}\n" for c in sorted(boundary)))


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            h.update(block)
    return h.hexdigest()


def _run(
    git_dir: Path, args: list[str], data: bytes | None = None, *, stdin: IO[bytes] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """git on ``git_dir`` with ``data`` (or the open file ``stdin``) as its input."""
    return git_run.run(args, git_dir=git_dir, input=data, stdin=stdin)


def _git(args: list[str], label: str, what: str) -> None:
    proc = git_run.run(args)
    if proc.returncode != 0:
        raise InputError(f"{label}: {what} failed: {_last_line(proc.stderr)}")


def _last_line(data: bytes) -> str:
    lines = data.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else "git exited with an error"
