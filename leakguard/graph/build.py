"""One core call behind ``leakguard graph build``: load the stored graph, run the builders the
caller asked for, save what changed. Secret-store clients are built by the caller (the CLI)
and passed in as :class:`ListableStore` values: the graph never constructs an SDK client.

Builders run in dependency order (findings, inventory, configuration references, stores, access
evidence), but any order gives the same graph: reads observed before a service is declared are
adopted by that service when it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from leakguard.graph import evidence as access
from leakguard.graph.databases import DatabaseSource, add_database
from leakguard.graph.findings import add_findings_store, add_scan_report
from leakguard.graph.interface import KeyUse, ReadEvent
from leakguard.graph.inventory import CredentialDecl, Service, add_inventory, read_inventory
from leakguard.graph.model import bulk
from leakguard.graph.persist import GraphStore
from leakguard.graph.queries import Graph
from leakguard.graph.references import add_references, scan_references
from leakguard.graph.stored import StoredGraph
from leakguard.graph.stores import ListableStore, add_store
from leakguard.store.findings import COMPONENT as FINDINGS_COMPONENT
from leakguard.store.findings import FindingsStore


@dataclass(frozen=True, slots=True)
class StoreSource:
    """A secret store to list, with the prefix to list under and a label for evidence."""

    store: ListableStore
    label: str
    prefix: str = ""
    mount: str | None = None


@dataclass(frozen=True)
class BuildInputs:
    inventory: tuple[Path, ...] = ()
    scan_reports: tuple[Path, ...] = ()
    config_dirs: tuple[Path, ...] = ()
    stores: tuple[StoreSource, ...] = ()
    vault_audit: tuple[Path, ...] = ()
    cloudtrail: tuple[Path, ...] = ()
    findings_store: bool = True  # read credentials from the findings store in the same db
    since: str | None = None  # only access evidence at or after this time
    ignore_identities: tuple[str, ...] = ()  # e.g. LeakGuard's own read-only reader
    databases: tuple[DatabaseSource, ...] = ()  # servers whose sessions to read (databases.py)


@dataclass
class BuildSummary:
    added: dict[str, int] = field(default_factory=dict)
    written_nodes: int = 0
    written_edges: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "added": dict(self.added),
            "written": {"nodes": self.written_nodes, "edges": self.written_edges},
            "graph": dict(self.counts),
            "warnings": list(self.warnings),
        }


def apply(
    graph: Graph, inputs: BuildInputs, summary: BuildSummary, findings: FindingsStore | None = None
) -> None:
    """Run the builders on an in-memory graph."""
    with bulk():
        _apply(graph, inputs, summary, findings)


def _apply(
    graph: Graph,
    inputs: BuildInputs,
    summary: BuildSummary,
    findings: FindingsStore | None,
) -> None:
    added = summary.added
    if findings is not None:
        added["findings-store"] = add_findings_store(graph, findings)
    for report in inputs.scan_reports:
        added["scan-report"] = added.get("scan-report", 0) + add_scan_report(graph, report)
    services: list[Service] = []
    declared: list[CredentialDecl] = []
    for inv in inputs.inventory:
        inventory = read_inventory(inv)
        services.extend(inventory.services)
        declared.extend(inventory.credentials)
    if services or declared:
        added["inventory"] = add_inventory(graph, services, declared)
    for root in inputs.config_dirs:
        refs, warnings = scan_references(root, services)
        summary.warnings.extend(warnings)
        added["config"] = added.get("config", 0) + add_references(graph, refs, root=root)
    for source in inputs.stores:
        scanned = add_store(
            graph, source.store, prefix=source.prefix, source=source.label, mount=source.mount
        )
        added["store-entries"] = added.get("store-entries", 0) + scanned.entries
        added["store-matches"] = added.get("store-matches", 0) + scanned.matches
        summary.warnings.extend(f"{source.label}: skipped {s}" for s in scanned.skipped)
    for database in inputs.databases:
        added["database-consumers"] = added.get("database-consumers", 0) + add_database(
            graph, database
        )
    unread = access.EvidenceReport()
    for log in access.expand(inputs.vault_audit, access.VAULT_LOG_NAMES, unread):
        added["vault-reads"] = added.get("vault-reads", 0) + graph.add_reads(
            e
            for e in access.vault_audit_reads(log, since=inputs.since, report=unread)
            if e.identity not in inputs.ignore_identities
        )
    trails = access.expand(inputs.cloudtrail, access.CLOUDTRAIL_NAMES, unread)
    if trails:
        reads: list[ReadEvent] = []
        uses: list[KeyUse] = []
        for event in access.cloudtrail_evidence(trails, since=inputs.since, report=unread):
            if isinstance(event, KeyUse):
                uses.append(event)
            elif event.identity not in inputs.ignore_identities:
                reads.append(event)
        added["cloudtrail-reads"] = graph.add_reads(reads)
        added["cloudtrail-key-uses"] = graph.add_key_uses(uses)
    summary.warnings.extend(unread.warnings())


def build(db: Path | None, inputs: BuildInputs) -> BuildSummary:
    """Add ``inputs`` to the graph kept in the store at ``db`` and save the changes. Audit logs
    alone are folded in place: only the nodes their reads touch are read and written back.
    Anything else is applied to the loaded graph, and only what changed is written."""
    summary = BuildSummary()
    with GraphStore.open(db) as gstore:
        findings = None
        if inputs.findings_store and gstore.db.schema_version(FINDINGS_COMPONENT) > 0:
            findings = FindingsStore(gstore.db)
        view = StoredGraph(gstore.db)
        with bulk():  # the collector would walk the whole graph again and again
            if findings is None and _audit_logs_only(inputs):
                _fold_audit_logs(view, inputs, summary)
            else:
                graph = gstore.load()
                _apply(graph, inputs, summary, findings)
                summary.written_nodes, summary.written_edges = gstore.save(graph)
        summary.counts = view.counts()  # by SQL: no walk over the graph
    return summary


def _audit_logs_only(inputs: BuildInputs) -> bool:
    """True when the inputs hold audit logs and nothing else (any other input, including one
    added to BuildInputs later, needs the loaded graph: CloudTrail key uses, for one, match
    against every credential)."""
    return inputs == BuildInputs(
        vault_audit=inputs.vault_audit,
        findings_store=inputs.findings_store,
        since=inputs.since,
        ignore_identities=inputs.ignore_identities,
    )


def _fold_audit_logs(view: StoredGraph, inputs: BuildInputs, summary: BuildSummary) -> None:
    unread = access.EvidenceReport()
    for log in access.expand(inputs.vault_audit, access.VAULT_LOG_NAMES, unread):
        events = [
            e
            for e in access.vault_audit_reads(log, since=inputs.since, report=unread)
            if e.identity not in inputs.ignore_identities
        ]
        new, nodes, edges = view.write_reads(events)
        summary.added["vault-reads"] = summary.added.get("vault-reads", 0) + new
        summary.written_nodes += nodes
        summary.written_edges += edges
    summary.warnings.extend(unread.warnings())


def load(db: Path | None) -> Graph:
    with GraphStore.open(db) as gstore:
        return gstore.load()


def save(db: Path | None, graph: Graph) -> tuple[int, int]:
    """Write what changed in a graph :func:`load` gave (e.g. reads the verify stage added)."""
    with GraphStore.open(db) as gstore:
        return gstore.save(graph)


def record_reads(
    db: Path | None,
    vault_audit: Sequence[Path] = (),
    cloudtrail: Sequence[Path] = (),
    since: str | None = None,
) -> BuildSummary:
    """Only new access evidence: the incremental path the verify stage may use."""
    return build(
        db,
        BuildInputs(
            vault_audit=tuple(vault_audit),
            cloudtrail=tuple(cloudtrail),
            findings_store=False,
            since=since,
        ),
    )
