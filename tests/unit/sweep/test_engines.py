"""One compiled engine per sweep worker (per thread), handed to every target's scan."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet
from leakguard.model import ScanResult, ScanStats
from leakguard.options import ScanOptions
from leakguard.scanner import run_scan
from leakguard.sweep import runner
from leakguard.sweep.config import load_config
from leakguard.sweep.runner import Engines, SweepSettings, run_sweep


def test_engines_holder_gives_one_engine_per_thread_and_pickles_as_its_rules() -> None:
    engines = Engines(RuleSet.load())
    first = engines.get()
    assert engines.get() is first
    other: list[Engine] = []
    thread = threading.Thread(target=lambda: other.append(engines.get()))
    thread.start()
    thread.join()
    assert other[0] is not first and other[0].ruleset is first.ruleset
    copy = pickle.loads(pickle.dumps(engines))
    assert copy.ruleset.version == engines.ruleset.version and copy.get() is not first


def test_run_scan_uses_the_engine_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.txt").write_text("sk_live_" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Jh1Gf0Ed\n")
    engine = Engine(RuleSet.load())

    def no_compile(*args: object, **kwargs: object) -> Engine:
        raise AssertionError("a second engine was compiled")

    monkeypatch.setattr("leakguard.scanner.Engine", no_compile)
    result = run_scan([str(tmp_path)], ScanOptions(jobs=1), engine=engine)
    assert [f.rule_id for f in result.findings] == ["stripe-live-secret-key"]


def test_an_in_process_sweep_compiles_the_rules_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("one", "two", "three"):
        (tmp_path / "targets" / name).mkdir(parents=True)
    (tmp_path / "sweep.yaml").write_text("targets:\n  - glob: targets/*\n")
    engines: list[Engine | None] = []

    def fake_run_scan(
        targets: Sequence[str], options: ScanOptions, *, engine: Engine | None = None, **_: object
    ) -> ScanResult:
        engines.append(engine)
        return ScanResult((), ScanStats(), tuple(targets))

    built: list[Engine] = []
    real_engine = Engine

    def counting_engine(ruleset: RuleSet) -> Engine:
        built.append(real_engine(ruleset))
        return built[-1]

    monkeypatch.setattr(runner, "run_scan", fake_run_scan)
    monkeypatch.setattr(runner, "Engine", counting_engine)
    run_sweep(load_config(tmp_path / "sweep.yaml"), SweepSettings(db=tmp_path / "lg.db", jobs=1))
    assert len(engines) == 3 and len(built) == 1 and all(e is built[0] for e in engines)
