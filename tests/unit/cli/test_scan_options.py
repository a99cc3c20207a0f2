"""Command-line values mapped onto the frozen option objects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leakguard.cli.app import _wants_verbose
from leakguard.cli.scan import build_options, progress_bar, units_text
from leakguard.errors import UsageError
from leakguard.model import Severity
from leakguard.options import MiB, parse_size


def test_every_option_lands_in_scan_options(tmp_path: Path) -> None:
    opts = build_options(
        rules=[tmp_path / "r1", tmp_path / "r2"],
        jobs=2,
        no_history=True,
        include_unreachable=True,
        refs=["main", "v1.0"],
        incremental=True,
        db=tmp_path / "lg.db",
        cache_dir=tmp_path / "cache",
        max_file_size="5MB",
        show_secrets=True,
        baseline=tmp_path / "b.json",
        min_severity="HIGH",
    )
    assert opts.rules_dirs == (tmp_path / "r1", tmp_path / "r2")
    assert opts.jobs == 2 and opts.max_file_bytes == 5 * MiB
    assert opts.git.history is False and opts.git.include_unreachable is True
    assert opts.git.refs == ("main", "v1.0") and opts.git.incremental is True
    assert opts.db == tmp_path / "lg.db" and opts.cache_dir == tmp_path / "cache"
    assert opts.show_secrets and opts.baseline == tmp_path / "b.json"
    assert opts.min_severity is Severity.HIGH


def test_defaults() -> None:
    opts = build_options()
    assert opts.git.history and not opts.show_secrets and opts.min_severity is Severity.INFO
    assert opts.max_file_bytes == 100 * MiB


@pytest.mark.parametrize(
    ("text", "size"),
    [("100", 100), ("512k", 512 * 1024), ("5MB", 5 * MiB), ("1.5 GiB", 1536 * MiB)],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "big", "-5MB", "0", "5XB"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(UsageError, match="invalid size"):
        parse_size(text)


def test_negative_jobs() -> None:
    with pytest.raises(UsageError, match="--jobs"):
        build_options(jobs=-1)


def test_verbose_flag_detection() -> None:
    assert _wants_verbose(["scan", ".", "-v"])
    assert _wants_verbose(["scan", "--verbose", "."])
    assert not _wants_verbose(["scan", ".", "--", "-v"])
    assert not _wants_verbose(["scan", "."])


def test_no_progress_bar_off_a_terminal() -> None:
    with progress_bar(True) as bar:  # pytest captures stderr: not a terminal
        assert bar is None
    with progress_bar(False) as bar:
        assert bar is None


def test_progress_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import sys

    main_fd, tty_fd = os.openpty()
    with os.fdopen(tty_fd, "w") as tty:
        monkeypatch.setattr(sys, "stderr", tty)
        with progress_bar(True) as bar:
            assert bar is not None
            bar.start(3)
            bar.read({"files": 2, "bytes": 3 * 1024 * 1024, "commits": 0, "blobs": 0})
            bar.advance()
            bar.read({"files": 0, "bytes": 0, "commits": 412, "blobs": 3021})
            bar.advance(2)
        tty.flush()
    drawn = b""
    while True:  # everything written before the slave closed; EIO marks its end
        try:
            block = os.read(main_fd, 65536)
        except OSError:
            break
        if not block:
            break
        drawn += block
    os.close(main_fd)
    assert b"scanning" in drawn
    assert b"412 commits" in drawn and b"3,021 blobs" in drawn and b"3.0 MB" in drawn
    assert b"/3" not in drawn  # no count of internal pieces


def test_units_text_speaks_of_commits_blobs_files_bytes_and_throughput() -> None:
    assert units_text({}, 0) == "0 files · 0 B"
    assert units_text({"files": 1200, "bytes": 10 * 1024 * 1024}, 2.0) == (
        "1,200 files · 10.0 MB at 5.0 MB/s"
    )
    git = {"commits": 412, "blobs": 3021, "files": 0, "bytes": 2048}
    assert units_text(git, 0.1) == "412 commits · 3,021 blobs · 2.0 KB"  # too early for a rate


def test_an_unknown_engine_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown --engine 'fast'"):
        build_options(engine="fast")


def _hyperscan_loads() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("chosen", ["re", "hyperscan"])
def test_engine_given_on_the_command_line_beats_the_environment(
    chosen: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--engine`` is the caller's explicit choice; LEAKGUARD_ENGINE only sets the default.
    The JSON report says which engine ran."""
    from typer.testing import CliRunner

    from tests.support.cli import leakguard_app

    if not _hyperscan_loads():
        pytest.skip("both engines are needed to tell the choice from the default")
    other = "hyperscan" if chosen == "re" else "re"
    monkeypatch.setenv("LEAKGUARD_ENGINE", other)
    (tmp_path / "a.txt").write_text("nothing to see\n")
    args = ["scan", str(tmp_path / "a.txt"), "-f", "json", "--cache-dir", str(tmp_path / "c")]
    picked = CliRunner().invoke(leakguard_app(), [*args, "--engine", chosen])
    default = CliRunner().invoke(leakguard_app(), args)
    assert picked.exit_code == 0 and default.exit_code == 0, picked.output + default.output
    assert json.loads(picked.stdout)["stats"]["engine"] == chosen
    assert json.loads(default.stdout)["stats"]["engine"] == other


def test_without_hyperscan_the_re_engine_runs_and_says_so(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tests.support.cli import leakguard_app

    (tmp_path / "a.txt").write_text("nothing to see\n")
    args = ["scan", str(tmp_path / "a.txt"), "-f", "json", "--cache-dir", str(tmp_path / "c")]
    res = CliRunner().invoke(leakguard_app(), [*args, "--engine", "auto"])
    assert res.exit_code == 0, res.output
    expected = "hyperscan" if _hyperscan_loads() else "re"
    assert json.loads(res.stdout)["stats"]["engine"] == expected
