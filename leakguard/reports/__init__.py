"""Report formats. Each renders a ScanResult to text; none holds scanning logic."""

from __future__ import annotations

from leakguard.errors import UsageError
from leakguard.model import ScanResult
from leakguard.privatefile import write_private

__all__ = ["FORMATS", "check_format", "render", "write_private"]

FORMATS = ("text", "json", "jsonl", "sarif")


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    return fmt


def render(
    result: ScanResult, fmt: str, *, show_secrets: bool = False, verbose: bool = False
) -> str:
    from leakguard.reports import json_report, sarif, text

    check_format(fmt)
    if fmt == "text":
        return text.render(result, show_secrets=show_secrets, verbose=verbose)
    if fmt == "json":
        return json_report.render(result, show_secrets=show_secrets)
    if fmt == "jsonl":
        return json_report.render_lines(result, show_secrets=show_secrets)
    return sarif.render(result, show_secrets=show_secrets)
