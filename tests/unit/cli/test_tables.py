"""Tables people read: a header, columns that never break on a long cell, colour only on a
terminal, cells that are never rich markup."""

from __future__ import annotations

import io
import re

import pytest

from leakguard.cli.tables import fit, render_table, scan_report, wants_colour
from leakguard.model import Finding, Location, ScanResult, ScanStats, Severity
from leakguard.redact import fingerprint, redact
from leakguard.reports.text import table

HEADERS = ("SEVERITY", "RULE", "CREDENTIAL", "LOCATION", "SEEN")
WIDTHS = (20, 40, 48, 80, 6)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _finding(secret: str, path: str, severity: Severity = Severity.CRITICAL) -> Finding:
    return Finding(
        rule_id="stripe-live-secret-key",
        provider="stripe",
        title="Stripe live secret key",
        severity=severity,
        fingerprint=fingerprint(secret),
        redacted=redact(secret),
        source_kind="file",
        location=Location(path, 1, 1),
    )


def _starts(line: str, header: str) -> list[int]:
    return [m.start() for m in re.finditer(r"\S+", line)][: len(header.split())]


def test_a_436_character_cell_never_breaks_the_columns() -> None:
    long_path = "src/" + "x" * 420 + "/settings.py"
    assert len(long_path) == 436
    result = ScanResult(
        (
            _finding("sk_live_" + "a" * 32, "config/.env"),
            _finding("sk_live_" + "b" * 32, long_path),
        ),
        ScanStats(files=2),
    )
    text = scan_report(table(result))
    lines = text.splitlines()
    assert lines[0].split() == list(HEADERS)
    header_at = lines[0].index("LOCATION")
    rows = lines[1:3]
    assert [row[header_at:].startswith(("config/.env", "src/x")) for row in rows] == [True, True]
    assert max(len(line) for line in lines) < 200
    assert "…" in rows[1] and "settings.py" not in text  # cut, with an ellipsis
    assert not ANSI.search(text)  # plain: not a terminal


def test_colour_on_a_terminal_only_for_the_severity() -> None:
    rows = [("critical", "r1"), ("low", "r2")]
    coloured = render_table(
        ("SEVERITY", "RULE"), rows, max_widths=(10, 10), severities=["critical", "low"],
        colour=True,
    )  # fmt: skip
    assert "\x1b[1;31mcritical" in coloured and "\x1b[36mlow" in coloured
    assert ANSI.sub("", coloured).splitlines()[1].split() == ["critical", "r1"]
    plain = render_table(("SEVERITY", "RULE"), rows, max_widths=(10, 10), severities=None)
    assert not ANSI.search(plain)


def test_cells_are_text_never_markup() -> None:
    text = render_table(("A",), [("[bold red]x[/] [link=http://e]y",)], max_widths=(60,))
    assert "[bold red]x[/] [link=http://e]y" in text


def test_a_narrow_screen_shrinks_the_widest_columns_and_drops_none() -> None:
    assert fit([20, 40, 48, 80, 6], [8, 4, 10, 8, 4], 60) == [13, 13, 14, 14, 6]
    assert fit([20, 40], [8, 4], 5) == [8, 4]  # never below a header: the terminal wraps
    text = render_table(HEADERS, [("critical", "r" * 50, "c" * 50, "l" * 90, "2x")],
                        max_widths=WIDTHS, width=70)  # fmt: skip
    assert text.splitlines()[0].split() == list(HEADERS)
    assert all(len(line) <= 70 for line in text.splitlines())


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_needs_a_terminal_and_no_NO_COLOR(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert wants_colour(_Tty()) and not wants_colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not wants_colour(_Tty())


def test_a_terminal_without_a_size_gets_the_natural_width(monkeypatch: pytest.MonkeyPatch) -> None:
    from leakguard.cli.tables import terminal_width

    monkeypatch.setenv("COLUMNS", "120")
    assert terminal_width(_Tty()) == 120 and terminal_width(io.StringIO()) is None
    monkeypatch.setenv("COLUMNS", "0")
    assert terminal_width(_Tty()) is None  # a StringIO has no size to ask: natural width
