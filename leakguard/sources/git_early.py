"""Git's share of a whole-history scan, started while LeakGuard itself is still loading.

Before a full scan reads its first blob, three git processes run: ``for-each-ref`` (where the
history starts), ``cat-file --batch-all-objects`` (the object store's listing, which cuts the
blobs into pool pieces) and ``log --raw`` (the history pass, :mod:`git_provenance`). Loading
LeakGuard (the interpreter, the command line, the rules, the engine: about 0.09 s) keeps one
core busy while the other has nothing to do. :func:`begin`, which the console script calls
before it loads anything else when the command line names one repository to scan, starts
them on that idle core.

Nothing is taken on trust. The scan plans exactly as it always does and *claims* each process
only when it would have started the same one itself: the same git directory and work tree, the
same object kinds, the same starting commits and nothing excluded (:func:`claim_refs`,
:func:`claim_listing`, :func:`claim_log`). Whatever is not claimed is stopped by :func:`end`
(called once the scan has planned, and at exit). The processes are built by :mod:`git_run`
like every other, so a hostile repository's configuration runs nothing here either, and a guess
that turns out wrong (a ``.leakguard.yaml`` that narrows the scan to one ref, say) costs a
little CPU time and nothing else.
"""

from __future__ import annotations

import atexit
import os
import threading
from pathlib import Path

from leakguard.sources import git_run
from leakguard.sources.git_layout import plain_layout

TYPE_CHECKING = False  # typing is not loaded this early
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import IO

    from leakguard.sources.git_objects import Listing
    from leakguard.sources.git_provenance import LogPass
    from leakguard.sources.git_repo import Ref, Repository

#: what a full scan lists from the object store without unreachable objects (GitSource._kinds)
FULL_SCAN_KINDS = ("blob",)


class _Started:
    """What :func:`begin` started for one repository (a plain class: ``dataclasses`` is among
    what loads only once git is running)."""

    def __init__(self, git_dir: Path, work_tree: Path | None, listing: Listing | None) -> None:
        self.git_dir = git_dir
        self.work_tree = work_tree
        self.listing = listing
        self.refs: list[Ref] | None = None  # None until the thread is done, or when it failed
        self.warnings: list[str] = []
        self.tips: list[str] | None = None
        self.log: LogPass | None = None
        self.thread: threading.Thread | None = None

    def run(self, repo: Repository) -> None:
        """The refs, then the log from them (on a thread: it waits for git, the interpreter
        goes on loading)."""
        try:
            from leakguard.sources.git_provenance import start_log
            from leakguard.sources.git_repo import all_tips, list_refs

            refs = list_refs(repo, self.warnings.append)
            tips = all_tips(repo, refs)
            self.log = start_log(repo.git_dir, tips) if tips else None
            self.refs, self.tips = refs, tips
        except Exception:  # the scan reads the refs itself and reports the problem
            self.refs = self.tips = None

    def done(self) -> _Started:
        if self.thread is not None:
            self.thread.join()
        return self


_lock = threading.Lock()
_started: _Started | None = None
_exit_hook = False


def begin(path: Path) -> bool:
    """Start the listing, the refs and the log of a full scan of ``path`` when it has a
    repository's plain layout; False when nothing was started (or something already was).

    The listing's git starts first, with no more of LeakGuard loaded than it takes to start a
    git process: the modules the refs and the log need (``dataclasses`` among them, ~10 ms)
    load while git runs on the other core."""
    global _started, _exit_hook
    layout = plain_layout(path)
    if layout is None:
        return False
    git_dir, work_tree = Path(layout[0]), layout[1]
    with _lock:
        if _started is not None:
            return False
        listing = _start_listing(git_dir)
        if listing is None:  # no git to run: the scan says so in its own words
            return False
        started = _Started(git_dir, _real_or_none(work_tree), listing)
        _started = started
        if not _exit_hook:
            atexit.register(end)
            _exit_hook = True
    from leakguard.sources.git_repo import repository_at

    started.thread = threading.Thread(
        target=started.run,
        args=(repository_at(layout),),
        name="leakguard-early-git",
        daemon=True,
    )
    started.thread.start()
    return True


def _start_listing(git_dir: Path) -> Listing | None:
    """The object store's listing, its git started before :mod:`git_objects` (and what it
    loads: ``subprocess``, ``tempfile``, ``typing``) is loaded, where the system allows (an
    unnamed temporary file, ``posix_spawn``); None when git cannot be started."""
    output = _unnamed_file()
    if output is not None:
        try:
            pid = git_run.start_to_file(
                git_run.OBJECT_LISTING, git_dir=git_dir, output=output.fileno()
            )
        except OSError:
            output.close()
            return None
        if pid is not None:
            from leakguard.sources.git_objects import Listing

            return Listing(git_dir, FULL_SCAN_KINDS, started=(pid, output))
        output.close()
    from leakguard.sources.git_objects import Listing

    try:
        return Listing(git_dir, FULL_SCAN_KINDS)
    except OSError:
        return None


def _unnamed_file() -> IO[bytes] | None:
    """A temporary file no other process can open (0600, no name: ``O_TMPFILE``) in
    ``$TMPDIR`` or ``/tmp``; None where there is none (then :mod:`tempfile` makes one)."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag:
        return None
    try:
        fd = os.open(os.environ.get("TMPDIR") or "/tmp", flag | os.O_RDWR, 0o600)
    except OSError:
        return None
    return open(fd, "w+b")  # the Listing closes it


def claim_refs(repo: Repository) -> tuple[list[Ref], list[str]] | None:
    """The refs read for ``repo`` and the warnings reading them gave, once; else None."""
    started = _matching(repo.git_dir)
    if started is None or started.refs is None:
        return None
    if started.work_tree != _real_or_none(repo.work_tree):
        return None
    refs, warnings = started.refs, started.warnings
    started.refs, started.warnings = None, []
    return refs, warnings


def claim_listing(git_dir: Path, kinds: Sequence[str]) -> Listing | None:
    """The object store's listing of ``git_dir`` when it lists exactly ``kinds``; else None."""
    started = _matching(git_dir)
    if started is None or tuple(kinds) != FULL_SCAN_KINDS:
        return None
    listing, started.listing = started.listing, None
    return listing


def claim_log(git_dir: Path, tips: Sequence[str], exclude: Sequence[str]) -> LogPass | None:
    """The log pass of ``git_dir`` when it walks exactly ``tips`` (in that order) and
    excludes nothing; else None."""
    started = _matching(git_dir)
    if started is None or started.log is None or exclude or list(tips) != started.tips:
        return None
    log, started.log = started.log, None
    return log


def end() -> None:
    """Stop whatever was started and not claimed (claimed processes are their scan's)."""
    global _started
    with _lock:
        started, _started = _started, None
    if started is None:
        return
    started.done()
    if started.listing is not None:
        started.listing.close()
    if started.log is not None:
        started.log.close()


def _matching(git_dir: Path) -> _Started | None:
    """What was started for ``git_dir``, once its thread is done; None for another
    repository or when nothing was started."""
    with _lock:
        started = _started
    if started is None or started.git_dir != _real(git_dir):
        return None
    return started.done()


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _real_or_none(path: Path | None) -> Path | None:
    return None if path is None else _real(path)
