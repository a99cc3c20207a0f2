"""Deployed web sites: the page, its scripts and their source maps (see issue: web bundles)."""

from __future__ import annotations

from leakguard.errors import InputError
from leakguard.options import ScanOptions
from leakguard.sources.interface import Source


def site_source(url: str, options: ScanOptions) -> Source:
    raise InputError(f"{url}: scanning deployed sites is not supported yet")
