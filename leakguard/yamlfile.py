"""YAML loading that remembers line numbers, so errors can name the file and line.

Used by the rule loader, the playbook loader, the inventory and sweep configuration readers.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from leakguard.errors import LeakguardError


class LineDict(dict[str, Any]):
    """A mapping that knows the 1-based line it started on and each key's line."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    line: int = 0


def _construct_mapping(loader: Any, node: Any) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[str(key)] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: Any, node: Any) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    return out


@functools.cache
def _loaders() -> tuple[Any, Any]:
    """(libyaml's loader when PyYAML has it, else the pure one; the pure one), both keeping
    lines. Built on first use: importing PyYAML costs 15 ms, and a scan whose rules come from
    the cache reads no YAML at all."""
    import yaml

    class LineLoader(yaml.SafeLoader):
        pass

    class FastLineLoader(getattr(yaml, "CSafeLoader", LineLoader)):  # type: ignore[misc]
        """libyaml's parser: the same nodes and marks, several times faster. Errors are
        re-parsed with the pure loader so messages name the same line as always."""

    tags = yaml.resolver.BaseResolver
    for loader in (LineLoader, FastLineLoader):
        loader.add_constructor(tags.DEFAULT_MAPPING_TAG, _construct_mapping)
        loader.add_constructor(tags.DEFAULT_SEQUENCE_TAG, _construct_sequence)
    return FastLineLoader, LineLoader


def load_yaml(
    path: Path, error: type[LeakguardError], *, text: str | None = None, what: str = "file"
) -> Any:
    """Parse ``path`` (or ``text`` attributed to it); raise ``error`` naming file and line."""
    import yaml

    source = read_config_text(path, error, what=what) if text is None else text
    fast, plain = _loaders()
    try:
        return yaml.load(source, Loader=fast)
    except yaml.YAMLError:
        pass
    except RecursionError:  # hostile nesting ([[[[... 50,000 deep) is an input error
        raise error(f"{path}: invalid YAML: nested too deeply") from None
    try:
        return yaml.load(source, Loader=plain)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise error(f"{where}: invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: invalid YAML: {exc}") from None


#: a rule file, sweep configuration, playbook or inventory is far smaller than this
MAX_CONFIG_BYTES = 16 * 1024 * 1024


def read_config_text(
    path: Path,
    error: type[LeakguardError],
    *,
    what: str = "file",
    limit: int = MAX_CONFIG_BYTES,
    hint: str | None = None,
) -> str:
    """The text of a configuration-like file: only a regular file (a FIFO would block, a
    device never end), at most ``limit`` bytes; anything else raises ``error`` in one line."""
    import os
    import stat

    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise error(f"{what} not found: {path}", hint=hint) from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}", hint=hint) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise error(f"{what} {path} is a directory", hint=hint)
        if not stat.S_ISREG(mode):
            raise error(f"{what} {path} is not a regular file (a pipe or device is not read)")
        os.set_blocking(fd, True)
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}", hint=hint) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise error(f"{what} {path} is over {limit // (1024 * 1024)} MiB; not read", hint=hint)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"cannot read {what} {path}: not UTF-8 text ({exc.reason})", hint=hint
        ) from None


def line_of(node: object, key: str | None = None) -> int:
    if isinstance(node, LineDict):
        return node.line_of(key) if key is not None else node.line
    if isinstance(node, LineList):
        return node.line
    return 0
