"""Command-line values whose conversion is certain skip pydantic.

Typer (0.2x) converts every parameter value that is not a flag through a pydantic
``TypeAdapter``: the first such value imports pydantic and builds adapters, about a third of
the start-up of ``leakguard scan FILE``, although nearly every value there is already right
(the default ``"text"``, ``0``, ``3600.0``, the targets as a list of strings) or plain text
whose conversion is not in doubt (``-o report.sarif``, ``--baseline FILE``, ``--jobs 2``, as CI
steps write them). For those values, and only those, the result is computed here, exactly what
the adapter returns: a value already of its type is itself; a path is ``Path(text)``, then
Typer's own checks of a path option (its ``coerce_cli_path``: existence, readability, with its
messages); a whole number written in ASCII digits is ``int(text)`` (``float`` for a float),
within the option's bounds. ``None`` and an empty list are answered as Typer answers them;
anything else (a sign, spaces, a fraction, a number out of bounds, a custom parser, a file)
goes to Typer's own conversion, built then, with its own messages.

This leans on Typer internals (``typer._coercion``, ``typer._param_types``, a parameter's
``_runtime_param``); when they are not there, nothing is changed and Typer converts every
value as before.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args, get_origin

try:
    from typer._coercion import RuntimeParam, build_runtime_param
    from typer._param_types import coerce_cli_path
except ImportError:  # another Typer: leave its conversion alone
    RuntimeParam = None  # type: ignore[assignment,misc]

_SCALARS = (str, int, float, Path)
#: digits that int() and pydantic read alike, and a float holds exactly
_MAX_DIGITS = 15


class _Unsure:
    """A value whose conversion is left to Typer."""


UNSURE = _Unsure()
PathCheck = Callable[[Path], Any]


def _kind(annotation: Any) -> Any:
    """``str``, ``int``, ``float``, ``Path`` or ``list`` when values may skip pydantic."""
    if annotation in _SCALARS:
        return annotation
    return list if get_origin(annotation) is list else None


def _within(value: float, info: Any) -> bool:
    low, high = getattr(info, "min", None), getattr(info, "max", None)
    return (low is None or value >= low) and (high is None or value <= high)


def _number(kind: type[int] | type[float], value: Any, info: Any) -> Any:
    if type(value) is not kind:
        plain = type(value) is str and value.isascii() and value.isdigit()
        if not plain or len(value) > _MAX_DIGITS:
            return UNSURE
        value = kind(int(value))
    return value if _within(value, info) else UNSURE


def _path(value: Any, info: Any, check: PathCheck) -> Any:
    if getattr(info, "path_type", None) is not None or type(value) not in (str, Path):
        return UNSURE
    if "\0" in str(value):  # no system call takes it: Typer words that error itself
        return UNSURE
    return check(Path(value))  # raises Typer's own error for a path that fails its checks


def converted(annotation: Any, info: Any, value: Any, check: PathCheck) -> Any:
    """What Typer's conversion returns for ``value`` (a list for a list), or :data:`UNSURE`.
    ``check``: Typer's checks of a path option, given the ``Path``."""
    if getattr(info, "parser", None) is not None:
        return UNSURE
    if get_origin(annotation) is list and isinstance(value, list | tuple):
        item = get_args(annotation)[0]
        items = [converted(item, info, v, check) for v in value]  # empty: any item type
        return UNSURE if any(i is UNSURE for i in items) else items
    kind = _kind(annotation)
    if kind is str:
        return value if type(value) is str else UNSURE
    if kind in (int, float):
        return _number(kind, value, info)
    if kind is Path:
        return _path(value, info, check)
    return UNSURE


if RuntimeParam is not None:

    class _PlainValues(RuntimeParam):
        """Values whose conversion is certain are converted here; any other goes to Typer."""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            info = self.parameter_info

            def check(path: Path) -> Any:
                return coerce_cli_path(path, info, path_type=Path, param=param, ctx=ctx)

            result = converted(self.annotation, info, value, check)
            if result is not UNSURE:
                return result
            typer_own = build_runtime_param(param.type_descriptor)
            param._runtime_param = typer_own
            return typer_own._coerce_value(value, param=param, ctx=ctx)


def _eligible(param: Any) -> bool:
    """A Typer parameter whose conversion is not built yet (Typer builds it, importing
    pydantic, even for a flag's ``None``)."""
    return (
        getattr(param, "type_descriptor", None) is not None
        and getattr(param, "_runtime_param", "absent") is None
    )


def install(command: Any, ctx: Any) -> None:
    """Every parameter of ``command`` and its subcommands whose values may skip pydantic."""
    if RuntimeParam is None:
        return
    for param in command.get_params(ctx):
        if _eligible(param):
            descriptor = param.type_descriptor
            param._runtime_param = _PlainValues(descriptor.parameter_info, descriptor.annotation)
    for sub in getattr(command, "commands", {}).values():
        install(sub, type(ctx)(sub, parent=ctx, info_name=sub.name))
