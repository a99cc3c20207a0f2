"""Builder (d): the secret stores themselves, read with a read-only credential.

Every secret under a prefix is listed and its current version read; each field value and the
whole value are hashed in memory (``sha256`` of the exact string, the fingerprint a scan gives a
leaked credential) and the data is dropped at once. A store entry becomes a node carrying its
version (and Secrets Manager staging labels); when a hash equals a leaked credential's
fingerprint, a ``stored_in`` edge proves "the leaked key is the one at secret/payments/stripe".
Only the names of matching fields are kept.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from leakguard.backends.interface import SecretData, SecretLister, StoredVersion, data_fingerprint
from leakguard.errors import BackendError
from leakguard.graph.interface import EdgeKind, Evidence, StoreRef
from leakguard.graph.model import now
from leakguard.graph.queries import IDENTIFIER_PARTS, Graph
from leakguard.redact import fingerprint

WHOLE = "(whole value)"


class ListableStore(SecretLister, Protocol):
    kind: str

    def read_current(self, name: str) -> tuple[StoredVersion, SecretData]: ...


@dataclass(frozen=True, slots=True)
class StoreScan:
    entries: int
    matches: int
    skipped: tuple[str, ...] = ()  # entries that could not be read (permission, binary...)


def value_fingerprints(data: Mapping[str, str]) -> dict[str, str]:
    """fingerprint -> field name (or :data:`WHOLE`), for every field and the whole value."""
    out: dict[str, str] = {}
    for whole in (
        data_fingerprint(data),
        fingerprint(json.dumps(dict(data))),
        fingerprint(json.dumps(dict(data), sort_keys=True)),
    ):
        out[whole] = WHOLE
    for name, value in data.items():
        out[fingerprint(value)] = name
    return out


def add_store(
    graph: Graph, store: ListableStore, *, prefix: str = "", source: str, mount: str | None = None
) -> StoreScan:
    """List and read every secret under ``prefix``; link matches to known credentials, by
    their own fingerprint or by any part of them (an AWS key id and secret in two fields)."""
    known = graph.fingerprint_index()
    stamp = now()
    entries = matches = 0
    skipped: list[str] = []
    for name in store.list_names(prefix):
        try:
            version, data = store.read_current(name)
        except BackendError as exc:
            if exc.transient:
                raise
            skipped.append(f"{name}: {exc.message}")
            continue
        hashes = value_fingerprints(data)
        del data
        ref = StoreRef(store.kind, name, mount)
        node = graph.add_store(
            ref,
            version=version.version_id,
            stages=",".join(version.stages),
            created=version.created,
            listed_at=stamp,
        )
        entries += 1
        for cred, fields in sorted(held_fields(hashes, known).items()):
            graph.add_edge(
                cred,
                node,
                EdgeKind.STORED_IN,
                Evidence(source, stamp, f"version {version.version_id}, {describe(fields)}"),
                field=next(iter(fields)),
                fields=fields,
                version=version.version_id,
            )
            matches += 1
    return StoreScan(entries, matches, tuple(skipped))


def held_fields(
    hashes: Mapping[str, str], known: Mapping[str, list[tuple[str, str | None]]]
) -> dict[str, dict[str, str]]:
    """credential node -> {field: part name ("" for the whole credential)} for the fields of
    one entry (``hashes``: fingerprint -> field) that hold a credential or a part of one. A
    part that only names an account (a URL's user) links nothing on its own."""
    held: dict[str, dict[str, str]] = {}
    for fp, field in sorted(hashes.items(), key=lambda item: item[1]):
        for cred, part in known.get(fp, ()):
            if part in IDENTIFIER_PARTS:
                continue
            fields = held.setdefault(cred, {})
            if field not in fields or part is None:
                fields[field] = part or ""
    # the whole credential's field first: the one a single-field rotation rewrites
    return {
        cred: dict(sorted(fields.items(), key=lambda item: (item[1] != "", item[0])))
        for cred, fields in held.items()
    }


def describe(fields: Mapping[str, str]) -> str:
    if len(fields) == 1 and "" in fields.values():
        return f"field {next(iter(fields))}"
    named = ", ".join(f"{f} ({part})" if part else f for f, part in fields.items())
    return f"field{'s' if len(fields) > 1 else ''} {named}"
