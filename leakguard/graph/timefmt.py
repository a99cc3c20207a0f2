"""Times as the graph keeps them: ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC, so they compare as
strings."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_UTC_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z")


def canonical_time(value: str) -> str:
    """Any ISO 8601 time -> ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC, so times compare as
    strings (a naive time is taken as UTC). Raises ValueError on anything else."""
    fast = _UTC_TIME.fullmatch(value)
    if fast is not None:  # already UTC (audit logs, CloudTrail): only the fraction changes
        return f"{fast.group(1)}.{(fast.group(2) or '')[:6]:0<6}Z"
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
