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


@dataclass(frozen=True)
class PathFilter:
    """Compiled exclude patterns: ``excluded("a/b.txt")``, ``excluded("x", is_dir=True)``."""

    patterns: tuple[str, ...] = ()
    _spec: Any = field(default=None, init=False, repr=False, compare=False)

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
        return bool(self._compiled().match_file(path + "/" if is_dir else path))

    def _compiled(self) -> Any:
        if self._spec is None:  # compiled on first use: a scan with no excludes never pays
            import pathspec

            object.__setattr__(self, "_spec", pathspec.GitIgnoreSpec.from_lines(self.patterns))
        return self._spec

    def __bool__(self) -> bool:
        return bool(self.patterns)
