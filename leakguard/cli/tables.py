"""Tables people read, laid out by rich: a header, columns that never wrap (long cells end
with an ellipsis), severity in colour on a terminal and plain text when piped or written to a
file. Every cell is literal text (``Text``), never rich markup: paths and values come from
scanned content."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from leakguard.reports.text import MAX_WIDTHS, TextTable

SEVERITY_STYLES = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}
_GAP = 2
_MIN_SCREEN = 40  # narrower than this is a terminal that does not know its size


def wants_colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def terminal_width(stream: TextIO) -> int | None:
    """The terminal's width (``COLUMNS`` wins, as in every shell tool); None off a terminal, or
    when the terminal reports no usable size (some ptys say 0), so tables take the width their
    cells need."""
    if not _isatty(stream):
        return None
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) >= _MIN_SCREEN:
        return int(columns)
    try:
        width = os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return None
    return width if width >= _MIN_SCREEN else None


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def render_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    max_widths: Sequence[int],
    severities: Sequence[str] | None = None,
    severity_column: int = 0,
    colour: bool = False,
    width: int | None = None,
) -> str:
    """The table as text. ``width`` is the screen's (None: as wide as the cells need, each
    column at most its ``max_widths``); on a narrower screen columns shrink, with ellipses."""
    from rich.console import Console  # imported when a table is drawn: a faster start
    from rich.table import Table
    from rich.text import Text

    widths = fit(
        [
            min(cap, max([len(h), *(len(r[i]) for r in rows)]))
            for i, (h, cap) in enumerate(zip(headers, max_widths, strict=True))
        ],
        [len(h) for h in headers],
        None if width is None else width - _GAP * len(headers),
    )
    needed = sum(widths) + _GAP * len(headers)
    table = Table(
        box=None,
        show_edge=False,
        pad_edge=False,
        padding=(0, _GAP, 0, 0),
        header_style="bold" if colour else "",
        collapse_padding=True,
    )
    for header, w in zip(headers, widths, strict=True):
        table.add_column(header, width=w, no_wrap=True, overflow="ellipsis")
    for i, row in enumerate(rows):
        cells = [Text(cell) for cell in row]
        if colour and severities is not None:
            cells[severity_column].stylize(SEVERITY_STYLES.get(severities[i], ""))
        table.add_row(*cells)
    out = io.StringIO()
    console = Console(
        file=out,
        width=needed,
        force_terminal=colour,
        color_system="standard" if colour else None,
        no_color=not colour,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=False,
    )
    console.print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()) + "\n"


def fit(natural: list[int], floors: list[int], room: int | None) -> list[int]:
    """Column widths that fit ``room`` characters: the widest column gives up one character
    at a time, never below its floor (its header). Past that, the screen is too narrow and the
    terminal wraps: nothing is dropped."""
    widths = list(natural)
    if room is None:
        return widths
    floors = [max(f, 4) for f in floors]
    while sum(widths) > room:
        shrinkable = [i for i, w in enumerate(widths) if w > floors[i]]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def stdout_style() -> tuple[bool, int | None]:
    """(colour, width) for tables printed on standard output."""
    return wants_colour(sys.stdout), terminal_width(sys.stdout)


def scan_report(table: TextTable, *, colour: bool = False, width: int | None = None) -> str:
    """The text report of a scan: the findings table, each row's details under it (verbose),
    notes, and the summary line."""
    lines: list[str] = []
    if table.rows:
        laid_out = render_table(
            table.headers,
            table.rows,
            max_widths=MAX_WIDTHS,
            severities=table.severities,
            colour=colour,
            width=width,
        ).splitlines()
        lines.append(laid_out[0])
        for row, extra in zip(laid_out[1:], table.details, strict=True):
            lines.append(row)
            lines.extend(extra)
        lines.append("")
    lines.extend(table.notes)
    lines.append(table.summary)
    return "\n".join(lines) + "\n"
