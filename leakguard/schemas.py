"""The published JSON Schemas of LeakGuard's files, written from the loaders' own definitions.

``python -m leakguard.schemas [DIR]`` writes ``DIR/<name>.schema.json`` (default: ``schemas/``
of the source tree); ``--check`` writes nothing and exits 1 when a file differs. Editors point
at these files (docs/config.md, "Editor validation"); the loaders validate with the same
dictionaries, so an editor and ``leakguard`` never disagree.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any


def _config() -> dict[str, Any]:
    from leakguard.config import SCHEMA

    return SCHEMA


def _rules() -> dict[str, Any]:
    from leakguard.engine.rules import schema

    return schema()


def _playbook() -> dict[str, Any]:
    from leakguard.rotation.schema import schema

    return schema()


def _inventory() -> dict[str, Any]:
    from leakguard.graph.inventory import SCHEMA

    return SCHEMA


def _sweep() -> dict[str, Any]:
    from leakguard.sweep.config import SCHEMA

    return SCHEMA


#: published name -> the loader's schema
SCHEMAS: Mapping[str, Callable[[], dict[str, Any]]] = {
    "leakguard-config": _config,
    "detector-rules": _rules,
    "playbook": _playbook,
    "inventory": _inventory,
    "sweep-config": _sweep,
}
DEFAULT_DIR = Path(__file__).resolve().parents[1] / "schemas"


def render(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def generate() -> dict[str, str]:
    """``<name>.schema.json`` -> its text."""
    return {f"{name}.schema.json": render(build()) for name, build in SCHEMAS.items()}


def stale(directory: Path) -> list[str]:
    """The schema files under ``directory`` that are missing or differ from the loaders'."""
    out = []
    for name, text in generate().items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            out.append(name)
    return out


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generate().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    rest = [a for a in args if a != "--check"]
    directory = Path(rest[0]) if rest else DEFAULT_DIR
    if check:
        differ = stale(directory)
        for name in differ:
            print(f"{directory / name} differs from its loader's schema", file=sys.stderr)
        if differ:
            print("run: python -m leakguard.schemas", file=sys.stderr)
        return 1 if differ else 0
    for path in write(directory):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
