"""A query from the store reads only the neighbourhood it needs: the same estate stored alone
and stored beside a far larger part it shares nothing with gives the same answers for the same
rows read, and SQLite does the same work (its virtual-machine steps, counted by a progress
handler, give or take a deeper B-tree), so no query scans a table or loads the graph."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from leakguard.graph import export, ids
from leakguard.graph.interface import ConsumerInfo, EdgeKind, NodeKind, ReadEvent, StoreRef
from leakguard.graph.persist import GraphStore
from leakguard.graph.queries import Graph
from leakguard.graph.stored import StoredGraph
from leakguard.redact import fingerprint
from tests.support.graphs import SEEN, generated_graph

UNRELATED = 3000  # services in the part the estate shares nothing with (~15,000 nodes)


def _estate() -> Graph:
    return generated_graph(20, seed=5)


def _add_unrelated(graph: Graph, *, credentials: bool) -> None:
    """Services, their stores, identities and reads (and, if asked, credentials stored there
    and leaked) in a mount and environment the estate never uses."""
    refs = [StoreRef("vault-kv2", f"other/{i}", "elsewhere") for i in range(UNRELATED)]
    for i, ref in enumerate(refs):
        info = ConsumerInfo(
            ids.consumer(f"other-{i}"),
            f"other-{i}",
            identities=(f"vault-approle:other-{i}",),
            environment="elsewhere",
        )
        node = graph.add_consumer(info, SEEN)
        store = graph.add_store(ref)
        graph.add_edge(node, store, EdgeKind.READS, SEEN)
        if credentials:
            cred = graph.add_credential(fingerprint(f"unrelated-{i}"))
            graph.add_edge(cred, store, EdgeKind.STORED_IN, SEEN)
            leak = graph.add_node(f"leak:elsewhere:f{i}:1", "leak", path=f"f{i}")
            graph.add_edge(cred, leak, EdgeKind.LEAKED_AT, SEEN)
    graph.add_reads(
        ReadEvent(ref, f"vault-approle:other-{i}", "2026-03-01T00:00:00Z", "2")
        for i, ref in enumerate(refs)
    )


def _store(graph: Graph, path: Path) -> Path:
    with GraphStore.open(path) as store:
        store.save(graph)
    return path


@contextmanager
def _steps(view: StoredGraph) -> Iterator[list[int]]:
    """Counts SQLite's virtual-machine steps on the view's connection while the block runs."""
    count = [0]

    def tick() -> int:
        count[0] += 1
        return 0

    view.db.conn.set_progress_handler(tick, 1)
    try:
        yield count
    finally:
        view.db.conn.set_progress_handler(None, 1)


def _measure(path: Path, query: Callable[[StoredGraph], object]) -> tuple[object, int, int]:
    """(answer, rows read, SQLite steps) of one query on a fresh view."""
    with StoredGraph.open(path) as view, _steps(view) as steps:
        answer = query(view)
        return answer, view.rows_read, steps[0]


def _queries(estate: Graph) -> list[Callable[[StoredGraph], object]]:
    creds = sorted(estate.nodes_of(NodeKind.CREDENTIAL))
    stores = [estate.store_ref(s) for s in sorted(estate.nodes_of(NodeKind.STORE_ENTRY))]
    queries: list[Callable[[StoredGraph], object]] = []
    for cred in creds[::4]:
        fp = ids.fingerprint_of(cred)
        queries.append(lambda v, fp=fp: v.blast_radius(fp))
        queries.append(lambda v, fp=fp: v.blast_radius(fp[: len("sha256:") + 10]))  # a prefix
        queries.append(lambda v, fp=fp: export.radius_dict(v, v.blast_radius(fp)))
    for ref in stores[::3]:
        queries.append(lambda v, ref=ref: v.stale_consumers(ref, "2026-04-01T00:00:00Z", "2"))
    queries.append(lambda v: v.rotation_order([ids.fingerprint_of(c) for c in creds]))
    return queries


def test_queries_read_the_same_rows_and_do_the_same_work_beside_a_larger_graph(
    tmp_path: Path,
) -> None:
    estate = _estate()
    alone = _store(_estate(), tmp_path / "alone.db")
    bigger = _estate()
    _add_unrelated(bigger, credentials=True)
    assert len(bigger) > 10 * len(estate)
    beside = _store(bigger, tmp_path / "beside.db")
    for query in _queries(estate):
        answer, rows, steps = _measure(alone, query)
        answer_beside, rows_beside, steps_beside = _measure(beside, query)
        assert answer_beside == answer
        assert rows_beside == rows
        assert steps_beside <= steps * 1.05 + 20  # give or take a B-tree level
    # the measure sees a query that reads everything: counting the graph does 10x the work
    _, _, count_alone = _measure(alone, lambda v: v.counts())
    _, _, count_beside = _measure(beside, lambda v: v.counts())
    assert count_beside > 10 * count_alone


def test_show_reads_the_credentials_neighbourhoods_only(tmp_path: Path) -> None:
    """``graph show`` lists every credential; a part holding no credential adds no row to
    read (its counts are one SQL aggregate, whatever the size)."""
    alone = _store(_estate(), tmp_path / "alone.db")
    bigger = _estate()
    _add_unrelated(bigger, credentials=False)
    beside = _store(bigger, tmp_path / "beside.db")
    summary, rows, _ = _measure(alone, export.summary)
    summary_beside, rows_beside, _ = _measure(beside, export.summary)
    assert isinstance(summary, dict) and isinstance(summary_beside, dict)
    assert summary_beside["credentials"] == summary["credentials"]
    assert summary_beside["counts"] != summary["counts"]
    assert rows_beside == rows


def test_rows_read_counts_what_the_store_returned(tmp_path: Path) -> None:
    path = _store(_estate(), tmp_path / "lg.db")
    with StoredGraph.open(path) as view:
        assert view.rows_read == 0
        creds = list(view.nodes_of(NodeKind.CREDENTIAL))
        assert view.rows_read == len(creds) == 60
    conn = sqlite3.connect(path)
    try:
        stored = conn.execute("SELECT COUNT(*) FROM graph_nodes WHERE kind = 'credential'")
        assert stored.fetchone()[0] == 60
    finally:
        conn.close()
