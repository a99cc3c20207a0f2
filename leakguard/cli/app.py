"""The ``leakguard`` command. Each command group lives in its own module and registers itself."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

from leakguard import __version__, collector
from leakguard.cli import plainvalues
from leakguard.errors import (
    EXIT_INTERNAL,
    EXIT_PIPE,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    EXIT_USAGE,
    LeakguardError,
    Terminated,
)
from leakguard.redact import scrub_credentials, terminal_safe

_VERBOSE = "leakguard.verbose"
_ARGS = "leakguard.args"
_PASS_THROUGH = (typer.Exit, typer.Abort, typer.TyperException, SystemExit)


def _wants_verbose(args: list[str]) -> bool:
    for arg in args:
        if arg == "--":
            return False
        if arg in ("-v", "--verbose"):
            return True
    return False


def _say(text: str, args: Sequence[str]) -> None:
    """One message on stderr: command-line values that look like credentials replaced by their
    fingerprint, URL credentials hidden, control characters escaped."""
    safe = terminal_safe(scrub_credentials(text, args), keep_newlines=True)
    with contextlib.suppress(OSError):  # stderr itself is gone: nothing left to tell
        typer.echo(safe, err=True)


def _traceback(exc: BaseException, args: Sequence[str]) -> None:
    """The traceback (never locals) on stderr, for -v."""
    import traceback  # only for -v: its imports (tokenize, linecache) are not start-up's

    _say("".join(traceback.format_exception(exc)).rstrip("\n"), args)


def report_error(exc: LeakguardError, *, verbose: bool, args: Sequence[str] = ()) -> None:
    """One line (plus its hint) on stderr; with ``-v`` the traceback first. Locals are never
    shown, and error messages never hold secret values."""
    if verbose:
        _traceback(exc, args)
    for each in getattr(exc, "errors", None) or (exc,):  # InputErrors: one line each
        _say(f"leakguard: error: {each.diagnostics()}", args)


def _os_error_text(exc: OSError) -> str:
    """The system's reason and the file names: never a free-form message (a library's could
    quote the content it choked on)."""
    what = exc.strerror or type(exc).__name__
    names = [n for n in (exc.filename, exc.filename2) if n is not None]
    shown = [os.fsdecode(n) if isinstance(n, bytes) else str(n) for n in names]
    return f"{what}: {' -> '.join(shown)}" if shown else f"{what} (writing the output)"


def _where(exc: BaseException) -> str:
    """``module.py:LINE`` of the innermost LeakGuard frame: where the bug is, never a value."""
    import traceback

    place = ""
    for frame, line in traceback.walk_tb(exc.__traceback__):
        path = frame.f_code.co_filename
        if f"{os.sep}leakguard{os.sep}" in path:
            place = f" at {path.rsplit(os.sep + 'leakguard' + os.sep, 1)[1]}:{line}"
    return place


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null so the buffered report that failed is not retried (and does not
    fail again) when the interpreter exits."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (a test runner's buffer)


def handle_exception(exc: BaseException, *, verbose: bool, args: Sequence[str] = ()) -> int:
    """Say what went wrong in one line and return the documented exit code: 2 for anything the
    input or the environment caused, 130/143 for signals, 3 for a bug in LeakGuard."""
    if isinstance(exc, LeakguardError):
        report_error(exc, verbose=verbose, args=args)
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        _say("leakguard: interrupted", args)
        return EXIT_SIGINT
    if isinstance(exc, Terminated):
        _say("leakguard: terminated", args)
        return EXIT_SIGTERM
    if verbose:
        _traceback(exc, args)
    if isinstance(exc, BrokenPipeError) and exc.filename is None:
        _silence_stdout()
        return EXIT_PIPE
    if isinstance(exc, OSError):
        if exc.filename is None and exc.errno in (errno.ENOSPC, errno.EIO, errno.EDQUOT):
            _silence_stdout()
        _say(f"leakguard: error: {_os_error_text(exc)}", args)
        return EXIT_USAGE
    if isinstance(exc, RecursionError):
        _say(
            "leakguard: error: an input is nested too deeply to read (a YAML or JSON file?)",
            args,
        )
        return EXIT_USAGE
    _say(
        f"leakguard: internal error: {type(exc).__name__}{_where(exc)}"
        + ("" if verbose else " (rerun with -v for the traceback)"),
        args,
    )
    return EXIT_INTERNAL


def tidy_metavars(command: Any, ctx: Any) -> None:
    """Help shows what to type, not Python types: flags show nothing (not ``<bool>``), an
    option or argument without a metavar shows its name in capitals (not ``<list[str]>`` or
    ``{targets}``). Applied to every command once, before any help is drawn."""
    # typer vendors its own click: parameters are recognised by what they say they are
    for param in command.get_params(ctx):
        if param.param_type_name == "argument":
            _tidy_argument(param)
        elif param.metavar is not None:
            continue
        elif getattr(param, "is_flag", False) or getattr(param, "count", False):
            param.metavar = ""
        elif param.opts:  # --format -> FORMAT
            param.metavar = max(param.opts, key=len).lstrip("-").upper()
    for sub in getattr(command, "commands", {}).values():
        tidy_metavars(sub, type(ctx)(sub, parent=ctx, info_name=sub.name))


def _tidy_argument(param: Any) -> None:
    """``TARGET...`` in the usage line and the help (typer prints ``{targets}...`` and the
    Python type ``<list[str]>``)."""
    name = (param.metavar or param.name or "ARG").upper()
    if param.nargs != 1 and not name.endswith("..."):
        name += "..."
    param.metavar = name
    usage = name if param.required else f"[{name}]"
    setattr(param, "get_usage_pieces", lambda ctx: [usage])  # noqa: B010
    setattr(param, "display_type_rich", lambda ctx: None)  # noqa: B010


#: click's exception base (typer ships its own copy of click): a command line it cannot parse
_CLICK_EXCEPTION: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)


def _usage_line(exc: Any) -> str:
    """``leakguard: error: WHAT (usage: leakguard scan [OPTIONS] TARGET...)``: one line."""
    message = exc.format_message().rstrip(".").replace("\n", " ")
    if type(exc).__name__ == "MissingParameter":  # "Missing argument 'TARGET...'"
        message = message.replace("Missing argument", "missing").replace("'", "")
    ctx = getattr(exc, "ctx", None)
    if ctx is None:
        return f"leakguard: error: {message}"
    usage = " ".join(ctx.get_usage().split())  # "Usage: leakguard scan [OPTIONS] TARGET..."
    usage = usage[0].lower() + usage[1:] if usage else usage
    return f"leakguard: error: {message} ({usage}; --help for more)"


class _GuardedGroup(TyperGroup):
    """Turns anything a command raises into one line and its documented exit code."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if ctx.parent is None:
            tidy_metavars(self, ctx)
            plainvalues.install(self, ctx)  # values already right skip pydantic: a faster start
        ctx.meta[_VERBOSE] = _wants_verbose(args)
        ctx.meta[_ARGS] = tuple(args)
        result: list[str] = super().parse_args(ctx, args)
        return result

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """A command line click cannot parse (a missing argument, an unknown option, a bad
        number) is one line on stderr and exit 2, not a box of help."""
        if not standalone_mode:
            return super().main(
                args, prog_name, complete_var, standalone_mode, windows_expand_args, **extra
            )
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except _CLICK_EXCEPTION as exc:
            _say(_usage_line(exc), tuple(args or ()))
            sys.exit(getattr(exc, "exit_code", EXIT_USAGE))
        except typer.Abort:
            _say("leakguard: aborted", tuple(args or ()))
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """The command ``args`` name; the collector paused for start-up is resumed here for
        every command but ``scan``, which resumes it once its engine is built."""
        resolved = super().resolve_command(ctx, args)
        if resolved[0] != "scan":
            collector.resume()
        return resolved

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except typer.TyperException as exc:  # a usage error quotes the value it rejects
            exc.message = terminal_safe(scrub_credentials(exc.message, ctx.meta.get(_ARGS, ())))
            raise
        except _PASS_THROUGH:
            raise
        except BaseException as exc:
            verbose = bool(ctx.meta.get(_VERBOSE))
            code = handle_exception(exc, verbose=verbose, args=ctx.meta.get(_ARGS, ()))
            raise typer.Exit(code) from None


app = typer.Typer(
    cls=_GuardedGroup,
    name="leakguard",
    help=(
        "Find leaked credentials in code, git history, bundles, archives and logs; map who uses "
        "them; rotate them without an outage.\n\n"
        "Start with `leakguard scan PATH`.\n\n"
        "Exit codes: 0 nothing found, 1 credentials found, 2 usage, input or environment error "
        "(bad option, unreadable target, full disk), 3 internal error (a bug: rerun with -v), "
        "130 interrupted (SIGINT), 143 terminated (SIGTERM), 141 output pipe closed."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=True,
    rich_markup_mode="markdown",
)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Show the traceback of an error (any command)."
    ),
) -> None:
    if version:
        typer.echo(f"leakguard {__version__}")
        raise typer.Exit(0)
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


def _register(args: list[str] | None = None) -> None:
    """Register the command ``args`` names (a faster start), or all commands."""
    from leakguard.cli import commands

    for register in commands.registrars(args):
        register(app)


def _raise_terminated(signum: int, frame: FrameType | None) -> NoReturn:
    raise Terminated()


@contextlib.contextmanager
def _terminate_on_sigterm() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C (worker pools stopped, transactions rolled back)."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _redeliver_swallowed_interrupts(previous: Any) -> Any:
    """Python cannot raise out of some callbacks (a weakref callback of the import system, a
    ``__del__``): a Ctrl-C landing there is printed as "Exception ignored" and lost, and the run
    would go on as if nothing happened. Deliver the same signal again a moment later, outside
    the callback, so an interrupt is never lost and never shows a traceback."""

    def hook(unraisable: Any) -> None:
        exc = unraisable.exc_value
        if isinstance(exc, KeyboardInterrupt | Terminated):
            signum = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
            again = threading.Timer(0.05, os.kill, (os.getpid(), signum))
            again.daemon = True
            again.start()
            return
        previous(unraisable)

    return hook


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = _wants_verbose(args)
    code: Any = 0
    sys.unraisablehook = _redeliver_swallowed_interrupts(sys.unraisablehook)
    with _terminate_on_sigterm():
        try:
            _register(args)
            app(args=args, prog_name="leakguard")
        except SystemExit as exc:
            code = exc.code
        except BaseException as exc:
            code = handle_exception(exc, verbose=verbose, args=args)
        try:
            sys.stdout.flush()  # a report that cannot be written is an error, not a finding
        except BaseException as exc:
            code = handle_exception(exc, verbose=verbose, args=args)
            _silence_stdout()
    if code in (EXIT_SIGINT, EXIT_SIGTERM):
        _exit_now(int(code))
    sys.exit(code)


def _exit_now(code: int) -> None:
    """A run ended by a signal has unwound (pools stopped, transactions rolled back, reports
    written or left untouched); what is left is the interpreter's shutdown, which joins helper
    threads and could be hit by a second signal and print a traceback. Flush and leave."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
