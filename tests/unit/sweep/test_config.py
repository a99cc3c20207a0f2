from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.errors import UsageError
from leakguard.options import MiB
from leakguard.sweep.config import load_config, parse_size


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    return path


def test_targets_with_their_own_options(tmp_path: Path) -> None:
    for name in ("a.git", "b.git"):
        (tmp_path / name).mkdir()
    cfg = load_config(
        _write(
            tmp_path,
            "jobs: 3\n"
            "dask: tcp://sched:8786\n"
            "webhook: http://127.0.0.1:9/hook\n"
            "targets:\n"
            "  - path: a.git\n"
            "    include_unreachable: true\n"
            "    refs: [main, 'v*']\n"
            "  - glob: '*.git'\n"
            "    max_file_size: 2MB\n"
            "  - url: https://git.example.com/org/api.git\n"
            "  - /var/log/app\n",
        )
    )
    assert (cfg.jobs, cfg.dask, cfg.webhook) == (3, "tcp://sched:8786", "http://127.0.0.1:9/hook")
    targets, errors = cfg.targets()
    assert errors == []
    labels = [t.label for t in targets]
    a, b = str(tmp_path / "a.git"), str(tmp_path / "b.git")
    assert labels == [a, b, "https://git.example.com/org/api.git", "/var/log/app"]
    first = targets[0].scan_options(tmp_path / "lg.db")
    assert first.git.include_unreachable and first.git.refs == ("main", "v*")
    assert first.git.incremental and first.jobs == 1 and first.db == tmp_path / "lg.db"
    assert targets[1].scan_options(tmp_path / "x").max_file_bytes == 2 * MiB


def test_a_glob_matching_nothing_is_a_target_error(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, "targets:\n  - glob: /nonexistent/*.git\n"))
    targets, errors = cfg.targets()
    assert targets == []
    assert errors[0][0] == "/nonexistent/*.git" and "sweep.yaml:2" in errors[0][1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "targets:\n  - path: x\n    colour: red\n",
            "sweep.yaml:3: unknown target option 'colour'",
        ),
        ("targets:\n  - path: x\n    url: y\n", "sweep.yaml:2: a target needs exactly one of"),
        ("targets:\n  - path: x\nretries: 3\n", "sweep.yaml:3: unknown key 'retries'"),
        ("targets: []\n", "sweep.yaml:1: `targets:` must be a non-empty list"),
        ("targets:\n  - path: x\n    max_file_size: lots\n", "sweep.yaml:3: invalid size"),
        (
            "targets:\n  - path: x\n    include_unreachable: maybe\n",
            "sweep.yaml:3: `include_unreachable:`",
        ),
        ("jobs: -1\ntargets:\n  - path: x\n", "sweep.yaml:1: `jobs:`"),
        ("dask: localhost\ntargets:\n  - path: x\n", "sweep.yaml:1: `dask:` must be"),
        ("targets:\n  - path: [x\n", "sweep.yaml:3: invalid YAML"),
        ("- path: x\n", "a sweep configuration is a mapping"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        load_config(_write(tmp_path, text))
    assert message in err.value.message


def test_missing_config_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_sizes() -> None:
    assert parse_size("512KB", "x") == 512 * 1024
    assert parse_size("10 mb", "x") == 10 * MiB
    assert parse_size(1000, "x") == 1000


def test_webhook_format_and_fail_on_target_error_from_the_file(tmp_path: Path) -> None:
    cfg = load_config(
        _write(tmp_path, "webhook_format: teams\nfail_on_target_error: true\ntargets: [a]\n")
    )
    assert (cfg.webhook_format, cfg.fail_on_target_error) == ("teams", True)
    plain = load_config(_write(tmp_path, "targets: [a]\n"))
    assert (plain.webhook_format, plain.fail_on_target_error) == ("json", False)
    with pytest.raises(UsageError, match=r"sweep.yaml:1: unknown webhook format 'irc'"):
        load_config(_write(tmp_path, "webhook_format: irc\ntargets: [a]\n"))
    with pytest.raises(UsageError, match=r"sweep.yaml:2: `fail_on_target_error:` must be"):
        load_config(_write(tmp_path, "targets: [a]\nfail_on_target_error: 'yes please'\n"))
