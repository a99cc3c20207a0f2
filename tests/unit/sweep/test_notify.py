from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from leakguard.sweep.notify import RetryPolicy, WebhookError, post_json


class _Hook:
    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.bodies: list[dict[str, object]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                hook.bodies.append(json.loads(self.rfile.read(length)))
                status = hook.statuses.pop(0) if hook.statuses else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/T0KEN"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def hook_factory() -> Iterator[type[_Hook]]:
    made: list[_Hook] = []

    class Factory(_Hook):
        def __init__(self, statuses: list[int]) -> None:
            super().__init__(statuses)
            made.append(self)

    yield Factory
    for h in made:
        h.close()


def test_retries_transient_failures_with_backoff(hook_factory: type[_Hook]) -> None:
    hook = hook_factory([503, 429])
    waits: list[float] = []
    attempts = post_json(
        hook.url, {"new": []}, RetryPolicy(attempts=4, backoff_seconds=0.5), sleep=waits.append
    )
    assert attempts == 3
    assert waits == [0.5, 1.0]
    assert hook.bodies == [{"new": []}] * 3


def test_client_errors_are_not_retried_and_url_path_stays_hidden(hook_factory: type[_Hook]) -> None:
    hook = hook_factory([404])
    with pytest.raises(WebhookError) as err:
        post_json(hook.url, {}, sleep=lambda _: None)
    assert len(hook.bodies) == 1
    assert "HTTP 404" in err.value.message and "T0KEN" not in err.value.message


def test_unreachable_receiver_gives_up_after_all_attempts() -> None:
    with pytest.raises(WebhookError, match="after 2 attempt"):
        post_json(
            "http://127.0.0.1:9/x",
            {},
            RetryPolicy(attempts=2, timeout_seconds=1),
            sleep=lambda _: None,
        )


def test_a_webhook_at_the_metadata_address_is_refused_at_once() -> None:
    """Through the one HTTP client: never a cloud metadata address, and no retry of a refusal."""
    waits: list[float] = []
    with pytest.raises(WebhookError, match=r"after 1 attempt.*metadata address"):
        post_json("http://169.254.169.254/latest/x", {}, sleep=waits.append)
    assert waits == []


def test_a_refused_webhook_url_shows_neither_its_path_nor_its_credentials() -> None:
    with pytest.raises(WebhookError) as err:
        post_json("https://user:PaSsWoRd@hooks.example.com/services/T0KEN", {}, sleep=print)
    message = err.value.message
    assert "user name or password" in message and "after 1 attempt" in message
    assert "PaSsWoRd" not in message and "T0KEN" not in message
