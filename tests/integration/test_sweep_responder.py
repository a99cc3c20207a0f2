"""The sweep for a responder: the summary on stdout, --fail-on-target-error, and webhook bodies
that Slack's and Teams' incoming webhooks accept as they are (a local receiver checks each body
the way those services document it, and answers 400 like they do when it is wrong)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakguard.redact import fingerprint, redact
from tests.integration.sweep_repos import make_repo
from tests.support.cli import leakguard_app
from tests.support.keys import stripe_key

pytestmark = pytest.mark.integration

Check = Callable[[dict[str, object]], str | None]


def slack_problem(body: dict[str, object]) -> str | None:
    """Slack incoming webhooks: ``text`` (the notification fallback) and/or Block Kit
    ``blocks``: at most 50; a header holds plain_text of at most 150 characters, a section
    mrkdwn or plain_text of at most 3000."""
    if not isinstance(body.get("text"), str) or not body["text"]:
        return "no_text"
    blocks = body.get("blocks")
    if not isinstance(blocks, list) or len(blocks) > 50:
        return "invalid_blocks"
    for block in blocks:
        text = block.get("text") if isinstance(block, dict) else None
        if not isinstance(text, dict) or not isinstance(text.get("text"), str):
            return "invalid_blocks"
        if block["type"] == "header" and (text["type"] != "plain_text" or len(text["text"]) > 150):
            return "invalid_blocks"
        if block["type"] == "section" and (
            text["type"] not in ("mrkdwn", "plain_text") or len(text["text"]) > 3000
        ):
            return "invalid_blocks"
        if block["type"] not in ("header", "section"):
            return "invalid_blocks"
    return None


def teams_problem(body: dict[str, object]) -> str | None:
    """Teams incoming (and Workflows) webhooks: a ``message`` whose attachments are Adaptive
    Cards (contentType application/vnd.microsoft.card.adaptive, content of type AdaptiveCard
    with a version and a body of elements)."""
    if body.get("type") != "message":
        return "not a message"
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return "no attachments"
    for a in attachments:
        if a.get("contentType") != "application/vnd.microsoft.card.adaptive":
            return "not an adaptive card"
        card = a.get("content")
        if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
            return "bad card"
        if not isinstance(card.get("version"), str) or not isinstance(card.get("body"), list):
            return "bad card"
        for element in card["body"]:
            if element.get("type") == "TextBlock" and isinstance(element.get("text"), str):
                continue
            facts = element.get("facts")
            if element.get("type") == "FactSet" and all(
                isinstance(f.get("title"), str) and isinstance(f.get("value"), str) for f in facts
            ):
                continue
            return f"bad element {element.get('type')}"
    return None


class Receiver:
    def __init__(self, check: Check) -> None:
        self.bodies: list[bytes] = []
        self.problems: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.bodies.append(raw)
                problem = (
                    "bad content type"
                    if self.headers["Content-Type"] != "application/json"
                    else check(json.loads(raw))
                )
                if problem:
                    receiver.problems.append(problem)
                self.send_response(400 if problem else 200)
                self.end_headers()
                self.wfile.write((problem or "ok").encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T000/B000/XXXX"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def receiver() -> Iterator[Callable[[Check], Receiver]]:
    made: list[Receiver] = []

    def make(check: Check) -> Receiver:
        made.append(Receiver(check))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture()
def fleet(tmp_path: Path) -> tuple[Path, str]:
    key = stripe_key("responder-sweep")
    make_repo(tmp_path / "payments", [key])
    (tmp_path / "sweep.yaml").write_text("targets:\n  - path: payments\n  - path: gone\n")
    return tmp_path, key


def sweep(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(leakguard_app(), ["sweep", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(("fmt", "check"), [("slack", slack_problem), ("teams", teams_problem)])
def test_chat_webhook_bodies_are_accepted_as_they_are(
    fleet: tuple[Path, str],
    receiver: Callable[[Check], Receiver],
    fmt: str,
    check: Check,
) -> None:
    root, key = fleet
    hook = receiver(check)
    code, out, err = sweep(
        str(root / "sweep.yaml"), "--db", str(root / "lg.db"), "-j", "1",
        "--webhook", hook.url, "--webhook-format", fmt,
    )  # fmt: skip
    assert code == 1, out + err
    assert hook.problems == [] and len(hook.bodies) == 1
    assert "warning" not in err
    raw = json.dumps(json.loads(hook.bodies[0]), ensure_ascii=False)
    assert key not in raw
    command = f"leakguard playbook plan stripe-key -i credential={fingerprint(key)}"
    assert command in raw and redact(key) in raw and "gone" in raw
    assert "settings.py:1" in raw


def test_a_wrong_chat_body_would_be_refused_by_the_receiver(
    fleet: tuple[Path, str], receiver: Callable[[Check], Receiver]
) -> None:
    """The receiver is strict: LeakGuard's own JSON is not a Slack message."""
    root, _ = fleet
    hook = receiver(slack_problem)
    _, _, err = sweep(
        str(root / "sweep.yaml"), "--db", str(root / "lg.db"), "-j", "1",
        "--webhook", hook.url, "--webhook-format", "json",
    )  # fmt: skip
    assert hook.problems == ["no_text"]
    assert "warning: webhook" in err and "/services/" not in err


def test_summary_on_stdout_next_command_and_fail_on_target_error(
    fleet: tuple[Path, str],
) -> None:
    root, key = fleet
    config, db, out_file = str(root / "sweep.yaml"), str(root / "lg.db"), root / "r.json"
    code, out, _ = sweep(config, "--db", db, "-j", "1", "-f", "json", "-o", str(out_file))
    assert code == 1
    # the report went to the file; the summary to stdout, which nothing else uses
    assert out.startswith("sweep #1: 2 target(s), 1 failed, 1 credential(s), 1 new")
    assert "FAILED" in out and "gone" in out
    assert f"next: leakguard playbook plan stripe-key -i credential={fingerprint(key)}" in out
    assert "payments: settings.py:1 @" in out
    doc = json.loads(out_file.read_text())
    (entry,) = doc["new_credentials"]
    assert entry["next_command"].endswith(fingerprint(key))
    assert entry["locations"][0]["path"] == "settings.py"

    # without -o, stdout holds the report itself and the summary goes beside it
    code, out, err = sweep(config, "--db", db, "-j", "1", "-f", "json")
    assert json.loads(out)["summary"]["failed_targets"] == 1
    assert err.startswith("sweep #2: 2 target(s), 1 failed")

    # nothing new, one target still failing: exit 0 unless asked to fail on it
    code, out, err = sweep(config, "--db", db, "-j", "1")
    assert code == 0 and "no new credentials" in out and "FAILED" in out and err == ""
    code, out, _ = sweep(config, "--db", db, "-j", "1", "--fail-on-target-error")
    assert code == 1

    # triage starts from a table with a header
    listed = CliRunner().invoke(leakguard_app(), ["findings", "list", "--db", db])
    header, row, count = listed.stdout.splitlines()
    assert header.split() == [
        "FINGERPRINT", "SEVERITY", "PROVIDER", "CREDENTIAL", "STATUS", "EXPOSURE", "SEEN", "IN",
    ]  # fmt: skip
    assert row.split()[:4] == [fingerprint(key)[:19], "critical", "stripe", redact(key)]
    assert row.index("critical") == header.index("SEVERITY") and count == "1 credential(s)"


def test_every_bad_option_is_reported_at_once(fleet: tuple[Path, str]) -> None:
    root, _ = fleet
    code, out, err = sweep(
        str(root / "missing.yaml"), "-f", "pdf", "--webhook-format", "irc", "-j", "-1"
    )
    assert code == 2 and out == ""
    lines = [line for line in err.splitlines() if line.startswith("leakguard: error:")]
    assert len(lines) == 4, err
    assert "'pdf'" in err and "'irc'" in err and "--jobs" in err and "missing.yaml" in err
