"""Run a sweep: scan each target in a worker (process pool or Dask), store results as they come.

Workers only scan (``run_scan`` on one target with ``jobs=1``) and hand back the
:class:`TargetOutcome`; the parent alone writes to the store, one transaction per target, as
results complete. A target that fails becomes a failed scan row, never a stopped sweep.

Before dispatching, the parent checks each local git repository's state signature against the
store: an unchanged repository is recorded as unchanged without being sent to a worker, so a
sweep where nothing changed never starts the pool. Each worker process (each thread, under Dask)
compiles the rules into one :class:`Engine` and reuses it for every target it scans.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet
from leakguard.errors import LeakguardError, UsageError
from leakguard.model import LiveCheck, ScanResult, ScanState
from leakguard.options import ScanOptions
from leakguard.scanner import (
    bind_to_parent,
    run_scan,
    spawning_workers,
    stop_pool,
)
from leakguard.sources.git_repo import discover_plain
from leakguard.sources.git_signature import fast_path_applies, state_signature
from leakguard.store import cursors
from leakguard.store.findings import FindingsStore, now_iso
from leakguard.store.verifications import VerificationCache
from leakguard.sweep.config import SweepConfig, Target
from leakguard.sweep.outcome import SweepReport, TargetReport
from leakguard.verify.sweep import SweepVerify, Verified, verify_new


@dataclass(frozen=True, slots=True)
class TargetOutcome:
    label: str
    started_at: str
    result: ScanResult | None = None  # with what the scan saw (``state``), for the parent
    error: str | None = None
    verified: Verified | None = None  # --verify: the new credentials' answers


@dataclass(frozen=True, slots=True)
class SweepSettings:
    db: Path
    jobs: int = 0
    dask: str | None = None
    rules_dirs: tuple[Path, ...] = ()
    dask_connect_timeout: float = 10.0
    verify: bool = False  # ask providers about each new credential (docs/verify.md)
    verify_options: SweepVerify = field(default_factory=SweepVerify)

    @property
    def verifying(self) -> SweepVerify | None:
        return self.verify_options if self.verify else None


OnResult = Callable[[TargetOutcome], None]


class Engines:
    """One matching engine per thread, compiled on first use: the explicit per-worker holder
    (Hyperscan scratch space is not thread-safe). Pickles as its rule set alone."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self._local = threading.local()

    def get(self, *, show_secrets: bool = False) -> Engine:
        """``show_secrets``: the matches keep their values in memory (``--verify`` asks the
        provider about them in this worker, then drops them)."""
        attr = "engine_with_values" if show_secrets else "engine"
        engine: Engine | None = getattr(self._local, attr, None)
        if engine is None:  # sweep targets: default engine
            engine = (
                Engine(self.ruleset, show_secrets=True) if show_secrets else Engine(self.ruleset)
            )
            setattr(self._local, attr, engine)
        return engine

    def __getstate__(self) -> RuleSet:
        return self.ruleset

    def __setstate__(self, ruleset: RuleSet) -> None:
        self.__init__(ruleset)  # type: ignore[misc]


def scan_target(
    target: Target,
    db: Path,
    engines: Engines,
    rules_dirs: tuple[Path, ...] = (),
    verify: SweepVerify | None = None,
) -> TargetOutcome:
    """Scan one target (runs inside a worker) with this thread's engine, reading the
    incremental state from the store (what the scan saw comes back in the result, for the
    parent to write with the findings), then, with ``verify``, ask about its new credentials
    while their values are in memory. Any failure is returned, not raised."""
    started = now_iso()
    try:
        options = target.scan_options(db, rules_dirs=rules_dirs)
        if verify is not None:  # values stay in this worker's memory, for the provider call
            options = replace(options, show_secrets=True)
        engine = engines.get(show_secrets=verify is not None)
        recorded = cursors.StoreState(db)
        result = run_scan(
            [target.label], options, ruleset=engines.ruleset, engine=engine, state=recorded
        )
        verified = None if verify is None else verify_new(result, db, verify)
        return TargetOutcome(
            target.label,
            started,
            result=result if verified is None else verified.result,
            verified=verified,
        )
    except LeakguardError as exc:
        return TargetOutcome(target.label, started, error=exc.message)
    except OSError as exc:
        return TargetOutcome(target.label, started, error=f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # a bug in one source must not stop the sweep
        return TargetOutcome(target.label, started, error=f"internal error: {type(exc).__name__}")


_worker_engines: Engines | None = None


def _init_worker(parent: int, ruleset: RuleSet) -> None:
    global _worker_engines  # one rule set and engine per worker process
    bind_to_parent(parent)
    _worker_engines = Engines(ruleset)


def _scan_in_worker(
    target: Target, db: Path, rules_dirs: tuple[Path, ...], verify: SweepVerify | None
) -> TargetOutcome:
    assert _worker_engines is not None
    return scan_target(target, db, _worker_engines, rules_dirs, verify)


def _in_process(
    targets: list[Target], settings: SweepSettings, ruleset: RuleSet
) -> Iterator[TargetOutcome]:
    engines = Engines(ruleset)
    for t in targets:
        yield scan_target(t, settings.db, engines, settings.rules_dirs, settings.verifying)


def _process_pool(
    targets: list[Target], settings: SweepSettings, ruleset: RuleSet, jobs: int
) -> Iterator[TargetOutcome]:
    initargs = (os.getpid(), ruleset)
    with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=initargs) as pool:
        try:
            with spawning_workers():
                futures: dict[Future[TargetOutcome], Target] = {
                    pool.submit(
                        _scan_in_worker, t, settings.db, settings.rules_dirs, settings.verifying
                    ): t
                    for t in targets
                }
            for future in as_completed(futures):
                yield _outcome_of(future, futures[future])
        except BaseException:  # Ctrl-C, SIGTERM, or the consumer gave up (GeneratorExit)
            stop_pool(pool)
            raise


def _outcome_of(future: Any, target: Target) -> TargetOutcome:
    try:
        outcome: TargetOutcome = future.result()
        return outcome
    except Exception as exc:  # a dead worker fails its target only
        return TargetOutcome(target.label, now_iso(), error=f"worker failed: {type(exc).__name__}")


def _dask(
    targets: list[Target], settings: SweepSettings, ruleset: RuleSet
) -> Iterator[TargetOutcome]:
    address = settings.dask or ""
    try:
        from dask.distributed import Client  # optional extra
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise UsageError(
            "--dask needs the optional Dask extra, which is not installed",
            hint="pip install 'leakguard[dask]'",
        ) from None
    try:
        client = Client(  # type: ignore[no-untyped-call]
            address, timeout=settings.dask_connect_timeout, set_as_default=False
        )
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(
            f"cannot reach the Dask scheduler at {address}: {type(exc).__name__}: {exc}",
            hint="start it with `dask scheduler` or check the address (tcp://HOST:8786)",
        ) from None
    try:
        # one holder per Dask worker process (the rule set travels once, inside it), one
        # engine per worker thread
        shared = client.scatter(  # type: ignore[no-untyped-call]
            Engines(ruleset), broadcast=True
        )
        futures = {
            client.submit(
                scan_target,
                t,
                settings.db,
                shared,
                settings.rules_dirs,
                settings.verifying,
                pure=False,
            ): t
            for t in targets
        }
        completed = dask_completed(list(futures), loop=client.loop)  # type: ignore[no-untyped-call]
        for future in completed:
            yield _outcome_of(future, futures[future])
    finally:
        client.close()  # type: ignore[no-untyped-call]


def run_sweep(
    config: SweepConfig,
    settings: SweepSettings,
    *,
    on_result: OnResult | None = None,
) -> SweepReport:
    started = time.perf_counter()
    ruleset = RuleSet.load(settings.rules_dirs)
    targets, expansion_errors = config.targets()
    answers: dict[str, LiveCheck] = {}
    notes: list[str] = []
    with FindingsStore.open(settings.db) as store:
        cache = VerificationCache(store.db) if settings.verify else None  # migrated up front
        sweep_id = store.begin_sweep(str(config.path))
        started_at = now_iso()
        for label, error in expansion_errors:
            store.record_scan(
                label, None, error=error, sweep_id=sweep_id, ruleset_version=ruleset.version
            )
        changed, unchanged = _split_unchanged(targets, settings, ruleset, store)
        for outcome in itertools.chain(unchanged, _outcomes(changed, settings, ruleset)):
            seen = outcome.result.state if outcome.result is not None else ScanState()
            store.record_scan(  # the target's state with its findings, in one transaction
                outcome.label,
                outcome.result,
                ruleset_version=ruleset.version,
                sweep_id=sweep_id,
                error=outcome.error,
                started_at=outcome.started_at,
                cursor_delta=seen.commits,
                signatures=seen.signatures,
            )
            if outcome.verified is not None and cache is not None:
                _keep_answers(outcome.verified, cache, answers, notes)
            if on_result is not None:
                on_result(outcome)
        store.finish_sweep(sweep_id)
        seconds = time.perf_counter() - started
        report = _report(store, sweep_id, config, started_at, seconds, ruleset)
        if settings.verify:
            report = replace(report, verified=True, verifications=answers, notes=tuple(notes))
        return report


def _keep_answers(
    verified: Verified,
    cache: VerificationCache,
    answers: dict[str, LiveCheck],
    notes: list[str],
) -> None:
    """The parent writes what a worker's provider calls answered (never ``unknown``)."""
    for fingerprint, answer in verified.fresh.items():
        cache.put(fingerprint, answer)
    answers.update(verified.answers)
    notes.extend(verified.notes)


def _split_unchanged(
    targets: list[Target], settings: SweepSettings, ruleset: RuleSet, store: FindingsStore
) -> tuple[list[Target], list[TargetOutcome]]:
    """Local git repositories whose state signature matches the store's are not dispatched:
    their outcome says ``unchanged`` at once. Anything else (or any doubt) goes to a worker,
    which checks again (after fetching, for a remote) and scans."""
    changed: list[Target] = []
    unchanged: list[TargetOutcome] = []
    for target in targets:
        started = now_iso()
        if _unchanged_here(target, settings, ruleset, store):
            result = ScanResult.nothing_changed((target.label,), (target.label,))
            unchanged.append(TargetOutcome(target.label, started, result=result))
        else:
            changed.append(target)
    return changed, unchanged


def _unchanged_here(
    target: Target, settings: SweepSettings, ruleset: RuleSet, store: FindingsStore
) -> bool:
    if target.spec.kind == "url":
        return False
    try:
        options = target.scan_options(settings.db, rules_dirs=settings.rules_dirs)
    except LeakguardError:
        return False  # its worker scans it and records why it fails
    if not fast_path_applies(options):
        return False
    repo = discover_plain(Path(target.label))
    if repo is None:
        return False  # not a repository, or an unusual one: its worker decides
    stored = cursors.stored_signature(store.db.conn, repo.key)
    return stored is not None and stored == state_signature(repo, options, ruleset.version)


def _outcomes(
    targets: list[Target], settings: SweepSettings, ruleset: RuleSet
) -> Iterable[TargetOutcome]:
    if not targets:
        return []
    if settings.dask:
        return _dask(targets, settings, ruleset)
    jobs = min(ScanOptions(jobs=settings.jobs).workers, max(len(targets), 1))
    if jobs < 2:
        return _in_process(targets, settings, ruleset)
    return _process_pool(targets, settings, ruleset, jobs)


def _report(
    store: FindingsStore,
    sweep_id: int,
    config: SweepConfig,
    started_at: str,
    seconds: float,
    ruleset: RuleSet,
) -> SweepReport:
    scans = sorted(store.scans(sweep_id), key=lambda s: str(s["target"]))
    new = store.new_in_sweep(sweep_id)
    labels = [str(s["target"]) for s in scans]
    credentials = store.for_targets(labels)
    new_fps = {c.fingerprint for c in new}
    targets = []
    for s in scans:
        label = str(s["target"])
        held = [c for c in credentials if label in c.targets]
        stats = s["stats"] if isinstance(s["stats"], dict) else {}
        targets.append(
            TargetReport(
                target=label,
                status=str(s["status"]),
                error=s["error"] if isinstance(s["error"], str) else None,
                findings=sum(
                    1 for c in held for o in c.occurrences if o.target == label and o.present
                ),
                new_credentials=sum(1 for c in held if c.fingerprint in new_fps),
                stats=stats,
            )
        )
    return SweepReport(
        sweep_id=sweep_id,
        config=str(config.path),
        db=str(store.path),
        started_at=started_at,
        finished_at=now_iso(),
        seconds=round(seconds, 3),
        ruleset_version=ruleset.version,
        targets=tuple(targets),
        credentials=tuple(credentials),
        new=tuple(c for c in credentials if c.fingerprint in new_fps)
        + tuple(c for c in new if c.fingerprint not in {x.fingerprint for x in credentials}),
    )
