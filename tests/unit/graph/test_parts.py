"""Credentials with parts in the graph: a leaked AWS pair (fingerprinted as ``id:secret``) links
to the store fields, configuration values and CloudTrail events that hold one half."""

from __future__ import annotations

import json
from pathlib import Path

from leakguard.backends.interface import SecretData, StoredVersion
from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet
from leakguard.graph import ids
from leakguard.graph.build import BuildInputs, BuildSummary, apply
from leakguard.graph.findings import add_findings, add_findings_store
from leakguard.graph.interface import EdgeKind, StoreRef
from leakguard.graph.queries import Graph
from leakguard.graph.references import add_references, scan_references
from leakguard.graph.stores import add_store
from leakguard.model import ScanResult, ScanStats
from leakguard.redact import fingerprint
from leakguard.store.findings import FindingsStore

KEY_ID = "AKIABZPUZDIKJGNRMUJO"
SECRET = "jpzUukMrMTvcfeM+W7nafAf63dXFq9fYVPHyUmvm"
WHOLE = fingerprint(f"{KEY_ID}:{SECRET}")
ENGINE = Engine(RuleSet.load(), "re")


def _leak() -> ScanResult:
    text = f"aws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
    return ScanResult(tuple(ENGINE.scan_text(text, "deploy/.aws")), ScanStats())


def _graph() -> Graph:
    g = Graph()
    add_findings(g, _leak().findings, target="repo", source="scan:repo")
    return g


class _Store:
    kind = "aws-secretsmanager"

    def __init__(self, secrets: dict[str, SecretData]) -> None:
        self.secrets = secrets

    def list_names(self, prefix: str = "") -> list[str]:
        return sorted(n for n in self.secrets if n.startswith(prefix))

    def read_current(self, name: str) -> tuple[StoredVersion, SecretData]:
        return StoredVersion("v-1", ("AWSCURRENT",), "sha256:x"), dict(self.secrets[name])


def test_the_credential_node_carries_its_parts_from_a_scan_and_from_the_store(
    tmp_path: Path,
) -> None:
    g = _graph()
    parts = g.node(ids.credential(WHOLE))["parts"]
    assert parts == {
        "aws_access_key_id": fingerprint(KEY_ID),
        "aws_secret_access_key": fingerprint(SECRET),
    }
    with FindingsStore.open(tmp_path / "lg.db") as store:
        store.record_scan("repo", _leak())
        from_store = Graph()
        add_findings_store(from_store, store)
    assert from_store.node(ids.credential(WHOLE))["parts"] == parts


def test_a_store_holding_the_halves_in_two_fields_holds_the_pair() -> None:
    g = _graph()
    store = _Store(
        {
            "prod/ci-deployer": {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET},
            "prod/secret-only": {"secret": SECRET},
            "prod/unrelated": {"AWS_ACCESS_KEY_ID": "AKIAICWS2TAAQ3RMZ4BC"},
        }
    )
    scan = add_store(g, store, source="aws-secretsmanager:test")
    assert (scan.entries, scan.matches) == (3, 2)
    cred = ids.credential(WHOLE)
    deployer = StoreRef("aws-secretsmanager", "prod/ci-deployer").id
    assert sorted(g.out_edges(cred, EdgeKind.STORED_IN)) == [
        deployer,
        StoreRef("aws-secretsmanager", "prod/secret-only").id,
    ]
    edge = g.edge(cred, deployer, EdgeKind.STORED_IN)
    assert edge is not None
    assert edge["fields"] == {
        "AWS_ACCESS_KEY_ID": "aws_access_key_id",
        "AWS_SECRET_ACCESS_KEY": "aws_secret_access_key",
    }
    (evidence,) = g.evidence(cred, deployer, EdgeKind.STORED_IN)
    assert "AWS_SECRET_ACCESS_KEY (aws_secret_access_key)" in evidence.detail
    ref = StoreRef("aws-secretsmanager", "prod/ci-deployer")
    assert g.fields_holding(WHOLE, ref) == edge["fields"]
    assert g.fields_holding(WHOLE, StoreRef("aws-secretsmanager", "prod/unrelated")) == {}
    assert g.parts_of(WHOLE)["aws_secret_access_key"] == fingerprint(SECRET)
    assert SECRET not in repr(list(g.g.edges(data=True)))


def test_a_url_user_name_alone_links_no_store() -> None:
    g = Graph()
    [f] = ENGINE.scan_text("DATABASE_URL=postgres://app_rw:Xk29vLq81ZbTw0Rm@db.internal/app")
    add_findings(g, [f], target="repo", source="scan:repo")
    store = _Store({"prod/other-db": {"username": "app_rw", "password": "different-pw-1"}})
    assert add_store(g, store, source="aws-secretsmanager:test").matches == 0
    store = _Store({"prod/db": {"username": "app_rw", "password": "Xk29vLq81ZbTw0Rm"}})
    assert add_store(g, store, source="aws-secretsmanager:test").matches == 1


def test_a_config_value_holding_one_half_uses_the_pair(tmp_path: Path) -> None:
    g = _graph()
    app = tmp_path / "cfg" / "services" / "uploader"
    app.mkdir(parents=True)
    (app / "prod.env").write_text(f"AWS_ACCESS_KEY_ID={KEY_ID}\nREGION=eu-west-1\n")
    refs, _ = scan_references(tmp_path / "cfg")
    assert add_references(g, refs, root=tmp_path / "cfg") == 1
    [user] = g.in_edges(ids.credential(WHOLE), EdgeKind.USES)
    assert user.startswith("consumer:")
    assert g.blast_radius(WHOLE).consumers[0].id == user


def _signed(event: str, at: str, key_id: str = KEY_ID, **who: str) -> dict[str, object]:
    return {
        "eventSource": "s3.amazonaws.com",
        "eventName": event,
        "eventTime": at,
        "userIdentity": {
            "type": "IAMUser",
            "arn": "arn:aws:iam::111122223333:user/ci/deployer",
            "accountId": "111122223333",
            "accessKeyId": key_id,
            **who,
        },
    }


def test_cloudtrail_events_signed_with_the_key_id_record_its_iam_user(tmp_path: Path) -> None:
    trail = tmp_path / "trail.json"
    records = [
        _signed("ListBuckets", "2026-05-01T10:00:00Z"),
        _signed("PutObject", "2026-05-02T10:00:00Z", userName="deployer"),
        _signed("ListBuckets", "2026-05-03T10:00:00Z", key_id="AKIAICWS2TAAQ3RMZ4BC"),
    ]
    trail.write_text(json.dumps({"Records": records}))
    g = _graph()
    summary = BuildSummary()
    apply(g, BuildInputs(cloudtrail=(trail,), findings_store=False), summary)
    assert summary.added["cloudtrail-key-uses"] == 2
    cred = ids.credential(WHOLE)
    data = g.node(cred)
    assert data["iam_user"] == "deployer" and data["iam_account"] == "111122223333"
    assert data["key_last_used"] == "2026-05-02T10:00:00.000000Z"
    identity = "aws:arn:aws:iam::111122223333:user/ci/deployer"
    assert g.blast_radius(WHOLE).identities == (identity,)
    (evidence,) = g.evidence(cred, ids.identity(identity), EdgeKind.AUTHENTICATES_AS)
    assert evidence.detail == "s3:PutObject signed with this access key"
    assert KEY_ID not in repr(list(g.g.nodes(data=True)))


def test_rotation_order_warns_about_a_credential_with_no_store_or_consumer() -> None:
    g = _graph()
    order = g.rotation_order([WHOLE])
    assert order.steps == (ids.credential(WHOLE),)
    assert len(order.warnings) == 2
    assert "no known store" in order.warnings[0] and "no known consumer" in order.warnings[1]
    add_store(g, _Store({"prod/k": {"secret": SECRET}}), source="test")
    assert [w for w in g.rotation_order([WHOLE]).warnings if "store" in w] == []
