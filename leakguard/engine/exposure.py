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


def exposure_attributes(data: bytes, start: int, end: int) -> Extras:
    """Attributes (e.g. ``(("exposure", "public"), ("exposed_by", "NEXT_PUBLIC_"))``) for the
    secret at ``data[start:end]``; empty when nothing in its context says it is public."""
    line_start = data.rfind(b"\n", max(0, start - _LOOKBACK), start) + 1
    before = data[max(line_start, start - _LOOKBACK) : start]
    m = _PUBLIC_NAME.search(before)
    if m is not None:
        return (("exposure", "public"), ("exposed_by", m.group(1).decode("ascii")))
    if _inside_next_data(data, start):
        return (("exposure", "public"), ("exposed_by", "__NEXT_DATA__"))
    return ()


def _inside_next_data(data: bytes, start: int) -> bool:
    """Inside ``<script id="__NEXT_DATA__" ...>...</script>`` (page props sent to the browser)."""
    lo = max(0, start - _NEXT_DATA_LOOKBACK)
    opened = data.rfind(b"__NEXT_DATA__", lo, start)
    if opened == -1:
        return False
    return data.find(b"</script", opened, start) == -1
