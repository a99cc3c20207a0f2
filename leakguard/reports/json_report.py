"""The JSON contract: {"version": 1, "findings": [...], "stats": {...}} and JSON lines."""

from __future__ import annotations

import json

from leakguard.model import Extras, Finding, Location, ScanResult
from leakguard.reports import pretty

JSON_VERSION = 1


def document(result: ScanResult, *, show_secrets: bool = False) -> dict[str, object]:
    return _document(result, show_secrets, lazy=False)


def _document(result: ScanResult, show_secrets: bool, *, lazy: bool) -> dict[str, object]:
    """``lazy``: the findings as :class:`pretty.Items`, each made as it is written."""
    findings = (f.to_dict(show_secrets=show_secrets) for f in result.findings)
    return {
        "version": JSON_VERSION,
        "findings": pretty.Items(findings) if lazy else list(findings),
        "stats": result.stats.to_dict(),
    }


def render(result: ScanResult, *, show_secrets: bool = False) -> str:
    return pretty.dumps(_document(result, show_secrets, lazy=True)) + "\n"


def render_lines(result: ScanResult, *, show_secrets: bool = False) -> str:
    """One ``json.dumps(finding.to_dict())`` per line, written by :class:`LineWriter`."""
    pieces: list[str] = []
    add = LineWriter(show_secrets=show_secrets).add_line
    for f in result.findings:
        add(f, pieces)
    return "".join(pieces)


# the surroundings kept per credential: the findings of one credential whose other fields
# differ from place to place (a verdict per match) each compare with at most this many
VARIANTS = 8
# the location's own keys: an extra of one of these names would take its place in the object
_LOCATION_KEYS = frozenset(("path", "line", "column"))


class LineWriter:
    """``json.dumps(finding.to_dict(show_secrets=...))`` of finding after finding, the same
    text, written from parts: a secret found at many places (a value repeated through a
    bundle) differs from place to place only in its location, so the text around the location
    is encoded once per credential, and a location's text around its line and column once
    per path.

    A finding takes the text around its location from an earlier finding of the same
    fingerprint whose other fields are equal: text fields by value, fields holding other
    values by identity (``1`` and ``True`` are equal, but encoded differently; the engine
    gives the findings of one credential the same objects). Each cached part keeps the
    finding or location it was made from, so no identity it was found by is reused."""

    def __init__(self, *, show_secrets: bool = False) -> None:
        self.show_secrets = show_secrets
        # by fingerprint: each finding whose surroundings were encoded, and its text before
        # and after the location
        self._around: dict[str, list[tuple[Finding, str, str]]] = {}
        # a location's text before its line and after its column, by path, commit and extras
        self._places: dict[tuple[str, str | None, int], tuple[str, str, Location] | None] = {}
        self._last: tuple[str, str | None, Extras, tuple[str, str, Location] | None] | None = None

    def line(self, f: Finding) -> str:
        pieces: list[str] = []
        self.add_line(f, pieces)
        return "".join(pieces)

    def add_line(self, f: Finding, pieces: list[str]) -> None:
        """Append the line's text to ``pieces``, in parts (joined once for the whole report)."""
        known = self._around.get(f.fingerprint)
        if known is not None:
            for g, head, tail in known:
                if (
                    g.rule_id == f.rule_id
                    and g.validation is f.validation
                    and g.attributes is f.attributes
                    and g.severity is f.severity
                    and g.redacted == f.redacted
                    and g.provider == f.provider
                    and g.title == f.title
                    and g.source_kind == f.source_kind
                    and g.rotation == f.rotation
                    and g.occurrences is f.occurrences
                    and g.parts == f.parts
                    and g.verification is f.verification
                    and (not self.show_secrets or g.secret == f.secret)
                ):
                    pieces += (head, self._location(f.location), tail)
                    return
        else:
            known = self._around[f.fingerprint] = []
        head, tail = self._split(f)
        if len(known) == VARIANTS:  # findings of one credential that differ place to place
            del known[0]
        known.append((f, head, tail))
        pieces += (head, self._location(f.location), tail)

    def _split(self, f: Finding) -> tuple[str, str]:
        """The finding's text before its location's, and after it (with the line end)."""
        out = f.to_dict(show_secrets=self.show_secrets)
        keys = list(out)
        at = keys.index("location")
        before = json.dumps({k: out[k] for k in keys[:at]})[:-1]
        after = json.dumps({k: out[k] for k in keys[at + 1 :]})[1:]
        head = before + (", " if at else "") + '"location": '
        tail = (", " + after if len(keys) > at + 1 else after) + "\n"
        return head, tail

    def _location(self, loc: Location) -> str:
        line, column = loc.line, loc.column
        last = self._last
        if (
            last is not None
            and last[0] is loc.path
            and last[1] is loc.commit
            and last[2] is loc.extras
        ):
            parts = last[3]  # the previous finding's path (findings come sorted by path)
        else:
            key = (loc.path, loc.commit, id(loc.extras))
            try:
                parts = self._places[key]
            except KeyError:
                parts = self._places[key] = _place_parts(loc)
            self._last = (loc.path, loc.commit, loc.extras, parts)
        if parts is None or type(line) is not int or type(column) is not int:
            return json.dumps(loc.to_dict())
        return f'{parts[0]}{line}, "column": {column}{parts[1]}'


def _place_parts(loc: Location) -> tuple[str, str, Location] | None:
    """The text of ``loc``'s object before its line and after its column; None when an extra
    holds a key of the location's own (then the object is encoded whole)."""
    if any(key in _LOCATION_KEYS for key, _ in loc.extras):
        return None
    rest = loc.to_dict()
    del rest["path"], rest["line"], rest["column"]
    head = '{"path": ' + json.dumps(loc.path) + ', "line": '
    tail = (", " + json.dumps(rest)[1:]) if rest else "}"
    return head, tail, loc
