"""A project's `.leakguard.yaml` applied to scans: excludes, allowlists, disabled rules, and an
explicit command-line value winning over the file."""

from __future__ import annotations

import subprocess
from pathlib import Path

from leakguard.config import CONFIG_NAME, load
from leakguard.model import Severity
from leakguard.options import ScanOptions, with_project
from leakguard.redact import fingerprint
from leakguard.scanner import run_scan

KEY = "sk_live_4eC39HqLyjWDarjtT1zdp7dc9f2c"
OTHER = "sk_live_9xZ39HqLyjWDarjtT1zdp7dc1a2b"
GH = "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"


def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def _scan(root: Path, config: str, **given: object) -> set[tuple[str, str]]:
    (root / CONFIG_NAME).write_text(config)
    options = with_project(ScanOptions(jobs=1, **given), load(root / CONFIG_NAME))  # type: ignore[arg-type]
    result = run_scan([str(root)], options)
    return {(f.location.path, f.rule_id) for f in result.findings}


def test_excludes_and_default_excludes(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "src/app.py": f'KEY = "{KEY}"\n',
            "tests/fixtures/keys.txt": f"{OTHER}\n",
            "web/node_modules/lib/index.js": f'k="{OTHER}"\n',
            "dist/app.js": f'k="{OTHER}"\n',  # build output: always scanned
            "package-lock.json": f'{{"x": "{OTHER}"}}\n',
        },
    )
    found = _scan(tmp_path, "exclude: [tests/fixtures/]\n")
    assert {p for p, _ in found} == {"src/app.py", "dist/app.js"}


def test_allowlists_by_value_stopword_and_path(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "a.env": f"A={KEY}\nB={OTHER}\nC={GH}\n",
            "docs/guide.md": f"use {OTHER}\n",
        },
    )
    config = (
        f"allow:\n  values: ['{KEY}']\n  paths: [docs/]\n  rules:\n"
        "    github-personal-access-token:\n      stopwords: [zqwbu]\n"
    )
    found = _scan(tmp_path, config)
    assert found == {("a.env", "stripe-live-secret-key")}


def test_disabled_rules_and_the_files_severity_floor(tmp_path: Path) -> None:
    _tree(tmp_path, {"a.env": f"A={KEY}\nC={GH}\n"})
    assert _scan(tmp_path, "disable_rules: [github-personal-access-token]\n") == {
        ("a.env", "stripe-live-secret-key")
    }


def test_an_explicit_severity_wins_over_the_file(tmp_path: Path) -> None:
    (tmp_path / CONFIG_NAME).write_text("min_severity: critical\n")
    project = load(tmp_path / CONFIG_NAME)
    explicit = with_project(ScanOptions(min_severity=Severity.INFO), project, severity_given=True)
    from_file = with_project(ScanOptions(min_severity=Severity.INFO), project)
    assert explicit.min_severity == Severity.INFO and from_file.min_severity == Severity.CRITICAL


def test_excluded_paths_in_git_history_are_not_reported(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    _tree(repo, {"tests/fixtures/k.txt": f"{OTHER}\n", "src/app.py": f'K="{KEY}"\n'})
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "."],
        ["-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "x"],
    ):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
    found = _scan(repo, "exclude: [tests/fixtures/]\n")
    assert {p for p, _ in found} == {"src/app.py"}
    assert fingerprint(OTHER) not in str(found)


def test_a_secret_excluded_in_one_place_is_reported_in_another(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    _tree(repo, {"tests/fixtures/k.txt": f"{OTHER}\n", "docs/setup.md": f"key: {OTHER}\n"})
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "."],
        ["-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "x"],
    ):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
    found = _scan(repo, "exclude: [tests/fixtures/]\n")
    assert {p for p, _ in found} == {"docs/setup.md"}


def test_a_sweep_target_applies_its_own_configuration(tmp_path: Path) -> None:
    from tests.support.cli import run_cli

    good, bad = tmp_path / "good", tmp_path / "bad"
    _tree(good, {"src/app.py": f'K="{KEY}"\n', "fixtures/k.txt": f"{OTHER}\n"})
    (good / CONFIG_NAME).write_text("exclude: [fixtures/]\n")
    _tree(bad, {"app.env": f"K={OTHER}\n"})
    (bad / CONFIG_NAME).write_text("exclud: [x]\n")
    config = tmp_path / "sweep.yaml"
    config.write_text(f"targets:\n  - path: {good}\n  - path: {bad}\n")
    report = tmp_path / "sweep.json"
    args = ["sweep", str(config), "--db", str(tmp_path / "lg.db"), "-f", "json", "-o", str(report)]
    code, out = run_cli([*args, "-j", "1"])
    assert code == 1, out
    import json

    doc = json.loads(report.read_text())
    paths = {f["location"]["path"] for f in doc["findings"]}
    assert paths == {"src/app.py"}  # the good target's fixture is excluded by its own file
    failed = [t for t in doc["targets"] if t.get("error")]
    assert len(failed) == 1 and "unknown key(s): exclud" in failed[0]["error"]
