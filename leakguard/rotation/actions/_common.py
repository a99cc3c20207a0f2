"""Parameter checking, durations, secret handles and store references shared by the actions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from leakguard.backends.interface import SecretData, SecretStore
from leakguard.errors import PlaybookError
from leakguard.graph.interface import StoreRef
from leakguard.rotation.expr import parse_bool, parse_duration
from leakguard.rotation.interface import ActionContext


def seconds(value: Any, what: str = "duration") -> float:
    """``30s``, ``15m``, ``1h``, ``2d``, ``250ms`` or a number of seconds."""
    try:
        return parse_duration(value)
    except PlaybookError as exc:
        raise PlaybookError(f"{what}: {exc.message}", hint=exc.hint) from None


def text(params: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = params.get(key, default)
    if value is None or value == "":
        raise PlaybookError(f"parameter {key!r} is required")
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise PlaybookError(f"parameter {key!r} must be a string")
    return str(value)


def optional(params: Mapping[str, Any], key: str) -> str | None:
    value = params.get(key)
    return None if value is None or value == "" else str(value)


def flag(params: Mapping[str, Any], key: str, default: bool = False) -> bool:
    try:
        return parse_bool(params.get(key, default))
    except PlaybookError:
        raise PlaybookError(f"parameter {key!r} must be true or false") from None


def strings(params: Mapping[str, Any], key: str) -> list[str]:
    value = params.get(key)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, Sequence):
        return [str(v) for v in value if v is not None and v != ""]
    raise PlaybookError(f"parameter {key!r} must be a list of strings")


def secret(ctx: ActionContext, handle: Any, key: str = "value") -> SecretData:
    """The secret behind a handle from an earlier step's outputs."""
    if not isinstance(handle, str) or not handle:
        raise PlaybookError(
            f"parameter {key!r} must be a secret handle from an earlier step",
            hint="pass ${steps.ID.outputs.secret}, never a literal value",
        )
    try:
        return ctx.secrets.get(handle)
    except KeyError:
        raise PlaybookError(
            f"the secret behind {key!r} is no longer in memory (the run was restarted)",
            hint="resume the run: the step that produced it is run again",
        ) from None


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def parse_time(value: Any, what: str = "time") -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise PlaybookError(f"{what} {value!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def store_ref(store: SecretStore, name: str) -> StoreRef:
    """How the graph names this store entry (see :class:`StoreRef`)."""
    mount = getattr(store, "mount", None)
    if store.kind == "vault-kv2":
        return StoreRef("vault-kv2", name, str(mount or "secret"))
    return StoreRef(store.kind, name, None)


def same_entry(a: StoreRef, b: StoreRef) -> bool:
    """Equal refs, or a Secrets Manager ARN ``...:secret:NAME-abcdef`` naming ``NAME``."""
    if a.id == b.id:
        return True
    if a.backend != b.backend or a.mount != b.mount:
        return False
    return _sm_name(a.path) == _sm_name(b.path)


def _sm_name(path: str) -> str:
    if ":secret:" not in path:
        return path
    tail = path.split(":secret:", 1)[1]
    head, dash, suffix = tail.rpartition("-")
    return head if dash and len(suffix) == 6 else tail
