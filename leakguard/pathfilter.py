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


@dataclass(frozen=True)
class PathFilter:
    """Compiled exclude patterns: ``excluded("a/b.txt")``, ``excluded("x", is_dir=True)``."""

    patterns: tuple[str, ...] = ()
    _spec: Any = field(default=None, init=False, repr=False, compare=False)
    _matched: list[int] = field(default_factory=lambda: [0], init=False, repr=False, compare=False)

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
        self._matched[0] += 1
        if self._spec is None or self._matched[0] == FAST_BACKEND_AFTER:
            import pathspec  # on first use: a scan with no excludes never pays

            backend = "simple" if self._matched[0] < FAST_BACKEND_AFTER else "best"
            spec = pathspec.GitIgnoreSpec.from_lines(self.patterns, backend=backend)
            object.__setattr__(self, "_spec", spec)
        return self._spec

    def __bool__(self) -> bool:
        return bool(self.patterns)
