"""What every configuration reader shares: the :class:`Reference` value, the scan state a
directory walk fills, and small helpers for literal values and Vault paths."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leakguard.errors import GraphError
from leakguard.graph.interface import StoreRef
from leakguard.yamlfile import load_yaml

SKIP_DIRS = {
    ".git",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    "dist",
    "build",
    ".tox",
    "vendor",
    ".terraform",
}
MAX_FILE_BYTES = 2 * 1024 * 1024
CODE_SUFFIXES = {
    ".py",
    ".js",
    ".mjs",
    ".cjs",
    ".ts",
    ".go",
    ".rb",
    ".sh",
    ".bash",
    ".java",
    ".kt",
    ".php",
    ".ps1",
    ".yml",
    ".yaml",
    ".tf",
    ".mk",
}
CODE_NAMES = {"Dockerfile", "Makefile", "Jenkinsfile", "Procfile"}


class ReferenceError(GraphError):
    """A configuration directory cannot be read."""


@dataclass(frozen=True, slots=True)
class Reference:
    """One thing a file says: ``consumer`` reads ``store``, holds a value fingerprinted
    ``value_fp`` (kept only if it matches a credential), or declares a store entry."""

    file: str
    line: int
    consumer: str | None
    consumer_kind: str = "service"
    store: StoreRef | None = None
    value_fp: str | None = None
    detail: str = ""
    stored_value: bool = False  # value_fp is the store entry's value (Terraform), not a use


@dataclass
class Scan:
    root: Path
    refs: list[Reference] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


def literal(value: object) -> str | None:
    if isinstance(value, str) and value and not any(c in value for c in "${}<>"):
        return value
    return None


def vault_ref(path: str, mount: str | None = None) -> StoreRef | None:
    """``secret/data/x`` or ``secret/x`` (mount first) or ``x`` with ``mount``."""
    path = path.strip().strip("/")
    if not literal(path):
        return None
    if mount is None:
        if "/" not in path:
            return None
        mount, path = path.split("/", 1)
    mount = mount.strip("/")
    path = path.removeprefix("data/")
    return StoreRef("vault-kv2", path, mount) if path and mount else None


def line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def yaml_docs(path: Path, text: str, warnings: list[str]) -> Iterator[Any]:
    """Each document of a multi-document YAML file, keeping true line numbers; a document
    that does not parse (a Helm template, say) is skipped with a warning."""
    starts = [0] + [m.end() for m in re.finditer(r"(?m)^---[^\n]*\n", text)]
    for i, start in enumerate(starts):
        end = text.find("\n---", start) if i + 1 < len(starts) else len(text)
        chunk = text[start : end if end >= 0 else len(text)]
        padded = "\n" * text.count("\n", 0, start) + chunk
        try:
            doc = load_yaml(path, ReferenceError, text=padded)
        except ReferenceError as exc:
            warnings.append(f"{exc.message}; document skipped")
            continue
        if doc is not None:
            yield doc


def parse_dotenv(text: str) -> Iterator[tuple[str, str, int]]:
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        if key.strip() and value:
            yield key.strip(), value, n
