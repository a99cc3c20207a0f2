"""Stable node ids: ``<kind prefix>:<natural key>``, so evidence from any builder lands on the
same node (see the identity-string scheme in :mod:`leakguard.graph.interface`)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from leakguard.errors import GraphError
from leakguard.graph.interface import StoreRef

CREDENTIAL = "credential:"
CONSUMER = "consumer:"
IDENTITY = "identity:"
ENVIRONMENT = "env:"
LEAK = "leak:"
STORE = "store:"

_ASSUMED_ROLE = re.compile(r"^arn:(aws[\w-]*):sts::(\d+):assumed-role/([^/]+)/.+$")


def credential(fingerprint: str) -> str:
    return CREDENTIAL + fingerprint


def fingerprint_of(node_id: str) -> str:
    return node_id.removeprefix(CREDENTIAL)


def consumer(name: str) -> str:
    return CONSUMER + name


def identity(schemed: str) -> str:
    return IDENTITY + schemed


def environment(name: str) -> str:
    return ENVIRONMENT + name


def store(ref: StoreRef) -> str:
    return ref.id


def leak(target: str, path: str, line: int = 0, commit: str | None = None) -> str:
    where = f"{target}@{commit}" if commit else target
    return f"{LEAK}{where}:{path}:{line}"


def aws_identity(arn: str) -> str:
    """``aws:<arn>``, an assumed-role session normalised to its role ARN."""
    m = _ASSUMED_ROLE.match(arn)
    if m:
        partition, account, role = m.groups()
        arn = f"arn:{partition}:iam::{account}:role/{role}"
    return f"aws:{arn}"


def store_ref_of(attrs: Mapping[str, object]) -> StoreRef:
    """The StoreRef a store-entry node's attributes describe."""
    mount = attrs.get("mount")
    return StoreRef(
        backend=str(attrs.get("backend", "")),
        path=str(attrs.get("path", "")),
        mount=str(mount) if mount else None,
    )


_SM_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")


def secretsmanager_name(secret_id: str) -> str:
    """A Secrets Manager secret as named in a StoreRef: an ARN becomes the secret's name
    (AWS appends ``-`` and six random characters to the name in the ARN)."""
    if secret_id.startswith("arn:") and ":secret:" in secret_id:
        name = secret_id.split(":secret:", 1)[1]
        return _SM_SUFFIX.sub("", name)
    return secret_id


STORE_KEYS = {
    "vault": "vault-kv2",
    "vault-kv2": "vault-kv2",
    "aws": "aws-secretsmanager",
    "aws-secretsmanager": "aws-secretsmanager",
}


def parse_store(spec: str) -> StoreRef:
    """``vault:MOUNT/PATH`` or ``aws:NAME`` (as on the command line) -> StoreRef."""
    scheme, sep, where = spec.partition(":")
    where = where.strip("/")
    if sep and scheme in STORE_KEYS and where:
        backend = STORE_KEYS[scheme]
        if backend == "aws-secretsmanager":
            return StoreRef(backend, secretsmanager_name(where))
        if "/" in where:
            mount, path = where.split("/", 1)
            return StoreRef(backend, path, mount)
    raise GraphError(
        f"cannot read the store entry {spec!r}",
        hint="write vault:MOUNT/PATH (e.g. vault:secret/payments/stripe) or aws:SECRET_NAME",
    )
