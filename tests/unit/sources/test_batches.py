"""A directory's files cut into batches for the workers: guided sizes, each file once."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.options import ScanOptions
from leakguard.sources import filesystem
from leakguard.sources.filesystem import DirectorySource, FileBatch

FILE = 1000


def _batches(root: Path, jobs: int) -> list[tuple[str, ...]]:
    pieces = DirectorySource(root, "tree").split(ScanOptions(jobs=jobs))
    return [p.relpaths for p in pieces if isinstance(p, FileBatch)]


@pytest.mark.parametrize("jobs", [2, 3])
def test_batches_shrink_as_the_tree_is_cut_and_hold_every_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    monkeypatch.setattr(filesystem, "MIN_BATCH_BYTES", FILE)
    monkeypatch.setattr(filesystem, "MAX_BATCH_BYTES", 1000 * FILE)
    names = [f"f{n:03}.txt" for n in range(240)]
    for name in names:
        (tmp_path / name).write_bytes(b"x" * FILE)
    batches = _batches(tmp_path, jobs)
    assert sorted(rel for batch in batches for rel in batch) == names
    sizes = [len(batch) for batch in batches]  # in the order they are handed out
    assert sizes == sorted(sizes, reverse=True)
    # the first holds a share of everything per worker, the last one file
    assert sizes[0] == -(-len(names) // (filesystem.SHARE_PER_WORKER * jobs))
    assert sizes[-1] == 1
    # each holds about that share of what was left when it was cut
    left = len(names)
    for size in sorted(sizes, reverse=True):
        assert size == max(1, -(-left // (filesystem.SHARE_PER_WORKER * jobs))), sizes
        left -= size


def test_a_tree_within_one_small_batch_is_one_batch(tmp_path: Path) -> None:
    for n in range(5):
        (tmp_path / f"f{n}.txt").write_bytes(b"x" * FILE)
    assert len(_batches(tmp_path, 2)) == 1
