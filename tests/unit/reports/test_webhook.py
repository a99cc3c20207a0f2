"""Webhook bodies: Slack and Teams shapes, most severe first, at most ten credentials listed,
hostile paths escaped, never a secret."""

from __future__ import annotations

import json

import pytest

from leakguard.errors import UsageError
from leakguard.model import Severity
from leakguard.redact import fingerprint, redact
from leakguard.reports.webhook import body, slack, teams
from leakguard.store.findings import Occurrence, StoredCredential
from leakguard.sweep.outcome import SweepReport, TargetReport

SECRETS = [f"sk_live_{i:02d}" + "Zq8RmT4vWx2Yb6Nc1Pd9Lf3H" for i in range(12)]
HOSTILE = "evil\x1b]0;pwned\x07<!channel>`x`.py"


def _credential(secret: str, severity: Severity, path: str) -> StoredCredential:
    fp = fingerprint(secret)
    occurrence = Occurrence(
        fp, "/srv/git/app", "git", {"path": path, "line": 3, "commit": "ab" * 20}, {},
        {"rule_id": "stripe-live-secret-key", "rotation": "stripe-key"}, "t0", "t1", True, None,
    )  # fmt: skip
    return StoredCredential(
        fp, "stripe-live-secret-key", "stripe", "Stripe live secret key", severity,
        redact(secret), "open", "t0", "t1", 2, ("/srv/git/app",), True, (occurrence,),
    )  # fmt: skip


def _report() -> SweepReport:
    creds = tuple(
        _credential(s, Severity.LOW if i == 0 else Severity.CRITICAL, HOSTILE if i == 1 else "a.py")
        for i, s in enumerate(SECRETS)
    )
    targets = (
        TargetReport("/srv/git/app", "ok", None, 12, 12, {}),
        TargetReport("/srv/git/gone", "failed", "no such file or directory", 0, 0, {}),
    )
    return SweepReport(2, "sweep.yaml", "db", "t0", "t1", 1.0, "v1", targets, creds, creds)


def test_slack_lists_failures_then_the_most_severe_ten_escaped() -> None:
    doc = slack(_report())
    text = json.dumps(doc, ensure_ascii=False)
    assert not any(s in text for s in SECRETS)
    assert doc["text"] == "LeakGuard: 11 new critical/high credential(s) to rotate"
    blocks = doc["blocks"]
    assert isinstance(blocks, list) and blocks[0]["type"] == "header"
    assert "Failed targets" in blocks[2]["text"]["text"]
    listed = blocks[3:13]
    assert all("*critical*" in b["text"]["text"] for b in listed)  # the low one is not first
    assert "… and 2 more new credential(s)" in blocks[13]["text"]["text"]
    hostile = next(b["text"]["text"] for b in listed if "evil" in b["text"]["text"])
    assert "\x1b" not in hostile and "\x07" not in hostile
    assert "<!channel>" not in hostile and "&lt;!channel&gt;" in hostile  # no @channel ping
    assert "`x`" not in hostile
    assert (
        f"next: `leakguard playbook plan stripe-key -i credential={fingerprint(SECRETS[1])}`"
        in (hostile)
    )


def test_teams_is_one_adaptive_card_message() -> None:
    doc = teams(_report())
    (attachment,) = doc["attachments"]
    card = attachment["content"]
    assert doc["type"] == "message" and card["type"] == "AdaptiveCard"
    facts = [f for e in card["body"] if e["type"] == "FactSet" for f in e["facts"]]
    assert {"title": "/srv/git/gone", "value": "no such file or directory"} in facts
    assert not any("\x1b" in f["value"] for f in facts)
    assert not any(s in json.dumps(doc) for s in SECRETS)


def test_json_is_the_sweep_document_without_findings_and_unknown_formats_are_refused() -> None:
    doc = body(_report(), "json")
    assert "findings" not in doc and len(doc["new_credentials"]) == 12
    with pytest.raises(UsageError, match="unknown webhook format 'irc'"):
        body(_report(), "irc")
