"""Webhook notification: POST the sweep's redacted summary as JSON, with retries and backoff,
through :mod:`leakguard.http`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from leakguard import http
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
    client = http.webhook_client(USER_AGENT, policy.timeout_seconds)
    headers = {"Content-Type": "application/json"}
    delay = policy.backoff_seconds
    last = ""
    for attempt in range(1, policy.attempts + 1):
        try:
            client.post(url, body, headers)
            return attempt
        except http.FetchError as exc:
            last = exc.reason
            if exc.status is not None and not _transient(exc.status):
                break
            if exc.refused:
                break  # a policy refusal (a metadata address) does not change on retry
        if attempt < policy.attempts:
            sleep(delay)
            delay *= 2
    raise WebhookError(
        f"webhook {redact_url(url)} failed after {attempt} attempt(s): {last}",
        hint="check the URL and that the receiver accepts JSON POSTs",
    )
