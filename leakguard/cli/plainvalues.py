"""Command-line values that are already what their parameter asks for skip pydantic.

Typer (0.2x) converts every parameter value that is not a flag through a pydantic
``TypeAdapter``: the first such value imports pydantic and builds adapters, about a third of
the start-up of ``leakguard scan FILE``, although nearly every value there is already right
(the default ``"text"``, ``0``, ``3600.0``, the targets as a list of strings). For those
values, and only those, the result is the value itself, exactly what the adapter returns;
``None`` and an empty list are answered as Typer answers them; anything else (a number or a
path typed on the command line, a value out of bounds, a custom parser, a file) goes to
Typer's own conversion, built then, with its own messages.

This leans on Typer internals (``typer._coercion``, a parameter's ``_runtime_param``); when
they are not there, nothing is changed and Typer converts every value as before.
"""

from __future__ import annotations

from typing import Any, get_args, get_origin

try:
    from typer._coercion import RuntimeParam, build_runtime_param
except ImportError:  # another Typer: leave its conversion alone
    RuntimeParam = None  # type: ignore[assignment,misc]

_SCALARS = (str, int, float)


def _kind(annotation: Any) -> Any:
    """``str``, ``int``, ``float`` or ``list`` when values may skip pydantic."""
    if annotation in _SCALARS:
        return annotation
    return list if get_origin(annotation) is list else None


def _within(value: float, info: Any) -> bool:
    low, high = getattr(info, "min", None), getattr(info, "max", None)
    return (low is None or value >= low) and (high is None or value <= high)


def already_right(annotation: Any, info: Any, value: Any) -> bool:
    """True when Typer's adapter would return ``value`` (or, for a list, its items) as is."""
    if getattr(info, "parser", None) is not None:
        return False
    if get_origin(annotation) is list and isinstance(value, list | tuple):
        item = get_args(annotation)[0]
        return all(already_right(item, info, v) for v in value)  # an empty list: any item type
    kind = _kind(annotation)
    if kind is str:
        return type(value) is str
    if kind in (int, float):
        return type(value) is kind and _within(value, info)
    return False


if RuntimeParam is not None:

    class _PlainValues(RuntimeParam):
        """Values already of their type pass through; any other goes to Typer."""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if already_right(self.annotation, self.parameter_info, value):
                return list(value) if _kind(self.annotation) is list else value
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
