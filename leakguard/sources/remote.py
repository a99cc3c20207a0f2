"""Remote git repositories, mirrored into a cache directory (see issue: git history)."""

from __future__ import annotations

from leakguard.errors import InputError
from leakguard.options import ScanOptions
from leakguard.sources.interface import Source


def looks_like_git_url(url: str) -> bool:
    return url.lower().rstrip("/").endswith(".git")


def remote_source(url: str, options: ScanOptions) -> Source:
    raise InputError(f"{url}: scanning remote repositories is not supported yet")
