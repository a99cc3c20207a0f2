"""The sweep's JSON report: ``new`` and ``findings`` use the ``scan`` finding contract."""

from __future__ import annotations

from leakguard.reports import pretty
from leakguard.store.findings import StoredCredential
from leakguard.sweep.outcome import SweepReport, next_command

SWEEP_JSON_VERSION = 1


def _findings(
    credentials: tuple[StoredCredential, ...], targets: set[str]
) -> list[dict[str, object]]:
    return [
        o.finding for c in credentials for o in c.occurrences if o.present and o.target in targets
    ]


def responder_entry(c: StoredCredential, report: SweepReport | None = None) -> dict[str, object]:
    """A new credential as a responder acts on it: what, where, the next command and (with
    ``sweep --verify``) what its provider said."""
    present = [o for o in c.occurrences if o.present] or list(c.occurrences)
    check = report.verification(c) if report is not None else None
    entry: dict[str, object] = {
        "fingerprint": c.fingerprint,
        "rule_id": c.rule_id,
        "provider": c.provider,
        "severity": c.severity.label,
        "redacted": c.redacted,
        "locations": [dict(o.location, target=o.target) for o in present],
        "next_command": next_command(c),
    }
    if check is not None:
        entry["verification"] = check.to_dict()
    return entry


def summary(report: SweepReport) -> dict[str, object]:
    return {
        "targets": len(report.targets),
        "failed_targets": len(report.failed),
        "credentials": len(report.credentials),
        "new_credentials": len(report.new),
        "alerting": len(report.alerting()),
        "by_severity": report.by_severity(),
        "by_provider": report.by_provider(),
        **({"verification": report.by_live_status()} if report.verified else {}),
    }


def document(report: SweepReport, *, include_findings: bool = True) -> dict[str, object]:
    """The report as a JSON-ready mapping. ``include_findings=False`` is the webhook's form."""
    swept = {t.target for t in report.targets}
    new_fps = report.new_fingerprints
    doc: dict[str, object] = {
        "version": SWEEP_JSON_VERSION,
        "sweep": {
            "id": report.sweep_id,
            "config": report.config,
            "started_at": report.started_at,
            "finished_at": report.finished_at,
            "seconds": report.seconds,
            "ruleset_version": report.ruleset_version,
        },
        "summary": summary(report),
        "new": [o.finding for c in report.new for o in c.occurrences],
        "new_credentials": [
            responder_entry(c, report) for c in report.for_responder() if c.fingerprint in new_fps
        ],
        "targets": [t.to_dict() for t in report.targets],
    }
    if report.verified:
        doc["verify_notes"] = list(report.notes)
    if include_findings:
        doc["findings"] = _findings(report.credentials, swept)
        doc["credentials"] = [
            dict(c.to_dict(), new=c.fingerprint in new_fps, next_command=next_command(c))
            for c in report.credentials
        ]
    return doc


def render(report: SweepReport) -> str:
    return pretty.dumps(document(report)) + "\n"
