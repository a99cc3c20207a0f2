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


def test_other_providers_name_their_owner_by_the_field_their_verifier_records() -> None:
    from leakguard.verify.http_verifiers import _fields_under_200
    from leakguard.verify.interface import Reply

    # the DigitalOcean answer as its reference shows it (GET /v2/account), classified by the
    # verifier's own rule, then turned into an identity by the graph
    body = (
        b'{"account": {"uuid": "b6fr89dbf6d9156cace5f3c78dc9851d957381ef",'
        b' "email": "ops@acme.io", "status": "active"}}'
    )
    status, identity, _ = _fields_under_200("account", "uuid", "email", "status")(
        Reply(200, {}, body)
    )
    assert str(status) == "live"
    check = {**LIVE, "verifier": "digitalocean", "identity": identity}
    graph = Graph()
    add_findings(graph, [_finding(check)], target="app", source="scan:app")
    assert graph.blast_radius(FP).identities == (
        "digitalocean-account:b6fr89dbf6d9156cace5f3c78dc9851d957381ef",
    )
    shop = {
        **LIVE,
        "verifier": "shopify",
        "identity": {"shop": "Acme", "domain": "acme.myshopify.com"},
    }
    graph = Graph()
    add_findings(graph, [_finding(shop)], target="app", source="scan:app")
    assert graph.blast_radius(FP).identities == ("shopify-shop:acme.myshopify.com",)
