"""The documented database sequences of docs/playbooks.md, read from the page and run as
written: each ``leakguard`` line through the command line in-process (in the test's working
directory), each ``export`` line into the environment.

Only what the page shows as a placeholder is filled in, from a table the test gives: every
placeholder must appear in the block (a changed page fails the test instead of running less),
and nothing elided (``…``) may be left once they are filled. An ``export NAME=VALUE`` takes the
value the test gives for NAME when it gives one (a password, or the address of the test's
server where the page shows an example address); an elided value the test does not give is an
error; other exports are set as written.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from tests.support.cli import run_cli

PLAYBOOKS_MD = Path(__file__).resolve().parents[2] / "docs" / "playbooks.md"


def documented_commands(heading: str) -> list[str]:
    """The lines of the one ``sh`` block under ``heading`` (continuations joined, comments
    and blank lines dropped)."""
    text = PLAYBOOKS_MD.read_text(encoding="utf-8")
    assert heading in text, f"docs/playbooks.md has no section {heading!r}"
    section = re.split(r"\n#{2,3} ", text.split(heading, 1)[1], maxsplit=1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert len(blocks) == 1, f"{heading}: expected exactly one sh block, found {len(blocks)}"
    lines = []
    for line in blocks[0].replace("\\\n", " ").splitlines():
        command = re.sub(r"\s#.*$", "", line).strip()
        if command:
            lines.append(command)
    return lines


def run_documented(
    heading: str,
    placeholders: Mapping[str, str],
    exported: Mapping[str, str],
    monkeypatch: pytest.MonkeyPatch,
    check: Callable[[list[str], int, str], None],
) -> list[tuple[list[str], int, str]]:
    """Run the block under ``heading`` with ``placeholders`` (text -> value) filled in and
    ``exported`` values for ``export NAME=…``; ``check(argv, code, output)`` after each
    command. Returns every command's argv, exit code and output."""
    commands = documented_commands(heading)
    block = "\n".join(commands)
    for placeholder in placeholders:
        assert placeholder in block, f"{heading}: the placeholder {placeholder!r} is gone"
    done = []
    for line in commands:
        for placeholder, value in placeholders.items():
            line = line.replace(placeholder, value)
        argv = shlex.split(line)
        if argv[0] == "export":
            for pair in argv[1:]:
                name, _, value = pair.partition("=")
                assert name in exported or value != "…", f"{heading}: no value for {name}"
                monkeypatch.setenv(name, exported.get(name, value))
            continue
        assert argv[0] == "leakguard", f"{heading}: not a leakguard command: {line}"
        argv = [os.path.expandvars(a) for a in argv[1:]]
        assert not any("…" in a for a in argv), f"{heading}: an elided value is left: {line}"
        code, output = run_cli(argv)
        check(argv, code, output)
        done.append((argv, code, output))
    return done
