"""This repository scanned with its own `.leakguard.yaml`: nothing but fixtures hold keys, and a
key planted in a new source file is still found; the scan options that choose the config."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
KEY = "sk_live_" + "51Hx9QeWJKY40uvSwMFLZDe1f8rESQedUStPKR0CsTq7W"
LEAKGUARD = [str(Path(sys.executable).parent / "leakguard")]


def _scan(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LEAKGUARD, "scan", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tracked files of this checkout, without its history."""
    copy = tmp_path_factory.mktemp("self") / "leakguard"
    files = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    return copy


def test_this_repository_with_its_history_reports_nothing() -> None:
    done = _scan(".", "-q", "-j", "1")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_key_in_a_new_source_file_is_still_found(tree: Path) -> None:
    assert _scan(".", "-q", "-j", "1", cwd=tree).returncode == 0
    planted = tree / "leakguard" / "new_module.py"
    planted.write_text(f'STRIPE = "{KEY}"\n')
    try:
        done = _scan(".", "-f", "json", "-j", "1", cwd=tree)
        assert done.returncode == 1, done.stderr
        assert '"path": "leakguard/new_module.py"' in done.stdout
        assert KEY not in done.stdout
    finally:
        planted.unlink()


def test_no_config_and_exclude_and_config(tree: Path) -> None:
    everything = _scan(".", "-q", "-j", "1", "--no-config", cwd=tree)
    assert everything.returncode == 1  # the fixtures are there without the file
    narrowed = _scan(
        ".",
        "-q",
        "-j",
        "1",
        "--no-config",
        "--exclude",
        "detectors/",
        "--exclude",
        "tests/",
        "--exclude",
        "examples/",
        "--exclude",
        "leakguard/engine/public_examples.yaml",
        "--exclude",
        "docs/rules.md",
        cwd=tree,
    )
    assert narrowed.returncode == 0, narrowed.stdout
    app = tree / "examples" / "leaky-app"
    assert (
        _scan(str(app), "-q", "-j", "1", "--config", str(tree / ".leakguard.yaml")).returncode == 1
    )


def test_a_bad_config_is_one_line(tmp_path: Path) -> None:
    (tmp_path / ".leakguard.yaml").write_text("version: 1\nexclud: [x]\n")
    done = _scan(str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    assert ".leakguard.yaml:2: unknown key(s): exclud" in done.stderr
    assert "Traceback" not in done.stderr
