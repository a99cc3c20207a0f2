"""The incremental state kept in files under the state directory (``--state-dir``)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from leakguard.errors import InputError
from leakguard.model import ScanState
from leakguard.store.cursors import FileState

A = "a" * 40
B = "b" * 40
C = "c" * 40


def test_file_state_is_0600_appends_and_survives_a_foreign_file(tmp_path: Path) -> None:
    state = FileState(tmp_path / "state")
    assert state.read(["/repo"]) == ScanState()
    state.write(ScanState({"/repo": frozenset({A})}))
    state.write(ScanState({"/repo": frozenset({B, A})}))
    assert state.read(["/repo", "/other"]) == ScanState({"/repo": frozenset({A, B})})
    path = state.path_for("/repo")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_bytes().startswith(b"# leakguard git commits v1 /repo\n")
    path.write_text("something else\n")
    assert state.read(["/repo"]) == ScanState()  # not our format: scan everything


def test_file_state_replaces_the_signature_and_keeps_no_temporary_file(tmp_path: Path) -> None:
    state = FileState(tmp_path / "state")
    state.write(ScanState({"/repo": frozenset({A})}, {"/repo": "sha256:1"}))
    state.write(ScanState(signatures={"/repo": "sha256:2"}))
    assert state.read(["/repo"]) == ScanState({"/repo": frozenset({A})}, {"/repo": "sha256:2"})
    signature = state.path_for("/repo", ".signature")
    assert stat.S_IMODE(signature.stat().st_mode) == 0o600
    assert sorted(p.name for p in state.dir.iterdir()) == sorted(
        [state.path_for("/repo").name, signature.name]
    )


def test_a_repository_with_no_new_commit_still_gets_its_state_file(tmp_path: Path) -> None:
    state = FileState(tmp_path / "state")
    state.write(ScanState({"/repo": frozenset()}))
    assert state.path_for("/repo").read_bytes() == b"# leakguard git commits v1 /repo\n"
    assert state.read(["/repo"]) == ScanState()


def test_unwritable_state_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(InputError, match="cannot write the incremental state"):
        FileState(blocker).write(ScanState({"/repo": frozenset({A})}))


def test_unreadable_state_file_is_a_clear_error(tmp_path: Path) -> None:
    state = FileState(tmp_path / "state")
    state.write(ScanState({"/repo": frozenset({A})}))
    state.path_for("/repo").unlink()
    state.path_for("/repo").mkdir()  # reading a directory fails even as root
    with pytest.raises(InputError, match="cannot read the incremental state"):
        state.read(["/repo"])


def test_scan_state_merges_commits_and_the_later_signature() -> None:
    first = ScanState({"r": frozenset({A})}, {"r": "s1"})
    second = ScanState({"r": frozenset({B}), "q": frozenset({A})}, {"r": "s2"})
    merged = first.merged(second)
    assert merged == ScanState({"r": frozenset({A, B}), "q": frozenset({A})}, {"r": "s2"})
    assert merged.seen("r") == {A, B} and merged.seen("x") == frozenset()
    assert merged.signature("r") == "s2" and merged.signature("q") is None
    assert ScanState().empty and not merged.empty


def _recorded(state: FileState, key: str) -> list[bytes]:
    return state.path_for(key).read_bytes().split(b"\n")[1:-1]


def test_a_full_scan_repeated_adds_no_commit_twice(tmp_path: Path) -> None:
    # every full (not incremental) scan hands over all the commits it walked
    state = FileState(tmp_path / "state")
    for _ in range(3):
        state.write(ScanState({"/repo": frozenset({A, B})}))
    assert sorted(_recorded(state, "/repo")) == [A.encode(), B.encode()]
    state.write(ScanState({"/repo": frozenset({A, B, C})}))
    assert _recorded(state, "/repo")[-1] == C.encode()  # appended, the others left as they were
    assert sorted(_recorded(state, "/repo")) == [A.encode(), B.encode(), C.encode()]


def test_a_state_file_holding_commits_twice_is_rewritten_once_each(tmp_path: Path) -> None:
    # what earlier versions left after a few full scans
    state = FileState(tmp_path / "state")
    state.write(ScanState({"/repo": frozenset()}))
    path = state.path_for("/repo")
    header = path.read_bytes()
    path.write_bytes(header + f"{A}\n{B}\n# a comment\n{A}\n{B}\n".encode())
    state.write(ScanState({"/repo": frozenset({B, C})}))
    assert path.read_bytes() == header + f"{A}\n{B}\n{C}\n".encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in state.dir.iterdir()) == [path.name]  # no temporary file left
    assert state.read(["/repo"]) == ScanState({"/repo": frozenset({A, B, C})})


def test_a_foreign_state_file_is_replaced_so_the_next_scan_can_be_incremental(
    tmp_path: Path,
) -> None:
    state = FileState(tmp_path / "state")
    path = state.path_for("/repo")
    path.parent.mkdir(parents=True)
    path.write_text("something else\n")
    state.write(ScanState({"/repo": frozenset({A})}))
    assert path.read_bytes() == f"# leakguard git commits v1 /repo\n{A}\n".encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert state.read(["/repo"]) == ScanState({"/repo": frozenset({A})})


def test_a_damaged_line_in_a_state_file_is_no_commit_and_no_error(tmp_path: Path) -> None:
    state = FileState(tmp_path / "state")
    state.write(ScanState({"/repo": frozenset({A})}))
    path = state.path_for("/repo")
    path.write_bytes(path.read_bytes() + b"\xff\xfe not an id\n\n# a note\n" + f"{B}\n".encode())
    assert state.read(["/repo"]).seen("/repo") == {A, B, "\ufffd\ufffd not an id"}
    state.write(ScanState({"/repo": frozenset({A, B, C})}))
    assert _recorded(state, "/repo")[-1] == C.encode()  # only the new commit appended


def test_new_commits_are_appended_in_order_and_a_new_file_is_sorted(tmp_path: Path) -> None:
    state = FileState(tmp_path / "state")
    state.write(ScanState({"/repo": frozenset({C, B})}))
    assert _recorded(state, "/repo") == [B.encode(), C.encode()]
    state.write(ScanState({"/repo": frozenset({C, "f" * 40, B, A})}))
    assert _recorded(state, "/repo") == [B.encode(), C.encode(), A.encode(), b"f" * 40]
