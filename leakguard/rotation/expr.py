"""The ``${...}`` expression language of playbooks: small, safe, ours.

A hand-written tokenizer and recursive-descent parser build a tiny tree; evaluation walks it over
plain JSON values. Nothing is ever passed to ``eval`` or a template engine, there are no
assignments, no arithmetic and no calls except the five functions below.

Grammar (lowest precedence first)::

    expr    := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := postfix (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in") postfix)?
    postfix := primary ("." NAME | "[" expr "]" | "(" args ")")*
    primary := NUMBER | STRING | true | false | null | NAME | "(" expr ")" | "[" items "]"

Names may contain ``-`` (step ids do): ``steps.deny-risky.outputs.containment_id``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from leakguard.errors import PlaybookError

ROOTS = frozenset({"inputs", "steps", "item", "run", "env"})
ENV_ALLOWED = frozenset({"USER", "HOSTNAME", "CI", "GITHUB_RUN_ID", "GITHUB_REPOSITORY"})
ENV_PREFIX = "LEAKGUARD_VAR_"
"""``env.X`` reads only these variables (and any ``LEAKGUARD_VAR_*``): never a credential."""


class ExprError(PlaybookError):
    """An expression does not parse, or fails when evaluated."""


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: object) -> float:
    """``30s``, ``15m``, ``1h``, ``2d``, ``250ms`` or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ExprError(f"not a duration: {value!r}", hint="write e.g. 30s, 15m, 1h or 2d")
    if isinstance(value, int | float):
        if value < 0:
            raise ExprError(f"negative duration: {value}")
        return float(value)
    match = _DURATION.match(str(value))
    if match is None:
        raise ExprError(f"not a duration: {value!r}", hint="write e.g. 30s, 15m, 1h or 2d")
    return float(match.group(1)) * _UNITS[match.group(2)]


_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})


def parse_bool(value: object) -> bool:
    """``true``/``yes``/``1``/``on`` or ``false``/``no``/``0``/``off`` (any case) -> bool."""
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ExprError(f"expected true or false, got {value!r}")


# --- tokens ---------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>\d+(?:\.\d+)?)
    | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|\.|,)
    | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null"})


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # num | str | op | name | kw | end
    text: str
    pos: int


def _tokenize(source: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(source):
        if source[pos:].strip() == "":
            break
        match = _TOKEN.match(source, pos)
        if match is None or match.end() == pos:
            col = pos + len(source[pos:]) - len(source[pos:].lstrip())
            raise ExprError(f"unexpected character {source[col]!r} at column {col + 1}")
        kind = match.lastgroup or ""
        text = match.group(kind)
        start = match.start(kind)
        if kind == "name" and text in _KEYWORDS:
            kind = "kw"
        out.append(_Tok(kind, text, start))
        pos = match.end()
    out.append(_Tok("end", "", len(source)))
    return out


# --- tree -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lit:
    value: Any


@dataclass(frozen=True, slots=True)
class Name:
    name: str


@dataclass(frozen=True, slots=True)
class Attr:
    obj: Node
    name: str


@dataclass(frozen=True, slots=True)
class Index:
    obj: Node
    key: Node


@dataclass(frozen=True, slots=True)
class Call:
    func: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class ListLit:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Unary:
    op: str
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: Node
    right: Node


Node = Lit | Name | Attr | Index | Call | ListLit | Unary | Binary


def _unescape(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.toks = _tokenize(source)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def accept(self, kind: str, text: str) -> bool:
        tok = self.peek()
        if tok.kind == kind and tok.text == text:
            self.i += 1
            return True
        return False

    def expect(self, kind: str, text: str) -> None:
        if not self.accept(kind, text):
            self.fail(f"expected {text!r}")

    def fail(self, what: str) -> NoReturn:
        tok = self.peek()
        found = "end of expression" if tok.kind == "end" else repr(tok.text)
        raise ExprError(f"{what} at column {tok.pos + 1}, found {found}")

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise ExprError("empty expression")
        node = self.or_()
        if self.peek().kind != "end":
            self.fail("unexpected token")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.accept("kw", "or"):
            node = Binary("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.accept("kw", "and"):
            node = Binary("and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.accept("kw", "not"):
            return Unary("not", self.not_())
        return self.compare()

    def compare(self) -> Node:
        node = self.postfix()
        tok = self.peek()
        if tok.kind == "op" and tok.text in {"==", "!=", "<", "<=", ">", ">="}:
            self.take()
            return Binary(tok.text, node, self.postfix())
        if self.accept("kw", "in"):
            return Binary("in", node, self.postfix())
        if tok.kind == "kw" and tok.text == "not" and self.toks[self.i + 1].text == "in":
            self.i += 2
            return Unary("not", Binary("in", node, self.postfix()))
        return node

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            if self.accept("op", "."):
                tok = self.take()
                if tok.kind not in {"name", "kw"}:
                    self.i -= 1
                    self.fail("expected a name after '.'")
                node = Attr(node, tok.text)
            elif self.accept("op", "["):
                key = self.or_()
                self.expect("op", "]")
                node = Index(node, key)
            elif self.peek().text == "(" and isinstance(node, Name):
                self.take()
                if node.name not in FUNCTIONS:
                    raise ExprError(
                        f"unknown function {node.name}()",
                        hint=f"functions: {', '.join(sorted(FUNCTIONS))}",
                    )
                args = self.items(")")
                node = Call(node.name, args)
            else:
                return node

    def items(self, close: str) -> tuple[Node, ...]:
        out: list[Node] = []
        if self.accept("op", close):
            return ()
        while True:
            out.append(self.or_())
            if self.accept("op", close):
                return tuple(out)
            self.expect("op", ",")

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "num":
            return Lit(float(tok.text) if "." in tok.text else int(tok.text))
        if tok.kind == "str":
            return Lit(_unescape(tok.text))
        if tok.kind == "kw" and tok.text in {"true", "false", "null"}:
            return Lit({"true": True, "false": False, "null": None}[tok.text])
        if tok.kind == "name":
            return Name(tok.text)
        if tok.kind == "op" and tok.text == "(":
            node = self.or_()
            self.expect("op", ")")
            return node
        if tok.kind == "op" and tok.text == "[":
            return ListLit(self.items("]"))
        self.i -= 1
        self.fail("expected a value")
        raise AssertionError  # unreachable: fail() raises


def parse(source: str) -> Node:
    node = _Parser(source).parse()
    _check_names(node)
    return node


def _check_names(node: Node) -> None:
    for sub in walk(node):
        if isinstance(sub, Name) and sub.name not in ROOTS:
            raise ExprError(
                f"unknown name {sub.name!r}", hint=f"names start with {', '.join(sorted(ROOTS))}"
            )


def walk(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, Attr):
        yield from walk(node.obj)
    elif isinstance(node, Index):
        yield from walk(node.obj)
        yield from walk(node.key)
    elif isinstance(node, Call | ListLit):
        for child in node.args if isinstance(node, Call) else node.items:
            yield from walk(child)
    elif isinstance(node, Unary):
        yield from walk(node.operand)
    elif isinstance(node, Binary):
        yield from walk(node.left)
        yield from walk(node.right)


def path_of(node: Node) -> tuple[str, ...] | None:
    """``steps.stage.outputs.version_id`` -> its static dotted path (None past a dynamic index)."""
    parts: list[str] = []
    while True:
        if isinstance(node, Name):
            return (node.name, *reversed(parts))
        if isinstance(node, Attr):
            parts.append(node.name)
            node = node.obj
        elif isinstance(node, Index) and isinstance(node.key, Lit):
            parts.append(str(node.key.value))
            node = node.obj
        elif isinstance(node, Index):
            parts.clear()
            node = node.obj
        else:
            return None


def references(node: Node) -> list[tuple[str, ...]]:
    """Every maximal name path the expression reads, e.g. ``("inputs", "path")``."""
    seen: set[int] = set()
    out: list[tuple[str, ...]] = []
    for sub in walk(node):
        if id(sub) in seen or not isinstance(sub, Attr | Index | Name):
            continue
        path = path_of(sub)
        if path is None:
            continue
        for inner in walk(sub):
            seen.add(id(inner))
        out.append(path)
    return out


# --- evaluation -----------------------------------------------------------------------------


def _len(value: Any) -> int:
    if isinstance(value, str | list | dict):
        return len(value)
    raise ExprError(f"len() of {_type(value)}")


def _str_fn(name: str, fn: Callable[[str], str]) -> Callable[[Any], str]:
    def apply(value: Any) -> str:
        if not isinstance(value, str):
            raise ExprError(f"{name}() needs a string, got {_type(value)}")
        return fn(value)

    return apply


def _contains(haystack: Any, needle: Any) -> bool:
    return _in(needle, haystack)


FUNCTIONS: Mapping[str, tuple[int, Callable[..., Any]]] = {
    "len": (1, _len),
    "lower": (1, _str_fn("lower", str.lower)),
    "upper": (1, _str_fn("upper", str.upper)),
    "duration": (1, parse_duration),
    "contains": (2, _contains),
}


def _type(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "bool",
        int: "number",
        float: "number",
        str: "string",
        list: "list",
        dict: "mapping",
    }.get(type(value), type(value).__name__)


def _in(needle: Any, haystack: Any) -> bool:
    if isinstance(haystack, str):
        if not isinstance(needle, str):
            raise ExprError(f"'in' a string needs a string, got {_type(needle)}")
        return needle in haystack
    if isinstance(haystack, list | dict):
        return needle in haystack
    raise ExprError(f"'in' needs a list, mapping or string, got {_type(haystack)}")


def _truthy(value: Any) -> bool:
    return bool(value)


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
    if not numbers and not (isinstance(left, str) and isinstance(right, str)):
        raise ExprError(f"cannot compare {_type(left)} {op} {_type(right)}")
    result: bool = {
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
    }[op]
    return result


def _describe(node: Node) -> str:
    path = path_of(node)
    return ".".join(path) if path else "value"


class Scope:
    """What names resolve to. ``steps`` maps step id -> {"status", "outputs"}."""

    def __init__(
        self,
        *,
        inputs: Mapping[str, Any] | None = None,
        steps: Mapping[str, Any] | None = None,
        item: Any = None,
        has_item: bool = False,
        run: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.values: dict[str, Any] = {
            "inputs": dict(inputs or {}),
            "steps": dict(steps or {}),
            "run": dict(run or {}),
        }
        if has_item:
            self.values["item"] = item
        source = os.environ if environ is None else environ
        self.values["env"] = {
            k: v for k, v in source.items() if k in ENV_ALLOWED or k.startswith(ENV_PREFIX)
        }

    def with_item(self, item: Any) -> Scope:
        copy = Scope()
        copy.values = dict(self.values)
        copy.values["item"] = item
        return copy


def evaluate(node: Node, scope: Scope) -> Any:
    if isinstance(node, Lit):
        return node.value
    if isinstance(node, Name):
        if node.name not in scope.values:
            raise ExprError(
                f"{node.name} is not available here", hint="item exists only in for_each"
            )
        return scope.values[node.name]
    if isinstance(node, Attr):
        obj = evaluate(node.obj, scope)
        if not isinstance(obj, dict):
            raise ExprError(f"{_describe(node.obj)} is {_type(obj)}, has no .{node.name}")
        if node.name not in obj:
            raise ExprError(f"{_describe(node)} does not exist")
        return obj[node.name]
    if isinstance(node, Index):
        obj = evaluate(node.obj, scope)
        key = evaluate(node.key, scope)
        if isinstance(obj, list) and isinstance(key, int) and not isinstance(key, bool):
            if -len(obj) <= key < len(obj):
                return obj[key]
            raise ExprError(f"{_describe(node.obj)}[{key}] is out of range ({len(obj)} items)")
        if isinstance(obj, dict) and isinstance(key, str):
            if key not in obj:
                raise ExprError(f"{_describe(node.obj)}[{key!r}] does not exist")
            return obj[key]
        raise ExprError(f"cannot index {_type(obj)} with {_type(key)}")
    if isinstance(node, Call):
        arity, fn = FUNCTIONS[node.func]
        if len(node.args) != arity:
            raise ExprError(f"{node.func}() takes {arity} argument(s), got {len(node.args)}")
        return fn(*(evaluate(a, scope) for a in node.args))
    if isinstance(node, ListLit):
        return [evaluate(a, scope) for a in node.items]
    if isinstance(node, Unary):
        return not _truthy(evaluate(node.operand, scope))
    if node.op == "and":
        left = evaluate(node.left, scope)
        return evaluate(node.right, scope) if _truthy(left) else left
    if node.op == "or":
        left = evaluate(node.left, scope)
        return left if _truthy(left) else evaluate(node.right, scope)
    if node.op == "in":
        return _in(evaluate(node.left, scope), evaluate(node.right, scope))
    return _compare(node.op, evaluate(node.left, scope), evaluate(node.right, scope))


# --- templates: strings holding ${...} -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Template:
    """A string with ``${...}`` parts. ``whole`` is set when the string is exactly one
    expression: its value keeps its type (list, mapping, bool, number)."""

    parts: tuple[str | Node, ...]

    @property
    def whole(self) -> Node | None:
        if len(self.parts) == 1 and not isinstance(self.parts[0], str):
            return self.parts[0]
        return None

    def nodes(self) -> list[Node]:
        return [p for p in self.parts if not isinstance(p, str)]

    def render(self, scope: Scope) -> Any:
        whole = self.whole
        if whole is not None:
            return evaluate(whole, scope)
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = evaluate(part, scope)
            if isinstance(value, list | dict):
                raise ExprError("a list or mapping cannot be embedded in a longer string")
            out.append(
                ""
                if value is None
                else str(value).lower()
                if isinstance(value, bool)
                else str(value)
            )
        return "".join(out)


def _find_close(text: str, start: int) -> int:
    """Index of the ``}`` closing the ``${`` whose body starts at ``start`` (quotes respected)."""
    quote: str | None = None
    i = start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "}":
            return i
        i += 1
    raise ExprError("unclosed ${ (missing '}')")


def parse_template(text: str) -> Template:
    parts: list[str | Node] = []
    pos = 0
    while True:
        start = text.find("${", pos)
        if start < 0:
            break
        if start > pos:
            parts.append(text[pos:start])
        end = _find_close(text, start + 2)
        parts.append(parse(text[start + 2 : end]))
        pos = end + 1
    if pos < len(text) or not parts:
        parts.append(text[pos:])
    return Template(tuple(parts))


def has_expression(text: str) -> bool:
    return "${" in text


def render_value(value: Any, scope: Scope) -> Any:
    """Render every string inside ``value`` (nested lists and mappings too)."""
    if isinstance(value, str):
        return parse_template(value).render(scope) if has_expression(value) else value
    if isinstance(value, list):
        return [render_value(v, scope) for v in value]
    if isinstance(value, dict):
        return {str(k): render_value(v, scope) for k, v in value.items()}
    return value


def templates_in(value: Any) -> Iterator[Template]:
    """Parse every templated string inside ``value`` (raises ExprError on the first bad one)."""
    if isinstance(value, str):
        if has_expression(value):
            yield parse_template(value)
    elif isinstance(value, list):
        for v in value:
            yield from templates_in(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from templates_in(v)
