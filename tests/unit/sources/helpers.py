"""Shared helpers for the source reader tests: a one-file scan with the built-in rules."""

from __future__ import annotations

import functools
from pathlib import Path

from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet
from leakguard.model import Finding, ScanStats
from leakguard.options import ScanOptions
from leakguard.sources.readers import file_chunks
from leakguard.sources.streaming import CHUNK_BYTES


@functools.cache
def engine() -> Engine:
    """The built-in rules, compiled once per test process."""
    return Engine(RuleSet.load(), show_secrets=True)


def scan_file(
    path: Path,
    display: str | None = None,
    options: ScanOptions | None = None,
    *,
    chunk_bytes: int = CHUNK_BYTES,
) -> tuple[list[Finding], ScanStats]:
    options = options or ScanOptions()
    stats = ScanStats()
    findings = [
        finding
        for chunk in file_chunks(
            path, display or path.name, options, stats, chunk_bytes=chunk_bytes
        )
        for finding in engine().scan(chunk, options.decode_depth)
    ]
    return findings, stats


def secrets(findings: list[Finding]) -> list[str | None]:
    return sorted(f.secret for f in findings)
