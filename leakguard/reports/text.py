"""The text report: a table of redacted findings, one row per credential, and a summary line.

Rows are sorted by severity (most severe first), then by where the credential was first seen.
A credential found in several places shows its first place and how many more there are;
``verbose`` lists every place, the validation result, and every skipped file.
"""

from __future__ import annotations

from dataclasses import dataclass

from leakguard.model import Credential, Finding, Location, ScanResult
from leakguard.redact import escape_terminal, scrub_credentials, terminal_safe

_HEADERS = ("SEVERITY", "RULE", "CREDENTIAL", "LOCATION", "SEEN")
#: the widest each column may grow; longer cells end with an ellipsis
MAX_WIDTHS = (20, 40, 48, 80, 6)
_WARNINGS_SHOWN = 5  # warnings (a truncated gzip, a limit hit) show without -v, up to this many


def where(loc: Location) -> str:
    """``path:line:column`` plus the short commit id when the place is in git history; control
    characters in the path escaped (a file name is attacker-chosen)."""
    text = terminal_safe(loc.path)
    if loc.line:
        text += f":{loc.line}"
        if loc.column:
            text += f":{loc.column}"
    if loc.commit:
        text += f" @{escape_terminal(loc.commit[:10])}"
    return text


def places(credential: Credential) -> list[Location]:
    out: list[Location] = []
    for f in credential.findings:
        out.append(f.location)
        out.extend(f.occurrences)
    return out


def shown(finding: Finding, show_secrets: bool) -> str:
    return finding.secret if show_secrets and finding.secret is not None else finding.redacted


def summary(result: ScanResult) -> str:
    """One line: what was found (and how much a baseline hid), and what was read."""
    s = result.stats
    creds = len(result.credentials)
    baselined = s.counters.get("baselined")
    if baselined is not None:  # a baseline was applied: say what it hid
        found = (
            f"{creds} new credential(s) in {len(result.findings)} finding(s) "
            f"({baselined} baselined)"
            if creds
            else f"0 new ({baselined} baselined)"
        )
    elif creds:
        found = f"{creds} credential(s) in {len(result.findings)} finding(s)"
    else:
        found = "no credentials found"
    # skipped whole (same signature), or no new commit and no changed file in the work tree
    unchanged = len(result.unchanged) + s.counters.get("git_unchanged_repositories", 0)
    if unchanged and not s.files and not s.bytes:
        what = "unchanged" if unchanged == 1 else f"{unchanged} repositories unchanged"
        return f"{found}; {what} since the last scan ({s.seconds:.2f}s)"
    line = f"{found}; scanned {s.files} file(s), {size_text(s.bytes)} in {s.seconds:.2f}s"
    if result.unchanged:  # these were not read at all
        line += f"; {len(result.unchanged)} unchanged since the last scan"
    if s.counters.get("git_unchanged_repositories"):  # only their work trees were read
        line += f"; no new commit in {s.counters['git_unchanged_repositories']} repositor(ies)"
    if s.skipped:
        line += f"; {len(s.skipped)} skipped"
    return line


@dataclass(frozen=True, slots=True)
class TextTable:
    """What the text report shows, before any layout: a front end lays it out (the CLI with
    rich, :func:`render` as plain fixed-width text)."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    severities: tuple[str, ...]  # one per row, for colour
    details: tuple[tuple[str, ...], ...]  # one per row: more lines under it (verbose)
    notes: tuple[str, ...]  # warnings and skipped files
    summary: str


def table(result: ScanResult, *, show_secrets: bool = False, verbose: bool = False) -> TextTable:
    credentials = sorted(
        result.credentials,
        key=lambda c: (-c.severity, _first(c).path, _first(c).commit or "", _first(c).line),
    )
    rows: list[tuple[str, ...]] = []
    details: list[tuple[str, ...]] = []
    for c in credentials:
        locations = places(c)
        top = c.findings[0]
        live = top.verification
        rows.append(
            (
                c.severity.label if live is None else f"{c.severity.label} {live.status}",
                escape_terminal(c.rule_id),
                escape_terminal(shown(top, show_secrets)),
                where(locations[0]),
                f"{len(locations)}x" if len(locations) > 1 else "",
            )
        )
        details.append(tuple(_details(top, locations)) if verbose else ())
    return TextTable(
        _HEADERS,
        tuple(rows),
        tuple(c.severity.label for c in credentials),
        tuple(details),
        tuple(_notes(result, verbose)),
        summary(result),
    )


def _details(top: Finding, locations: list[Location]) -> list[str]:
    live = top.verification
    extra = [f"    also at {where(loc)}" for loc in locations[1:]]
    v = top.validation
    extra.append(
        escape_terminal(
            f"    {top.title}; validation: {v.status}{' - ' + v.detail if v.detail else ''}"
        )
    )
    if top.attributes:
        facts = ", ".join(f"{k}={v}" for k, v in top.attributes)
        extra.append(f"    {terminal_safe(facts)}")
    if live is not None:
        who = ", ".join(f"{k}={v}" for k, v in live.identity)
        extra.append(
            terminal_safe(
                f"    {live.status}: {live.endpoint} -> {live.http_status or '-'}"
                f" at {live.checked_at}{'; ' + who if who else ''}"
                f"{' (' + live.detail + ')' if live.detail else ''}"
            )
        )
    if top.rotation:
        extra.append(f"    rotate with playbook {escape_terminal(top.rotation)}")
    return extra


def _notes(result: ScanResult, verbose: bool) -> list[str]:
    lines: list[str] = []
    warnings = result.stats.warnings
    shown_warnings = warnings if verbose else warnings[:_WARNINGS_SHOWN]
    lines.extend(f"warning: {terminal_safe(scrub_credentials(w))}" for w in shown_warnings)
    if len(warnings) > len(shown_warnings):
        lines.append(
            f"... and {len(warnings) - len(shown_warnings)} more warning(s); -v lists them"
        )
    if verbose:
        for skipped in result.stats.skipped:
            lines.append(f"skipped {terminal_safe(skipped.path)}: {terminal_safe(skipped.reason)}")
    elif result.stats.skipped:
        reasons = sorted({terminal_safe(s.reason.split(" (")[0]) for s in result.stats.skipped})
        lines.append(
            f"skipped {len(result.stats.skipped)} file(s) ({', '.join(reasons)}); -v lists them"
        )
    return lines


def truncate(cell: str, width: int) -> str:
    """``cell`` cut to ``width`` characters, ending with an ellipsis when cut."""
    return cell if len(cell) <= width else cell[: max(width - 1, 0)] + "…"


def render(result: ScanResult, *, show_secrets: bool = False, verbose: bool = False) -> str:
    """Plain fixed-width text: a header, one row per credential, long cells cut with an
    ellipsis (``MAX_WIDTHS``) so a 436-character line never breaks the columns."""
    t = table(result, show_secrets=show_secrets, verbose=verbose)
    lines: list[str] = []
    if t.rows:
        rows = [tuple(truncate(c, w) for c, w in zip(r, MAX_WIDTHS, strict=True)) for r in t.rows]
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(t.headers)]
        lines.append(_row(t.headers, widths))
        for row, extra in zip(rows, t.details, strict=True):
            lines.append(_row(row, widths))
            lines.extend(extra)
        lines.append("")
    lines.extend(t.notes)
    lines.append(t.summary)
    return "\n".join(lines) + "\n"


def _first(c: Credential) -> Location:
    return c.findings[0].location


def _row(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()


def size_text(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"
