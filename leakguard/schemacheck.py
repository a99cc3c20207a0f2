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

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
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


class SchemaCheck:
    """A schema ready to check documents: a compiled yes/no test for the common case (a valid
    document: an estate's inventory has tens of thousands of services), and ``jsonschema``'s
    validator, which says what is wrong, for the rest (and for any schema the compiled test
    does not cover). The two are compared on every shipped file and on a table of mistakes."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        self.fast = compile_check(schema)

    @cached_property
    def validator(self) -> Validator:
        import jsonschema

        return jsonschema.Draft202012Validator(self.schema)

    def is_valid(self, raw: Any) -> bool:
        return self.fast(raw) if self.fast is not None else self.validator.is_valid(raw)


def validator_for(schema: Mapping[str, Any]) -> SchemaCheck:
    return SchemaCheck(schema)


def first_problem(raw: Any, checker: SchemaCheck) -> Problem | None:
    """The earliest (by line) and, among those, the most telling mistake, or None. A missing
    key is reported only when nothing else is wrong."""
    if checker.is_valid(raw):
        return None  # without importing jsonschema
    from jsonschema.exceptions import best_match

    errors = [(_line(raw, _steps(e)), e) for e in checker.validator.iter_errors(raw)]
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
    validator: SchemaCheck,
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
        return f"unknown {name} {shown(value)} (known: {', '.join(map(str, expected))})"
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
        return f"{name} {shown(value)} does not match {expected}"
    # jsonschema's own message shows the whole value, which may be a pasted credential
    description = error.schema.get("description")
    return f"{name} is not valid here" + (f" ({description})" if description else "")


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
    elif "propertyNames" in error.schema_path and isinstance(error.instance, str):
        steps.append(error.instance)  # a bad key name: its own line, not its mapping's
    return tuple(steps)


def _label(steps: Sequence[str | int]) -> str:
    for index in range(len(steps) - 1, -1, -1):
        if isinstance(steps[index], str):
            items = len(steps) - 1 - index
            return str(steps[index]) + " item" * min(items, 1)
    return "the document"


def shown(value: Any) -> str:
    """A scalar of the document as an error may show it: a value that looks like a credential
    (a key pasted where a name belongs) only redacted, a long one cut."""
    from leakguard.redact import looks_like_credential, redact

    if isinstance(value, str) and looks_like_credential(value):
        return redact(value)
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


# --- a compiled yes/no check for the keywords our schemas use ------------------------------

Check = Callable[[Any], bool]
_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$defs", "title", "description", "errorMessage", "default", "examples"}
)
_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


def _same(value: Any, expected: Any) -> bool:
    """JSON equality of a scalar: true is not 1 (as in jsonschema), 1 is 1.0."""
    if isinstance(value, bool) or isinstance(expected, bool):
        return type(value) is type(expected) and value == expected
    if isinstance(value, list | dict):
        return False
    return bool(value == expected)


class _Unsupported(Exception):
    """A keyword or value the compiled check does not cover: ``jsonschema`` decides alone."""


def compile_check(schema: Mapping[str, Any]) -> Check | None:
    """A function saying whether a document is valid, exactly as ``jsonschema`` would, or None
    when the schema uses a keyword outside the covered set."""
    try:
        return _Compiler(schema).compile(schema)
    except _Unsupported:
        return None


class _Compiler:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True or schema == {}:
            return lambda v: True
        if schema is False:
            return lambda v: False
        if not isinstance(schema, Mapping):
            raise _Unsupported(repr(schema))
        checks = [
            self.keyword(key, value, schema)
            for key, value in schema.items()
            if key not in _ANNOTATIONS and key not in ("then", "else")
        ]
        if len(checks) == 1:
            return checks[0]
        return lambda v: all(c(v) for c in checks)

    def keyword(self, key: str, value: Any, schema: Mapping[str, Any]) -> Check:
        builders: dict[str, Callable[[Any, Mapping[str, Any]], Check]] = {
            "type": self._type,
            "enum": self._enum,
            "const": lambda c, _: self._enum([c], _),
            "pattern": self._pattern,
            "minLength": self._min("string", len),
            "minItems": self._min("array", len),
            "minimum": self._min("number", lambda v: v),
            "required": self._required,
            "properties": self._properties,
            "additionalProperties": self._additional,
            "items": self._items,
            "allOf": self._all_of,
            "anyOf": self._any_of,
            "oneOf": self._one_of,
            "not": self._not,
            "if": self._if,
            "dependentSchemas": self._dependent,
            "propertyNames": self._names,
            "$ref": self._ref,
        }
        if key not in builders:
            raise _Unsupported(key)
        return builders[key](value, schema)

    def _type(self, value: Any, _: Mapping[str, Any]) -> Check:
        tests = [_TYPES[t] for t in ([value] if isinstance(value, str) else value)]
        return lambda v: any(t(v) for t in tests)

    def _enum(self, values: Any, _: Mapping[str, Any]) -> Check:
        if not all(isinstance(e, str | int | float) or e is None for e in values):
            raise _Unsupported("enum")  # containers: jsonschema's deep equality
        return lambda v: any(_same(v, e) for e in values)

    def _pattern(self, value: str, _: Mapping[str, Any]) -> Check:
        search = re.compile(value).search
        return lambda v: not isinstance(v, str) or search(v) is not None

    def _min(self, kind: str, size: Callable[[Any], Any]) -> Callable[[Any, Any], Check]:
        applies = _TYPES[kind]
        return lambda n, _: lambda v: not applies(v) or size(v) >= n

    def _required(self, keys: list[str], _: Mapping[str, Any]) -> Check:
        return lambda v: not isinstance(v, dict) or all(k in v for k in keys)

    def _properties(self, props: Mapping[str, Any], _: Mapping[str, Any]) -> Check:
        compiled = {k: self.compile(sub) for k, sub in props.items()}
        return lambda v: (
            not isinstance(v, dict) or all(c(v[k]) for k, c in compiled.items() if k in v)
        )

    def _additional(self, sub: Any, schema: Mapping[str, Any]) -> Check:
        if "patternProperties" in schema:
            raise _Unsupported("patternProperties")
        known = frozenset(schema.get("properties", {}))
        test = self.compile(sub)
        return lambda v: (
            not isinstance(v, dict) or all(test(x) for k, x in v.items() if k not in known)
        )

    def _items(self, sub: Any, schema: Mapping[str, Any]) -> Check:
        if "prefixItems" in schema:
            raise _Unsupported("prefixItems")
        test = self.compile(sub)
        return lambda v: not isinstance(v, list) or all(test(x) for x in v)

    def _all_of(self, subs: list[Any], _: Mapping[str, Any]) -> Check:
        tests = [self.compile(s) for s in subs]
        switch = self._switch(subs)
        if switch is None:
            return lambda v: all(t(v) for t in tests)
        key, cases = switch

        def check(v: Any) -> bool:
            if not isinstance(v, dict):
                return all(t(v) for t in tests)
            case = cases.get(v[key]) if key in v and isinstance(v[key], str) else None
            return case is None or case(v)

        return check

    def _switch(self, subs: list[Any]) -> tuple[str, dict[str, Check]] | None:
        """``allOf: [{if: {required: [K], properties: {K: {const: "a"}}}, then: ...}, ...]``
        (a playbook step's parameters by action): one lookup instead of an ``if`` per case.
        For a mapping, only the case whose string constant equals its ``K`` applies."""
        keys, cases = set(), {}
        for sub in subs:
            cond = sub.get("if") if isinstance(sub, Mapping) else None
            if not isinstance(cond, Mapping) or set(sub) != {"if", "then"} or len(cond) != 2:
                return None
            required = cond.get("required")
            if not isinstance(required, list) or len(required) != 1:
                return None
            key = required[0]
            const = cond.get("properties", {}).get(key, {})
            if set(const) != {"const"} or not isinstance(const["const"], str):
                return None
            keys.add(key)
            if const["const"] in cases:
                return None
            cases[const["const"]] = self.compile(sub["then"])
        return (keys.pop(), cases) if len(keys) == 1 else None

    def _any_of(self, subs: list[Any], _: Mapping[str, Any]) -> Check:
        tests = [self.compile(s) for s in subs]
        return lambda v: any(t(v) for t in tests)

    def _one_of(self, subs: list[Any], _: Mapping[str, Any]) -> Check:
        tests = [self.compile(s) for s in subs]
        return lambda v: sum(1 for t in tests if t(v)) == 1

    def _not(self, sub: Any, _: Mapping[str, Any]) -> Check:
        test = self.compile(sub)
        return lambda v: not test(v)

    def _if(self, sub: Any, schema: Mapping[str, Any]) -> Check:
        cond = self.compile(sub)
        then = self.compile(schema.get("then", True))
        other = self.compile(schema.get("else", True))
        return lambda v: then(v) if cond(v) else other(v)

    def _dependent(self, subs: Mapping[str, Any], _: Mapping[str, Any]) -> Check:
        compiled = {k: self.compile(sub) for k, sub in subs.items()}
        return lambda v: not isinstance(v, dict) or all(c(v) for k, c in compiled.items() if k in v)

    def _names(self, sub: Any, _: Mapping[str, Any]) -> Check:
        test = self.compile(sub)
        return lambda v: not isinstance(v, dict) or all(test(k) for k in v)

    def _ref(self, ref: str, _: Mapping[str, Any]) -> Check:
        prefix = "#/$defs/"
        if not ref.startswith(prefix) or ref[len(prefix) :] not in self.root.get("$defs", {}):
            raise _Unsupported(ref)
        name = ref[len(prefix) :]
        if name not in self.refs:
            self.refs[name] = lambda v: True  # a placeholder while a recursive one compiles
            self.refs[name] = self.compile(self.root["$defs"][name])
        return lambda v: self.refs[name](v)
