"""The verifiers' HTTP transport: the one HTTP client, pinned to one verifier's origin.

Redirects are never followed (an identity endpoint that redirects is an ``unknown`` answer), the
only URL allowed is on the verifier's own origin, metadata and link-local addresses are refused,
and private or loopback addresses are allowed only for an explicit test or sandbox endpoint.
429 and 5xx answers are retried with backoff (honouring a short ``Retry-After``), within the
request's deadlines.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from leakguard.http import AddressPolicy, FetchError, HttpClient, HttpLimits, origin
from leakguard.verify.interface import Reply, TransportError

RETRIES = 2
BACKOFF_SECONDS = 0.5
MAX_RETRY_AFTER = 5.0
LIMITS = HttpLimits(
    connect_seconds=5.0,
    idle_seconds=10.0,
    total_seconds=20.0,
    max_body_bytes=1024 * 1024,
    max_redirects=0,
)


class HttpTransport:
    def __init__(
        self,
        base_url: str,
        *,
        allow_private: bool = False,
        limits: HttpLimits = LIMITS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        allowed = origin(base_url)
        self._sleep = sleep
        self._client = HttpClient(
            user_agent="LeakGuard-verify",
            limits=limits,
            addresses=AddressPolicy(allow_private=allow_private),
            allow_url=lambda url: None if origin(url) == allowed else "not the verifier's host",
            follow_redirects=False,
            raise_for_status=False,
        )

    def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> Reply:
        reply: Reply | None = None
        for attempt in range(RETRIES + 1):
            try:
                response = self._client.request(method, url, body=body, headers=dict(headers))
            except FetchError as exc:
                if exc.status is not None:  # a redirect the policy does not follow
                    return Reply(exc.status, {}, b"")
                if exc.refused or attempt == RETRIES:
                    raise TransportError(
                        f"the provider could not be reached: {exc.reason}"
                    ) from None
                self._sleep(BACKOFF_SECONDS * 2**attempt)
                continue
            reply = Reply(response.status, response.headers, response.body)
            if response.status != 429 and response.status < 500:
                return reply
            if attempt < RETRIES:
                asked = _retry_after(response.headers)
                self._sleep(BACKOFF_SECONDS * 2**attempt if asked is None else asked)
        assert reply is not None
        return reply


def _retry_after(headers: Mapping[str, str]) -> float | None:
    try:
        seconds = float(headers.get("retry-after", ""))
    except ValueError:
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)
