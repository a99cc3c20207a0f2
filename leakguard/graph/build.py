"""One core call behind ``leakguard graph build``: load the stored graph, run the builders the
caller asked for, save what changed. Secret-store clients are built by the caller (the CLI)
and passed in as :class:`ListableStore` values: the graph never constructs an SDK client.

Builders run in dependency order (findings, inventory, configuration references, stores, access
evidence), but any order gives the same graph: reads observed before a service is declared are
adopted by that service when it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
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


Stage = Callable[[Graph], None]


def apply(
    graph: Graph, inputs: BuildInputs, summary: BuildSummary, findings: FindingsStore | None = None
) -> None:
    """Run the builders on an in-memory graph."""
    with bulk():
        for stage in _stages(inputs, summary, findings):
            stage(graph)


def _count(summary: BuildSummary, key: str, n: int) -> None:
    summary.added[key] = summary.added.get(key, 0) + n


def _stages(
    inputs: BuildInputs, summary: BuildSummary, findings: FindingsStore | None
) -> list[Stage]:
    """The builders ``inputs`` ask for, in dependency order, one stage per source: a build
    saves after each, so an interrupted build keeps every source it finished."""
    stages: list[Stage] = []
    if findings is not None:
        stages.append(lambda g: _count(summary, "findings-store", add_findings_store(g, findings)))
    for report in inputs.scan_reports:
        stages.append(partial(_report, report=report, summary=summary))
    services: list[Service] = []
    declared: list[CredentialDecl] = []
    for inv in inputs.inventory:
        inventory = read_inventory(inv)  # read up front: a bad file stops before any write
        services.extend(inventory.services)
        declared.extend(inventory.credentials)
    if services or declared:
        stages.append(lambda g: _count(summary, "inventory", add_inventory(g, services, declared)))
    for root in inputs.config_dirs:
        stages.append(partial(_config, root=root, services=services, summary=summary))
    for source in inputs.stores:
        stages.append(partial(_store, source=source, summary=summary))
    for database in inputs.databases:
        stages.append(partial(_database, database=database, summary=summary))
    if inputs.vault_audit or inputs.cloudtrail:
        stages.append(lambda g: _evidence(g, inputs, summary))
    return stages


def _report(graph: Graph, *, report: Path, summary: BuildSummary) -> None:
    _count(summary, "scan-report", add_scan_report(graph, report))


def _database(graph: Graph, *, database: DatabaseSource, summary: BuildSummary) -> None:
    _count(summary, "database-consumers", add_database(graph, database))


def _config(graph: Graph, *, root: Path, services: list[Service], summary: BuildSummary) -> None:
    refs, warnings = scan_references(root, services)
    summary.warnings.extend(warnings)
    _count(summary, "config", add_references(graph, refs, root=root))


def _store(graph: Graph, *, source: StoreSource, summary: BuildSummary) -> None:
    scanned = add_store(
        graph, source.store, prefix=source.prefix, source=source.label, mount=source.mount
    )
    _count(summary, "store-entries", scanned.entries)
    _count(summary, "store-matches", scanned.matches)
    summary.warnings.extend(f"{source.label}: skipped {s}" for s in scanned.skipped)


def _evidence(graph: Graph, inputs: BuildInputs, summary: BuildSummary) -> None:
    unread = access.EvidenceReport()
    for log in access.expand(inputs.vault_audit, access.VAULT_LOG_NAMES, unread):
        _count(
            summary,
            "vault-reads",
            graph.add_reads(
                e
                for e in access.vault_audit_reads(log, since=inputs.since, report=unread)
                if e.identity not in inputs.ignore_identities
            ),
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
        summary.added["cloudtrail-reads"] = graph.add_reads(reads)
        summary.added["cloudtrail-key-uses"] = graph.add_key_uses(uses)
    summary.warnings.extend(unread.warnings())


def build(db: Path | None, inputs: BuildInputs) -> BuildSummary:
    """Add ``inputs`` to the graph kept in the store at ``db`` and save the changes. Audit logs
    alone are folded in place: only the nodes their reads touch are read and written back.
    Anything else is applied to the loaded graph source by source, and after each source only
    what it changed is written: a build stopped half-way keeps the sources it finished."""
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
                with gstore.deferred_indexes():
                    for stage in _stages(inputs, summary, findings):
                        stage(graph)
                        nodes, edges = gstore.save(graph)  # only what this stage changed
                        summary.written_nodes += nodes
                        summary.written_edges += edges
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
