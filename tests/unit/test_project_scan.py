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
