"""Webhook notification: POST the sweep's redacted summary as JSON, with retries and backoff."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from leakguard.errors import LeakguardError
from leakguard.redact import redact_url

USER_AGENT = "LeakGuard/0.1 (sweep webhook)"


class WebhookError(LeakguardError):
    """The webhook could not be delivered after every retry."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4
    backoff_seconds: float = 0.5  # doubled after each failed attempt
    timeout_seconds: float = 10.0


def _transient(status: int) -> bool:
    return status == 429 or status >= 500


def post_json(
    url: str,
    payload: dict[str, object],
    policy: RetryPolicy = RetryPolicy(),
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Deliver ``payload``; returns the number of attempts. 4xx (but 429) is not retried."""
    if not url.lower().startswith(("http://", "https://")):
        raise WebhookError(f"webhook URL must be http(s): {redact_url(url)}")
    body = json.dumps(payload).encode("utf-8")
    delay = policy.backoff_seconds
    last = ""
    for attempt in range(1, policy.attempts + 1):
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
        )
        try:
            with urllib.request.urlopen(request, timeout=policy.timeout_seconds) as response:
                response.read()
                return attempt
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
            if not _transient(exc.code):
                break
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            last = f"{type(exc).__name__}: {reason}"
        if attempt < policy.attempts:
            sleep(delay)
            delay *= 2
    raise WebhookError(
        f"webhook {redact_url(url)} failed after {attempt} attempt(s): {last}",
        hint="check the URL and that the receiver accepts JSON POSTs",
    )
