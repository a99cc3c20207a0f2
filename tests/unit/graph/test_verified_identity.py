"""A credential its provider verified live gets the owner it named as an identity node."""

from __future__ import annotations

from leakguard.graph.findings import add_findings
from leakguard.graph.queries import Graph

FP = "sha256:" + "ab" * 32


def _finding(verification: dict[str, object] | None) -> dict[str, object]:
    out: dict[str, object] = {
        "rule_id": "aws-access-key",
        "provider": "aws",
        "severity": "critical",
        "fingerprint": FP,
        "redacted": "AKIA…ZZG6:…9ucA",
        "source_kind": "file",
        "location": {"path": "src/deploy.py", "line": 5, "column": 24},
    }
    if verification is not None:
        out["verification"] = verification
    return out


LIVE = {
    "status": "live",
    "verifier": "aws",
    "endpoint": "POST https://sts.amazonaws.com GetCallerIdentity",
    "checked_at": "2026-12-03T08:00:00Z",
    "http_status": 200,
    "identity": {"account": "123456789012", "arn": "arn:aws:iam::123456789012:user/deploy"},
}


def test_a_live_key_authenticates_as_the_user_sts_named() -> None:
    graph = Graph()
    add_findings(graph, [_finding(LIVE)], target="app", source="scan:app")
    radius = graph.blast_radius(FP)
    assert radius.identities == ("aws:arn:aws:iam::123456789012:user/deploy",)


def test_revoked_or_unverified_keys_name_no_identity() -> None:
    for check in (None, {**LIVE, "status": "revoked"}, {**LIVE, "status": "unknown"}):
        graph = Graph()
        add_findings(graph, [_finding(check)], target="app", source="scan:app")
        assert graph.blast_radius(FP).identities == ()
