"""Secret-store actions: read, stage, promote, roll back, find and discard a dangling stage.

With Secrets Manager these steps are the rotation flow AWS's Lambda would run, driven by
LeakGuard itself: createSecret = ``issuer.issue`` + ``store.put_pending`` (AWSPENDING with a
ClientRequestToken derived from the step token), setSecret = the issuer or a ``command``,
testSecret = ``verify.new_credential_works`` on the pending version, finishSecret =
``store.promote``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leakguard.backends.interface import SecretData, SecretStore, StoredVersion
from leakguard.errors import BackendError, PlaybookError
from leakguard.rotation.actions._common import flag, iso, secret, text
from leakguard.rotation.interface import Action, ActionContext, ActionSpec, Outputs, Param

_KEY_ID_FIELDS = ("aws_access_key_id", "AccessKeyId", "AWS_ACCESS_KEY_ID")
_PREVIOUS = ("AWSPREVIOUS", "leakguard:previous")

BACKEND = Param("string", help="the store's name in the playbook's backends: block")
NAME = Param("string", help="the secret: a KV v2 path under the mount, or a Secrets Manager name")


def _store(ctx: ActionContext, params: Mapping[str, Any]) -> tuple[SecretStore, str]:
    return ctx.store(text(params, "backend")), text(params, "name")


def _version(v: StoredVersion) -> Outputs:
    return {"version_id": v.version_id, "stages": list(v.stages), "fingerprint": v.fingerprint}


def _key_id(data: SecretData) -> str | None:
    return next((data[f] for f in _KEY_ID_FIELDS if data.get(f)), None)


def read_current(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    store, name = _store(ctx, params)
    version, data = store.read_current(name)
    out = _version(version)
    out["fields"] = sorted(data)
    out["key_id"] = _key_id(data)
    out["secret"] = ctx.secrets.put(dict(data))
    return out


def put_pending(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    store, name = _store(ctx, params)
    new = secret(ctx, params.get("value"))
    current, data = store.read_current(name)
    field = params.get("field")
    fields = params.get("fields")
    if fields and flag(params, "merge", True):  # the runner names every leaked field
        # (merge: false stages a whole entry an action already rewrote field by field)
        value = next(iter(new.values()))
        staged = {**data, **{str(f): value for f in fields}}
    elif field:
        if len(new) != 1:
            raise PlaybookError(
                "field: needs a single-field secret", hint="drop field: to merge all fields"
            )
        staged = {**data, str(field): next(iter(new.values()))}
    elif flag(params, "merge", True):
        staged = {**data, **new}
    else:
        staged = dict(new)
    version = store.put_pending(name, staged, ctx.token)
    out = _version(version)
    out["previous_version_id"] = current.version_id
    out["key_id"] = _key_id(staged)
    return out


def pending(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    store, name = _store(ctx, params)
    found = store.pending(name)
    if found is None:
        return {"pending": False, "version_id": None, "created": None}
    return {"pending": True, "version_id": found.version_id, "created": found.created}


def discard_pending(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    store, name = _store(ctx, params)
    wanted = params.get("version")
    found = store.pending(name)
    if found is None or (wanted and str(wanted) != found.version_id):
        return {"discarded": None}
    store.discard_pending(name, found.version_id)
    ctx.log(f"unstaged pending version {found.version_id} of {name}")
    return {"discarded": found.version_id}


def _previous(store: SecretStore, name: str, version_id: str) -> str | None:
    for v in store.list_versions(name):
        if v.version_id != version_id and any(s in v.stages for s in _PREVIOUS):
            return v.version_id
    return None


def promote(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    store, name = _store(ctx, params)
    version_id = text(params, "version")
    current, _ = store.read_current(name)
    previous = current.version_id if current.version_id != version_id else None
    promoted = store.promote(name, version_id, ctx.token)
    if promoted.metadata.get("previous_version"):  # the store knows what it replaced
        previous = promoted.metadata["previous_version"]
    if previous is None:  # re-run after the promotion happened
        previous = _previous(store, name, promoted.version_id)
    if not promoted.is_current:
        raise BackendError(f"version {version_id} of {name} did not become current")
    _not_leaked(ctx, store, name, params.get("leaked"))
    out = _version(promoted)
    out.update(promoted_at=iso(ctx.now()), previous_version_id=previous)
    return out


def _not_leaked(ctx: ActionContext, store: SecretStore, name: str, leaked: Any) -> None:
    """The invariant the runner asks of every promotion: the current version (read again)
    holds the leaked credential in no field."""
    if not leaked:
        return
    from leakguard.rotation.invariants import leaked_fields

    _, data = store.read_current(name)
    still = leaked_fields(data, [str(x) for x in leaked])
    del data
    if still:
        where = ", ".join("the whole secret" if f == "*" else f"field {f}" for f in still)
        raise PlaybookError(
            f"after promotion, {where} of {name} still holds the leaked credential: "
            "the rotation did not replace it",
            hint="roll the run back, then start a run with -i field=FIELD naming the field "
            "that holds it",
        )
    ctx.log(f"the leaked credential is in no field of the current version of {name}")


def rollback(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    store, name = _store(ctx, params)
    target = params.get("to")
    if not target:
        ctx.log(f"nothing to roll back for {name}: no previous version")
        return {"version_id": None, "rolled_back_to": None}
    version = store.rollback(name, str(target), ctx.token)
    out = _version(version)
    out["rolled_back_to"] = str(target)
    return out


def _describe(verb: str) -> Any:
    return lambda p: f"{verb} {p.get('name')} in store {p.get('backend')}"


ACTIONS = (
    Action(
        ActionSpec(
            "store.read_current",
            "Read the current version (its id, fingerprint and fields; the value as a handle)",
            mutating=False,
            params={"backend": BACKEND, "name": NAME},
            produces_secret=True,
        ),
        read_current,
    ),
    Action(
        ActionSpec(
            "store.put_pending",
            "Stage a new version that consumers do not read yet (KV v2 check-and-set, "
            "Secrets Manager AWSPENDING with ClientRequestToken)",
            mutating=True,
            params={
                "backend": BACKEND,
                "name": NAME,
                "value": Param("string", help="a secret handle (${steps.ID.outputs.secret})"),
                "field": Param("string", False, "replace only this field with the new value"),
                "fields": Param("list", False, "replace each of these fields with the new value"),
                "merge": Param("bool", False, "keep the current fields the value lacks (true)"),
            },
            compensation="store.discard_pending",
        ),
        put_pending,
        _describe("stage a new version of"),
    ),
    Action(
        ActionSpec(
            "store.pending",
            "Find a staged version that was never promoted (e.g. left by a failed rotation)",
            mutating=False,
            params={"backend": BACKEND, "name": NAME},
        ),
        pending,
    ),
    Action(
        ActionSpec(
            "store.discard_pending",
            "Unstage a dangling pending version; its data stays in the version history",
            mutating=True,
            params={
                "backend": BACKEND,
                "name": NAME,
                "version": Param("string", False, "only this version (default: any pending)"),
            },
        ),
        discard_pending,
        _describe("discard the pending version of"),
    ),
    Action(
        ActionSpec(
            "store.promote",
            "Make the staged version current; the previous one stays readable",
            mutating=True,
            params={
                "backend": BACKEND,
                "name": NAME,
                "version": Param("string"),
                "leaked": Param("list", False, "fingerprints no field may hold afterwards"),
            },
            compensation="store.rollback",
        ),
        promote,
        lambda p: f"promote version {p.get('version')} of {p.get('name')} to current",
    ),
    Action(
        ActionSpec(
            "store.rollback",
            "Make an earlier version current again by copying it forward",
            mutating=True,
            params={
                "backend": BACKEND,
                "name": NAME,
                "to": Param("string", False, "the version to restore (empty: nothing to do)"),
            },
        ),
        rollback,
        lambda p: f"roll {p.get('name')} back to version {p.get('to')}",
    ),
)
