"""The scan core: targets -> sources -> engine -> deduplicated, filtered findings.

It knows only interfaces: :func:`resolve_target` for sources, :class:`Engine` for matching, a
:class:`StateReader` for the incremental state its caller keeps. :func:`run_scan` is four steps:

* :func:`plan_scan`: load the rules and baseline and resolve the targets (everything that can be
  wrong with the inputs fails before any byte is read), read the recorded state of the sources
  that have some (:class:`StatefulSource`) into ``options.state``, and set aside those unchanged
  since it was recorded: they are not scanned at all (``ScanResult.unchanged``);
* :func:`split_sources`: cut the sources into pieces, for this process and the pool;
* :func:`execute_scan`: scan the pieces (the pool's with one engine per worker);
* :func:`finish_scan`: enrich, deduplicate and filter the findings, and collect what the
  sources saw (``ScanResult.state``).

The core never writes state: its caller does, once the result is delivered
(:func:`scan_then_record` for ``leakguard scan``; a sweep writes it with the findings).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from leakguard import collector
from leakguard.engine.matcher import Engine
from leakguard.engine.rulecache import RuleCache, default_cache_dir
from leakguard.engine.rules import RuleSet
from leakguard.model import Finding, Location, ScanResult, ScanState, ScanStats
from leakguard.options import ScanOptions
from leakguard.sources.interface import (
    EnrichingSource,
    JoiningSource,
    Source,
    StatefulSource,
    StateReader,
    offering,
)
from leakguard.sources.resolve import resolve_target

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from leakguard import early_worker
    from leakguard.baseline import Baseline
    from leakguard.early_worker import Prepared

PieceResult = tuple[list[Finding], ScanStats]
GENERIC_PROVIDER = "generic"  # the keyword = high-entropy literal rules


class Progress(Protocol):
    """What the core tells a front end about a long scan (the CLI draws a bar from it):
    ``start`` with the number of pieces, then per piece done ``advance`` and ``read``, what that
    piece read in units people know (:func:`units_read`)."""

    def start(self, total: int) -> None: ...

    def advance(self, done: int = 1) -> None: ...

    def read(self, units: Mapping[str, int]) -> None: ...


def units_read(stats: ScanStats) -> dict[str, int]:
    """``files``, ``bytes``, and for git history ``commits`` and ``blobs``, of one piece."""
    return {
        "files": stats.files,
        "bytes": stats.bytes,
        "commits": stats.counters.get("git_commits", 0),
        "blobs": stats.counters.get("git_blobs", 0),
    }


def _piece_done(progress: Progress | None, stats: ScanStats) -> None:
    if progress is not None:
        progress.read(units_read(stats))
        progress.advance()


def scan_source(source: Source, engine: Engine, options: ScanOptions) -> PieceResult:
    stats = ScanStats()
    findings: list[Finding] = []
    depth = options.decode_depth
    allow = options.allowlist.allows_value if options.allowlist else None
    places = _Places()
    # a source that must know whether bytes name a source map before it makes its chunks asks
    # the engine, whose keyword pass over them then serves their scan too; one that can tell
    # bytes with nothing to find (a git blob) asks it whether there is anything at all
    with offering(engine.probe, engine.quiet(depth)):
        for chunk in source.iter_chunks(options, stats):
            found = engine.scan(chunk, depth, allow)
            if found:
                findings += places.kept(found)
    places.report(stats)
    stats.warnings.extend(engine.take_notices())  # a user rule skipped over its time budget
    if isinstance(source, EnrichingSource):
        findings = source.enrich(findings, stats)
    return findings, stats


#: the places of one credential reported per file (or blob): a file that holds a key at more
#: places (a log line repeated a million times) reports the first ones and counts the others
MAX_PLACES = 100


class _Places:
    """How many findings each credential has at each file so far, and those not kept."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str | None, str, str], int] = {}
        self.dropped: dict[tuple[str, str | None], list[int]] = {}  # findings, credentials

    def kept(self, found: list[Finding]) -> list[Finding]:
        seen = self.seen
        out = []
        for f in found:
            loc = f.location
            key = (loc.path, loc.commit, f.fingerprint, f.rule_id)
            n = seen.get(key, 0) + 1
            seen[key] = n
            if n <= MAX_PLACES:
                out.append(f)
                continue
            counts = self.dropped.setdefault((loc.path, loc.commit), [0, 0])
            counts[0] += 1
            counts[1] += n == MAX_PLACES + 1
        return out

    def report(self, stats: ScanStats) -> None:
        """One warning per file that had findings not kept, and their count."""
        for (path, commit), (findings, credentials) in self.dropped.items():
            if commit is None:
                where = path
            else:  # a git blob is named by its id until enrich finds its path
                where = f"object {path}" if commit == path else f"{path}@{commit[:12]}"
            stats.count("findings_not_reported", findings)
            stats.warn(
                f"{where}: {credentials} credential(s) found at more than {MAX_PLACES} places;"
                f" the first {MAX_PLACES} places of each are reported, {findings} more are not"
            )


_worker_engine: Engine | None = None
_worker_options: ScanOptions | None = None


_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
_WATCH_SECONDS = 1.0


def bind_to_parent(parent: int) -> None:
    """In a pool worker: die with the parent. A worker left behind holds the caller's pipes
    open, so a CI step or a cron job never ends. Linux delivers SIGKILL on the parent's death
    (``PR_SET_PDEATHSIG``); everywhere, a watchdog thread exits when the parent changes. Ctrl-C
    and SIGTERM are the parent's to handle: it stops the pool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # blocked by spawning_workers
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    watched = os.getppid()
    if watched != parent and not _alive(parent):
        os._exit(1)  # the parent died before the signal was armed
    threading.Thread(
        target=_watch_parent, args=(watched,), name="leakguard-parent-watch", daemon=True
    ).start()


@contextlib.contextmanager
def spawning_workers() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM while pool workers are forked (they are submitted here): a
    signal landing in a child before its initializer ran would print a traceback there. The
    parent gets any held signal as soon as the block ends."""
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    except (AttributeError, OSError, ValueError):  # no POSIX signal masks
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs. A parent that died but is not reaped yet (a zombie) does not:
    a worker that looked before its parent's reaper would otherwise keep going, its death
    signal armed too late and its watchdog watching the new parent."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):  # no /proc (not Linux): signal 0 is all there is
        return True


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_WATCH_SECONDS)
    os._exit(1)


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel what is queued and kill the workers now (an interrupt, SIGTERM, an error): waiting
    for running pieces could take minutes."""
    processes: dict[int, Any] = getattr(pool, "_processes", None) or {}  # public only in 3.14
    workers = list(processes.values())
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        with contextlib.suppress(Exception):
            worker.kill()
    for worker in workers:
        with contextlib.suppress(Exception):
            worker.join(timeout=10)


def _init_worker(parent: int, rules: RuleSet | Engine, options: ScanOptions) -> None:
    """``rules``: the parent's engine when the worker was forked from it (its compiled
    databases are already in this process's memory), else the rules to compile."""
    global _worker_engine, _worker_options
    bind_to_parent(parent)
    _worker_engine = rules if isinstance(rules, Engine) else engine_for(rules, options)
    _worker_options = options


def engine_for(ruleset: RuleSet, options: ScanOptions) -> Engine:
    """An engine for ``options``, its compiled keyword database kept under the cache
    directory (``options.cache_dir``, else ``$XDG_CACHE_HOME/leakguard``) between runs."""
    cache = RuleCache(options.cache_dir or default_cache_dir())
    return Engine(ruleset, options.engine, show_secrets=options.show_secrets, rule_cache=cache)


def _scan_in_worker(source: Source) -> PieceResult:
    assert _worker_engine is not None and _worker_options is not None
    return scan_source(source, _worker_engine, _worker_options)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


def tune_allocator() -> None:
    """A scan allocates and frees buffers of up to a few MiB all along (reads, chunks, decoded
    layers). glibc serves each from a fresh ``mmap`` above its threshold and unmaps it when
    freed, so every one costs page faults again; with the threshold at 16 MiB they come from
    the heap and are reused (a web build: page faults 38k -> 14k, about 8% less CPU). Up to
    32 MiB freed stays mapped. Process-wide, inherited by forked workers; only where the C
    library has ``mallopt`` (glibc, musl), elsewhere nothing."""
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, 16 << 20)
    mallopt(_M_TRIM_THRESHOLD, 32 << 20)


def run_scan(
    targets: Sequence[str],
    options: ScanOptions,
    *,
    ruleset: RuleSet | None = None,
    engine: Engine | None = None,
    progress: Progress | None = None,
    state: StateReader | None = None,
) -> ScanResult:
    """Scan ``targets``. ``engine``, when given, must be built from ``ruleset`` (or be the only
    one given) with ``options.engine`` and ``options.show_secrets``; a caller scanning many
    targets passes one so the rules are compiled once (one engine per thread). ``state`` is
    where the caller keeps the incremental state: it is only read; what the scan saw comes
    back in ``ScanResult.state`` for the caller to write."""
    started = time.perf_counter()
    tune_allocator()
    ruleset = ruleset or (engine.ruleset if engine is not None else None)
    plan = plan_scan(targets, options, ruleset=ruleset, state=state)
    if not plan.sources:
        collector.resume()
        labels = plan.unchanged_labels
        return ScanResult.nothing_changed(labels, plan.targets, time.perf_counter() - started)
    engine = engine or engine_for(plan.ruleset, plan.options)
    collector.resume()  # start-up is over: from here on the work allocates and frees
    pieces = split_sources(plan)  # from here on, sources start work (git: the log pass)
    done = execute_scan(plan, pieces, engine, progress)
    result = finish_scan(plan, pieces, done)
    result.stats.engine = engine.kind
    result.stats.seconds = time.perf_counter() - started
    return result


@dataclass(frozen=True, slots=True)
class ScanPlan:
    """What a scan will read, decided before any byte is read."""

    targets: tuple[str, ...]
    options: ScanOptions  # with ``state``: what earlier scans recorded for these sources
    ruleset: RuleSet
    baseline: Baseline | None
    sources: tuple[Source, ...]  # to scan
    unchanged: tuple[Source, ...]  # not scanned: nothing changed since the recorded state

    @property
    def unchanged_labels(self) -> tuple[str, ...]:
        return tuple(s.label for s in self.unchanged)


@dataclass(frozen=True, slots=True)
class Pieces:
    """The sources cut into pieces: those scanned in this process and on the process pool."""

    split: tuple[tuple[Source, tuple[Source, ...]], ...]  # each source and its pieces
    local: tuple[Source, ...]
    parallel: tuple[Source, ...]


def plan_scan(
    targets: Sequence[str],
    options: ScanOptions,
    *,
    ruleset: RuleSet | None = None,
    state: StateReader | None = None,
) -> ScanPlan:
    """Load the rules and baseline, resolve the targets (everything that can be wrong with
    the inputs fails here), read their recorded state and set the unchanged ones aside."""
    cache = RuleCache(options.cache_dir or default_cache_dir())
    ruleset = ruleset or RuleSet.load(options.rules_dirs, cache=cache)
    baseline = _baseline(options)
    resolved = [resolve_target(t, options) for t in targets]
    stateful = [s for s in resolved if isinstance(s, StatefulSource)]
    options = with_recorded_state(options, stateful, state)
    unchanged = tuple(s for s in stateful if s.unchanged(options, ruleset.version))
    skipped = {id(s) for s in unchanged}
    sources = tuple(s for s in resolved if id(s) not in skipped)
    return ScanPlan(tuple(targets), options, ruleset, baseline, sources, unchanged)


def split_sources(plan: ScanPlan) -> Pieces:
    """Cut each source into pieces; the pool takes the parallel-safe ones when there are two
    workers and two such pieces, this process the rest."""
    split = tuple((source, tuple(source.split(plan.options))) for source in plan.sources)
    pieces = [piece for _, source_pieces in split for piece in source_pieces]
    parallel = [p for p in pieces if getattr(p, "parallel_safe", False)]
    local = [p for p in pieces if not getattr(p, "parallel_safe", False)]
    if plan.options.workers < 2 or len(parallel) < 2:
        local, parallel = local + parallel, []
    return Pieces(split, tuple(local), tuple(parallel))


def with_recorded_state(
    options: ScanOptions, sources: Iterable[StatefulSource], state: StateReader | None
) -> ScanOptions:
    """``options`` holding what ``state`` recorded for the keys these sources read."""
    keys = list(dict.fromkeys(k for s in sources for k in s.state_keys(options)))
    if state is None or not keys:
        return options
    return replace(options, state=options.state.merged(state.read(keys)))


def execute_scan(
    plan: ScanPlan, pieces: Pieces, engine: Engine, progress: Progress | None = None
) -> list[tuple[Source, PieceResult]]:
    """Scan every piece: this process's with ``engine``, the others on a process pool (one
    engine per worker). Returns each piece with its result, this process's first."""
    if progress is not None:
        progress.start(len(pieces.local) + len(pieces.parallel))
    claimed = _claim_early_workers(plan, pieces, engine)
    if claimed is not None:
        parallel, options = pieces.parallel, plan.options
        try:
            done = _run_local(pieces.local, engine, options, progress)  # a walk's notices
        except BaseException:
            claimed.stop()
            raise
        results = claimed.run(  # stops the helpers when anything is raised
            lambda i: scan_source(parallel[i], engine, options),
            lambda result: _piece_done(progress, result[1]),
        )
        results[0][1].count("early_workers", claimed.helpers)  # merged with the rest
        return done + list(zip(parallel, results, strict=True))
    if not pieces.parallel:
        return _run_local(pieces.local, engine, plan.options, progress)
    workers = min(plan.options.workers, len(pieces.parallel))
    # imported here: a small scan (a pre-commit hook's) never starts a pool
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    context = multiprocessing.get_context()
    # a forked worker inherits this process's engine (nothing to pickle or compile again)
    rules: RuleSet | Engine = engine if context.get_start_method() == "fork" else plan.ruleset
    # the pieces never read the recorded state (their source did, when planning them)
    initargs = (os.getpid(), rules, replace(plan.options, state=ScanState()))
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=initargs
    ) as pool:
        try:
            with spawning_workers():
                futures: dict[Future[PieceResult], int] = {
                    pool.submit(_scan_in_worker, p): i for i, p in enumerate(pieces.parallel)
                }
            done = _run_local(pieces.local, engine, plan.options, progress)
            ordered: list[PieceResult | None] = [None] * len(pieces.parallel)
            for future in as_completed(futures):
                result = ordered[futures[future]] = future.result()
                _piece_done(progress, result[1])
        except BaseException:
            stop_pool(pool)
            raise
    done.extend((p, r) for p, r in zip(pieces.parallel, ordered, strict=True) if r is not None)
    return done


def _claim_early_workers(
    plan: ScanPlan, pieces: Pieces, engine: Engine
) -> early_worker.Claimed | None:
    """The workers the console script forked before it loaded (:mod:`leakguard.early_worker`),
    when each planned exactly this scan; helpers not claimed are stopped."""
    if "leakguard.early_worker" not in sys.modules:  # none were started: nothing to import
        return None
    from leakguard import early_worker

    if len(pieces.parallel) < 2:
        early_worker.stop()
        return None
    return early_worker.claim(early_key(plan, pieces, engine), len(pieces.parallel))


def early_key(plan: ScanPlan, pieces: Pieces, engine: Engine) -> tuple[object, ...]:
    """What an early worker's plan and the scan's must share for the worker's results to be
    the scan's: the options (but the recorded state, which pieces never read), the rules
    version, the engine's kind and the pieces."""
    options = replace(plan.options, state=ScanState())
    return (options, plan.ruleset.version, engine.kind, pieces.parallel)


def prepare_early(parent: int, target: str, options: ScanOptions) -> Prepared | None:
    """In a worker forked by the console script before it loaded (``parent``: the scan's
    process): plan the scan of ``target`` guessed from the command line, with ``options``, and
    build its engine; the key of the plan, its number of pieces, and how to scan one. None when
    the scan would start no workers."""
    bind_to_parent(parent)
    tune_allocator()
    plan = plan_scan([target], options)
    pieces = split_sources(plan)
    if not plan.sources or len(pieces.parallel) < 2:
        return None  # (the scan's own process scans the pieces that are its alone)
    engine = engine_for(plan.ruleset, plan.options)
    collector.resume()  # as the scan's own process does once its engine is built
    parallel, scan_options = pieces.parallel, plan.options

    def scan(index: int) -> PieceResult:
        return scan_source(parallel[index], engine, scan_options)

    return early_key(plan, pieces, engine), len(parallel), scan


def finish_scan(
    plan: ScanPlan, pieces: Pieces, done: Sequence[tuple[Source, PieceResult]]
) -> ScanResult:
    """Merge the pieces' statistics, let each source enrich its findings, drop duplicates and
    suppressed findings, and collect what the scanned sources saw (``ScanResult.state``)."""
    stats = ScanStats()
    for _piece, (_findings, piece_stats) in done:
        stats.merge(piece_stats)
    findings = _enrich_split_sources(pieces.split, {id(p): r for p, r in done}, stats)
    final = finalize(findings, plan.options, plan.baseline)
    if plan.baseline is not None:  # "0 new (113 baselined)" rather than "no credentials found"
        suppressed = {f.fingerprint for f in findings if plan.baseline.suppresses(f)}
        stats.count("baselined", len(suppressed))
    if plan.unchanged:
        stats.count("unchanged_targets", len(plan.unchanged))
    state = ScanState()
    for source in plan.sources:
        if isinstance(source, StatefulSource):  # only now: the scan has completed
            state = state.merged(source.scanned_state())
    return ScanResult(
        tuple(final), stats, plan.targets, unchanged=plan.unchanged_labels, state=state
    )


class StateStore(StateReader, Protocol):
    """A :class:`StateReader` that also writes what a scan saw (the caller's)."""

    def write(self, state: ScanState) -> None: ...


def scan_then_record(
    targets: Sequence[str],
    options: ScanOptions,
    deliver: Callable[[ScanResult], None],
    state: StateStore,
    *,
    progress: Progress | None = None,
) -> ScanResult:
    """Scan, hand the result to ``deliver`` (write the report), and only then write the
    incremental state the scan saw (commits scanned, repository signatures) to ``state``. A
    scan whose report was never delivered (a full disk, an interrupt) leaves the state as it
    was, so the next incremental scan reports the same findings again instead of losing them."""
    result = run_scan(targets, options, progress=progress, state=state)
    deliver(result)
    state.write(result.state)
    return result


def _enrich_split_sources(
    split: Iterable[tuple[Source, Sequence[Source]]],
    results: Mapping[int, PieceResult],
    stats: ScanStats,
) -> list[Finding]:
    """A source split into other pieces (git: blob ranges on the pool) enriches the findings
    of all its pieces at once, after they are all done; one whose pieces locate their findings
    apart (a large file's byte ranges) joins them first."""
    findings: list[Finding] = []
    for source, source_pieces in split:
        if isinstance(source, JoiningSource) and all(p is not source for p in source_pieces):
            mine = source.join([results[id(p)] for p in source_pieces], stats)
        else:
            mine = [f for p in source_pieces for f in results[id(p)][0]]
        if isinstance(source, EnrichingSource) and all(p is not source for p in source_pieces):
            mine = source.enrich(mine, stats)
        findings.extend(mine)
    return findings


def _run_local(
    pieces: Iterable[Source], engine: Engine, options: ScanOptions, progress: Progress | None
) -> list[tuple[Source, PieceResult]]:
    out = []
    for piece in pieces:
        result = scan_source(piece, engine, options)
        out.append((piece, result))
        _piece_done(progress, result[1])
    return out


def finalize(
    findings: Iterable[Finding], options: ScanOptions, baseline: Baseline | None = None
) -> list[Finding]:
    """Drop duplicates (same secret, same place), baselined credentials, and low severities."""
    if baseline is None:
        baseline = _baseline(options)
    unique: dict[tuple[object, ...], Finding] = {}
    verdicts: _Verdicts = {}  # (rule, path) -> kept: findings share paths
    min_severity, disabled = options.min_severity, options.disabled_rules
    placed = bool(options.excludes or options.allowlist)
    for f in findings:
        if f.severity < min_severity or (baseline and baseline.suppresses(f)):
            continue
        if f.rule_id in disabled:
            continue
        if placed and not f.occurrences:  # one place: kept, or the finding dropped
            kept_here = verdicts.get((f.rule_id, f.location.path))
            if kept_here is None:
                kept_here = _kept_at(f.rule_id, f.location.path, options, verdicts)
            if not kept_here:
                continue
        elif placed:
            kept = _places_kept(f, options, verdicts)
            if f.location not in kept[:1]:
                if not kept:
                    continue
                f = replace(f, location=kept[0], occurrences=tuple(kept[1:]))
        if f.provider == GENERIC_PROVIDER:
            if not options.generic:
                continue
            if options.generic_severity is not None:
                f = replace(f, severity=options.generic_severity)
        loc = f.location  # f.identity, without a call per finding
        identity = (f.fingerprint, f.rule_id, loc.path, loc.line, loc.column, loc.commit)
        if identity not in unique:
            unique[identity] = f
    return sorted(unique.values(), key=_order)


# (rule, path) -> whether a finding of the rule at the path is reported
_Verdicts = dict[tuple[str, str], bool]


def _places_kept(f: Finding, options: ScanOptions, verdicts: _Verdicts) -> list[Location]:
    """The finding's places outside the paths the project excludes (git history is read blob
    by blob, so its paths are checked here) or allows for its rule. A secret excluded in one
    place and present in another is still reported, at the other place. ``verdicts``: the
    (rule, path) pairs decided so far in this pass."""

    def kept(location: Location) -> bool:
        known = verdicts.get((f.rule_id, location.path))
        return _kept_at(f.rule_id, location.path, options, verdicts) if known is None else known

    places = [f.location, *f.occurrences]
    return places if all(map(kept, places)) else [p for p in places if kept(p)]


def _kept_at(rule_id: str, path: str, options: ScanOptions, verdicts: _Verdicts) -> bool:
    """Whether a finding of ``rule_id`` at ``path`` is reported (decided by the path of the
    outermost file: ``dist.zip`` for ``dist.zip!app/main.js``), noted in ``verdicts``."""
    outer = path.split("!", 1)[0]
    kept = verdicts[(rule_id, path)] = not (
        (options.excludes and options.excludes.excluded(outer))
        or (options.allowlist and options.allowlist.allows_path(rule_id, outer))
    )
    return kept


def _order(f: Finding) -> tuple[str, str, int, int, str]:
    loc = f.location
    return (loc.path, loc.commit or "", loc.line, loc.column, f.rule_id)


def _baseline(options: ScanOptions) -> Baseline | None:
    if not options.baseline:
        return None
    from leakguard.baseline import Baseline  # only scans with --baseline pay for it

    return Baseline.load(options.baseline)
