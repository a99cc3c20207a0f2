"""Text that reaches the terminal from files and servers (a trail's name and problems, a run's
progress and diagnostics) has its control characters escaped, so a crafted name or a backend's
error body cannot move the cursor, clear the screen or retitle the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakguard.cli import playbook as playbook_cli
from leakguard.rotation.runner import Event
from tests.support.cli import leakguard_app

CLEAR = "\x1b[2J"


def test_an_audit_trail_name_with_escapes_is_shown_escaped(tmp_path: Path) -> None:
    trail = tmp_path / f"trail{CLEAR}.jsonl"
    trail.write_text('{"not": "a trail entry"}\n')
    res = CliRunner().invoke(
        leakguard_app(), ["audit", "verify", str(trail), "--db", str(tmp_path / "lg.db")]
    )
    assert res.exit_code == 1, res.output
    assert "\x1b" not in res.stderr and "\\x1b[2J" in res.stderr


@pytest.mark.parametrize("kind", ["done", "fail"])
def test_progress_lines_are_escaped(kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    playbook_cli._progress(Event(kind, "s1", f"vault said: {CLEAR}\x07 denied"))
    out, err = capsys.readouterr()
    shown = out + err
    assert "\x1b" not in shown and "\x07" not in shown
    assert "\\x1b[2J\\x07 denied" in shown
