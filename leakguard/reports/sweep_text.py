"""The sweep's text report, for a responder at a terminal or in a cron mail: failed targets
first, then each new credential with where it is, its fingerprint and the command that plans
its rotation."""

from __future__ import annotations

from leakguard.model import LiveCheck
from leakguard.redact import escape_terminal, terminal_safe
from leakguard.store.findings import Occurrence, StoredCredential
from leakguard.sweep.outcome import SweepReport, next_command

_PLACES_SHOWN = 5


def summary_line(report: SweepReport) -> str:
    line = (
        f"sweep #{report.sweep_id}: {len(report.targets)} target(s), {len(report.failed)} "
        f"failed, {len(report.credentials)} credential(s), {len(report.new)} new "
        f"({report.seconds:.1f} s)"
    )
    if report.verified and report.verifications:
        counts = report.by_live_status()
        line += "; verified: " + ", ".join(f"{n} {status}" for status, n in counts.items())
    return line


def live_line(check: LiveCheck) -> str:
    """``live: account=..., arn=... (POST https://sts... at TIME)``: the provider's answer."""
    who = ", ".join(f"{k}={v}" for k, v in check.identity)
    what = f"{check.status}" + (f": {who}" if who else f": {check.detail}" if check.detail else "")
    cached = ", cached" if check.cached else ""
    return f"{what} ({check.endpoint} at {check.checked_at}{cached})"


def place(occurrence: Occurrence) -> str:
    """``target: path:line @commit``, control characters escaped (paths are attacker-chosen)."""
    loc = occurrence.location
    text = terminal_safe(str(loc.get("path", "")))
    if loc.get("line"):
        text += f":{loc['line']}"
    commit = loc.get("commit")
    if isinstance(commit, str) and commit:
        text += f" @{escape_terminal(commit[:10])}"
    return f"{terminal_safe(occurrence.target)}: {text}"


def _credential(c: StoredCredential, check: LiveCheck | None) -> list[str]:
    lines = [
        f"  {c.severity.label:<8} {escape_terminal(c.provider)} {escape_terminal(c.redacted)}"
        f"  {c.fingerprint}"
    ]
    if check is not None:
        lines.append(f"      provider says: {terminal_safe(live_line(check))}")
    present = [o for o in c.occurrences if o.present] or list(c.occurrences)
    lines.extend(f"      at {place(o)}" for o in present[:_PLACES_SHOWN])
    if len(present) > _PLACES_SHOWN:
        lines.append(f"      ... and {len(present) - _PLACES_SHOWN} more place(s)")
    command = next_command(c)
    if command is not None:
        lines.append(f"      next: {escape_terminal(command)}")
    return lines


def render(report: SweepReport) -> str:
    lines = [summary_line(report)]
    for t in report.failed:
        lines.append(f"  FAILED {terminal_safe(t.target)}: {terminal_safe(t.error or '')}")
    new = [c for c in report.for_responder() if c.fingerprint in report.new_fingerprints]
    if new:
        lines.append("new credentials since the last sweep (most severe first):")
        for c in new:
            lines.extend(_credential(c, report.verification(c)))
    else:
        lines.append("no new credentials since the last sweep")
    lines.extend(f"verify: {terminal_safe(p)}" for p in report.notes)
    return "\n".join(lines) + "\n"
