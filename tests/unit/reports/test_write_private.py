"""Reports, baselines and exports are written atomically and never through a planted link."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from leakguard.errors import InputError
from leakguard.reports import write_private


def test_a_new_file_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        write_private(tmp_path / "r.json", "{}\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == 0o600


def test_an_existing_file_is_replaced_not_rewritten(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    target.write_text("old")
    hard_link = tmp_path / "other-name"
    os.link(target, hard_link)  # someone else's name for the old file
    target.chmod(0o644)
    write_private(target, "new")
    assert target.read_text() == "new"
    assert hard_link.read_text() == "old"  # the old inode was neither truncated nor chmod-ed
    assert stat.S_IMODE(hard_link.stat().st_mode) == 0o644
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other-name", "r.json"]


def test_a_symlink_to_a_file_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep")
    link = tmp_path / "r.json"
    link.symlink_to(victim)
    with pytest.raises(InputError, match="symbolic link"):
        write_private(link, "new")
    assert victim.read_text() == "keep" and link.is_symlink()
    dangling = tmp_path / "d.json"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(InputError, match="symbolic link"):
        write_private(dangling, "new")
    assert not (tmp_path / "nowhere").exists()


def test_a_directory_or_a_missing_directory_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        write_private(tmp_path, "x")
    with pytest.raises(InputError, match="cannot write"):
        write_private(tmp_path / "missing" / "r.json", "x")


def test_a_pipe_is_written_in_place(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    write_private(fifo, "through the pipe\n")
    reader.join(30)
    assert received == [b"through the pipe\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # not replaced by a regular file


def test_a_full_device_is_one_error_and_is_not_replaced() -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    with pytest.raises(InputError, match="No space left on device"):
        write_private(Path("/dev/full"), "x" * 100_000)
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_non_utf8_text_cannot_crash_the_writer(tmp_path: Path) -> None:
    write_private(tmp_path / "r.txt", "name \udcff\n")
    assert (tmp_path / "r.txt").read_bytes() == b"name \\udcff\n"
