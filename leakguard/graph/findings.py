"""Builder (a): credentials and where they leaked, from a scan.

Three inputs give the same nodes: a :class:`ScanResult`, a ``leakguard scan -f json`` report,
or the findings store. A credential node carries its fingerprint, provider, rule, severity and
redacted preview (plus non-secret attributes such as an AWS key id or a Supabase project ref);
each place it was seen becomes a ``leak`` node with a ``leaked_at`` edge.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from leakguard.errors import GraphError
from leakguard.graph import ids
from leakguard.graph.interface import EdgeKind, Evidence, NodeKind
from leakguard.graph.model import now
from leakguard.graph.queries import Graph
from leakguard.model import Finding, ScanResult
from leakguard.store.findings import FindingsStore

FINGERPRINT = re.compile(r"sha256:[0-9a-f]{64}")

# attribute names that identify a credential's owner without revealing it
IDENTITY_ATTRIBUTES = (
    "account_id",  # AWS access keys
    "project_ref",  # Supabase
    "role",
    "issuer",  # JWTs
    "client_email",  # Google service accounts
    "project_id",
    "private_key_id",
    "account_sid",  # Twilio
    "host",  # connection URLs
    "user",
    "key_id",
)


def _add(
    graph: Graph,
    finding: Mapping[str, Any],
    target: str,
    evidence: Evidence,
) -> None:
    fp = finding.get("fingerprint")
    if not isinstance(fp, str) or not fp.startswith("sha256:"):
        return
    attributes = finding.get("attributes") or {}
    identity = (
        {
            k: v
            for k, v in attributes.items()
            if k in IDENTITY_ATTRIBUTES and isinstance(v, str | int)
        }
        if isinstance(attributes, Mapping)
        else {}
    )
    cred = graph.add_credential(
        fp,
        parts=_parts(finding.get("parts")),
        provider=finding.get("provider"),
        rule_id=finding.get("rule_id"),
        title=finding.get("title"),
        severity=finding.get("severity"),
        redacted=finding.get("redacted"),
        rotation=finding.get("rotation"),
        **{f"id_{k}": v for k, v in identity.items()},
    )
    _add_verified_identity(graph, cred, finding.get("verification"))
    locations = [finding.get("location") or {}]
    locations += list(finding.get("occurrences") or [])
    for loc in locations:
        if not isinstance(loc, Mapping):
            continue
        path = str(loc.get("path", ""))
        line = int(loc.get("line") or 0)
        commit = loc.get("commit")
        leak = graph.add_node(
            ids.leak(target, path, line, str(commit) if commit else None),
            NodeKind.LEAK,
            target=target,
            path=path,
            line=line,
            commit=commit,
            source_kind=finding.get("source_kind"),
            url=loc.get("url"),
        )
        graph.add_edge(cred, leak, EdgeKind.LEAKED_AT, evidence)


# (verifier, identity field) -> identity scheme: who a live credential belongs to, as its
# provider said (scan --verify); the first field present names the identity
_VERIFIED_IDENTITY = {
    "aws": ("arn", "aws"),
    "github": ("login", "github"),
    "gitlab": ("user_id", "gitlab-user"),
    "slack": ("user_id", "slack-user"),
    "stripe": ("id", "stripe-account"),
    "openai": ("openai-organization", "openai-org"),
    "anthropic": ("anthropic-organization-id", "anthropic-org"),
    "twilio": ("sid", "twilio-account"),
    "npm": ("username", "npm-user"),
    "huggingface": ("name", "huggingface-user"),
    "telegram": ("username", "telegram-bot"),
    "discord": ("id", "discord-user"),
    "vault": ("display_name", "vault-token"),
    "digitalocean": ("uuid", "digitalocean-account"),
    "heroku": ("id", "heroku-account"),
    "netlify": ("id", "netlify-user"),
    "postman": ("id", "postman-user"),
    "replicate": ("username", "replicate-account"),
    "terraform": ("username", "terraform-user"),
    "pulumi": ("githubLogin", "pulumi-user"),
    "figma": ("id", "figma-user"),
    "linear": ("id", "linear-user"),
    "shopify": ("domain", "shopify-shop"),
}


def _add_verified_identity(graph: Graph, cred: str, check: object) -> None:
    """A credential its provider verified ``live``: the owner it named becomes an identity node
    the credential ``authenticates_as`` (the IAM user behind an AWS key, a token's login)."""
    if not isinstance(check, Mapping) or check.get("status") != "live":
        return
    verifier, identity = check.get("verifier"), check.get("identity")
    if not isinstance(identity, Mapping) or verifier not in _VERIFIED_IDENTITY:
        return
    key, scheme = _VERIFIED_IDENTITY[str(verifier)]
    value = identity.get(key)
    if not isinstance(value, str | int) or value == "":
        return
    node = ids.aws_identity(str(value)) if scheme == "aws" else ids.identity(f"{scheme}:{value}")
    graph.add_node(
        node,
        NodeKind.IDENTITY,
        name=node.removeprefix("identity:"),
        verified_at=check.get("checked_at"),
        **{f"verified_{k}": str(v) for k, v in identity.items() if isinstance(v, str | int)},
    )
    detail = f"{check.get('endpoint')} -> {check.get('http_status')}"
    graph.add_edge(
        cred, node, EdgeKind.AUTHENTICATES_AS, Evidence(f"verify:{verifier}", now(), detail)
    )


def _parts(value: object) -> dict[str, str] | None:
    """The ``parts`` of a finding (name -> fingerprint); anything that is not a fingerprint is
    dropped, so a hand-edited report can never put a value into the graph."""
    if not isinstance(value, Mapping):
        return None
    parts = {
        str(name): fp
        for name, fp in value.items()
        if isinstance(fp, str) and FINGERPRINT.fullmatch(fp)
    }
    return parts or None


def add_findings(
    graph: Graph, findings: Iterable[Finding | Mapping[str, Any]], *, target: str, source: str
) -> int:
    """Add findings (typed or as JSON-contract dicts) seen in ``target``; returns how many."""
    evidence = Evidence(source, now())
    n = 0
    for f in findings:
        _add(graph, f.to_dict() if isinstance(f, Finding) else f, target, evidence)
        n += 1
    return n


def add_scan_result(graph: Graph, result: ScanResult, *, target: str | None = None) -> int:
    target = target or (result.targets[0] if len(result.targets) == 1 else ",".join(result.targets))
    return add_findings(graph, result.findings, target=target, source=f"scan:{target}")


def add_scan_report(graph: Graph, path: Path, *, target: str | None = None) -> int:
    """A ``leakguard scan -f json`` report (or ``-f jsonl``: one finding per line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GraphError(f"cannot read scan report {path}: {exc}") from None
    try:
        doc = json.loads(text)
        findings = doc.get("findings") if isinstance(doc, dict) else None
    except ValueError:
        try:
            findings = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError:
            findings = None
    if not isinstance(findings, list):
        raise GraphError(
            f"{path} is not a LeakGuard JSON report",
            hint="write one with `leakguard scan PATH -f json -o report.json`",
        )
    name = target or path.stem
    return add_findings(graph, findings, target=name, source=f"scan-report:{path}")


def add_findings_store(graph: Graph, store: FindingsStore) -> int:
    """Every credential in the findings store with each of its occurrences."""
    n = 0
    for cred in store.credentials(detail=False):
        for occ in cred.occurrences:
            finding = dict(occ.finding)
            evidence = Evidence(f"findings-store:{occ.target}", occ.last_seen)
            _add(graph, finding, occ.target, evidence)
            n += 1
        if not cred.occurrences:
            graph.add_credential(
                cred.fingerprint,
                parts=dict(cred.parts) or None,
                provider=cred.provider,
                rule_id=cred.rule_id,
                redacted=cred.redacted,
                severity=cred.severity.label,
            )
        node = ids.credential(cred.fingerprint)
        if graph.has_node(node):
            graph.add_credential(cred.fingerprint, parts=dict(cred.parts) or None)
            graph.add_node(node, NodeKind.CREDENTIAL, status=cred.status)
    return n
