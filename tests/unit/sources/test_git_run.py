"""The git runner's environment, URL credentials and private state directories."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

import leakguard
from leakguard.errors import InputError
from leakguard.model import ScanState
from leakguard.sources import git_run
from leakguard.sources.remote import split_credentials
from leakguard.store.cursors import FileState

PACKAGE = Path(leakguard.__file__).parent
# modules that start other programs (playbook commands, the rehearsal sandbox, the demo's
# leakguard commands), never git
NOT_GIT = {"rotation/actions/flow.py", "rotation/sandbox.py", "demo.py"}


_STARTS = re.compile(
    r"subprocess\.(run|Popen|call|check_call|check_output|getoutput)\(|os\.(system|popen|exec\w*"
    r"|spawn\w*|posix_spawn\w*)\(|create_subprocess_\w+\("
)


def test_only_the_runner_starts_processes_in_the_git_sources() -> None:
    starters = {
        str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if _STARTS.search(p.read_text())
    }
    assert starters - NOT_GIT == {"sources/git_run.py"}
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        assert '["git"' not in text or path.name == "git_run.py", path
        # GitPython would start git on its own
        assert not re.search(r"^\s*(import git|from git import)\b", text, re.M), path


def test_the_callers_git_variables_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_DIR", "/elsewhere")
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'core.fsmonitor'='evil'")
    monkeypatch.setenv("GIT_SSH_COMMAND", "evil")
    monkeypatch.setenv("SSH_ASKPASS", "evil")
    monkeypatch.setenv("LEAKGUARD_UNRELATED", "kept")
    env = git_run.environment()
    assert "GIT_DIR" not in env and "GIT_CONFIG_PARAMETERS" not in env
    assert "SSH_ASKPASS" not in env and env["LEAKGUARD_UNRELATED"] == "kept"
    assert env["GIT_SSH_COMMAND"] == "ssh -o BatchMode=yes"
    assert env["GIT_CONFIG_GLOBAL"] == "/dev/null" and env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert env["GIT_ALLOW_PROTOCOL"] == "https:http:ssh:git:file"
    # and git itself sees the hardened configuration, whatever the caller's environment said
    proc = git_run.run(["config", "--get", "core.fsmonitor"])
    assert proc.stdout.strip() == b"false"


@pytest.mark.parametrize(
    ("url", "given", "credentials"),
    [
        (
            "https://ci:p%40ss@git.example.com/org/repo.git",
            "https://git.example.com/org/repo.git",
            {"LEAKGUARD_GIT_USERNAME": "ci", "LEAKGUARD_GIT_PASSWORD": "p@ss"},
        ),
        ("https://git.example.com/a.git", "https://git.example.com/a.git", {}),
        ("ssh://git:secret@host/a.git", "ssh://git@host/a.git", {}),
        ("ssh://git@host/a.git", "ssh://git@host/a.git", {}),
        ("git@github.com:org/a.git", "git@github.com:org/a.git", {}),
    ],
)
def test_credentials_leave_the_url(url: str, given: str, credentials: dict[str, str]) -> None:
    assert split_credentials(url) == (given, credentials)


def test_a_line_break_in_url_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(InputError) as err:
        split_credentials("https://u:se%0Acret@host/a.git")
    assert "se" not in err.value.message.split("host")[0]


def test_the_state_directory_is_private(tmp_path: Path) -> None:
    FileState(tmp_path / "new" / "state").write(ScanState({"repo": frozenset({"a" * 40})}))
    for path in (tmp_path / "new", tmp_path / "new" / "state", tmp_path / "new" / "state" / "git"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


def test_a_git_started_to_a_file_gets_the_hardened_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``start_to_file`` (the first git process of a scan, started before subprocess is
    loaded) gets what every other git process gets: the safe configuration on its command
    line, the caller's GIT_* variables dropped, no input."""
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'core.fsmonitor'='evil'")
    out = tmp_path / "out"
    with out.open("w+b") as fh:
        pid = git_run.start_to_file(
            ["config", "--get", "core.fsmonitor"], git_dir=tmp_path, output=fh.fileno()
        )
        assert pid is not None
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    assert out.read_bytes().strip() == b"false"
    with out.open("w+b") as fh:  # stdin is /dev/null: git reads nothing and ends
        pid = git_run.start_to_file(
            ["hash-object", "--stdin"], git_dir=tmp_path, output=fh.fileno()
        )
        assert pid is not None
        _, status = os.waitpid(pid, 0)
    assert out.read_bytes().strip() == b"e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # empty blob
