"""Report formats. Each renders a ScanResult to text; none holds scanning logic."""

from __future__ import annotations

import os
from pathlib import Path

from leakguard.errors import InputError, UsageError
from leakguard.model import ScanResult

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


def write_private(path: Path, text: str) -> None:
    """Write a report readable by its owner only (0600), whatever the umask or an old mode."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
