"""Issue and revoke credentials through any issuer backend.

A ``manual`` issuer (Stripe, GitHub, Supabase, OpenAI) shows the dashboard steps, takes the new
value from ``value_file`` (mode 0600) or the operator's answer to ``ctx.ask``, and checks it
against the provider's detector rules before anything is stored. Revoking a manual key shows the
dashboard steps and waits for the operator's confirmation.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from leakguard.backends.interface import IssuedKey, KeyIssuer
from leakguard.backends.manual import ManualIssuer
from leakguard.rotation.actions._common import flag, optional, text
from leakguard.rotation.interface import Action, ActionContext, ActionSpec, Mode, Outputs, Param

CONFIRM_WORDS = frozenset({"y", "yes", "done", "revoked"})


def _manual(ctx: ActionContext, issuer: Any, params: Mapping[str, Any]) -> ManualIssuer:
    """The same provider and field, reading from this step's value file or the operator."""
    value_file = optional(params, "value_file")
    provider, field = str(issuer.provider), str(issuer.field)

    def prompt(instructions: str) -> str:
        return ctx.ask(f"{instructions}\nNew {provider} key", secret=True)

    def confirm(instructions: str) -> bool:
        answer = ctx.ask(f"{instructions}\nType 'yes' once this is done")
        return answer.strip().lower() in CONFIRM_WORDS

    return ManualIssuer(
        provider,
        credential=getattr(issuer, "credential", None),
        prompt=prompt,
        confirm=confirm,
        value_file=Path(value_file) if value_file else None,
        field=field,
    )


def _issuer(ctx: ActionContext, params: Mapping[str, Any]) -> KeyIssuer:
    issuer = ctx.issuer(text(params, "backend"))
    if issuer.kind == "manual" and hasattr(issuer, "provider"):  # also behind a plan-mode proxy
        return _manual(ctx, issuer, params)
    return issuer


def issue(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    issuer = _issuer(ctx, params)
    subject = text(params, "subject")
    if isinstance(issuer, ManualIssuer):
        ctx.log(issuer.steps())
    key: IssuedKey = issuer.issue(subject, ctx.token)
    return {
        "secret": ctx.secrets.put(dict(key.secret)),
        "key_id": key.key_id,
        "fingerprint": key.fingerprint,
        "subject": subject,
    }


def revoke(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    issuer = _issuer(ctx, params)
    subject = text(params, "subject")
    key_id = optional(params, "key_id") or "the old key"
    if isinstance(issuer, ManualIssuer) and ctx.mode is Mode.REHEARSE:
        # A dashboard step acts on the real provider, outside the sandbox: never ask for it here.
        ctx.log(f"rehearsal: would ask the operator to revoke {key_id} of {subject} (not asked)")
        return {"revoked": key_id, "at": ctx.now().isoformat(), "rehearsed": True}
    if flag(params, "delete"):
        issuer.delete(subject, key_id)
    else:
        issuer.deactivate(subject, key_id)
    ctx.log(f"revoked the old credential of {subject}")
    return {"revoked": key_id, "at": ctx.now().isoformat()}


def _describe_issue(p: Mapping[str, Any]) -> str:
    return f"issue a new credential for {p.get('subject')} with {p.get('backend')}"


ACTIONS = (
    Action(
        ActionSpec(
            "issuer.issue",
            "Mint a new credential (generated, IAM, or supplied by an operator and checked "
            "against the detector rules); the value is a handle",
            mutating=True,
            params={
                "backend": Param("string", help="the issuer's name in the backends: block"),
                "subject": Param("string", help="whose credential (IAM user, secret path)"),
                "value_file": Param("string", False, "manual: read the new value from this file"),
            },
            produces_secret=True,
        ),
        issue,
        _describe_issue,
    ),
    Action(
        ActionSpec(
            "issuer.revoke",
            "Revoke the old credential (manual: the dashboard steps, confirmed by the operator)",
            mutating=True,
            irreversible=True,
            params={
                "backend": Param("string"),
                "subject": Param("string"),
                "key_id": Param("string", False, "the old key (default: the old key)"),
                "delete": Param("bool", False, "delete rather than deactivate"),
            },
        ),
        revoke,
        lambda p: f"revoke {p.get('key_id') or 'the old key'} of {p.get('subject')}",
    ),
)
