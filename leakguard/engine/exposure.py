"""Context around a match that says a credential is exposed to the public.

Front-end frameworks inline some variables into client code (``NEXT_PUBLIC_*``, ``VITE_*``,
``REACT_APP_*``, ``EXPO_PUBLIC_*``, ``NUXT_PUBLIC_*``, ``GATSBY_*``, SvelteKit's ``PUBLIC_*``,
and Next.js page props in ``__NEXT_DATA__``): a secret assigned to one is shipped to every
browser. The
engine calls :func:`exposure_attributes` for every accepted match and adds what it returns to the
finding's attributes.
"""

from __future__ import annotations

import re

from leakguard.model import Extras

#: how far back on the same line an assignment may start
_LOOKBACK = 256
#: how far back a ``__NEXT_DATA__`` script may open before the secret
_NEXT_DATA_LOOKBACK = 256 * 1024

# Next.js, Vite, Create React App, Expo, Nuxt, Gatsby, SvelteKit (``$env/static/public``)
_PUBLIC_NAME = re.compile(
    rb"(?<![A-Za-z0-9_])(NEXT_PUBLIC_|VITE_|REACT_APP_|EXPO_PUBLIC_|NUXT_PUBLIC_|GATSBY_|PUBLIC_)"
    rb"[A-Za-z0-9_]*[\"'`]?\s*(?:\]\s*)?[:=]{1,3}>?\s*[\"'`]?$"
)


# Every public prefix holds one of these: a line without any is not assigned to a public name.
# Looked for one by one with ``in`` (a regex alternation tries every position of the line).
PUBLIC_PARTS = (b"PUBLIC_", b"VITE_", b"REACT_APP_", b"GATSBY_")
NEXT_DATA = b"__NEXT_DATA__"


def exposure_attributes(data: bytes, start: int, end: int) -> Extras:
    """Attributes (e.g. ``(("exposure", "public"), ("exposed_by", "NEXT_PUBLIC_"))``) for the
    secret at ``data[start:end]``; empty when nothing in its context says it is public."""
    return Exposure(data).attributes(start, end)


class Exposure:
    """:func:`exposure_attributes` for many matches of one chunk. Matches come in offset order,
    so the search for a ``__NEXT_DATA__`` script resumes where the previous one stopped: each
    byte of the chunk is searched once, not once per match (256 KiB per match before)."""

    def __init__(self, data: bytes, *, next_data: bool = True, public_names: bool = True) -> None:
        """``next_data=False``: the caller knows ``data`` holds no ``__NEXT_DATA__``;
        ``public_names=False``: none of :data:`PUBLIC_PARTS` (the engine's keyword pass looks
        for both), so neither is looked for per match."""
        self.data = data
        self.next_data = next_data
        self.public_names = public_names
        self.searched = 0  # [0, searched) has been searched for NEXT_DATA
        self.last_opened = -1  # the last NEXT_DATA found there

    def attributes(self, start: int, end: int) -> Extras:
        data = self.data
        line_start = data.rfind(b"\n", max(0, start - _LOOKBACK), start) + 1
        before = data[max(line_start, start - _LOOKBACK) : start]
        if self.public_names and any(part in before for part in PUBLIC_PARTS):
            m = _PUBLIC_NAME.search(before)
            if m is not None:
                return (("exposure", "public"), ("exposed_by", m.group(1).decode("ascii")))
        if self.next_data and self._inside_next_data(start):
            return (("exposure", "public"), ("exposed_by", "__NEXT_DATA__"))
        return ()

    def _inside_next_data(self, start: int) -> bool:
        """Inside ``<script id="__NEXT_DATA__" ...>...</script>`` (page props sent to the
        browser)."""
        data = self.data
        lo = max(0, start - _NEXT_DATA_LOOKBACK)
        if start < self.searched:  # out of order: search this match's reach alone
            opened = data.rfind(NEXT_DATA, lo, start)
        else:
            # what opened before ``lo`` is out of reach for this match and every later one
            resume = max(lo, self.searched - len(NEXT_DATA) + 1)
            found = data.rfind(NEXT_DATA, resume, start)
            if found != -1:
                self.last_opened = found
            self.searched = start
            opened = self.last_opened if self.last_opened >= lo else -1
        if opened == -1:
            return False
        return data.find(b"</script", opened, start) == -1
