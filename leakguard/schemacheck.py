"""Check a parsed YAML document against its format's JSON Schema; say the first problem in one
line that names the file and line.

Each file format (``.leakguard.yaml``, rule files, playbooks, inventories, sweep configurations)
has one JSON Schema next to its loader; the loader calls :func:`check` with it before its own
semantic checks (regexes compile, expressions resolve, ids are unique), and
``python -m leakguard.schemas`` publishes the same schemas for editors.

A schema may say what a mistake means in people's words with the ``errorMessage`` keyword (the
one VS Code and yaml-language-server show): the nearest one around the failing keyword wins.
Otherwise the message is built from the failing keyword, naming the key at fault.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from leakguard.errors import LeakguardError

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

Steps = tuple[str | int, ...]
_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}


@dataclass(frozen=True)
class Problem:
    """The first mistake of a document: where it is, and what it is in one line."""

    steps: Steps  # keys and indexes from the document's root to the node (or key) at fault
    line: int
    message: str
    error: ValidationError
    document: Any  # the whole document, for a loader's own wording

    def at(self, depth: int) -> Any:
        """The node ``depth`` steps below the root on the way to the mistake."""
        return node_at(self.document, self.steps[:depth])

    @property
    def keyword(self) -> str:
        return str(self.error.validator)

    @property
    def value(self) -> Any:
        return self.error.instance


#: a loader's own wording: (problem) -> (message, hint), or None for the default
Explain = Callable[[Problem], "tuple[str, str | None] | None"]


def validator_for(schema: Mapping[str, Any]) -> Validator:
    import jsonschema

    return jsonschema.Draft202012Validator(schema)


def first_problem(raw: Any, validator: Validator) -> Problem | None:
    """The earliest (by line) and, among those, the most telling mistake, or None. A missing
    key is reported only when nothing else is wrong."""
    from jsonschema.exceptions import best_match

    errors = [(_line(raw, _steps(e)), e) for e in validator.iter_errors(raw)]
    if not errors:
        return None
    # a misspelt key is reported as unknown rather than as the key it leaves missing
    errors = [(n, e) for n, e in errors if e.validator != "required"] or errors
    first = min(line for line, _ in errors)
    error = best_match(e for line, e in errors if line == first)
    assert error is not None
    steps = _steps(error)
    return Problem(steps, _line(raw, steps), describe(error), error, raw)


def check(
    raw: Any,
    validator: Validator,
    *,
    path: Path,
    error: type[LeakguardError],
    hint: str,
    explain: Explain | None = None,
) -> None:
    """Raise ``error("FILE:LINE: message", hint=...)`` for the first mistake of ``raw``."""
    problem = first_problem(raw, validator)
    if problem is not None:
        fail(problem, path=path, error=error, hint=hint, explain=explain)


def fail(
    problem: Problem,
    *,
    path: Path,
    error: type[LeakguardError],
    hint: str,
    explain: Explain | None = None,
) -> NoReturn:
    own = explain(problem) if explain is not None else None
    message, own_hint = own if own is not None else (problem.message, None)
    raise error(f"{path}:{problem.line}: {message}", hint=own_hint or hint)


def describe(error: ValidationError) -> str:
    """What is wrong, in people's words."""
    custom = _error_message(error)
    if custom is not None:
        return custom
    steps = list(error.absolute_path)
    name = str(error.schema.get("title") or _label(steps))
    value = error.instance
    keyword, expected = error.validator, error.validator_value
    if keyword == "additionalProperties":
        extra = unknown_keys(error)
        known = ", ".join(sorted(error.schema.get("properties", {})))
        return f"unknown key {extra[0]!r}" + (f" (known: {known})" if known else "")
    if keyword == "required":
        missing = [k for k in expected if k not in value]
        return f"missing required key {(missing or expected)[0]!r}"
    if keyword == "enum":
        return f"unknown {name} {_show(value)} (known: {', '.join(map(str, expected))})"
    if keyword == "const":
        return f"{name} must be {expected}"
    if keyword == "type":
        kinds = [expected] if isinstance(expected, str) else list(expected)
        return f"{name} must be {' or '.join(_TYPE_WORDS.get(k, k) for k in kinds)}"
    if keyword == "minimum":
        return f"{name} must be at least {expected}"
    if keyword == "minItems":
        return f"{name} must not be empty" if expected == 1 else f"{name} needs {expected}+ items"
    if keyword == "minLength":
        return f"{name} must not be empty" if expected == 1 else f"{name} is too short"
    if keyword == "pattern":
        return f"{name} {_show(value)} does not match {expected}"
    return f"{name}: {error.message}"


def unknown_keys(error: ValidationError) -> list[str]:
    """The keys an ``additionalProperties: false`` error is about, sorted."""
    known = error.schema.get("properties", {})
    instance = error.instance if isinstance(error.instance, Mapping) else {}
    return sorted(str(k) for k in instance if k not in known)


def _error_message(error: ValidationError) -> str | None:
    node: ValidationError | None = error
    while node is not None:
        text = node.schema.get("errorMessage") if isinstance(node.schema, Mapping) else None
        if isinstance(text, str):
            return text
        node = node.parent
    return None


def _steps(error: ValidationError) -> Steps:
    steps: list[str | int] = list(error.absolute_path)
    if error.validator == "additionalProperties":
        extra = unknown_keys(error)
        if extra:
            steps.append(extra[0])  # the line of the first unknown key
    return tuple(steps)


def _label(steps: Sequence[str | int]) -> str:
    for index in range(len(steps) - 1, -1, -1):
        if isinstance(steps[index], str):
            items = len(steps) - 1 - index
            return str(steps[index]) + " item" * min(items, 1)
    return "the document"


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str | int | float | bool) or value is None else ""
    return text if len(text) <= 60 else text[:57] + "..."


def _line(raw: Any, steps: Sequence[str | int]) -> int:
    """The 1-based line of the node (or mapping key) at ``steps``, as near as is known."""
    line = getattr(raw, "line", 1) or 1
    node = raw
    for step in steps:
        if isinstance(node, dict) and isinstance(step, str):
            line = node.line_of(step) if hasattr(node, "line_of") else line
            node = node.get(step)
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            node = node[step]
            line = getattr(node, "line", line) or line
        else:
            break
    return int(line)


def node_at(raw: Any, steps: Sequence[str | int]) -> Any:
    """The value at ``steps`` (None where the document has none)."""
    node = raw
    for step in steps:
        if isinstance(node, dict) and isinstance(step, str):
            node = node.get(step)
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            node = node[step]
        else:
            return None
    return node
