"""AWS IAM access-key actions: list, free a slot, create, deactivate/activate, delete, contain,
release, and STS GetCallerIdentity. They need an ``aws-iam`` issuer backend (or anything that
offers the same methods, such as a test double)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from leakguard.backends.interface import IssuedKey, KeyIssuer
from leakguard.errors import PlaybookError
from leakguard.redact import redact
from leakguard.rotation.actions._common import flag, iso, secret, strings, text
from leakguard.rotation.interface import (
    Action,
    ActionContext,
    ActionSpec,
    NotYet,
    Outputs,
    Param,
)


@runtime_checkable
class IamLike(Protocol):
    """What :class:`leakguard.backends.aws_iam.IamKeyIssuer` offers beyond :class:`KeyIssuer`."""

    def free_slot(self, subject: str, *, keep: Collection[str] = ()) -> str | None: ...

    def issue(self, subject: str, token: str, *, keep: Collection[str] = ()) -> IssuedKey: ...

    def deactivate(self, subject: str, key_id: str, *, force: bool = False) -> None: ...

    def proven_dead(self, subject: str, key_id: str, deactivated_at: datetime) -> Any: ...

    def contain(self, subject: str, token: str) -> str: ...

    def release(self, subject: str, containment_id: str) -> None: ...


BACKEND = Param("string", help="the aws-iam issuer's name in the playbook's backends: block")
USER = Param("string", help="the IAM user that owns the key")
KEY_ID = Param("string", help="an access key id")


def iam(ctx: ActionContext, params: Mapping[str, Any]) -> tuple[IamLike, str]:
    name = text(params, "backend")
    issuer: KeyIssuer = ctx.issuer(name)
    if not isinstance(issuer, IamLike):
        raise PlaybookError(
            f"backend {name!r} is a {issuer.kind} issuer, not aws-iam",
            hint="IAM actions need a backend with kind: aws-iam",
        )
    return issuer, text(params, "user")


def list_keys(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    name = text(params, "backend")
    user = text(params, "user")
    keys = ctx.issuer(name).list_keys(user)
    return {
        "keys": [{"key_id": k.key_id, "status": k.status, "created": k.created} for k in keys],
        "count": len(keys),
        "active": sum(k.status == "active" for k in keys),
    }


def free_slot(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    issuer, user = iam(ctx, params)
    deleted = issuer.free_slot(user, keep=strings(params, "keep"))
    if deleted:
        ctx.log(f"deleted inactive access key {redact(deleted)} of {user} to free a slot")
    return {"deleted": deleted}


def create_access_key(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    issuer, user = iam(ctx, params)
    key = issuer.issue(user, ctx.token, keep=strings(params, "keep"))
    return {
        "secret": ctx.secrets.put(dict(key.secret)),
        "key_id": key.key_id,
        "fingerprint": key.fingerprint,
        "user": user,
    }


def discard_access_key(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    """Compensation for create: the new key was never promoted, so nobody uses it."""
    issuer, user = iam(ctx, params)
    key_id = text(params, "key_id")
    if any(k.key_id == key_id for k in ctx.issuer(text(params, "backend")).list_keys(user)):
        issuer.deactivate(user, key_id, force=True)
        ctx.issuer(text(params, "backend")).delete(user, key_id)
    return {"deleted": key_id}


def deactivate_access_key(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    issuer, user = iam(ctx, params)
    key_id = text(params, "key_id")
    issuer.deactivate(user, key_id, force=flag(params, "force"))
    return {"key_id": key_id, "deactivated_at": iso(ctx.now())}


def activate_access_key(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    name = text(params, "backend")
    user, key_id = text(params, "user"), text(params, "key_id")
    ctx.issuer(name).activate(user, key_id)
    return {"key_id": key_id}


def delete_access_key(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    name = text(params, "backend")
    user, key_id = text(params, "user"), text(params, "key_id")
    ctx.issuer(name).delete(user, key_id)
    ctx.log(f"deleted access key {redact(key_id)} of {user}")
    return {"deleted": key_id}


def contain(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    issuer, user = iam(ctx, params)
    return {"containment_id": issuer.contain(user, ctx.token), "user": user}


def release(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    issuer, user = iam(ctx, params)
    containment = params.get("containment")
    if not containment:
        return {"released": None}
    issuer.release(user, str(containment))
    return {"released": str(containment)}


def sts_works(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    name = text(params, "backend")
    data = secret(ctx, params.get("secret"), "secret")
    if not ctx.issuer(name).works(data):
        raise NotYet(
            "STS GetCallerIdentity rejected the key",
            hint="new IAM keys can take a few seconds to work; the step is retried",
        )
    return {"works": True}


def _user_step(verb: str) -> Any:
    return lambda p: f"{verb} {redact(str(p.get('key_id') or ''))} of IAM user {p.get('user')}"


ACTIONS = (
    Action(
        ActionSpec(
            "aws.iam.list_keys",
            "List the user's access keys (ids, status, creation time)",
            mutating=False,
            params={"backend": BACKEND, "user": USER},
        ),
        list_keys,
    ),
    Action(
        ActionSpec(
            "aws.iam.free_slot",
            "When the user has two keys, delete the oldest *inactive* one not in keep "
            "(never an active key)",
            mutating=True,
            irreversible=True,
            params={
                "backend": BACKEND,
                "user": USER,
                "keep": Param("list", False, "key ids that must survive"),
            },
        ),
        free_slot,
        lambda p: f"free an access-key slot of IAM user {p.get('user')} (delete an inactive key)",
    ),
    Action(
        ActionSpec(
            "aws.iam.create_access_key",
            "Create a new access key (freeing a slot first if needed); the secret is a handle",
            mutating=True,
            params={
                "backend": BACKEND,
                "user": USER,
                "keep": Param("list", False, "key ids that must survive slot freeing"),
            },
            compensation="aws.iam.discard_access_key",
            produces_secret=True,
        ),
        create_access_key,
        lambda p: f"create a new access key for IAM user {p.get('user')}",
    ),
    Action(
        ActionSpec(
            "aws.iam.discard_access_key",
            "Deactivate and delete a key this run created and never promoted (compensation)",
            mutating=True,
            params={"backend": BACKEND, "user": USER, "key_id": KEY_ID},
        ),
        discard_access_key,
        _user_step("discard the new access key"),
    ),
    Action(
        ActionSpec(
            "aws.iam.deactivate_access_key",
            "Set a key inactive (refuses the user's only active key unless force)",
            mutating=True,
            params={
                "backend": BACKEND,
                "user": USER,
                "key_id": KEY_ID,
                "force": Param("bool", False, "accept leaving the user without an active key"),
            },
            compensation="aws.iam.activate_access_key",
        ),
        deactivate_access_key,
        _user_step("deactivate access key"),
    ),
    Action(
        ActionSpec(
            "aws.iam.activate_access_key",
            "Set a key active again (compensation for deactivate)",
            mutating=True,
            params={"backend": BACKEND, "user": USER, "key_id": KEY_ID},
        ),
        activate_access_key,
        _user_step("re-activate access key"),
    ),
    Action(
        ActionSpec(
            "aws.iam.delete_access_key",
            "Delete an inactive key for good",
            mutating=True,
            irreversible=True,
            params={"backend": BACKEND, "user": USER, "key_id": KEY_ID},
        ),
        delete_access_key,
        _user_step("delete access key"),
    ),
    Action(
        ActionSpec(
            "aws.iam.contain",
            "Attach an inline policy denying key creation, IAM changes and new compute",
            mutating=True,
            params={"backend": BACKEND, "user": USER},
            compensation="aws.iam.release",
        ),
        contain,
        lambda p: f"attach the containment deny policy to IAM user {p.get('user')}",
    ),
    Action(
        ActionSpec(
            "aws.iam.release",
            "Remove the containment policy",
            mutating=True,
            params={
                "backend": BACKEND,
                "user": USER,
                "containment": Param("string", False, "the containment_id from aws.iam.contain"),
            },
        ),
        release,
        lambda p: f"remove containment policy {p.get('containment')} from {p.get('user')}",
    ),
    Action(
        ActionSpec(
            "aws.sts.works",
            "STS GetCallerIdentity with the key (not yet working: retried)",
            mutating=False,
            params={"backend": BACKEND, "secret": Param("string", help="a secret handle")},
        ),
        sts_works,
    ),
)
