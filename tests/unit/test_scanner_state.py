"""The scan core's state hand-off, with fakes of the Source and StateReader protocols: the core
reads only the keys its sources name, hands that state over in the options, skips what is
unchanged and returns what the scanned sources saw. It writes nothing."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field

from leakguard.engine.rules import RuleSet
from leakguard.model import Chunk, Location, ScanState, ScanStats
from leakguard.options import GitOptions, ScanOptions
from leakguard.scanner import (
    ScanPlan,
    engine_for,
    execute_scan,
    finish_scan,
    split_sources,
    with_recorded_state,
)
from leakguard.sources.interface import Source, StatefulSource

KEY = "sk_live_Zq8RmT4vWx2Yb6Nc1Pd9Lf3Hj7Kg5Ss0"


@dataclass
class FakeRepository:
    """Has state under its label: unchanged when the recorded signature is "same"."""

    label: str
    signature: str = "new"
    seen_in_options: frozenset[str] = frozenset()

    def split(self, options: ScanOptions) -> Sequence[Source]:
        return [self]

    def iter_chunks(self, options: ScanOptions, stats: ScanStats) -> Iterator[Chunk]:
        self.seen_in_options = options.state.seen(self.label)
        stats.files += 1
        yield Chunk(f"K = '{KEY}'\n".encode(), Location(f"{self.label}/app.py", 1, 1))

    def state_keys(self, options: ScanOptions) -> tuple[str, ...]:
        return (self.label,) if options.git.incremental else ()

    def unchanged(self, options: ScanOptions, ruleset_version: str) -> bool:
        return options.state.signature(self.label) == self.signature

    def scanned_state(self) -> ScanState:
        commits = {self.label: self.seen_in_options | {f"{self.label}-new"}}
        return ScanState(commits, {self.label: self.signature})


@dataclass
class CountingReader:
    recorded: ScanState
    asked: list[list[str]] = field(default_factory=list)

    def read(self, keys: Collection[str]) -> ScanState:
        self.asked.append(sorted(keys))
        commits = {k: c for k, c in self.recorded.commits.items() if k in keys}
        signatures = {k: s for k, s in self.recorded.signatures.items() if k in keys}
        return ScanState(commits, signatures)


def _plan(sources: list[FakeRepository], options: ScanOptions) -> ScanPlan:
    ruleset = RuleSet.load()
    unchanged = tuple(s for s in sources if s.unchanged(options, ruleset.version))
    scanned = tuple(s for s in sources if s not in unchanged)
    return ScanPlan(("t",), options, ruleset, None, scanned, unchanged)


def test_the_core_reads_only_the_keys_its_sources_name() -> None:
    reader = CountingReader(ScanState({"a": frozenset({"c1"}), "z": frozenset({"c9"})}))
    sources = [FakeRepository("a"), FakeRepository("b"), FakeRepository("a")]
    assert all(isinstance(s, StatefulSource) for s in sources)
    incremental = ScanOptions(git=GitOptions(incremental=True))
    options = with_recorded_state(incremental, sources, reader)
    assert reader.asked == [["a", "b"]]  # once, each key once, never "z"
    assert options.state == ScanState({"a": frozenset({"c1"})})
    assert with_recorded_state(ScanOptions(), sources, reader) == ScanOptions()
    assert with_recorded_state(incremental, sources, None) == incremental
    assert reader.asked == [["a", "b"]]  # no key or no reader: not asked


def test_the_result_carries_what_the_scanned_sources_saw_and_skips_the_unchanged() -> None:
    recorded = ScanState({"a": frozenset({"c1"})}, {"b": "same"})
    options = ScanOptions(jobs=1, state=recorded, git=GitOptions(incremental=True))
    a, b = FakeRepository("a"), FakeRepository("b", signature="same")
    plan = _plan([a, b], options)
    pieces = split_sources(plan)
    done = execute_scan(plan, pieces, engine_for(plan.ruleset, options))
    result = finish_scan(plan, pieces, done)
    assert a.seen_in_options == {"c1"}  # the source read the recorded state from the options
    assert result.unchanged == ("b",) and b.seen_in_options == frozenset()  # never scanned
    assert result.state == ScanState({"a": frozenset({"c1", "a-new"})}, {"a": "new"})
    assert [f.location.path for f in result.findings] == ["a/app.py"]
    assert result.stats.counters["unchanged_targets"] == 1
