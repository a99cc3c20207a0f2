from __future__ import annotations

import botocore.exceptions
import pytest
import requests

from leakguard.backends.errors import from_botocore, from_http_status, from_transport
from leakguard.errors import BackendError


def _client_error(code: str, status: int) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PutSecretValue",
    )


@pytest.mark.parametrize(
    ("status", "transient"),
    [
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (412, False),
        (408, True),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (504, True),
        (599, True),
    ],
)
def test_http_status_table(status: int, transient: bool) -> None:
    error = from_http_status(status, "write secret/x")
    assert error.transient is transient
    assert f"HTTP {status}" in error.message and error.hint


@pytest.mark.parametrize(
    ("code", "status", "transient"),
    [
        ("ThrottlingException", 400, True),
        ("Throttling", 400, True),
        ("TooManyRequestsException", 429, True),
        ("ServiceFailure", 500, True),
        ("InternalServiceError", 500, True),
        ("ConcurrentModification", 409, True),
        ("AccessDeniedException", 400, False),
        ("ResourceNotFoundException", 400, False),
        ("InvalidRequestException", 400, False),
        ("LimitExceeded", 409, False),
        ("SomethingNew", 503, True),
    ],
)
def test_botocore_codes(code: str, status: int, transient: bool) -> None:
    error = from_botocore(_client_error(code, status), "op")
    assert error.transient is transient
    assert code in error.message


@pytest.mark.parametrize(
    "exc",
    [
        botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
        botocore.exceptions.ConnectTimeoutError(endpoint_url="http://127.0.0.1:1"),
        botocore.exceptions.ReadTimeoutError(endpoint_url="http://127.0.0.1:1"),
        botocore.exceptions.ConnectionClosedError(endpoint_url="http://127.0.0.1:1"),
    ],
)
def test_botocore_transport_errors_are_transient(exc: Exception) -> None:
    assert from_botocore(exc, "op").transient


def test_transport_errors_name_timeouts() -> None:
    assert "timed out" in from_transport(requests.ReadTimeout("x"), "read").message
    assert "connection" in from_transport(requests.ConnectionError("x"), "read").message
    assert from_transport(ConnectionResetError(), "read").transient


def test_no_credentials_is_permanent_with_a_hint() -> None:
    error = from_botocore(botocore.exceptions.NoCredentialsError(), "op")
    assert not error.transient and error.hint and "AWS" in error.hint


def test_a_malformed_endpoint_is_a_backend_error_that_does_not_echo_the_url() -> None:
    from leakguard.backends._aws import make_client

    with pytest.raises(BackendError, match="endpoint URL or the region") as info:
        make_client("secretsmanager", endpoint_url="not a url:pw-in-here@x", region="us-east-1")
    assert "pw-in-here" not in info.value.diagnostics()
