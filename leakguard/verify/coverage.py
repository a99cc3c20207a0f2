"""Which verifier (if any) can prove a rotation of a credential kind with its provider.

A playbook may end with ``verify.provider_rejects_old`` only when one verifier checks every
kind of credential the playbook rotates; otherwise the step could only fail (or, worse, read a
provider's "unknown token" for a kind it does not understand as proof of revocation). The
answer comes from the verifiers' own ``handles`` (the table ``scan --verify`` uses), less the
kinds a verifier cannot check from the one value a playbook stores (:data:`NOT_CHECKABLE`).
"""

from __future__ import annotations

from collections.abc import Iterable

from leakguard.model import Finding, Location, Severity
from leakguard.verify.http_verifiers import HTTP_VERIFIERS
from leakguard.verify.interface import Verifier
from leakguard.verify.shopify import ShopifyVerifier
from leakguard.verify.vault import VaultTokenVerifier

# Verifiers a stored value alone cannot satisfy, and rules a verifier claims but cannot check.
NOT_CHECKABLE: dict[str, str] = {
    "twilio": "checks an account or key SID with its secret; a playbook stores the secret alone",
    "github-oauth-client-secret": "an OAuth app client secret is not a bearer token",
    "cloudflare": "a deleted user token and a live account-owned token get the same 401 on the "
    "user endpoint: the verifier can say live, never revoked",
    "vercel": "its revoked answer rests on the invalidToken flag, which Vercel's published API "
    "reference does not document: a run could pause on an answer Vercel never gives",
}


def _probe_finding(provider: str, rule_id: str) -> Finding:
    return Finding(rule_id, provider, "", Severity.HIGH, "", "", "coverage", Location(""))


def verifier_for_rule(provider: str, rule_id: str) -> str | None:
    """The verifier ``scan --verify`` would ask about a ``rule_id`` credential, if it can check
    one from the stored value alone. AWS access keys are left to their own playbook file (its
    verifier needs boto3, imported only when a scan verifies)."""
    if rule_id in NOT_CHECKABLE:
        return None
    finding = _probe_finding(provider, rule_id)
    candidates: tuple[Verifier, ...] = (
        *HTTP_VERIFIERS,
        VaultTokenVerifier(None),
        ShopifyVerifier(),
    )
    for verifier in candidates:
        if verifier.handles(finding):
            return None if verifier.name in NOT_CHECKABLE else verifier.name
    return None


def common_verifier(provider: str, rule_ids: Iterable[str]) -> str | None:
    """The one verifier that checks every rule of ``rule_ids`` (None when there are none, any
    is unchecked, or two verifiers would be needed)."""
    names = {verifier_for_rule(provider, rule_id) for rule_id in rule_ids}
    if len(names) != 1:
        return None
    return names.pop()
