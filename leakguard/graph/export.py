"""Graph exports: node-link JSON, Graphviz DOT, Mermaid, and one self-contained HTML file
(inline script and style, no network) a responder can open offline.

Every export can be limited to the neighbourhood of one credential (its blast radius).
"""

from __future__ import annotations

import dataclasses
import html
import json
from importlib import resources
from typing import TYPE_CHECKING, Any

from leakguard.graph.interface import BlastRadius, ConsumerInfo, EdgeKind, NodeKind, Reload
from leakguard.graph.traverse import Queries
from leakguard.redact import redact_url

if TYPE_CHECKING:
    from leakguard.graph.queries import Graph

FORMATS = ("json", "dot", "mermaid", "html")

_SHAPES = {
    NodeKind.CREDENTIAL: ("octagon", "#d9534f"),
    NodeKind.LEAK: ("note", "#f0ad4e"),
    NodeKind.STORE_ENTRY: ("cylinder", "#5bc0de"),
    NodeKind.CONSUMER: ("box", "#5cb85c"),
    NodeKind.IDENTITY: ("ellipse", "#9b59b6"),
    NodeKind.ENVIRONMENT: ("folder", "#95a5a6"),
}


def label(graph: Graph, node: str) -> str:
    data = graph.node(node)
    kind = NodeKind(data["kind"])
    if kind == NodeKind.CREDENTIAL:
        return (
            f"{data.get('provider', '?')} {data.get('redacted', '')} ({data['fingerprint'][7:19]})"
        )
    if kind == NodeKind.STORE_ENTRY:
        where = f"{data['mount']}/{data['path']}" if data.get("mount") else str(data.get("path"))
        version = (
            f" v{data['version']}"
            if data.get("version") and data.get("backend") == "vault-kv2"
            else ""
        )
        return f"{data.get('backend')}: {where}{version}"
    if kind == NodeKind.LEAK:
        if data.get("commit"):  # shorten the commit; everything else as in the id
            return node.removeprefix("leak:").replace(str(data["commit"]), str(data["commit"])[:10])
        return node.removeprefix("leak:")
    return str(data.get("name", node.split(":", 1)[-1]))


def neighbourhood(graph: Graph, credential: str | None) -> set[str]:
    """Every node, or the credential and everything in its blast radius."""
    if credential is None:
        return set(graph.g.nodes)
    return radius_nodes(graph, credential)


def radius_nodes(graph: Queries, credential: str) -> set[str]:
    """The credential and everything in its blast radius (from memory or from the store)."""
    cred = graph.resolve_credential(credential)
    radius = graph.blast_radius(cred)
    keep = {cred, *radius.leaks, *(s.id for s in radius.stores), *(c.id for c in radius.consumers)}
    for c in radius.consumers:
        keep.update(graph.out_edges(c.id, EdgeKind.AUTHENTICATES_AS))
        keep.update(graph.out_edges(c.id, EdgeKind.RUNS_IN))
    keep.update(graph.out_edges(cred, EdgeKind.AUTHENTICATES_AS))
    return keep


def summary(graph: Queries) -> dict[str, Any]:
    """What ``graph show`` prints: the counts, each credential with its leaks, stores and
    consumers, and the credentials without a known consumer."""
    rows: list[dict[str, Any]] = []
    unknown: list[str] = []
    for node in sorted(graph.nodes_of(NodeKind.CREDENTIAL)):
        data = graph.node(node)
        radius = graph.blast_radius(node)
        rows.append(
            {
                "fingerprint": data["fingerprint"],
                "provider": data.get("provider"),
                "redacted": data.get("redacted"),
                "leaks": len(radius.leaks),
                "stores": [s.id for s in radius.stores],
                "consumers": [c.name for c in radius.consumers],
            }
        )
        if radius.unknown_consumers:
            unknown.append(radius.credential)
    return {"counts": graph.counts(), "credentials": rows, "unknown_consumers": unknown}


def shown_reload(reload: Reload) -> str | None:
    """A consumer's reload target as displayed: a webhook URL without its path (it often holds
    a token); the full URL stays in the store for the playbooks that call it."""
    if reload.kind == "webhook" and reload.target:
        return redact_url(reload.target)
    return reload.target


def consumer_dict(consumer: ConsumerInfo) -> dict[str, Any]:
    out = dataclasses.asdict(consumer)
    out["reload"]["target"] = shown_reload(consumer.reload)
    return out


def radius_dict(graph: Queries, radius: BlastRadius) -> dict[str, Any]:
    """A blast radius as JSON, with each consumer's last read of each of its stores."""
    out = dataclasses.asdict(radius)
    out["consumers"] = [consumer_dict(c) for c in radius.consumers]
    cred = graph.resolve_credential(radius.credential)
    reads = {}
    for c in radius.consumers:
        for store in radius.stores:
            edge = graph.edge(c.id, store.id, EdgeKind.READS)
            if edge and edge.get("last_read"):
                reads[f"{c.name} -> {store.id}"] = {
                    "last_read": edge["last_read"],
                    "versions": edge.get("versions", {}),
                }
    out["reads"] = reads
    out["redacted"] = graph.node(cred).get("redacted")
    out["provider"] = graph.node(cred).get("provider")
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return str(value) if isinstance(value, str) else value
    return str(value)


def node_link(graph: Graph, nodes: set[str] | None = None) -> dict[str, Any]:
    keep = set(graph.g.nodes) if nodes is None else nodes
    out_nodes = []
    for node in sorted(keep):
        attrs = graph.node(node)
        # kind first, then the rest by name: the same text from memory and from the store
        data = {"kind": str(attrs["kind"])}
        data.update((k, _jsonable(v)) for k, v in sorted(attrs.items()) if k != "kind")
        if data.get("reload_kind") == "webhook" and data.get("reload_target"):
            data["reload_target"] = redact_url(str(data["reload_target"]))
        out_nodes.append({"id": node, "label": label(graph, node), **data})
    links = []
    succ = graph.g.succ  # only the kept nodes' edges: a neighbourhood never sorts the whole graph
    for src in sorted(keep):
        for dst in sorted(d for d in succ[src] if d in keep):
            for kind, data in sorted(succ[src][dst].items()):
                link: dict[str, Any] = {"source": src, "target": dst, "kind": str(kind)}
                for k, v in sorted(data.items()):
                    if k not in ("kind", "evidence"):
                        link[k] = _jsonable(v)
                link["evidence"] = [
                    {"source": e.source, "observed_at": e.observed_at, "detail": e.detail}
                    for e in data["evidence"]
                ]
                links.append(link)
    return {
        "directed": True,
        "multigraph": True,
        "graph": {"format": "leakguard-graph/1"},
        "nodes": out_nodes,
        "links": links,
    }


def to_json(graph: Graph, nodes: set[str] | None = None) -> str:
    return json.dumps(node_link(graph, nodes), indent=2, sort_keys=False) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: Graph, nodes: set[str] | None = None) -> str:
    doc = node_link(graph, nodes)
    lines = ["digraph leakguard {", "  rankdir=LR;", '  node [style=filled, fontname="Helvetica"];']
    for n in doc["nodes"]:
        shape, color = _SHAPES[NodeKind(n["kind"])]
        lines.append(
            f"  {_dot_quote(n['id'])} [label={_dot_quote(n['label'])}, shape={shape}, "
            f'fillcolor="{color}"];'
        )
    for link in doc["links"]:
        lines.append(
            f"  {_dot_quote(link['source'])} -> {_dot_quote(link['target'])} "
            f"[label={_dot_quote(link['kind'])}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


_MERMAID_SHAPES = {
    NodeKind.CREDENTIAL: ("{{", "}}"),
    NodeKind.LEAK: (">", "]"),
    NodeKind.STORE_ENTRY: ("[(", ")]"),
    NodeKind.CONSUMER: ("[", "]"),
    NodeKind.IDENTITY: ("([", "])"),
    NodeKind.ENVIRONMENT: ("[/", "/]"),
}


def _mermaid_text(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def to_mermaid(graph: Graph, nodes: set[str] | None = None) -> str:
    doc = node_link(graph, nodes)
    short = {n["id"]: f"n{i}" for i, n in enumerate(doc["nodes"])}
    lines = ["flowchart LR"]
    for n in doc["nodes"]:
        left, right = _MERMAID_SHAPES[NodeKind(n["kind"])]
        lines.append(f"  {short[n['id']]}{left}{_mermaid_text(n['label'])}{right}")
    for link in doc["links"]:
        lines.append(f"  {short[link['source']]} -->|{link['kind']}| {short[link['target']]}")
    for kind, (_, color) in _SHAPES.items():
        members = [short[n["id"]] for n in doc["nodes"] if n["kind"] == kind]
        if members:
            lines.append(f"  classDef {kind} fill:{color}")
            lines.append(f"  class {','.join(members)} {kind}")
    return "\n".join(lines) + "\n"


def to_html(graph: Graph, nodes: set[str] | None = None, title: str = "LeakGuard graph") -> str:
    data = json.dumps(node_link(graph, nodes)).replace("</", "<\\/")
    colors = json.dumps({str(k): c for k, (_, c) in _SHAPES.items()})
    template = resources.files("leakguard.graph").joinpath("view.html").read_text("utf-8")
    return (
        template.replace("__TITLE__", html.escape(title))
        .replace("__COLORS__", colors)
        .replace("__DATA__", data)
    )


def render(graph: Graph, fmt: str, nodes: set[str] | None = None) -> str:
    if fmt == "json":
        return to_json(graph, nodes)
    if fmt == "dot":
        return to_dot(graph, nodes)
    if fmt == "mermaid":
        return to_mermaid(graph, nodes)
    return to_html(graph, nodes)
