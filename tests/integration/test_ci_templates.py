"""The GitHub Action (action.yml) and the GitLab CI template, run step by step on this machine.

Each `run:`/`script:` step is executed with bash exactly as written, with the variables the CI
system would set (GITHUB_OUTPUT, GITHUB_ACTION_PATH, inputs as environment). Steps that call
other actions (`uses:`) cannot run here: for the SARIF upload the test checks the file it would
upload against the official SARIF 2.1.0 schema instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.reports.sarif_schema import check_official

ROOT = Path(__file__).parents[2]
STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc9f2c"
VENV_BIN = str(Path(sys.executable).parent)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _repo(tmp_path: Path, content: str) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "ci@example.com")
    _git(repo, "config", "user.name", "CI")
    (repo / "app.env").write_text(content)
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "initial")
    return repo


def _expand(text: str, inputs: dict[str, str], action_path: Path) -> str:
    text = text.replace("${{ github.action_path }}", str(action_path))
    return re.sub(r"\$\{\{ inputs\.([a-z-]+) \}\}", lambda m: inputs[m.group(1)], text)


def _run_action(repo: Path, tmp_path: Path, path_env: str, **given: str) -> dict[str, Any]:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    inputs.update(given)
    output_file = tmp_path / "github_output"
    output_file.write_text("")
    base_env = {
        "PATH": path_env,
        "HOME": str(tmp_path),
        "GITHUB_OUTPUT": str(output_file),
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_WORKSPACE": str(repo),
    }
    ran: dict[str, Any] = {"steps": {}, "log": ""}
    for step in action["runs"]["steps"]:
        if "run" not in step:
            ran["steps"][step["name"]] = "skipped (uses: an action)"
            continue
        condition = step.get("if")
        if condition and "fail-on-findings" in condition:
            outputs = dict(
                line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line
            )
            if not (inputs["fail-on-findings"] == "true" and outputs.get("exit-code") == "1"):
                continue
        env = {**base_env, **{k: _expand(v, inputs, ROOT) for k, v in step.get("env", {}).items()}}
        proc = subprocess.run(
            ["bash", "-c", step["run"]],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        ran["steps"][step["name"]] = proc.returncode
        ran["log"] += proc.stdout + proc.stderr
    ran["outputs"] = dict(
        line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line
    )
    return ran


def test_action_fails_the_job_on_a_leak_and_writes_valid_sarif(tmp_path: Path) -> None:
    repo = _repo(tmp_path, f"STRIPE_SECRET_KEY={STRIPE}\n")
    ran = _run_action(repo, tmp_path, f"{VENV_BIN}:/usr/bin:/bin")
    assert ran["steps"]["Install LeakGuard"] == 0 and "already installed" in ran["log"]
    assert ran["steps"]["Scan"] == 0  # the scan step records the code; the last step fails
    assert ran["outputs"]["exit-code"] == "1"
    assert ran["steps"]["Fail on findings"] == 1
    assert "::error title=LeakGuard::credentials found" in ran["log"]
    sarif = repo / ran["outputs"]["sarif-file"]
    import json

    doc = json.loads(sarif.read_text())
    check_official(doc)
    assert [r["ruleId"] for r in doc["runs"][0]["results"]] == ["stripe-live-secret-key"]
    assert STRIPE not in ran["log"] and STRIPE not in sarif.read_text()


def test_action_passes_a_clean_repository(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "STRIPE_SECRET_KEY=${STRIPE_SECRET_KEY}\n")
    ran = _run_action(repo, tmp_path, f"{VENV_BIN}:/usr/bin:/bin")
    assert ran["outputs"]["exit-code"] == "0"
    assert "Fail on findings" not in ran["steps"]


def test_action_warns_on_a_shallow_clone(tmp_path: Path) -> None:
    origin = _repo(tmp_path, "nothing here\n")
    (origin / "more.txt").write_text("more\n")
    _git(origin, "add", ".")
    _git(origin, "commit", "-qm", "second")
    shallow = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{origin}", str(shallow)],
        check=True,
        capture_output=True,
    )
    ran = _run_action(shallow, tmp_path, f"{VENV_BIN}:/usr/bin:/bin")
    assert "::warning title=LeakGuard::shallow clone" in ran["log"]


@pytest.mark.slow
def test_action_installs_leakguard_when_the_runner_lacks_it(tmp_path: Path) -> None:
    """The install step, for real: a fresh virtual environment with pip and nothing else."""
    fresh = tmp_path / "runner-python"
    subprocess.run([sys.executable, "-m", "venv", str(fresh)], check=True, capture_output=True)
    repo = _repo(tmp_path, "nothing to see\n")
    ran = _run_action(repo, tmp_path, f"{fresh / 'bin'}:/usr/bin:/bin", **{"upload-sarif": "false"})
    assert ran["steps"]["Install LeakGuard"] == 0, ran["log"][-2000:]
    assert "installed leakguard" in ran["log"]
    assert (fresh / "bin" / "leakguard").exists()
    assert ran["outputs"]["exit-code"] == "0"


def _gitlab_script(variables: dict[str, str]) -> tuple[str, dict[str, str]]:
    job = yaml.safe_load((ROOT / "ci" / "leakguard.gitlab-ci.yml").read_text())["leakguard"]
    env = {k: str(v) for k, v in job["variables"].items()}
    env.update(variables)
    lines = [*job["before_script"], *job["script"]]
    return "set -eo pipefail\n" + "\n".join(lines) + "\n", env


@pytest.mark.parametrize(("content", "expected"), [(f"KEY={STRIPE}\n", 1), ("clean\n", 0)])
def test_gitlab_job_exit_code_and_artifact(tmp_path: Path, content: str, expected: int) -> None:
    repo = _repo(tmp_path, content)
    script, env = _gitlab_script({})
    env.update({"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(tmp_path)})
    proc = subprocess.run(["bash", "-c", script], cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == expected, proc.stdout + proc.stderr
    assert (repo / "leakguard.json").exists()  # the artifact, written either way
    assert STRIPE not in proc.stdout + proc.stderr


def test_gitlab_job_without_leakguard_or_a_package_says_what_to_set(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "clean\n")
    script, env = _gitlab_script({})
    bare = tmp_path / "bin"
    bare.mkdir()
    os.symlink(shutil.which("git") or "/usr/bin/git", bare / "git")
    env.update({"PATH": f"{bare}:/bin", "HOME": str(tmp_path)})
    proc = subprocess.run(["bash", "-c", script], cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 2 and "set LEAKGUARD_PACKAGE" in proc.stdout
