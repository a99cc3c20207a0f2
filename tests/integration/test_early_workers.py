"""A directory scan's workers forked before LeakGuard has loaded (:mod:`leakguard.early_worker`,
guessed by :mod:`leakguard.cli.early`): the console script's report is the one the CLI gives
without them, the project's configuration is applied by the guess too, and a guess that does
not match the scan is never used."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leakguard import early_worker
from leakguard.cli import early
from tests.support.cli import console_script, run_cli
from tests.support.keys import stripe_key
from tests.support.processes import gone

pytestmark = pytest.mark.integration

FILES = 6


@pytest.fixture(autouse=True)
def _nothing_left_started() -> Iterator[None]:
    early_worker._started = None
    yield
    early_worker.end()
    early_worker._started = None


@pytest.fixture
def build(tmp_path: Path) -> Path:
    """Six files of ~700 KB (so a scan on two or three workers has several batches), a key in
    each, and a bundle whose source map carries the key of its original source."""
    root = tmp_path / "build"
    root.mkdir()
    filler = "".join(f"export const item{n} = compute({n}, 'label-{n}');\n" for n in range(14_000))
    for n in range(FILES):
        middle = len(filler) // 2
        text = filler[:middle] + f"const key = '{stripe_key(f'early-{n}')}';\n" + filler[middle:]
        (root / f"module-{n}.js").write_text(text)
    mapped = stripe_key("early-mapped")
    (root / "app.js").write_text(f'var k="{mapped}";\n//# sourceMappingURL=app.js.map\n')
    source = f"export const k = '{mapped}';\n"
    (root / "app.js.map").write_text(
        json.dumps(
            {
                "version": 3,
                "sources": ["webpack://app/./src/pay.ts"],
                "sourcesContent": [source],
                "names": [],
                "mappings": "AAAA,IAAM",
            }
        )
    )
    return root


def _report(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def _in_process(args: list[str], out: Path) -> dict[str, Any]:
    code, output = run_cli([*args, "-f", "json", "-o", str(out)])
    assert code == 1, output
    return _report(out)


@pytest.mark.parametrize(("jobs", "more"), [(2, []), (3, []), (2, ["--no-history"])])
def test_the_console_script_scans_beside_its_early_workers_and_reports_the_same(
    build: Path, tmp_path: Path, jobs: int, more: list[str]
) -> None:
    args = ["scan", str(build), "-j", str(jobs), *more]
    done = console_script([*args, "-f", "json", "-o", "early.json"], tmp_path)
    assert done.returncode == 1, done.stderr  # findings
    early_report = _report(tmp_path / "early.json")
    assert early_report["stats"]["counters"]["early_workers"] == jobs - 1

    plain = _in_process(args, tmp_path / "plain.json")  # nothing forked early: the pool
    assert "early_workers" not in plain["stats"]["counters"]
    assert early_report["findings"] == plain["findings"]
    assert early_report["stats"]["files"] == plain["stats"]["files"] == FILES + 2
    places = {
        (f["location"]["path"], f["location"].get("original_path"))
        for f in early_report["findings"]
    }
    assert {(f"module-{n}.js", None) for n in range(FILES)} <= places
    assert ("app.js", "src/pay.ts") in places  # located through its map
    assert ("app.js.map", "src/pay.ts") in places


def test_the_guess_applies_the_projects_configuration_as_the_scan_does(
    build: Path, tmp_path: Path
) -> None:
    (build / ".leakguard.yaml").write_text("exclude:\n  - module-1.js\n")
    done = console_script(["scan", str(build), "-j", "2", "-f", "json", "-o", "r.json"], tmp_path)
    assert done.returncode == 1, done.stderr
    report = _report(tmp_path / "r.json")
    assert report["stats"]["counters"]["early_workers"] == 1  # the same plan: claimed
    paths = {f["location"]["path"] for f in report["findings"]}
    assert "module-1.js" not in paths and "module-2.js" in paths
    plain = _in_process(["scan", str(build), "-j", "2"], tmp_path / "plain.json")
    assert report["findings"] == plain["findings"]


def test_an_option_the_guess_does_not_know_forks_nothing(build: Path, tmp_path: Path) -> None:
    args = ["scan", str(build), "-j", "2", "--min-severity", "info", "-f", "json", "-o", "r.json"]
    done = console_script(args, tmp_path)
    assert done.returncode == 1, done.stderr
    assert "early_workers" not in _report(tmp_path / "r.json")["stats"]["counters"]


def test_a_scan_claims_the_workers_of_its_own_plan(build: Path, tmp_path: Path) -> None:
    args = ["scan", str(build), "-j", "2"]
    assert early.begin_workers(args) == 1  # forks this process: the helper plans the guess
    report = _in_process(args, tmp_path / "claimed.json")
    assert report["stats"]["counters"]["early_workers"] == 1
    assert len(report["findings"]) == FILES + 2


def test_a_scan_that_planned_otherwise_never_uses_the_guess(build: Path, tmp_path: Path) -> None:
    """The helper guessed a default scan; the scan excludes a file: not claimed, the helper is
    stopped, and the report is the one made without any helper."""
    args = ["scan", str(build), "-j", "2", "--exclude", "module-3.js"]
    expected = _in_process(args, tmp_path / "expected.json")
    assert early.begin_workers(["scan", str(build), "-j", "2"]) == 1
    started = early_worker._started
    assert started is not None
    helpers = [h.pid for h in started.helpers]
    report = _in_process(args, tmp_path / "guessed.json")
    assert "early_workers" not in report["stats"]["counters"]
    assert report["findings"] == expected["findings"]
    assert "module-3.js" not in {f["location"]["path"] for f in report["findings"]}
    assert all(gone(pid) for pid in helpers)


def test_what_the_walk_could_not_read_is_reported_beside_the_early_workers(
    build: Path, tmp_path: Path
) -> None:
    """A named pipe in the tree: the walk's warning is the scan's own piece, the batches are
    the workers' (the guess plans the same pieces)."""
    os.mkfifo(build / "pipe")
    args = ["scan", str(build), "-j", "2"]
    done = console_script([*args, "-f", "json", "-o", "early.json"], tmp_path)
    assert done.returncode == 1, done.stderr
    report = _report(tmp_path / "early.json")
    assert report["stats"]["counters"]["early_workers"] == 1
    plain = _in_process(args, tmp_path / "plain.json")
    assert report["findings"] == plain["findings"]
    assert report["stats"]["warnings"] == plain["stats"]["warnings"]
    assert any("pipe" in w for w in report["stats"]["warnings"])
