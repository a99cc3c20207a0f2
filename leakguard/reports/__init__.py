"""Report formats. Each renders a ScanResult to text; none holds scanning logic."""

from __future__ import annotations

from leakguard.errors import UsageError
from leakguard.model import ScanResult


def render(result: ScanResult, fmt: str, *, show_secrets: bool = False) -> str:
    from leakguard.reports import json_report, text  # noqa: PLC0415

    renderers = {
        "text": text.render,
        "json": json_report.render,
        "jsonl": json_report.render_lines,
    }
    if fmt not in renderers:
        raise UsageError(f"unknown format {fmt!r}", hint=f"use one of: {', '.join(renderers)}")
    return renderers[fmt](result, show_secrets=show_secrets)
