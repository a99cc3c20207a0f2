from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from leakguard.backends.fake import FakeStore
from leakguard.backends.generated import GeneratedIssuer
from leakguard.errors import BackendError, PlaybookError
from leakguard.graph.interface import ConsumerInfo, EdgeKind, Evidence, ReadEvent, Reload, StoreRef
from leakguard.graph.queries import Graph
from leakguard.redact import fingerprint
from leakguard.rotation.actions import REGISTRY
from leakguard.rotation.actions.verify import consumers_moved
from leakguard.rotation.interface import NotYet
from tests.unit.rotation.actions.context import Ctx

REF = StoreRef("aws-secretsmanager", "prod/api", None)
SEEN = Evidence("inventory:test", "2026-04-01T00:00:00+00:00")
API = ConsumerInfo(
    "consumer:api",
    "api",
    reload=Reload("command", "systemctl reload api"),
    identities=("aws:arn:aws:iam::123456789012:role/api",),
)
WORKER = ConsumerInfo(
    "consumer:worker", "worker", identities=("aws:arn:aws:iam::123456789012:role/worker",)
)


class _SmStore(FakeStore):
    kind = "aws-secretsmanager"


def _graph(*consumers: ConsumerInfo) -> Graph:
    graph = Graph()
    store = graph.add_store(REF)
    for consumer in consumers:
        node = graph.add_consumer(consumer, SEEN)
        graph.add_edge(node, store, EdgeKind.READS, SEEN)
    return graph


def _ctx(graph: Graph | None) -> Ctx:
    return Ctx(
        stores={"sm": _SmStore({"prod/api": {"value": "v1-" + "a" * 20}})},
        graph=graph,
        issuers={"gen": GeneratedIssuer()},
    )


def _reader(*events: ReadEvent):  # type: ignore[no-untyped-def]
    def read(path: str, since: datetime) -> Iterator[ReadEvent]:
        return iter(events)

    return {"cloudtrail": read}


def _read(who: ConsumerInfo, at: str, version: str | None = None) -> ReadEvent:
    arn_ref = StoreRef(
        "aws-secretsmanager", "arn:aws:secretsmanager:us-east-1:1:secret:prod/api-AbCdEf"
    )
    return ReadEvent(arn_ref, who.identities[0], at, version, "cloudtrail:test")


def test_graph_consumers_lists_consumers_as_json() -> None:
    ctx = _ctx(_graph(API, WORKER))
    out = ctx.run(REGISTRY["graph.consumers"], {"backend": "sm", "name": "prod/api"})
    assert out["count"] == 2
    api = next(c for c in out["consumers"] if c["name"] == "api")
    assert api["reload"] == {"kind": "command", "target": "systemctl reload api"}
    assert api["identities"] == ["aws:arn:aws:iam::123456789012:role/api"]


def test_graph_actions_without_a_graph() -> None:
    ctx = _ctx(None)
    out = ctx.run(REGISTRY["graph.consumers"], {"credential": "sha256:ab"})
    assert out == {"consumers": [], "count": 0} and "no dependency graph" in ctx.logs[0]
    with pytest.raises(PlaybookError, match="dependency graph"):
        ctx.run(REGISTRY["graph.consumers"], {"credential": "sha256:ab", "require": True})
    with pytest.raises(PlaybookError, match="dependency graph"):
        ctx.run(REGISTRY["graph.blast_radius"], {"credential": "sha256:ab"})
    params = {"backend": "sm", "name": "prod/api", "since": "2026-05-01T12:00:00Z"}
    assert ctx.run(REGISTRY["verify.consumers_moved"], params)["unknown_consumers"] is True
    with pytest.raises(PlaybookError, match="dependency graph"):
        ctx.run(REGISTRY["verify.consumers_moved"], {**params, "require_consumers": True})


def test_consumers_moved_blocks_on_a_consumer_without_evidence(tmp_path: Path) -> None:
    trail = tmp_path / "trail.json"
    trail.write_text("{}")
    graph = _graph(API, WORKER)
    ctx = _ctx(graph)
    since = "2026-05-01T12:00:00+00:00"
    params = {"backend": "sm", "name": "prod/api", "since": since, "cloudtrail": str(trail)}
    old_read = _read(WORKER, "2026-05-01T11:59:00+00:00")
    stale_version = _read(WORKER, "2026-05-01T12:02:00+00:00", "AWSPREVIOUS")
    with pytest.raises(NotYet) as caught:
        consumers_moved(
            ctx, params, _reader(_read(API, "2026-05-01T12:01:00Z"), old_read, stale_version)
        )
    assert caught.value.details == {"stale": ["worker"], "moved": ["api"]}
    assert "worker" in caught.value.message and caught.value.transient
    out = consumers_moved(
        ctx,
        params,
        _reader(
            _read(API, "2026-05-01T12:01:00Z"), _read(WORKER, "2026-05-01T12:03:00Z", "AWSCURRENT")
        ),
    )
    assert out["moved"] == ["api", "worker"] and out["stale"] == []


def test_consumers_moved_with_vault_versions() -> None:
    ref = StoreRef("vault-kv2", "app/db", "secret")
    graph = Graph()
    store = graph.add_store(ref)
    a = ConsumerInfo("consumer:a", "a", identities=("vault-approle:a",))
    graph.add_edge(graph.add_consumer(a, SEEN), store, EdgeKind.READS, SEEN)

    class _Vault(FakeStore):
        kind = "vault-kv2"
        mount = "secret"

    ctx = Ctx(stores={"v": _Vault({"app/db": {"value": "x" * 20}})}, graph=graph)
    params = {
        "backend": "v",
        "name": "app/db",
        "since": "2026-05-01T12:00:00Z",
        "version": "3",
        "audit_log": "/dev/null",
    }
    read_v2 = ReadEvent(ref, "vault-approle:a", "2026-05-01T12:05:00Z", "2")
    with pytest.raises(NotYet):
        consumers_moved(ctx, params, {"audit_log": lambda p, s: iter([read_v2])})
    read_v4 = ReadEvent(ref, "vault-approle:a", "2026-05-01T12:05:00Z", "4")  # rolled forward
    out = consumers_moved(ctx, params, {"audit_log": lambda p, s: iter([read_v4])})
    assert out["moved"] == ["a"]


def test_consumers_moved_without_known_consumers() -> None:
    ctx = _ctx(Graph())
    params = {"backend": "sm", "name": "prod/api", "since": "2026-05-01T12:00:00Z"}
    assert ctx.run(REGISTRY["verify.consumers_moved"], params)["unknown_consumers"] is True
    with pytest.raises(PlaybookError, match="no consumer"):
        ctx.run(REGISTRY["verify.consumers_moved"], {**params, "require_consumers": True})
    with pytest.raises(PlaybookError, match="does not exist"):
        ctx.run(REGISTRY["verify.consumers_moved"], {**params, "cloudtrail": "/nonexistent.json"})


def test_new_credential_works_checks_the_staged_version_holds_the_value() -> None:
    ctx = _ctx(None)
    issued = ctx.run(REGISTRY["issuer.issue"], {"backend": "gen", "subject": "prod/api"})
    staged = ctx.run(
        REGISTRY["store.put_pending"],
        {"backend": "sm", "name": "prod/api", "value": issued["secret"]},
    )
    params = {
        "backend": "gen",
        "secret": issued["secret"],
        "store": "sm",
        "name": "prod/api",
        "version": staged["version_id"],
    }
    assert ctx.run(REGISTRY["verify.new_credential_works"], params)["works"] is True
    with pytest.raises(BackendError, match="does not hold"):
        ctx.run(REGISTRY["verify.new_credential_works"], {**params, "version": "1"})
    short = ctx.secrets.put({"value": "short"})
    with pytest.raises(NotYet):
        ctx.run(REGISTRY["verify.new_credential_works"], {"backend": "gen", "secret": short})


def test_old_revoked_for_stores() -> None:
    ctx = _ctx(None)
    params = {"store": "sm", "name": "prod/api", "old_version": "1"}
    with pytest.raises(BackendError, match="still the current"):
        ctx.run(REGISTRY["verify.old_revoked"], params)
    ctx.stores["sm"].seed("prod/api", {"value": "v2-" + "b" * 20})  # type: ignore[attr-defined]
    assert ctx.run(REGISTRY["verify.old_revoked"], params)["current_version"] == "2"


def test_rescan_records_whether_the_credential_is_still_there(tmp_path: Path) -> None:
    key = "sk_live_4eC39HqLyjWDarjtT1zdp7dc9f2c"
    (tmp_path / ".env").write_text(f"STRIPE_SECRET_KEY={key}\n")
    ctx = _ctx(None)
    params = {"targets": [str(tmp_path)], "credential": fingerprint(key)[:20]}
    out = ctx.run(REGISTRY["verify.rescan"], params)
    assert out["still_present"] is True and out["locations"] == [".env:1"]
    with pytest.raises(BackendError, match="still present"):
        ctx.run(REGISTRY["verify.rescan"], {**params, "fail_if_present": True})
    (tmp_path / ".env").write_text("STRIPE_SECRET_KEY=from-vault\n")
    assert ctx.run(REGISTRY["verify.rescan"], params)["still_present"] is False
