"""The sweep's JSON report: ``new`` and ``findings`` use the ``scan`` finding contract."""

from __future__ import annotations

import json

from leakguard.store.findings import StoredCredential
from leakguard.sweep.outcome import SweepReport

SWEEP_JSON_VERSION = 1


def _findings(
    credentials: tuple[StoredCredential, ...], targets: set[str]
) -> list[dict[str, object]]:
    return [
        o.finding for c in credentials for o in c.occurrences if o.present and o.target in targets
    ]


def summary(report: SweepReport) -> dict[str, object]:
    return {
        "targets": len(report.targets),
        "failed_targets": len(report.failed),
        "credentials": len(report.credentials),
        "new_credentials": len(report.new),
        "alerting": len(report.alerting()),
        "by_severity": report.by_severity(),
        "by_provider": report.by_provider(),
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
        "targets": [t.to_dict() for t in report.targets],
    }
    if include_findings:
        doc["findings"] = _findings(report.credentials, swept)
        doc["credentials"] = [
            dict(c.to_dict(), new=c.fingerprint in new_fps) for c in report.credentials
        ]
    return doc


def render(report: SweepReport) -> str:
    return json.dumps(document(report), indent=2) + "\n"
