"""``verify.provider_rejects_old``: the provider itself says the leaked credential is dead and the
new one live, before a run may be called complete.

The step asks the same verifier ``leakguard scan --verify`` uses (docs/verify.md): the
provider's read-only identity call on its fixed official host, or the explicit test/sandbox
override the operator set (``LEAKGUARD_VERIFY_ENDPOINTS``; for AWS the standard
``AWS_ENDPOINT_URL_STS``/``AWS_ENDPOINT_URL``). Never a host from a secret or scanned content.

Only ``revoked`` for the old credential and ``live`` for the new one pass. An ``unknown`` answer
(network error, rate limit, ambiguous reply) or an old credential still accepted is retried per
the step's ``retry:`` policy (:class:`NotYet`), then fails the step, so the run is never
completed on anything short of the provider's word. Values come from secret handles or are read
from the store in memory; outputs and errors carry statuses and evidence, never a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leakguard.backends.interface import SecretData, data_fingerprint
from leakguard.errors import PlaybookError, UsageError
from leakguard.model import LiveCheck, LiveStatus
from leakguard.redact import fingerprint
from leakguard.rotation.actions._common import optional, secret, text
from leakguard.rotation.interface import (
    Action,
    ActionContext,
    ActionSpec,
    Mode,
    NotYet,
    Outputs,
    Param,
)

# Where an AWS access-key pair keeps its two halves (IAM issuer, Secrets Manager conventions).
_AWS_KEY_ID = ("aws_access_key_id", "access_key_id", "AccessKeyId")
_AWS_SECRET = ("aws_secret_access_key", "secret_access_key", "SecretAccessKey")


def _first(data: SecretData, names: tuple[str, ...]) -> str | None:
    return next((str(data[n]) for n in names if data.get(n)), None)


def credential_value(verifier: str, data: SecretData, field: str | None) -> str:
    """The string the verifier checks: an AWS pair as ``KEYID:SECRET``; otherwise ``field``,
    or the only field of a one-field secret."""
    if verifier == "aws":
        key_id, key_secret = _first(data, _AWS_KEY_ID), _first(data, _AWS_SECRET)
        if key_id is None or key_secret is None:
            raise PlaybookError(
                "the AWS secret has no access key id and secret access key fields",
                hint="store the pair as aws_access_key_id and aws_secret_access_key",
            )
        return f"{key_id}:{key_secret}"
    if field:
        if not data.get(field):
            raise PlaybookError(f"the secret has no field {field!r}", hint="check field:")
        return str(data[field])
    if len(data) != 1:
        raise PlaybookError(
            f"the secret has {len(data)} fields: name the one its provider checks",
            hint="add field: FIELD to the step",
        )
    return str(next(iter(data.values())))


def _read(ctx: ActionContext, params: Mapping[str, Any], which: str) -> SecretData | None:
    """``old``/``new`` from a secret handle, else the store version ``old_version``/
    ``new_version`` of ``store``/``name`` (a version survives a restarted run; a handle read
    before promotion would be read again as the new value)."""
    if params.get(which):
        return secret(ctx, params.get(which), which)
    version = optional(params, f"{which}_version")
    if version is None or not params.get("store"):
        return None
    return ctx.store(text(params, "store")).read_version(text(params, "name"), version)


def _holds_leaked(data: SecretData, value: str, leaked: str) -> bool:
    wanted = leaked if leaked.startswith("sha256:") else "sha256:" + leaked
    candidates = [fingerprint(value), data_fingerprint(data)]
    candidates += [fingerprint(str(v)) for v in data.values()]
    return any(c.startswith(wanted) for c in candidates)


def _ask(verifier: str, value: str, vault_addr: str | None, shop: str | None) -> LiveCheck:
    from leakguard.verify.runner import environment_options, verify_value

    try:
        return verify_value(verifier, value, environment_options(vault_addr, shop))
    except UsageError as exc:  # an unknown verifier, a malformed override
        raise PlaybookError(exc.message, hint=exc.hint) from None


# what a verifier answers, without calling, for a value it cannot check (no retry helps)
_UNCHECKABLE = "not in a verifiable shape"


def _refuse_uncheckable(verifier: str, old: LiveCheck, new: LiveCheck | None) -> None:
    which = [
        n for n, c in (("old", old), ("new", new)) if c is not None and c.detail == _UNCHECKABLE
    ]
    if which:
        raise PlaybookError(
            f"the {verifier} verifier cannot check the {' and '.join(which)} credential's shape "
            "(e.g. a Supabase sb_secret_ key names no project)",
            hint="see docs/verify.md for what each verifier checks; the playbook says whether "
            "its provider step can be turned off for such keys",
        )


def _problems(old: LiveCheck, new: LiveCheck | None) -> list[str]:
    problems = []
    if old.status == LiveStatus.LIVE:
        problems.append("the provider still accepts the old credential")
    elif old.status == LiveStatus.UNKNOWN:
        problems.append(f"no clear answer about the old credential ({old.detail or 'unknown'})")
    if new is not None and new.status == LiveStatus.REVOKED:
        problems.append("the provider rejects the new credential")
    elif new is not None and new.status == LiveStatus.UNKNOWN:
        problems.append(f"no clear answer about the new credential ({new.detail or 'unknown'})")
    return problems


def provider_rejects_old(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    verifier = text(params, "verifier")
    field = optional(params, "field")
    old_data = _read(ctx, params, "old")
    if old_data is None:
        raise PlaybookError(
            "verify.provider_rejects_old needs the old credential",
            hint="pass old: (a secret handle) or store:, name: and old_version:",
        )
    old_value = credential_value(verifier, old_data, field)
    leaked = optional(params, "credential")
    # a rehearsal's sandbox seeds stand-in values, never the leaked one
    rehearsal = ctx.mode is Mode.REHEARSE
    if leaked is not None and not rehearsal and not _holds_leaked(old_data, old_value, leaked):
        raise PlaybookError(
            "the old credential given to the step is not the leaked one",
            hint="point old: (or old_version:) at the version that held the leaked value",
        )
    new_data = _read(ctx, params, "new")
    new_value = credential_value(verifier, new_data, field) if new_data is not None else None
    if new_value is not None and new_value == old_value:
        raise PlaybookError(
            "the old and the new credential are the same value",
            hint="read the old one from the version before promotion (old_version:)",
        )
    vault_addr, shop = optional(params, "vault_addr"), optional(params, "shopify_shop")
    old = _ask(verifier, old_value, vault_addr, shop)
    new = _ask(verifier, new_value, vault_addr, shop) if new_value is not None else None
    ctx.log(
        f"{verifier}: old credential {old.status} ({old.endpoint}, HTTP {old.http_status})"
        + (f"; new credential {new.status}" if new is not None else "")
    )
    _refuse_uncheckable(verifier, old, new)
    evidence = {"old": old.to_dict(), "new": new.to_dict() if new is not None else None}
    problems = _problems(old, new)
    if problems:
        raise NotYet(
            f"the provider has not proven the rotation: {'; '.join(problems)}",
            hint="an answer other than revoked (old) and live (new) never passes: check the "
            "old credential was deactivated or deleted and the provider is reachable, then resume",
            details=evidence,
        )
    return {
        "verifier": verifier,
        "old": str(old.status),
        "new": str(new.status) if new is not None else None,
        "identity": dict(new.identity) if new is not None else {},
        "evidence": evidence,
    }


ACTIONS = (
    Action(
        ActionSpec(
            "verify.provider_rejects_old",
            "The provider itself (its read-only identity call, as scan --verify) rejects the "
            "leaked credential and accepts the new one; unknown never passes (retried, then "
            "the step fails)",
            mutating=False,
            params={
                "verifier": Param("string", help="the verifier: aws, github, stripe... "),
                "old": Param("string", False, "secret handle of the leaked credential"),
                "new": Param("string", False, "secret handle of the new credential"),
                "store": Param("string", False, "a store backend, to read versions from"),
                "name": Param("string", False, "the store entry"),
                "old_version": Param("string", False, "the version before promotion"),
                "new_version": Param("string", False, "the promoted version"),
                "field": Param("string", False, "the field the provider checks"),
                "credential": Param("string", False, "the leaked fingerprint: old must hold it"),
                "vault_addr": Param("string", False, "Vault/OpenBao address (vault verifier)"),
                "shopify_shop": Param(
                    "string", False, "the shop its tokens belong to (shopify verifier)"
                ),
            },
        ),
        provider_rejects_old,
        lambda p: f"ask the {p.get('verifier')} provider: old credential revoked, new one live",
    ),
)
