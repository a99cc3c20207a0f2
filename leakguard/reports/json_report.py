"""The JSON contract: {"version": 1, "findings": [...], "stats": {...}} and JSON lines."""

from __future__ import annotations

import json

from leakguard.model import ScanResult
from leakguard.reports import pretty

JSON_VERSION = 1


def document(result: ScanResult, *, show_secrets: bool = False) -> dict[str, object]:
    return {
        "version": JSON_VERSION,
        "findings": [f.to_dict(show_secrets=show_secrets) for f in result.findings],
        "stats": result.stats.to_dict(),
    }


def render(result: ScanResult, *, show_secrets: bool = False) -> str:
    return pretty.dumps(document(result, show_secrets=show_secrets)) + "\n"


def render_lines(result: ScanResult, *, show_secrets: bool = False) -> str:
    return "".join(json.dumps(f.to_dict(show_secrets=show_secrets)) + "\n" for f in result.findings)
