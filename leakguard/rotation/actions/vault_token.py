"""Vault / OpenBao token actions: look a leaked token up, revoke it (and its children), prove it
is gone.

The token is found by its accessor, or from a 0600 file holding the leaked token (checked
against the credential's fingerprint, so the wrong token is never revoked). The server is
``$VAULT_ADDR`` (or ``url``) and the administrator's token is read from the variable
``admin_token_env`` names (``VAULT_TOKEN``): parameters are journaled, values are not.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from leakguard.backends.vault_token import TokenInfo, VaultTokens
from leakguard.errors import BackendError, PlaybookError
from leakguard.redact import fingerprint
from leakguard.rotation.actions._common import iso, optional
from leakguard.rotation.interface import Action, ActionContext, ActionSpec, Outputs, Param


def _client(params: Mapping[str, Any]) -> VaultTokens:
    url = optional(params, "url") or os.environ.get("VAULT_ADDR", "")
    var = optional(params, "admin_token_env") or "VAULT_TOKEN"
    token = os.environ.get(var, "")
    if not url or not token:
        raise PlaybookError(
            "the Vault address or the administrator's token is not set",
            hint=f"export VAULT_ADDR and {var} (a token allowed to look up and revoke tokens)",
        )
    return VaultTokens(url, token)


def _leaked_token(params: Mapping[str, Any]) -> str | None:
    path = optional(params, "token_file")
    if path is None:
        return None
    try:
        info = os.stat(path)
    except OSError as exc:
        raise PlaybookError(f"cannot read token_file {path}: {exc.strerror}") from None
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise PlaybookError(f"token_file {path} is readable by others", hint=f"chmod 600 {path}")
    token = Path(path).read_text(encoding="utf-8").strip()
    credential = optional(params, "credential")
    if credential and not fingerprint(token).startswith(credential):
        raise PlaybookError(
            f"the token in {path} is not the leaked credential {credential[:19]}…",
            hint="give the file holding the leaked token (or its accessor instead)",
        )
    return token


def _json(info: TokenInfo) -> Outputs:
    return {
        "accessor": info.accessor,
        "display_name": info.display_name,
        "policies": list(info.policies),
        "policies_text": ", ".join(info.policies) or "none",
        "orphan": info.orphan,
        "expire_time": info.expire_time,
        "entity_id": info.entity_id,
    }


def lookup(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    client = _client(params)
    token = _leaked_token(params)
    accessor = optional(params, "accessor")
    info = client.lookup_token(token) if token else None
    if info is None and accessor:
        info = client.lookup_accessor(accessor)
    if info is None:
        if token is None and accessor is None:
            raise PlaybookError("vault.token_lookup needs accessor: or token_file:")
        raise BackendError(
            "the leaked token is not valid any more (revoked or expired): nothing to revoke",
            hint="check the audit log for its past use; no revocation is needed",
        )
    ctx.log(f"token {info.display_name or '(no name)'} has policies {', '.join(info.policies)}")
    return _json(info)


def revoke(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    """Revoke by accessor (the token and its children); a token already gone is not an error."""
    client = _client(params)
    accessor = optional(params, "accessor")
    if accessor is None:
        raise PlaybookError("vault.token_revoke needs the accessor (from vault.token_lookup)")
    if client.lookup_accessor(accessor) is None:
        ctx.log("the token is already revoked")
        return {"revoked": accessor, "already": True, "at": iso(ctx.now())}
    client.revoke_accessor(accessor)
    ctx.log("revoked the token and its children")
    return {"revoked": accessor, "already": False, "at": iso(ctx.now())}


def gone(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    """The accessor no longer resolves, and (with token_file) Vault refuses the token itself."""
    client = _client(params)
    accessor = optional(params, "accessor")
    if accessor and client.lookup_accessor(accessor) is not None:
        raise BackendError("the token's accessor still resolves: the token is alive")
    token = _leaked_token(params)
    if token and client.lookup_token(token) is not None:
        raise BackendError("Vault still accepts the leaked token")
    return {"gone": True, "checked_token": token is not None}


_COMMON = {
    "url": Param("string", False, "the Vault address (default $VAULT_ADDR)"),
    "admin_token_env": Param("string", False, "variable holding the admin token (VAULT_TOKEN)"),
    "accessor": Param("string", False, "the token's accessor"),
    "token_file": Param("string", False, "a 0600 file holding the leaked token"),
    "credential": Param("string", False, "its fingerprint: the file must hold that token"),
}

ACTIONS = (
    Action(
        ActionSpec(
            "vault.token_lookup",
            "A leaked Vault/OpenBao token's accessor, name and policies (by accessor or by the "
            "token itself)",
            mutating=False,
            params=_COMMON,
        ),
        lookup,
    ),
    Action(
        ActionSpec(
            "vault.token_revoke",
            "Revoke the token and its children by accessor",
            mutating=True,
            irreversible=True,
            params=_COMMON,
        ),
        revoke,
        lambda p: f"revoke the token with accessor {p.get('accessor')} and its children",
    ),
    Action(
        ActionSpec(
            "vault.token_gone",
            "The accessor no longer resolves and Vault refuses the token itself",
            mutating=False,
            params=_COMMON,
        ),
        gone,
    ),
)
