"""Map stage: who depends on the credential (from the dependency graph)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from leakguard.errors import PlaybookError
from leakguard.graph.interface import ConsumerInfo, GraphQueries
from leakguard.rotation.actions._common import flag, optional, store_ref, text
from leakguard.rotation.interface import Action, ActionContext, ActionSpec, Outputs, Param


def graph_of(ctx: ActionContext) -> GraphQueries:
    if ctx.graph is None:
        raise PlaybookError(
            "this step needs the dependency graph, and none is loaded",
            hint="build it first (leakguard graph build) or pass the graph to the run",
        )
    return ctx.graph


def consumer_json(consumer: ConsumerInfo) -> dict[str, Any]:
    out = asdict(consumer)
    out["identities"] = list(consumer.identities)
    return out


NO_GRAPH = "no dependency graph is loaded: no consumer is known (build it: leakguard graph build)"


def consumers(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    if ctx.graph is None and not flag(params, "require", False):
        ctx.log(NO_GRAPH)
        return {"consumers": [], "count": 0}
    graph = graph_of(ctx)
    backend, name = optional(params, "backend"), optional(params, "name")
    found: dict[str, ConsumerInfo] = {}
    if backend and name:
        for c in graph.consumers_of_store(store_ref(ctx.store(backend), name)):
            found.setdefault(c.id, c)
    credential = optional(params, "credential")
    if credential:
        for c in graph.consumers_of(credential):
            found.setdefault(c.id, c)
    if not (credential or (backend and name)):
        raise PlaybookError("graph.consumers needs a credential, or a backend and a name")
    listed = [consumer_json(c) for c in sorted(found.values(), key=lambda c: c.id)]
    if not listed and flag(params, "require", False):
        raise PlaybookError(
            "no consumer of this credential is known",
            hint="add its consumers to the inventory (or run with require: false)",
        )
    return {"consumers": listed, "count": len(listed)}


def blast_radius(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
    radius = graph_of(ctx).blast_radius(text(params, "credential"))
    if radius.unknown_consumers and flag(params, "require_known", False):
        raise PlaybookError(
            f"no consumer of {radius.credential[:19]}… is known",
            hint="close the gap (inventory, access logs) before rotating",
        )
    return {
        "credential": radius.credential,
        "consumers": [consumer_json(c) for c in radius.consumers],
        "stores": [
            {"id": s.id, "backend": s.backend, "path": s.path, "mount": s.mount}
            for s in radius.stores
        ],
        "identities": list(radius.identities),
        "environments": list(radius.environments),
        "leaks": list(radius.leaks),
        "unknown_consumers": radius.unknown_consumers,
    }


CREDENTIAL = Param("string", help="fingerprint (or unique prefix) of the credential")

ACTIONS = (
    Action(
        ActionSpec(
            "graph.consumers",
            "Consumers of the credential and/or the store entry, as a list for for_each",
            mutating=False,
            params={
                "credential": Param("string", False, CREDENTIAL.help),
                "backend": Param("string", False, "a store backend, with name"),
                "name": Param("string", False, "the store entry, with backend"),
                "require": Param("bool", False, "fail when no consumer is known"),
            },
        ),
        consumers,
    ),
    Action(
        ActionSpec(
            "graph.blast_radius",
            "Everything that depends on the credential: consumers, stores, identities, leaks",
            mutating=False,
            params={
                "credential": CREDENTIAL,
                "require_known": Param("bool", False, "fail when no consumer is known"),
            },
        ),
        blast_radius,
    ),
)
