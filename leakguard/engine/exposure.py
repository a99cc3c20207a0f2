"""Context around a match that says a credential is exposed to the public.

Front-end frameworks inline some variables into client code (``NEXT_PUBLIC_*``, ``VITE_*``,
``REACT_APP_*``, ``__NEXT_DATA__``): a secret assigned to one is shipped to every browser. The
engine calls :func:`exposure_attributes` for every accepted match and adds what it returns to the
finding's attributes.
"""

from __future__ import annotations

from leakguard.model import Extras


def exposure_attributes(data: bytes, start: int, end: int) -> Extras:
    """Attributes (e.g. ``(("exposure", "public"), ("exposed_by", "NEXT_PUBLIC_"))``) for the
    secret at ``data[start:end]``; empty when nothing in its context says it is public."""
    return ()
