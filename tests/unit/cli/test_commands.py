"""Command registration: one module for a named command, all of them otherwise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from leakguard.cli.commands import COMMANDS, registrars


def test_a_named_command_registers_only_its_module() -> None:
    assert [r.__module__ for r in registrars(["scan", ".", "-q"])] == ["leakguard.cli.scan"]
    assert [r.__module__ for r in registrars(["-v", "rules", "list"])] == ["leakguard.cli.rules"]


def test_help_and_unknown_names_register_everything() -> None:
    everything = {f"leakguard.cli.{m}" for m in COMMANDS.values()}
    assert {r.__module__ for r in registrars(["--help"])} == everything
    assert {r.__module__ for r in registrars(["nosuch"])} == everything
    assert {r.__module__ for r in registrars(None)} == everything


def test_a_scan_does_not_import_the_graph_machinery(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from leakguard.cli import app\n"
        f"try:\n    app.main(['scan', {str(tmp_path)!r}])\nexcept SystemExit:\n    pass\n"
        "print('networkx' in sys.modules, 'leakguard.cli.sweep' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "False False"
