"""Which paths a scan skips: gitignore-syntax patterns, relative to the scan root.

The shipped defaults skip dependency trees and lockfiles (other people's code, checked by their
own authors) but never the project's own build output: front-end keys leak in ``dist/``, bundles
and source maps, so those are always scanned unless a project excludes them itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_EXCLUDES: tuple[str, ...] = (
    # dependency trees
    "node_modules/",
    "bower_components/",
    "jspm_packages/",
    "vendor/",
    ".venv/",
    "venv/",
    "site-packages/",
    "dist-packages/",
    ".tox/",
    ".nox/",
    "Pods/",
    ".gradle/caches/",
    # lockfiles
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lockb",
    "poetry.lock",
    "Pipfile.lock",
    "uv.lock",
    "pdm.lock",
    "Cargo.lock",
    "go.sum",
    "composer.lock",
    "Gemfile.lock",
    "packages.lock.json",
    "mix.lock",
    "pubspec.lock",
)


#: paths matched with pathspec's plain backend before its Hyperscan one is built: that takes
#: ~50 ms (more than a scan of a few thousand files spends matching) and then ~1 us a path
FAST_BACKEND_AFTER = 10_000


_GLOB = frozenset("*?[]!\\")


def _anchored_path(pattern: str) -> tuple[str, bool] | None:
    """``(path, directories_only)`` when ``pattern`` is a literal path relative to the root
    (``.gradle/caches/``, ``/top.txt``: a slash at the start or inside anchors it), else None."""
    if pattern != pattern.strip() or pattern.startswith(("#", "!")) or _GLOB & set(pattern):
        return None
    only_dirs = pattern.endswith("/")
    body = pattern.rstrip("/")
    path = body.lstrip("/")
    if not path or (body == path and "/" not in path):
        return None  # empty, or a bare name (matched at any depth)
    if any(part in ("", ".", "..") for part in path.split("/")):
        return None
    return path, only_dirs


def _plain_name(pattern: str) -> tuple[str, bool] | None:
    """``(name, directories_only)`` when ``pattern`` is a bare name (``node_modules/``,
    ``yarn.lock``): in gitignore syntax it matches that name at any depth, so a set lookup on a
    path's components answers it. None for anything else (a slash inside, a glob, a negation,
    a comment, surrounding blanks)."""
    if pattern != pattern.strip() or pattern.startswith("#"):
        return None
    name, only_dirs = (pattern[:-1], True) if pattern.endswith("/") else (pattern, False)
    if not name or "/" in name or _GLOB & set(name) or name in (".", ".."):
        return None
    return name, only_dirs


@dataclass(frozen=True)
class PathFilter:
    """Compiled exclude patterns: ``excluded("a/b.txt")``, ``excluded("x", is_dir=True)``."""

    patterns: tuple[str, ...] = ()
    _spec: Any = field(default=None, init=False, repr=False, compare=False)
    _matched: list[int] = field(default_factory=lambda: [0], init=False, repr=False, compare=False)
    #: the bare-name patterns as sets (any name; directories only), and the rest for pathspec
    _names: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)
    _dir_names: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)
    _rest: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)
    _anchored: tuple[tuple[str, bool], ...] = field(
        default=(), init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        plain = [_plain_name(p) for p in self.patterns]
        if any(p.startswith("!") for p in self.patterns):  # order matters: pathspec decides all
            plain = [None] * len(plain)
        names = frozenset(n for n, only_dirs in filter(None, plain) if not only_dirs)
        dirs = frozenset(n for n, only_dirs in filter(None, plain) if only_dirs)
        anchored = [
            _anchored_path(p) if q is None else None
            for p, q in zip(self.patterns, plain, strict=True)
        ]
        if any(p.startswith("!") for p in self.patterns):
            anchored = [None] * len(anchored)
        rest = tuple(
            p
            for p, q, a in zip(self.patterns, plain, anchored, strict=True)
            if q is None and a is None
        )
        object.__setattr__(self, "_anchored", tuple(filter(None, anchored)))
        object.__setattr__(self, "_names", names)
        object.__setattr__(self, "_dir_names", dirs)
        object.__setattr__(self, "_rest", rest)

    @classmethod
    def build(cls, patterns: Iterable[str], *, defaults: bool = True) -> PathFilter:
        own = tuple(p for p in patterns if p.strip())
        return cls((*DEFAULT_EXCLUDES, *own) if defaults else own)

    def excluded(self, relative: str, *, is_dir: bool = False) -> bool:
        if not self.patterns:
            return False
        # a file name that is not UTF-8 (surrogate escapes) is matched by its readable form
        path = relative.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        path = path.replace("\\", "/").lstrip("/")
        if path in ("", "."):
            return False
        parts = path.rstrip("/").split("/")
        names, dirs = self._names, self._dir_names
        if names or dirs:
            *parents, last = parts
            if any(part in names or part in dirs for part in parents):
                return True  # inside an excluded directory (or one named like an excluded file)
            if last in names or (is_dir and last in dirs):
                return True
        whole = "/".join(parts)
        for literal, only_dirs in self._anchored:
            if whole.startswith(literal + "/") or (whole == literal and (is_dir or not only_dirs)):
                return True
        if not self._rest:
            return False
        return bool(self._compiled().match_file(path + "/" if is_dir else path))

    def _compiled(self) -> Any:
        self._matched[0] += 1
        if self._spec is None or self._matched[0] == FAST_BACKEND_AFTER:
            import pathspec  # on first use: a scan with no excludes never pays

            backend = "simple" if self._matched[0] < FAST_BACKEND_AFTER else "best"
            spec = pathspec.GitIgnoreSpec.from_lines(self._rest, backend=backend)
            object.__setattr__(self, "_spec", spec)
        return self._spec

    def __bool__(self) -> bool:
        return bool(self.patterns)
