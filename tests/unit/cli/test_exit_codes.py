"""Every way a command can fail maps to one documented exit code and one line."""

from __future__ import annotations

import errno

import pytest

from leakguard.cli.app import handle_exception
from leakguard.errors import (
    EXIT_INTERNAL,
    EXIT_PIPE,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    EXIT_USAGE,
    InputError,
    Terminated,
)
from leakguard.redact import fingerprint
from tests.support.cli import run_cli
from tests.support.keys import stripe_key

KEY = stripe_key("exit-codes")


def _raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


@pytest.mark.parametrize(
    ("exc", "code", "line"),
    [
        (InputError("target not found: x"), EXIT_USAGE, "leakguard: error: target not found: x"),
        (KeyboardInterrupt(), EXIT_SIGINT, "leakguard: interrupted"),
        (Terminated(), EXIT_SIGTERM, "leakguard: terminated"),
        (
            OSError(errno.ENOSPC, "No space left on device"),
            EXIT_USAGE,
            "leakguard: error: No space left on device (writing the output)",
        ),
        (
            PermissionError(errno.EACCES, "Permission denied", "/srv/x"),
            EXIT_USAGE,
            "leakguard: error: Permission denied: /srv/x",
        ),
        (
            OSError(errno.ENAMETOOLONG, "File name too long", "a" * 300),
            EXIT_USAGE,
            "leakguard: error: File name too long: " + "a" * 300,
        ),
        (
            RecursionError("maximum recursion depth exceeded"),
            EXIT_USAGE,
            "leakguard: error: an input is nested too deeply to read (a YAML or JSON file?)",
        ),
    ],
)
def test_mapping(
    exc: BaseException, code: int, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert handle_exception(_raised(exc), verbose=False) == code
    assert capsys.readouterr().err == line + "\n"


def test_a_bug_is_exit_3_and_never_shows_its_message(capsys: pytest.CaptureFixture[str]) -> None:
    code = handle_exception(_raised(ValueError(f"bad {KEY}")), verbose=False)
    assert code == EXIT_INTERNAL == 3
    err = capsys.readouterr().err
    assert err.startswith("leakguard: internal error: ValueError")
    assert err.endswith("(rerun with -v for the traceback)\n")
    assert KEY not in err and "bad" not in err


def test_verbose_shows_the_traceback_with_keys_replaced(
    capsys: pytest.CaptureFixture[str],
) -> None:
    handle_exception(_raised(ValueError(f"bad {KEY}")), verbose=True)
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and "ValueError: bad" in err
    assert KEY not in err and fingerprint(KEY) in err


def test_a_closed_pipe_is_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    assert handle_exception(_raised(BrokenPipeError(errno.EPIPE, "x")), verbose=False) == 141
    assert EXIT_PIPE == 141
    assert capsys.readouterr().err == ""


def test_findings_show_never_echoes_a_pasted_key() -> None:
    code, output = run_cli(["findings", "show", KEY, "--db", "/nonexistent/lg.db"])
    assert code == 2
    assert KEY not in output and KEY[8:] not in output
    assert f"looks like a credential (not shown); its fingerprint is {fingerprint(KEY)}" in output


def test_findings_show_rejects_what_is_not_a_fingerprint_without_echoing_it() -> None:
    code, output = run_cli(["findings", "show", "hello world", "--db", "/nonexistent/lg.db"])
    assert code == 2
    assert "hello world" not in output and "expected a fingerprint" in output


def test_scan_ref_never_echoes_a_pasted_key() -> None:
    code, output = run_cli(["scan", ".", "--ref", KEY])
    assert code == 2
    assert KEY not in output and fingerprint(KEY) in output
