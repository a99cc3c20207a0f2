"""A plain table of redacted findings and a summary line."""

from __future__ import annotations

from leakguard.model import ScanResult


def render(result: ScanResult, *, show_secrets: bool = False) -> str:
    lines = []
    for f in result.findings:
        loc = f.location
        where = f"{loc.path}:{loc.line}:{loc.column}"
        shown = f.secret if show_secrets and f.secret else f.redacted
        lines.append(f"{f.severity.label:<8} {f.rule_id:<32} {shown:<24} {where}")
    creds = len(result.credentials)
    s = result.stats
    lines.append(
        f"{len(result.findings)} finding(s), {creds} credential(s) in {s.files} file(s), "
        f"{s.bytes} bytes, {s.seconds:.2f}s; {len(s.skipped)} skipped"
    )
    return "\n".join(lines) + "\n"
