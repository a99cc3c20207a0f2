"""Which paths a scan skips: gitignore-syntax patterns, relative to the scan root.

The shipped defaults skip dependency trees and lockfiles (other people's code, checked by their
own authors) but never the project's own build output: front-end keys leak in ``dist/``, bundles
and source maps, so those are always scanned unless a project excludes them itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pathspec

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

    def __post_init__(self) -> None:
        object.__setattr__(self, "_spec", pathspec.GitIgnoreSpec.from_lines(self.patterns))

    @classmethod
    def build(cls, patterns: Iterable[str], *, defaults: bool = True) -> PathFilter:
        own = tuple(p for p in patterns if p.strip())
        return cls((*DEFAULT_EXCLUDES, *own) if defaults else own)

    def excluded(self, relative: str, *, is_dir: bool = False) -> bool:
        if not self.patterns:
            return False
        path = relative.replace("\\", "/").lstrip("/")
        if path in ("", "."):
            return False
        spec: pathspec.GitIgnoreSpec = self._spec  # type: ignore[attr-defined]
        return bool(spec.match_file(path + "/" if is_dir else path))

    def __bool__(self) -> bool:
        return bool(self.patterns)
