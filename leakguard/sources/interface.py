"""The Source protocol: the only thing the scan pipeline knows about where bytes come from.

A source yields :class:`~leakguard.model.Chunk` values and records what it could not read in
``ScanStats`` (skip/warn/count). It never matches, prints or stores. A source that can be cut
into independent, picklable pieces implements ``split`` so the pipeline can spread the pieces
over worker processes; a source that parallelises itself (git) returns ``[self]``.

A source that knows more about a finding than the chunk location (git provenance: the commit
that introduced a blob, other commits holding it, exposure at branch tips) implements
``enrich``, which receives all findings of that source once matching is done.

A source that can tell, cheaply and without reading, that nothing changed since its last
recorded scan (a git repository under ``--incremental``) implements ``unchanged`` and
``record_state``; the pipeline then skips it entirely.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from leakguard.model import Chunk, Finding, ScanStats
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


@runtime_checkable
class EnrichingSource(Source, Protocol):
    def enrich(self, findings: Sequence[Finding], stats: ScanStats) -> list[Finding]:
        """Attach provenance the chunks did not carry; may merge or drop duplicates."""
        ...


@runtime_checkable
class StatefulSource(Source, Protocol):
    def unchanged(self, options: ScanOptions, ruleset_version: str) -> bool:
        """True when nothing a scan could read changed since the recorded state (then the
        source is not scanned at all); remembers the current state for ``record_state``."""
        ...

    def record_state(self) -> None:
        """Record the state ``unchanged`` saw, once a scan of this source has completed."""
        ...
