"""Git repositories: the work tree and every blob of history, with exact provenance.

How a scan runs (one repository, three processes overlapping on two cores):

* the work tree's uncommitted and untracked files are read like a directory's;
* ``git log --raw`` over every ref (or ``--ref`` values) runs in the background and writes the
  blob introductions to a temporary file (:mod:`git_provenance`);
* meanwhile one ``git cat-file`` process streams each object once (:mod:`git_objects`) and each
  blob's chunks go to the engine, named by the blob id;
* :meth:`GitSource.enrich` then reads the log once: every finding gets the commit that
  introduced its blob (author, date, path), the other (commit, path) pairs as occurrences, the
  branches whose tip still holds it, and ``unreachable`` for objects no ref reaches.

Targeted scans (``--ref``, ``--incremental`` after the first scan) read the log first and ask
cat-file for exactly the blobs it lists.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from leakguard.errors import InputError
from leakguard.model import Chunk, Finding, Location, Scalar, ScanState, ScanStats, Skipped
from leakguard.options import ScanOptions
from leakguard.sources import git_early
from leakguard.sources.filesystem import DirectorySource
from leakguard.sources.git_objects import Listing, Lookups, list_objects
from leakguard.sources.git_pieces import (
    GitBlobs,
    GitWorkTree,
    Problems,
    blob_limit,
    display_path,
    history_chunks,
    ranges_by_size,
    staged_chunks,
    work_tree_chunks,
)
from leakguard.sources.git_provenance import (
    GITLINK,
    Catalogue,
    Commit,
    Introduction,
    LogIndex,
    LogPass,
    is_deletion,
    read_log,
    start_log,
)
from leakguard.sources.git_repo import (
    NotReadable,
    Ref,
    Repository,
    all_tips,
    discover,
    list_refs,
    resolve_refs,
)
from leakguard.sources.git_signature import fast_path_applies, state_signature
from leakguard.sources.interface import Source

RANGES_PER_WORKER = 4
# tip lookups (branch x path) per cat-file process: more, and a second process shares them
LOOKUPS_PER_PROCESS = 64
BLOB_KEY = "blob"
_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def git_source_for(path: Path, label: str, options: ScanOptions) -> Source | None:
    """A source for ``path`` if it is a git work tree or bare repository, else None.

    A plain directory is scanned as a directory, unless git-only options were asked for.
    """
    try:
        repo = discover(path)
    except NotReadable as exc:
        if options.git.needs_repository:
            raise InputError(
                f"{label}: git cannot read this repository: {exc}",
                hint="repair it (git fsck; a valid HEAD) or scan a copy of its objects",
            ) from None
        return UnreadableRepository(
            DirectorySource(path, label),
            label,
            f"{label}: git cannot read this repository ({exc}); its history was not scanned,"
            " its files were scanned as a directory",
        )
    if repo is None:
        if options.git.needs_repository:
            raise InputError(
                f"{label}: not a git repository",
                hint="--include-unreachable, --ref, --staged, --range and --since-commit need"
                " a work tree or bare repository",
            )
        return None
    return GitSource(repo, label)


@dataclasses.dataclass
class UnreadableRepository:
    """A directory whose ``.git`` git refuses: scanned as files, with a warning."""

    inner: DirectorySource
    label: str
    warning: str

    def split(self, options: ScanOptions) -> Sequence[Source]:
        return [self]

    def iter_chunks(self, options: ScanOptions, stats: ScanStats) -> Iterator[Chunk]:
        stats.warn(self.warning)
        yield from self.inner.iter_chunks(options, stats)


class GitSource:
    """One repository: scanned here (one worker), or split into pool pieces (see split);
    either way git decompresses, the engine matches and the history pass runs at once."""

    parallel_safe = False

    def __init__(self, repo: Repository, label: str, *, note: str | None = None) -> None:
        self.repo = repo
        self.label = label
        self.note = note
        self._log: LogPass | None = None
        self._listing: Listing | None = None  # the object store's, started by _plan
        self._full = False
        self._listed: set[str] = set()  # blobs the object store holds (full scans)
        self._commits_in_store: set[str] = set()
        self._refs: list[Ref] = []
        self._seen: set[str] = set()
        self._record = False  # the log pass covers commits to report in scanned_state
        self._scanned: list[str] | None = None  # the commits the log pass listed
        self._include_unreachable = False
        self._plan_stats: ScanStats | None = None
        self._log_failed = False
        self._replaced: set[str] = set()  # blobs new commits replaced (incremental scans)
        self._signature: str | None = None  # the state signature this scan started from
        # the finished log, mapped, and its catalogue (None when a whole parse is needed)
        self._read: tuple[LogIndex, Catalogue | None] | None = None

    # -- incremental state -------------------------------------------------------------------

    def state_keys(self, options: ScanOptions) -> tuple[str, ...]:
        """Incremental scans read the commits scanned before and the state signature."""
        return (self.repo.key,) if fast_path_applies(options) else ()

    def unchanged(self, options: ScanOptions, ruleset_version: str) -> bool:
        """Incremental scans: True when the repository's state signature (refs, index, work
        tree, rules, options; no git process) equals the one recorded after the last scan."""
        self._signature = None
        if not fast_path_applies(options):
            return False
        signature = state_signature(self.repo, options, ruleset_version)
        if signature is None:
            return False
        if options.state.signature(self.repo.key) == signature:
            return True
        self._signature = signature
        return False

    def scanned_state(self) -> ScanState:
        """The commits the history pass covered and the signature the scan started from."""
        key = self.repo.key
        commits = {key: frozenset(self._scanned)} if self._scanned is not None else {}
        signatures = {key: self._signature} if self._signature is not None else {}
        return ScanState(commits, signatures)

    def split(self, options: ScanOptions) -> Sequence[Source]:
        """With two or more workers: the work tree and ranges of blobs become pool pieces,
        each with its own cat-file process, and :meth:`enrich` gets all their findings."""
        jobs = options.workers
        if jobs < 2 or not options.git.history or options.git.staged:
            return [self]
        stats = self._plan_stats = ScanStats()
        problems = Problems(stats)
        if self.note:
            stats.warn(f"{self.label}: {self.note}")
        pieces: list[Source] = []
        if self.repo.work_tree is not None and options.git.range_to is None:
            pieces.append(GitWorkTree(self.repo, self.label))
        if self._plan(options, stats):
            limit = blob_limit(options)
            blobs = (
                self._listed_blobs() if self._full else [(o, 0) for o in self._targets(problems)]
            )
            for oids in ranges_by_size(blobs, jobs * RANGES_PER_WORKER):
                pieces.append(GitBlobs(self.repo.git_dir, oids, self.label, limit))
            if len(pieces) >= 2:  # the pool scans them: this process reads the log meanwhile
                pieces.append(LogReading(self, self.label))
        return pieces

    # -- chunks ------------------------------------------------------------------------------

    def iter_chunks(self, options: ScanOptions, stats: ScanStats) -> Iterator[Chunk]:
        problems = Problems(stats)
        if self.note:
            stats.warn(f"{self.label}: {self.note}")
        if options.git.staged:
            yield from staged_chunks(self.repo, self.label, options, stats, problems)
            return
        if self.repo.work_tree is not None and options.git.range_to is None:
            yield from work_tree_chunks(self.repo, self.label, options, stats, problems)
        elif not options.git.history:
            stats.warn(f"{self.label}: a bare repository has no work tree; --no-history skips it")
        if options.git.history and self._plan(options, stats):
            if self._full:
                oids: Iterable[str] = (oid for oid, _size in self._listed_blobs())
            else:
                oids = self._targets(problems)
            limit = blob_limit(options)
            yield from history_chunks(self.repo.git_dir, oids, limit, options, stats, problems)

    def _plan(self, options: ScanOptions, stats: ScanStats) -> bool:
        """Decide what history to read and start the log pass; False when there is none."""
        # unreachable objects carry no commit to remember: that scan always covers everything
        self._include_unreachable = options.git.include_unreachable
        incremental = fast_path_applies(options)
        self._seen = set(options.state.seen(self.repo.key)) if incremental else set()
        targeted = options.git.refs or options.git.range_to or self._seen
        self._full = options.git.include_unreachable or not targeted
        if self._full:  # git lists the object store while the refs are read
            kinds = self._kinds()
            listing = git_early.claim_listing(self.repo.git_dir, kinds)
            self._claimed(stats, listing)
            self._listing = listing or Listing(self.repo.git_dir, kinds)
        planned = False
        try:
            planned = self._plan_log(options, stats)
        finally:
            git_early.end()  # what was started early and not claimed above is not needed
            if not planned and self._listing is not None:
                self._listing.close()
                self._listing = None
        return planned

    def _plan_log(self, options: ScanOptions, stats: ScanStats) -> bool:
        claimed = git_early.claim_refs(self.repo)
        self._claimed(stats, claimed)
        if claimed is None:
            self._refs = list_refs(self.repo, stats.warn)
        else:
            self._refs, warnings = claimed
            for warning in warnings:
                stats.warn(warning)
        self._warn_if_shallow(stats)
        tips = self._tips(options)
        if not tips and not options.git.include_unreachable:
            if not self._refs:
                stats.count("git_empty_repositories")
                stats.warn(f"{self.label}: the repository has no commits yet")
            return False
        self._record = True
        if self._seen and set(tips) <= self._seen and not options.git.include_unreachable:
            stats.count("git_unchanged_repositories")
            self._record = False
            return False
        excluded = sorted(self._seen)
        if options.git.range_from is not None:
            excluded += [r.oid for r in resolve_refs(self.repo, [options.git.range_from])]
        log = git_early.claim_log(self.repo.git_dir, tips, excluded)
        self._claimed(stats, log)
        self._log = log or start_log(self.repo.git_dir, tips, excluded)
        return True

    @staticmethod
    def _claimed(stats: ScanStats, what: object) -> None:
        """Count a git process :mod:`git_early` started for this scan and it took over."""
        if what is not None:
            stats.count("git_started_early")

    def _warn_if_shallow(self, stats: ScanStats) -> None:
        """A shallow clone (CI checkouts by default) lacks history: say so, loudly."""
        if self.note is None and (self.repo.git_dir / "shallow").is_file():
            stats.count("git_shallow_repositories")
            stats.warn(
                f"{self.label}: a shallow clone: history before its oldest commits is missing"
                " and was not scanned (fetch the full history: git fetch --unshallow, or"
                " fetch-depth: 0 in CI)"
            )

    def _kinds(self) -> tuple[str, ...]:
        """What a full scan lists from the object store: the commits too when unreachable
        objects are scanned (the early start guesses the plain case: the same tuple)."""
        kinds = git_early.FULL_SCAN_KINDS
        return (*kinds, "commit") if self._include_unreachable else kinds

    def _listed_blobs(self) -> list[tuple[str, int]]:
        """Every blob in the object store with its size on disk, in pack order (full scans)."""
        kinds = self._kinds()
        listing, self._listing = self._listing, None
        if listing is None:
            listing = Listing(self.repo.git_dir, kinds)
        try:
            listed = listing.result()
        finally:
            listing.close()
        blobs = listed["blob"]
        self._listed = {oid for oid, _size in blobs}
        self._commits_in_store = {oid for oid, _size in listed.get("commit", [])}
        return blobs

    def _tips(self, options: ScanOptions) -> list[str]:
        if options.git.range_to is not None:
            return [r.oid for r in resolve_refs(self.repo, [options.git.range_to])]
        if options.git.refs:
            return [r.oid for r in resolve_refs(self.repo, options.git.refs)]
        return self._tips_all()

    def _targets(self, problems: Problems) -> Iterator[str]:
        """Blob ids the log lists, for a targeted scan (the log must finish first; a failure
        is counted by enrich). In a partial clone, blobs that were never fetched are counted
        as missing here: asking cat-file for them would fetch them from the promisor remote."""
        assert self._log is not None
        self._log.wait()
        local = self._local_blobs()
        seen: set[str] = set()
        for rec in self._log.records():
            if not isinstance(rec, Introduction) or rec.mode == GITLINK:
                continue
            blobs = [] if is_deletion(rec.blob) else [rec.blob]
            if self._seen:
                # what the new commits replaced or deleted is read again, so a secret that left
                # a branch tip is reported with its exposure updated (still_exposed: false)
                self._replaced.update(b for b in rec.replaced if b not in seen)
                blobs += rec.replaced
            for blob in blobs:
                if blob in seen:
                    continue
                seen.add(blob)
                if local is None or blob in local:
                    yield blob
                else:
                    problems("git_missing_blobs", blob, "missing blob (partial clone)")

    def _local_blobs(self) -> set[str] | None:
        """The blobs present locally when this is a partial clone (else None: all are)."""
        if not any((self.repo.git_dir / "objects" / "pack").glob("*.promisor")):
            return None
        return {oid for oid, kind, _size in list_objects(self.repo.git_dir) if kind == "blob"}

    # -- provenance --------------------------------------------------------------------------

    def enrich(self, findings: Sequence[Finding], stats: ScanStats) -> list[Finding]:
        if self._plan_stats is not None:
            stats.merge(self._plan_stats)
            self._plan_stats = None
        problems = Problems(stats)
        log = self._log
        if log is None:
            return list(findings)
        lookups: Lookups | None = None
        try:
            # a blob's chunks carry the blob id where the commit goes (see blob_chunks)
            git_findings = [f for f in findings if f.location.commit is not None]
            others = [f for f in findings if f.location.commit is None]
            wanted = {str(f.location.commit) for f in git_findings}
            # git starts (while the log is read) the processes that will say which branch
            # tips still hold each secret
            branches = self._branches()
            if wanted and branches:
                guess = len(branches) * len(wanted)
                lookups = Lookups(self.repo.git_dir, 2 if guess > LOOKUPS_PER_PROCESS else 1)
            intros, commits = self._read_log(log, wanted, stats, problems)
            unexplained = wanted - intros.keys()
            if unexplained & self._replaced:
                intros.update(self._earlier_intros(unexplained & self._replaced))
                unexplained = wanted - intros.keys()
            unreachable: dict[str, list[_Intro]] = {}
            if unexplained and self._include_unreachable and self._commits_in_store:
                unreachable = self._unreachable_intros(unexplained, stats)
            enriched = self._merge(git_findings, intros, unreachable, lookups, branches)
            if self._record:
                self._scanned = commits
            return others + enriched
        finally:
            if lookups is not None:
                lookups.close()
            if self._read is not None:
                self._read[0].close()
                self._read = None
            log.close()
            self._log = None

    def _read_log(
        self, log: LogPass, wanted: set[str], stats: ScanStats, problems: Problems
    ) -> tuple[dict[str, list[_Intro]], list[str]]:
        if log.wait() != 0:
            self._log_failed = True
            problems("git_log_errors", self.label, f"git log: {log.error_text()}")
        # blobs the readers could only name by id (binary, oversized...) get a path and commit
        by_id = {s.path: i for i, s in enumerate(stats.skipped) if _OBJECT_ID.fullmatch(s.path)}
        reading = _LogReading(wanted, by_id, stats, problems)
        self.read_log()
        assert self._read is not None
        index, catalogue = self._read
        self._read = None
        try:
            if catalogue is not None and not catalogue.unlisted:
                # nothing the whole parse would report but submodules: only the commits that
                # add one, or introduce a blob with findings (or a skipped one), are parsed
                commits = catalogue.commits
                for rec in catalogue.submodules(index):
                    _submodule(rec, problems)
                for rec in catalogue.introductions(index, wanted | by_id.keys()):
                    reading.note(rec)
            else:
                commits = self._parse_whole_log(log, reading)
        finally:
            index.close()
        stats.count("git_commits", len(commits))
        return reading.intros, commits

    def read_log(self) -> None:
        """Wait for the log pass and read it once: map it and, when no path or submodule in it
        needs the whole parse, catalogue which commits introduce each blob. Run by
        :class:`LogReading` while the pool scans the blobs, else by :meth:`enrich`."""
        log = self._log
        if log is None or self._read is not None:
            return
        self._read = read_log(log, self._listed if self._full else None)

    def _parse_whole_log(self, log: LogPass, reading: _LogReading) -> list[str]:
        commits: list[str] = []
        missing: set[str] = set()
        odd_paths: set[bytes] = set()
        problems = reading.problems
        for rec in log.records():
            if isinstance(rec, Commit):
                commits.append(rec.oid)
                continue
            if is_deletion(rec.blob):
                continue
            if rec.mode == GITLINK:
                _submodule(rec, problems)
                continue
            if not rec.path.isascii() and rec.path not in odd_paths:
                odd_paths.add(rec.path)
                display_path(rec.path, problems)
            reading.note(rec)
            if self._full and rec.blob not in self._listed and rec.blob not in missing:
                missing.add(rec.blob)
                where = f"{display_path(rec.path)}@{rec.commit.oid[:12]}"
                problems("git_missing_blobs", where, f"missing blob {rec.blob}")
        return commits

    def _earlier_intros(self, blobs: set[str]) -> dict[str, list[_Intro]]:
        """Where blobs that new commits replaced were introduced: one more history pass over
        every ref, run only when such a blob held a secret."""
        found: dict[str, list[_Intro]] = {}
        log = start_log(self.repo.git_dir, self._tips_all())
        try:
            for rec in log.records():
                if isinstance(rec, Introduction) and rec.blob in blobs:
                    found.setdefault(rec.blob, []).append(_Intro(rec, False))
        finally:
            log.close()
        return found

    def _tips_all(self) -> list[str]:
        return all_tips(self.repo, self._refs)

    def _unreachable_intros(self, blobs: set[str], stats: ScanStats) -> dict[str, list[_Intro]]:
        """Provenance for blobs no ref reaches, from the commits no ref reaches."""
        found: dict[str, list[_Intro]] = {}
        log = start_log(self.repo.git_dir, sorted(self._commits_in_store), self._tips_all())
        try:
            for rec in log.records():
                if isinstance(rec, Introduction) and rec.blob in blobs:
                    found.setdefault(rec.blob, []).append(_Intro(rec, True))
        finally:
            log.close()
        stats.count("git_unreachable_blobs_with_findings", len(blobs))
        return found

    def _merge(
        self,
        findings: list[Finding],
        intros: dict[str, list[_Intro]],
        unreachable: dict[str, list[_Intro]],
        lookups: Lookups | None,
        branches: Sequence[Ref],
    ) -> list[Finding]:
        """One finding per secret: located where it first entered, other places as
        occurrences."""
        groups: dict[tuple[str, str], list[tuple[Finding, _Place]]] = {}
        for f in findings:
            blob = str(f.location.commit)
            places = [_Place(i, f) for i in intros.get(blob, [])]
            if not places and self._include_unreachable:
                places = [_Place(i, f) for i in unreachable.get(blob, [])]
            if not places and self._log_failed:
                places = [_Place(None, f, unknown=True)]  # kept: only its commit is unknown
            elif not places and self._include_unreachable:
                places = [_Place(None, f)]  # a dangling blob: no commit holds it
            for place in places:
                groups.setdefault((f.fingerprint, f.rule_id), []).append((f, place))
        by_key = {key: [p for _, p in members] for key, members in groups.items()}
        exposure = self._exposure(by_key, lookups, branches) if lookups is not None else {}
        out = []
        for key, members in groups.items():
            members.sort(key=lambda m: m[1].order)
            first, primary = members[0]
            present_at = exposure.get(key, [])
            extras: dict[str, Scalar] = dict(first.location.extras)
            extras.update(primary.extras())
            extras["still_exposed"] = bool(present_at)
            extras["present_at"] = " ".join(present_at)
            extras["unreachable"] = all(p.unreachable for _, p in members)
            location = Location(
                primary.path,
                first.location.line,
                first.location.column,
                primary.commit,
                tuple(extras.items()),
            )
            primary_location = primary.location()
            occurrences = tuple(
                loc
                for loc in dict.fromkeys(p.location() for _, p in members[1:])
                if loc != primary_location
            )
            out.append(dataclasses.replace(first, location=location, occurrences=occurrences))
        return out

    def _branches(self) -> list[Ref]:
        return [r for r in self._refs if r.is_branch and r.kind == "commit"]

    def _exposure(
        self,
        groups: dict[tuple[str, str], list[_Place]],
        lookups: Lookups,
        branches: Sequence[Ref],
    ) -> dict[tuple[str, str], list[str]]:
        """Which branch tips still hold each secret: ``lookups`` asks ``<tip>:<path>`` for
        every one of ``branches`` and every path the secret was introduced at."""
        queries: dict[tuple[str, bytes], str | None] = {}
        for places in groups.values():
            for p in places:
                if p.intro is not None and b"\n" not in p.intro.raw_path:
                    for b in branches:
                        queries[(b.oid, p.intro.raw_path)] = None
        if not queries:
            return {}
        keys = list(queries)
        answers = lookups.ask([oid.encode() + b":" + path for oid, path in keys])
        queries.update(zip(keys, answers, strict=True))
        out: dict[tuple[str, str], list[str]] = {}
        for gkey, places in groups.items():
            blobs = {p.blob for p in places}
            paths = {p.intro.raw_path for p in places if p.intro is not None}
            names = sorted(
                b.short_name
                for b in branches
                if any(queries.get((b.oid, path)) in blobs for path in paths)
            )
            out[gkey] = names
        return out


@dataclasses.dataclass
class LogReading:
    """A piece for this process while the pool scans a repository's blobs: it reads the
    finished log pass (see :meth:`GitSource.read_log`), so :meth:`GitSource.enrich` only
    parses the few commits that introduce blobs with findings. It yields no chunk."""

    source: GitSource
    label: str
    parallel_safe = False

    def split(self, options: ScanOptions) -> Sequence[Source]:
        return [self]

    def iter_chunks(self, options: ScanOptions, stats: ScanStats) -> Iterator[Chunk]:
        self.source.read_log()
        yield from ()


def _submodule(rec: Introduction, problems: Problems) -> None:
    """A commit adds a submodule (its commit is not in this repository): named, not read."""
    problems(
        "git_submodules",
        f"{display_path(rec.path)}@{rec.commit.oid[:12]}",
        f"submodule commit {rec.blob[:12]} (scan the submodule separately)",
    )


class _LogReading:
    """What reading the log collects for the blobs with findings: their introductions, and
    a path and commit for the skipped blobs named only by id."""

    def __init__(
        self, wanted: set[str], by_id: dict[str, int], stats: ScanStats, problems: Problems
    ) -> None:
        self.wanted = wanted
        self.by_id = by_id
        self.stats = stats
        self.problems = problems
        self.intros: dict[str, list[_Intro]] = {}

    def note(self, rec: Introduction) -> None:
        """One introduction, in log order (deletions and gitlinks are ignored)."""
        if is_deletion(rec.blob) or rec.mode == GITLINK:
            return
        if rec.blob in self.wanted:
            self.intros.setdefault(rec.blob, []).append(_Intro(rec, False))
        if self.by_id and (index := self.by_id.pop(rec.blob, None)) is not None:
            skipped = self.stats.skipped
            where = f"{display_path(rec.path)}@{rec.commit.oid[:12]}"
            skipped[index] = Skipped(where, f"{skipped[index].reason} (blob {rec.blob})")


class _Intro:
    """A blob introduction and whether only unreachable commits hold it."""

    __slots__ = ("commit", "raw_path", "unreachable")

    def __init__(self, rec: Introduction, unreachable: bool) -> None:
        self.commit: Commit = rec.commit
        self.raw_path = rec.path
        self.unreachable = unreachable


class _Place:
    """One (commit, path) where a finding's blob sits."""

    __slots__ = ("blob", "finding", "intro", "suffix", "unknown")

    def __init__(self, intro: _Intro | None, finding: Finding, *, unknown: bool = False) -> None:
        self.intro = intro
        self.unknown = unknown  # the history walk failed before reaching this blob
        self.finding = finding
        self.blob = str(finding.location.commit)
        # an archive member inside the blob is named "<blob>!<member>"
        self.suffix = finding.location.path[len(self.blob) :]

    @property
    def unreachable(self) -> bool:
        return self.intro.unreachable if self.intro is not None else not self.unknown

    @property
    def path(self) -> str:
        if self.intro is None:
            return self.blob + self.suffix
        return display_path(self.intro.raw_path) + self.suffix

    @property
    def commit(self) -> str | None:
        return None if self.intro is None else self.intro.commit.oid

    @property
    def order(self) -> tuple[int, int, str, str, int]:
        if self.intro is None:
            return (1, 0, "", self.path, self.finding.location.line)
        c = self.intro.commit
        return (0, c.author_time, c.oid, self.path, self.finding.location.line)

    def extras(self) -> Iterable[tuple[str, Scalar]]:
        if self.intro is not None:
            c = self.intro.commit
            yield "author_name", c.author_name
            yield "author_email", c.author_email
            yield "author_date", c.author_date
        elif self.unknown:
            yield "provenance", "unknown: the history walk stopped early"
        yield BLOB_KEY, self.blob

    def location(self) -> Location:
        extras: tuple[tuple[str, Scalar], ...] = ((BLOB_KEY, self.blob),)
        if self.intro is not None:
            extras = (("author_date", self.intro.commit.author_date), *extras)
        if self.unreachable:
            extras = (*extras, ("unreachable", True))
        loc = self.finding.location
        return Location(self.path, loc.line, loc.column, self.commit, (*loc.extras, *extras))
