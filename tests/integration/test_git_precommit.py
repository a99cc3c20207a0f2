"""The pre-commit hook in `.pre-commit-hooks.yaml`, run by the real `pre-commit` package in a
temporary repository: a staged key blocks the commit, a key marked `leakguard:allow` passes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.git_repos import Builder, key

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = ("pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml")
TREES = ("leakguard", "detectors", "playbooks", "examples")  # the wheel force-includes them
INSTALL_SECONDS = 900  # the first run builds the hook's environment (pip, local wheels)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This working tree as it is now, committed into a repository pre-commit can clone."""
    dest = tmp_path_factory.mktemp("hooks") / "leakguard"
    dest.mkdir()
    for name in SNAPSHOT:
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for tree in TREES:
        shutil.copytree(ROOT / tree, dest / tree, ignore=ignore)
    b = Builder(dest)
    b.git("add", "-A")
    return dest, b.commit("snapshot")


def test_a_staged_key_blocks_the_commit_and_an_allowed_one_passes(
    hook_repo: tuple[Path, str], tmp_path: Path
) -> None:
    hooks, rev = hook_repo
    b = Builder(tmp_path / "project")
    b.write(
        ".pre-commit-config.yaml",
        f"repos:\n  - repo: {hooks}\n    rev: {rev}\n    hooks:\n      - id: leakguard\n",
    )
    first = b.commit("pre-commit config", ".pre-commit-config.yaml")
    env = {**b.env(), "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    env.pop("GIT_DIR", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args),
            cwd=b.path,
            env=env,
            capture_output=True,
            text=True,
            timeout=INSTALL_SECONDS,
            check=False,
        )

    pre_commit = shutil.which("pre-commit", path=os.path.dirname(sys.executable))
    assert pre_commit is not None
    installed = run(pre_commit, "install")
    assert installed.returncode == 0, installed.stderr

    b.write("settings.py", f"STRIPE = '{key('pre-commit')}'\n")
    b.git("add", "settings.py")
    blocked = run("git", "commit", "-m", "add a key")
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "stripe-live-secret-key" in output and "settings.py" in output
    assert key("pre-commit") not in output
    assert b.git("rev-parse", "HEAD") == first

    b.write("settings.py", f"STRIPE = '{key('pre-commit')}'  # leakguard:allow\n")
    b.git("add", "settings.py")
    allowed = run("git", "commit", "-m", "add an allowed key")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert b.git("rev-parse", "HEAD") != first
    assert b.git("show", "--name-only", "--format=", "HEAD") == "settings.py"
