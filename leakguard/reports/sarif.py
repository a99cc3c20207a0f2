"""SARIF 2.1.0, as GitHub code scanning accepts it.

One run; ``tool.driver.rules`` holds every rule that produced a result (id, name, descriptions,
help, ``security-severity`` and tags, default level); each result points at its rule by id and
index, carries a redacted message (never the secret, unless ``show_secrets``), a location
relative to ``%SRCROOT%`` and the credential fingerprint as ``partialFingerprints``, so a
credential keeps its alert when its line moves.
"""

from __future__ import annotations

from urllib.parse import quote

from leakguard import __version__
from leakguard.model import Finding, Location, ScanResult, Severity
from leakguard.reports import pretty
from leakguard.reports.text import shown

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/leakguard/leakguard"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "leakguard/credential/v1"

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub maps security-severity to critical (>= 9.0), high (7.0-8.9), medium (4.0-6.9), low.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.1",
}


def artifact_location(loc: Location) -> dict[str, object]:
    """A relative URI under ``%SRCROOT%``; a member of a container points at the container."""
    path = loc.path.split("!", 1)[0]
    # a non-UTF-8 file name holds lone surrogates: percent-encode its original bytes
    if path.startswith("/"):
        return {"uri": "file://" + quote(path, errors="surrogateescape")}
    relative = path.replace("\\", "/").removeprefix("./")
    return {"uri": quote(relative, errors="surrogateescape"), "uriBaseId": SRCROOT}


def _location(loc: Location) -> dict[str, object]:
    physical: dict[str, object] = {"artifactLocation": artifact_location(loc)}
    if loc.line >= 1:
        region: dict[str, object] = {"startLine": loc.line}
        if loc.column >= 1:
            region["startColumn"] = loc.column
        physical["region"] = region
    out: dict[str, object] = {"physicalLocation": physical}
    if "!" in loc.path:
        out["message"] = {"text": f"inside {loc.path}"}
    return out


def _rule(finding: Finding) -> dict[str, object]:
    rotation = f" Rotate it with the `{finding.rotation}` playbook." if finding.rotation else ""
    full = f"{finding.title} ({finding.provider}, {finding.severity.label}).{rotation}"
    return {
        "id": finding.rule_id,
        "name": "".join(part.capitalize() for part in finding.rule_id.split("-")),
        "shortDescription": {"text": finding.title},
        "fullDescription": {"text": full},
        "help": {
            "text": (
                f"A {finding.title} was found. Treat it as compromised: rotate it, then remove it "
                f"from the code and its history.{rotation}"
            ),
            "markdown": (
                f"A **{finding.title}** was found. Treat it as compromised: rotate it, then "
                f"remove it from the code and its history.{rotation}"
            ),
        },
        "defaultConfiguration": {"level": _LEVEL[finding.severity]},
        "properties": {
            "security-severity": _SECURITY_SEVERITY[finding.severity],
            "tags": ["security", "secret", finding.provider],
            "precision": "high",
        },
    }


def _result(finding: Finding, index: int, show_secrets: bool) -> dict[str, object]:
    loc = finding.location
    text = f"{finding.title} {shown(finding, show_secrets)}"
    if loc.commit:
        text += f" in commit {loc.commit[:12]}"
    properties: dict[str, object] = {
        "severity": finding.severity.label,
        "provider": finding.provider,
        "redacted": finding.redacted,
        "validation": str(finding.validation.status),
        "sourceKind": finding.source_kind,
        "location": loc.to_dict(),
    }
    if finding.rotation:
        properties["rotation"] = finding.rotation
    if finding.attributes:
        properties["attributes"] = dict(finding.attributes)
    if finding.verification is not None:
        properties["verification"] = finding.verification.to_dict()
    result: dict[str, object] = {
        "ruleId": finding.rule_id,
        "ruleIndex": index,
        "level": _LEVEL[finding.severity],
        "message": {"text": text},
        "locations": [_location(loc)],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": properties,
    }
    if finding.occurrences:
        result["relatedLocations"] = [
            dict(_location(o), id=i) for i, o in enumerate(finding.occurrences, start=1)
        ]
    return result


def document(result: ScanResult, *, show_secrets: bool = False) -> dict[str, object]:
    return _document(result, show_secrets, lazy=False)


def _document(result: ScanResult, show_secrets: bool, *, lazy: bool) -> dict[str, object]:
    """``lazy``: the results as :class:`pretty.Items`, each made as it is written."""
    rules: list[dict[str, object]] = []
    index: dict[str, int] = {}
    for finding in result.findings:
        if finding.rule_id not in index:
            index[finding.rule_id] = len(rules)
            rules.append(_rule(finding))
    results = (_result(f, index[f.rule_id], show_secrets) for f in result.findings)
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "LeakGuard",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"description": {"text": "The scanned target."}}},
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "toolExecutionNotifications": [
                            {"level": "note", "message": {"text": f"skipped {s.path}: {s.reason}"}}
                            for s in result.stats.skipped
                        ],
                    }
                ],
                "results": pretty.Items(results) if lazy else list(results),
                "columnKind": "unicodeCodePoints",
            }
        ],
    }


def render(result: ScanResult, *, show_secrets: bool = False) -> str:
    return pretty.dumps(_document(result, show_secrets, lazy=True)) + "\n"
