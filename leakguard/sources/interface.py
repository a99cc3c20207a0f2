"""The Source protocol: the only thing the scan pipeline knows about where bytes come from.

A source yields :class:`~leakguard.model.Chunk` values and records what it could not read in
``ScanStats`` (skip/warn/count). It never matches, prints or stores. A source that can be cut
into independent, picklable pieces implements ``split`` so the pipeline can spread the pieces
over worker processes; a source that parallelises itself (git) returns ``[self]``.

A source that knows more about a finding than the chunk location (git provenance: the commit
that introduced a blob, other commits holding it, exposure at branch tips) implements
``enrich``, which receives all findings of that source once matching is done. A source whose
pieces' findings only make sense together (a large file cut into byte ranges, each locating its
findings from its own start) implements ``join``, which receives each piece's result in order.

A source with incremental state (a git repository: the commits already scanned, the signature
of its refs and files) implements :class:`StatefulSource`. It names the state it reads
(``state_keys``); the core reads that state through the caller's :class:`StateReader` and hands
it over as ``options.state``; the source can then say it is ``unchanged`` (the pipeline skips
it entirely) or scan only what is new, and reports what it saw (``scanned_state``) for the
result. Neither the source nor the core writes state: the caller does, after the scan.

While the pipeline takes a source's chunks it offers what the engine's keyword pass can answer
(:func:`offering`): whether bytes name a source map (:func:`source_map_probe`, a pass the scan
of those bytes then takes over), and whether they hold anything at all (:func:`quiet_check`: a
source that reads many small pieces, the blobs of a history, counts one that holds nothing as
read without making a chunk).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Iterator, Sequence
from contextvars import ContextVar
from typing import Protocol, runtime_checkable

from leakguard.model import Chunk, Finding, ScanState, ScanStats
from leakguard.options import ScanOptions


@runtime_checkable
class Source(Protocol):
    #: a short name for progress and errors, e.g. the path as given
    label: str

    def split(self, options: ScanOptions) -> Sequence[Source]:
        """Independent pieces to scan in parallel (``[self]`` if not splittable)."""
        ...

    def iter_chunks(self, options: ScanOptions, stats: ScanStats) -> Iterator[Chunk]:
        """Yield chunks; record files/bytes read and anything skipped in ``stats``."""
        ...


#: ``check(data)``: True when a chunk of exactly ``data`` (at depth 0) would give no finding,
#: nothing to decode, nothing at all; ``data`` may be a view into a buffer the source reuses
QuietCheck = Callable[[bytes | bytearray | memoryview], bool]
#: ``probe(data)``: whether ``data`` names a source map, from the keyword pass the scan of a
#: chunk of exactly ``data`` then takes over; None when the engine has no such pass
SourceMapProbe = Callable[[bytes], bool | None]

# what the scan's engine offers the source whose chunks the pipeline is taking (see offering)
_offers: ContextVar[tuple[SourceMapProbe | None, QuietCheck | None]] = ContextVar(
    "leakguard_engine_offers", default=(None, None)
)


@contextlib.contextmanager
def offering(probe: SourceMapProbe | None, quiet: QuietCheck | None) -> Iterator[None]:
    """While the block runs (the pipeline takes a source's chunks), :func:`source_map_probe`
    and :func:`quiet_check` are the engine's ``probe`` and ``quiet``."""
    token = _offers.set((probe, quiet))
    try:
        yield
    finally:
        _offers.reset(token)


def source_map_probe() -> SourceMapProbe | None:
    """The engine's :data:`SourceMapProbe` for the source being scanned, if it offers one (a
    source that must know whether bytes name a source map before it makes its chunks)."""
    return _offers.get()[0]


def quiet_check() -> QuietCheck | None:
    """The engine's :data:`QuietCheck` for the source being scanned, if it offers one. A
    source may count bytes it answers True for as read without making a chunk of them (the
    usual blob of a history); the chunks it does make are scanned as always."""
    return _offers.get()[1]


@runtime_checkable
class EnrichingSource(Source, Protocol):
    def enrich(self, findings: Sequence[Finding], stats: ScanStats) -> list[Finding]:
        """Attach provenance the chunks did not carry; may merge or drop duplicates."""
        ...


@runtime_checkable
class JoiningSource(Source, Protocol):
    def join(
        self, pieces: Sequence[tuple[list[Finding], ScanStats]], stats: ScanStats
    ) -> list[Finding]:
        """The findings of this source's pieces as findings of the whole, from each piece's
        findings and statistics in the order ``split`` gave the pieces (a file cut into byte
        ranges: each range's findings located in the whole file). ``stats``: the scan's."""
        ...


class StateReader(Protocol):
    """Where the caller keeps incremental state (a file per repository, the findings store)."""

    def read(self, keys: Collection[str]) -> ScanState:
        """What earlier scans recorded under ``keys`` (nothing for a key never recorded)."""
        ...


@runtime_checkable
class StatefulSource(Source, Protocol):
    def state_keys(self, options: ScanOptions) -> tuple[str, ...]:
        """The keys of the recorded state a scan with ``options`` reads (none: it reads none)."""
        ...

    def unchanged(self, options: ScanOptions, ruleset_version: str) -> bool:
        """True when nothing a scan could read changed since the state in ``options.state``
        (then the source is not scanned at all)."""
        ...

    def scanned_state(self) -> ScanState:
        """What this scan saw (commits scanned, the state signature), once it has completed."""
        ...
