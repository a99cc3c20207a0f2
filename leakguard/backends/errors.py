"""One table from what an SDK reports to :class:`BackendError`, and whether to retry it.

Clients are built without SDK-level retries (hvac has none; botocore gets
``total_max_attempts=1``), so the playbook runner owns retries and backoff. It retries exactly the
errors marked ``transient`` here: throttling, 5xx, timeouts and dropped connections. Everything
else (bad request, denied, missing, conflict) is permanent and pauses the run with a hint.

Messages name the operation and the SDK's error code, never a secret value.
"""

from __future__ import annotations

from collections.abc import Mapping

import botocore.exceptions

from leakguard.errors import BackendError

TRANSIENT_HTTP_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
"""HTTP statuses worth retrying: timeouts, throttling and server-side failures."""

TRANSIENT_AWS_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "PriorRequestNotComplete",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalError",
        "InternalServiceError",
        "InternalServiceErrorException",
        "ServiceFailure",  # IAM's 500
        "ConcurrentModification",  # IAM: another change to the same entity is in flight
        "IDPCommunicationError",
    }
)
"""botocore error codes worth retrying, whatever HTTP status came with them."""

HINTS: Mapping[int, str] = {
    400: "the request was rejected; check the secret name and the playbook input",
    401: "the credentials were rejected; check VAULT_TOKEN / AWS credentials",
    403: "permission denied; grant the LeakGuard identity the permission named in the error",
    404: "the secret, version or user does not exist; check the name and the mount",
    409: "the secret changed under LeakGuard; inspect it, then resume the run",
    412: "the secret changed under LeakGuard (check-and-set); inspect it, then resume the run",
}
RETRY_HINT = (
    "a temporary failure: the runner retries it with backoff; if it persists, check the service"
)


def from_http_status(status: int, operation: str, detail: str = "") -> BackendError:
    """The error for an HTTP ``status`` returned by a backend during ``operation``."""
    transient = status in TRANSIENT_HTTP_STATUS or status >= 500
    suffix = f": {detail}" if detail else ""
    hint = RETRY_HINT if transient else HINTS.get(status)
    return BackendError(
        f"{operation} failed (HTTP {status}){suffix}", hint=hint, transient=transient
    )


def from_transport(exc: BaseException, operation: str) -> BackendError:
    """A connection refused, reset, dropped or timed out: always transient."""
    kind = "timed out" if _is_timeout(exc) else "lost its connection"
    return BackendError(
        f"{operation} {kind} ({type(exc).__name__})", hint=RETRY_HINT, transient=True
    )


def from_botocore(exc: Exception, operation: str) -> BackendError:
    """Map a botocore ``ClientError`` or transport error to :class:`BackendError`."""
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        message = str(error.get("Message", ""))[:200]
        if code in TRANSIENT_AWS_CODES:
            return BackendError(
                f"{operation} failed ({code}): {message}", hint=RETRY_HINT, transient=True
            )
        detail = f"{code}: {message}" if message else code
        if status:
            return from_http_status(status, operation, detail)
        return BackendError(f"{operation} failed ({detail})")
    if isinstance(
        exc,
        (
            botocore.exceptions.ConnectionError,
            botocore.exceptions.HTTPClientError,
            OSError,
        ),
    ):
        return from_transport(exc, operation)
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return BackendError(
            f"{operation} failed: no AWS credentials",
            hint="set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
        )
    return BackendError(f"{operation} failed ({type(exc).__name__})")


def aws_error_code(exc: BaseException) -> str | None:
    """The error code of a botocore ``ClientError``, else ``None``."""
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return None


def _is_timeout(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, TimeoutError) or "Timeout" in type(current).__name__:
            return True
        current = current.__cause__ or current.__context__
    return False
