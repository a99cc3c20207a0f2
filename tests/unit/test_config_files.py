"""Loading configuration-like files: regular files only, size-capped, one clear error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from leakguard.errors import UsageError
from leakguard.yamlfile import read_config_text


def test_a_regular_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("targets: [.]\n")
    assert read_config_text(path, UsageError) == "targets: [.]\n"


def test_over_the_limit_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * 3 * 1024 * 1024)
    with pytest.raises(UsageError, match=r"big.yaml is over 2 MiB; not read"):
        read_config_text(path, UsageError, what="sweep configuration", limit=2 * 1024 * 1024)


def test_special_files_and_directories_are_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    for path in (tmp_path / "fifo", Path("/dev/zero")):
        with pytest.raises(UsageError, match="not a regular file"):
            read_config_text(path, UsageError)
    with pytest.raises(UsageError, match="is a directory"):
        read_config_text(tmp_path, UsageError)
    with pytest.raises(UsageError, match="not found"):
        read_config_text(tmp_path / "none", UsageError)
    (tmp_path / "bin").write_bytes(b"\xff\xfe")
    with pytest.raises(UsageError, match="not UTF-8"):
        read_config_text(tmp_path / "bin", UsageError)
