"""The sweep summary as a webhook body: LeakGuard's JSON, a Slack message, or a Microsoft Teams
Adaptive Card. Slack and Teams incoming webhooks accept these bodies as they are. Every body is
redacted like the other reports: fingerprints, redacted forms and locations, never a secret."""

from __future__ import annotations

from leakguard.errors import UsageError
from leakguard.redact import escape_terminal
from leakguard.reports import sweep_json
from leakguard.reports.sweep_text import live_line, place, summary_line
from leakguard.store.findings import StoredCredential
from leakguard.sweep.config import WEBHOOK_FORMATS
from leakguard.sweep.outcome import SweepReport, next_command

_SHOWN = 10  # credentials and failed targets listed in a chat message; the rest are counted
_SLACK_SECTION_CHARS = 3000  # Slack's limit for a section's text
ADAPTIVE_CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


def check_webhook_format(fmt: str) -> str:
    if fmt not in WEBHOOK_FORMATS:
        raise UsageError(
            f"unknown webhook format {fmt!r}", hint=f"use one of: {', '.join(WEBHOOK_FORMATS)}"
        )
    return fmt


def body(report: SweepReport, fmt: str) -> dict[str, object]:
    check_webhook_format(fmt)
    if fmt == "slack":
        return slack(report)
    if fmt == "teams":
        return teams(report)
    return sweep_json.document(report, include_findings=False)


def _new(report: SweepReport) -> list[StoredCredential]:
    fps = report.new_fingerprints
    return [c for c in report.for_responder() if c.fingerprint in fps]


def _headline(report: SweepReport) -> str:
    alerting = len(report.alerting())
    if alerting:
        return f"LeakGuard: {alerting} new critical/high credential(s) to rotate"
    if report.failed:
        return f"LeakGuard: {len(report.failed)} sweep target(s) failed"
    return "LeakGuard: no new critical or high credential"


def _first_place(c: StoredCredential) -> str:
    present = [o for o in c.occurrences if o.present] or list(c.occurrences)
    if not present:
        return "(no location)"
    more = f" (+{len(present) - 1} more)" if len(present) > 1 else ""
    return place(present[0]) + more


def _plain(text: str) -> str:
    """One line, control characters escaped: chat clients render what they get."""
    return escape_terminal(text).replace("\n", " ")


def _slack_escape(text: str) -> str:
    # mrkdwn: &, < and > are control characters; a backtick would end a code span
    text = _plain(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("`", "'")


def _section(text: str) -> dict[str, object]:
    if len(text) > _SLACK_SECTION_CHARS:
        text = text[: _SLACK_SECTION_CHARS - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def slack(report: SweepReport) -> dict[str, object]:
    """A Slack incoming-webhook message: ``text`` (the notification) plus Block Kit blocks."""
    blocks: list[dict[str, object]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _headline(report)[:150]}},
        _section(_slack_escape(summary_line(report))),
    ]
    if report.failed:
        rows = [
            f"• `{_slack_escape(t.target)}`: {_slack_escape(t.error or 'failed')}"
            for t in report.failed[:_SHOWN]
        ]
        if len(report.failed) > _SHOWN:
            rows.append(f"… and {len(report.failed) - _SHOWN} more")
        blocks.append(_section("*Failed targets*\n" + "\n".join(rows)))
    new = _new(report)
    for c in new[:_SHOWN]:
        lines = [
            f"*{c.severity.label}* {_slack_escape(c.provider)} `{_slack_escape(c.redacted)}`",
            f"at `{_slack_escape(_first_place(c))}`",
            f"fingerprint `{c.fingerprint}`",
        ]
        check = report.verification(c)
        if check is not None:
            lines.append(f"provider says: {_slack_escape(live_line(check))}")
        command = next_command(c)
        if command is not None:
            lines.append(f"next: `{_slack_escape(command)}`")
        blocks.append(_section("\n".join(lines)))
    if len(new) > _SHOWN:
        blocks.append(_section(f"… and {len(new) - _SHOWN} more new credential(s)"))
    return {"text": _headline(report), "blocks": blocks}


def _text_block(text: str, **style: object) -> dict[str, object]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def teams(report: SweepReport) -> dict[str, object]:
    """A Microsoft Teams message carrying one Adaptive Card (the form Teams incoming webhooks
    and Workflows webhooks accept)."""
    card_body: list[dict[str, object]] = [
        _text_block(_headline(report), size="Large", weight="Bolder"),
        _text_block(_plain(summary_line(report)), isSubtle=True),
    ]
    if report.failed:
        card_body.append(_text_block("Failed targets", weight="Bolder", color="Attention"))
        card_body.append(
            {
                "type": "FactSet",
                "facts": [
                    {"title": _plain(t.target), "value": _plain(t.error or "failed")}
                    for t in report.failed[:_SHOWN]
                ],
            }
        )
    new = _new(report)
    for c in new[:_SHOWN]:
        facts = [
            {"title": "severity", "value": c.severity.label},
            {"title": "location", "value": _plain(_first_place(c))},
            {"title": "fingerprint", "value": c.fingerprint},
        ]
        check = report.verification(c)
        if check is not None:
            facts.append({"title": "provider says", "value": _plain(live_line(check))})
        command = next_command(c)
        if command is not None:
            facts.append({"title": "next", "value": _plain(command)})
        card_body.append(_text_block(f"{_plain(c.provider)} {_plain(c.redacted)}", weight="Bolder"))
        card_body.append({"type": "FactSet", "facts": facts})
    if len(new) > _SHOWN:
        card_body.append(_text_block(f"… and {len(new) - _SHOWN} more new credential(s)"))
    card = {
        "$schema": ADAPTIVE_CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": card_body,
        "msteams": {"width": "Full"},
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }
