"""``Database.open`` takes only a new file, an empty one or a LeakGuard store, and never
changes the mode of a file it did not create."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from leakguard.errors import StoreError
from leakguard.store.db import Database


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_store_and_its_missing_directories_are_private(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "lg.db"
    with Database.open(path):
        pass
    assert _mode(tmp_path / "a") == 0o700 and _mode(tmp_path / "a" / "b") == 0o700
    assert _mode(path) == 0o600
    with Database.open(path) as db:  # and it opens again
        assert db.schema_version("anything") == 0


def test_an_existing_store_is_tightened_and_a_link_to_it_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "lg.db"
    Database.open(path).close()
    path.chmod(0o644)
    link = tmp_path / "alias.db"
    link.symlink_to(path)
    Database.open(link).close()  # opened, but no chmod through a link
    assert _mode(path) == 0o644
    Database.open(path).close()
    assert _mode(path) == 0o600


def test_an_empty_file_becomes_the_store(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch(0o644)
    Database.open(path).close()
    assert _mode(path) == 0o600


def _text(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("not a database, and not yours to chmod\n")
    path.chmod(0o644)
    return path


def _foreign(tmp_path: Path) -> Path:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE bookmarks (url TEXT)")
    path.chmod(0o644)
    return path


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path, 0o644)
    return path


def _link_to_text(tmp_path: Path) -> Path:
    link = tmp_path / "link.db"
    link.symlink_to(_text(tmp_path))
    return link


def _dangling(tmp_path: Path) -> Path:
    link = tmp_path / "dangling.db"
    link.symlink_to(tmp_path / "nowhere" / "x.db")
    return link


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda t: t, "is a directory"),
        (_text, "not an SQLite file"),
        (_foreign, "not a LeakGuard store"),
        (_fifo, "not a regular file"),
        (_link_to_text, "not an SQLite file"),
        (_dangling, "symbolic link to nothing"),
    ],
)
def test_refused_without_being_touched(tmp_path: Path, make: object, why: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    before = os.lstat(path)
    target_mode = _mode(path) if path.exists() else None
    with pytest.raises(StoreError, match=why):
        Database.open(path)
    after = os.lstat(path)
    assert (after.st_mode, after.st_size, after.st_mtime_ns) == (
        before.st_mode,
        before.st_size,
        before.st_mtime_ns,
    )
    if target_mode is not None:
        assert _mode(path) == target_mode
    assert not (tmp_path / "nowhere").exists()


def _count_elsewhere(path: Path) -> int:
    """Rows of ``t`` as another process sees them (it connects, reads and closes)."""
    done = subprocess.run(
        [sys.executable, "-c", _COUNT, str(path)], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


_COUNT = (
    "import sqlite3, sys\n"
    "conn = sqlite3.connect(sys.argv[1])\n"
    "print(conn.execute('SELECT COUNT(*) FROM t').fetchone()[0])\n"
    "conn.close()\n"
)


def test_a_second_open_in_the_same_process_keeps_the_first_ones_locks(tmp_path: Path) -> None:
    """Reading the file through another descriptor and closing it would drop this process's
    POSIX locks: another process closing its connection would then believe it was the last
    one, checkpoint and delete the write-ahead log this process still writes to."""
    path = tmp_path / "lg.db"
    first = Database.open(path)
    first.conn.execute("CREATE TABLE t (x)")
    first.conn.execute("INSERT INTO t VALUES (1)")
    Database.open(path).close()
    assert _count_elsewhere(path) == 1
    first.conn.execute("INSERT INTO t VALUES (2)")
    assert _count_elsewhere(path) == 2
    first.close()
