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
from leakguard.graph.interface import EdgeKind, Evidence, NodeKind, StoreRef
from leakguard.graph.model import now
from leakguard.graph.queries import Graph
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
    """List and read every secret under ``prefix``; link matches to known credentials."""
    known = {graph.node(n)["fingerprint"] for n in graph.nodes_of(NodeKind.CREDENTIAL)}
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
        for fp, field in sorted(hashes.items()):
            if fp in known:
                detail = f"version {version.version_id}, field {field}"
                graph.add_edge(
                    graph.add_credential(fp),
                    node,
                    EdgeKind.STORED_IN,
                    Evidence(source, stamp, detail),
                    field=field,
                    version=version.version_id,
                )
                matches += 1
    return StoreScan(entries, matches, tuple(skipped))
