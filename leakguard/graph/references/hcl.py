"""A small HCL reader for Terraform files: a tokenizer that knows strings (with escapes and
``${…}``/``%{…}`` templates nested to any depth), heredocs and comments, and a reader that
returns the top-level blocks with the attributes written directly in them.

It is not a full HCL parser: expressions are only skipped over (brackets balanced), and an
attribute keeps its value only when the value is one token (a string, a heredoc or a
reference such as ``aws_secretsmanager_secret.db.id``). That is all the reference builder
needs, and it keeps the reader linear in time and memory on hostile input: no recursion, no
backtracking regular expression, one pass, nothing kept for nested blocks.

python-hcl2 (8.1.4, on lark) was measured for this and not taken: a 2 MB Terraform file took
16 s CPU and 356 MB, a 1.2 MB nested map 21 s and 686 MB before ``loads`` raised
RecursionError, its ``with_meta`` line numbers are declared but not implemented in 8.x, and
without a writable site-packages every process rebuilds its grammar (1.3-1.8 s). This reader
takes about 1 s CPU and 50 MB for the same 2 MB file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

STRING = "string"
HEREDOC = "heredoc"
IDENT = "ident"
NEWLINE = "nl"

_CODE = re.compile(
    r"""
     (?P<ws>[ \t\r\f]+)
    |(?P<nl>\n)
    |(?P<comment>(?:\#|//)[^\n]*)
    |(?P<block_comment>/\*)
    |(?P<heredoc><<(?P<indent>-?)(?P<tag>[^\W\d][\w-]*)[ \t]*\r?\n)
    |(?P<quote>")
    |(?P<ident>[^\W\d][\w-]*(?:\.[^\W\d][\w-]*)*)
    |(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    |(?P<eq>=(?![=>]))
    |(?P<lbrace>\{)
    |(?P<rbrace>\})
    |(?P<open>[\[(])
    |(?P<close>[\])])
    |(?P<other>==|=>|.)
    """,
    re.VERBOSE,
)
_STRING_PART = re.compile(
    r"""
     (?P<chars>[^"\\$%\n]+)
    |(?P<quote>")
    |(?P<escape>\\(?:u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[^\n]))
    |(?P<literal_template>\$\$\{|%%\{)
    |(?P<template>[$%]\{)
    |(?P<sign>[$%])
    |(?P<nl>\n|\\)
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_HEREDOC_TEMPLATE = re.compile(r"(?<![$%])[$%]\{")
_KINDS = {"lbrace": "{", "rbrace": "}", "eq": "=", "nl": NEWLINE}


class HclError(Exception):
    """The text is not HCL; ``line`` is where reading stopped."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Token:
    """``text`` is an identifier's name, or a string's or heredoc's value when it holds no
    template (``None`` when it does)."""

    kind: str
    text: str | None
    line: int


@dataclass
class Block:
    """A top-level block: ``resource "aws_secretsmanager_secret" "db" { … }``. ``attributes``
    maps each attribute written directly in it to its value token, or ``None`` when the
    value is an expression of several tokens."""

    type: str
    labels: tuple[str | None, ...]
    line: int
    attributes: dict[str, Token | None] = field(default_factory=dict)


@dataclass
class _String:
    line: int
    parts: list[str] = field(default_factory=list)
    literal: bool = True


class _Lexer:
    """Tokens of the code outside strings; a string is read whole, together with the code of
    its templates, which is scanned (for nested strings and braces) but not returned."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        # open strings and, above each, the brace depth of the template being read
        self.stack: list[_String | int] = []

    def tokens(self) -> Iterator[Token]:
        while self.pos < len(self.text):
            token = self._string_step() if self._in_string() else self._code_step()
            if token is not None and not self.stack:
                yield token
        if self.stack:
            first = next(s for s in self.stack if isinstance(s, _String))
            raise HclError(first.line, "unterminated string")

    def _in_string(self) -> bool:
        return bool(self.stack) and isinstance(self.stack[-1], _String)

    def _code_step(self) -> Token | None:
        m = _CODE.match(self.text, self.pos)
        assert m is not None  # the last alternative matches any character but a newline
        self.pos = m.end()
        kind = m.lastgroup or "other"
        line = self.line
        if kind == "nl":
            self.line += 1
        elif kind in ("ws", "comment"):
            return None
        elif kind == "block_comment":
            self._skip_block_comment()
            return None
        elif kind == "heredoc":
            return self._heredoc(m.group("tag"), bool(m.group("indent")), line)
        elif kind == "quote":
            self.stack.append(_String(line))
            return None
        elif kind in ("lbrace", "rbrace") and self.stack:
            self._template_brace(kind == "lbrace")
        if kind == "ident":
            return Token(IDENT, m.group(), line)
        return Token(_KINDS.get(kind, kind), None, line)

    def _template_brace(self, opening: bool) -> None:
        depth = self.stack[-1]
        assert isinstance(depth, int)
        if opening:
            self.stack[-1] = depth + 1
        elif depth:
            self.stack[-1] = depth - 1
        else:
            self.stack.pop()  # the template ends: back in its string

    def _skip_block_comment(self) -> None:
        end = self.text.find("*/", self.pos)
        if end < 0:
            raise HclError(self.line, "unterminated /* comment")
        self.line += self.text.count("\n", self.pos, end)
        self.pos = end + 2

    def _string_step(self) -> Token | None:
        string = self.stack[-1]
        assert isinstance(string, _String)
        m = _STRING_PART.match(self.text, self.pos)
        if m is None or m.lastgroup == "nl":
            raise HclError(string.line, "unterminated string")
        self.pos = m.end()
        kind, part = m.lastgroup, m.group()
        if kind == "quote":
            self.stack.pop()
            value = "".join(string.parts) if string.literal else None
            return Token(STRING, value, string.line)
        if kind == "template":
            string.literal = False
            self.stack.append(0)
        elif kind == "escape":
            string.parts.append(_unescape(part))
        elif kind == "literal_template":
            string.parts.append(part[1:])
        else:
            string.parts.append(part)
        return None

    def _heredoc(self, tag: str, indented: bool, line: int) -> Token:
        lines: list[str] = []
        start = self.pos
        while True:
            end = self.text.find("\n", start)
            if end < 0:
                end = len(self.text)
            current = self.text[start:end]
            if current.strip() == tag:
                break
            if end == len(self.text):
                raise HclError(line, f"heredoc <<{tag} is never closed")
            lines.append(current.removesuffix("\r") + "\n")
            start = end + 1
        self.line += len(lines) + 1
        self.pos = end  # the newline after the closing tag ends the attribute
        if indented:
            lines = _dedent(lines)
        content = "".join(lines)
        if _HEREDOC_TEMPLATE.search(content):
            return Token(HEREDOC, None, line)
        return Token(HEREDOC, content.replace("$${", "${").replace("%%{", "%{"), line)


def _unescape(escape: str) -> str:
    code = escape[1]
    if code in "uU":
        value = int(escape[2:], 16)
        return chr(value) if value <= 0x10FFFF else escape
    return _ESCAPES.get(code, escape)


def _dedent(lines: list[str]) -> list[str]:
    widths = [len(x) - len(x.lstrip(" \t")) for x in lines if x.strip()]
    cut = min(widths, default=0)
    return [x[cut:] if x.strip() else x.lstrip(" \t") for x in lines]


class _Reader:
    """Blocks and attributes, read with a depth counter instead of recursion."""

    def __init__(self, text: str) -> None:
        self.tokens = _Lexer(text).tokens()
        self.pending: Token | None = None
        self.last_line = 1

    def next(self) -> Token | None:
        token = self.pending
        if token is not None:
            self.pending = None
            return token
        token = next(self.tokens, None)
        if token is not None:
            self.last_line = token.line
        return token

    def blocks(self) -> list[Block]:
        blocks: list[Block] = []
        depth = 0
        while (token := self.next()) is not None:
            if token.kind == NEWLINE:
                continue
            if token.kind == "}":
                if depth == 0:
                    raise HclError(token.line, "unexpected '}'")
                depth -= 1
                continue
            if token.kind != IDENT or token.text is None:
                raise HclError(token.line, "expected an attribute or a block")
            if self._starts_block(token, depth == 0, blocks):
                depth += 1
            elif depth == 1:
                blocks[-1].attributes[token.text] = self._expression()
            else:
                self._expression()
        if depth:
            raise HclError(self.last_line, "a block is not closed")
        return blocks

    def _starts_block(self, name: Token, top: bool, blocks: list[Block]) -> bool:
        """After an identifier: ``=`` (an attribute: False) or labels and ``{`` (True)."""
        labels: list[str | None] = []
        token = self.next()
        while token is not None and token.kind in (STRING, IDENT):
            labels.append(token.text)
            token = self.next()
        if token is not None and token.kind == "=" and not labels:
            return False
        if token is None or token.kind != "{":
            raise HclError(name.line, f"{name.text} is neither an attribute nor a block")
        if top:
            blocks.append(Block(str(name.text), tuple(labels), name.line))
        return True

    def _expression(self) -> Token | None:
        """Skip an attribute's value; return it when it is a single token."""
        first: Token | None = None
        count = depth = 0
        while (token := self.next()) is not None:
            if depth == 0 and token.kind in (NEWLINE, "}"):
                if token.kind == "}":
                    self.pending = token  # a one-line block: { name = "x" }
                break
            if token.kind in ("{", "open"):
                depth += 1
            elif token.kind in ("}", "close"):
                depth -= 1
                if depth < 0:
                    raise HclError(token.line, "unbalanced brackets")
            count += 1
            first = first or token
        if depth:
            raise HclError(self.last_line, "unbalanced brackets")
        return first if count == 1 else None


def top_level_blocks(text: str) -> list[Block]:
    """The top-level blocks of an HCL file; raises :class:`HclError` if it is not HCL."""
    return _Reader(text.removeprefix("\ufeff")).blocks()
