"""The graph against real servers: an OpenBao dev server with a file audit device, in which two
AppRole consumers read a secret holding a planted leaked key, and moto for Secrets Manager with
CloudTrail evidence from JSON files. The graph proves, by fingerprint, that the leaked key is the
one in the store, and links it to both consumers from the access evidence."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import hvac
import pytest

from leakguard.backends.aws_secretsmanager import SecretsManagerStore
from leakguard.backends.interface import SecretLister
from leakguard.backends.vault_kv2 import VaultKV2Store
from leakguard.graph import ids
from leakguard.graph.build import load
from leakguard.graph.interface import EdgeKind, StoreRef
from leakguard.graph.model import now
from leakguard.options import ScanOptions
from leakguard.redact import fingerprint
from leakguard.reports.json_report import render
from leakguard.scanner import run_scan
from tests.support.cli import run_cli
from tests.support.servers import Moto, OpenBao

pytestmark = pytest.mark.integration


def _stripe_key(tag: str) -> str:
    return "sk_live_" + uuid.uuid5(uuid.NAMESPACE_OID, tag).hex[:26] + "Qz"


def _leak_report(root: Path, key: str) -> Path:
    repo = root / "repo"
    repo.mkdir(parents=True)
    (repo / "deploy.env").write_text(f"STRIPE_SECRET_KEY={key}\n")
    result = run_scan([str(repo)], ScanOptions(jobs=1))
    assert [f.fingerprint for f in result.findings] == [fingerprint(key)]
    report = root / "report.json"
    report.write_text(render(result))
    return report


# --- OpenBao --------------------------------------------------------------------------------


class _Bao:
    def __init__(self, openbao: OpenBao) -> None:
        self.server = openbao
        self.root = hvac.Client(url=openbao.url, token=openbao.token)
        self.uid = uuid.uuid4().hex[:8]
        self.prefix = f"graph-{self.uid}"
        self.approle = f"approle-{self.uid}"
        self.root.sys.enable_auth_method("approle", path=self.approle)

    def role(self, name: str, policy: str) -> hvac.Client:
        """An AppRole with ``policy``, logged in: the client a consumer would hold."""
        self.root.sys.create_or_update_policy(f"{name}-{self.uid}", policy)
        approle = self.root.auth.approle
        approle.create_or_update_approle(
            name, token_policies=[f"{name}-{self.uid}"], mount_point=self.approle
        )
        role_id = approle.read_role_id(name, mount_point=self.approle)["data"]["role_id"]
        secret_id = approle.generate_secret_id(name, mount_point=self.approle)["data"]["secret_id"]
        client = hvac.Client(url=self.server.url)
        client.auth.approle.login(role_id, secret_id, mount_point=self.approle)
        return client

    def read(self, client: hvac.Client, path: str) -> dict[str, Any]:
        response = client.secrets.kv.v2.read_secret_version(
            path=path, mount_point="secret", raise_on_deleted_version=True
        )
        return dict(response["data"]["data"])


@pytest.fixture(scope="module")
def bao_world(openbao: OpenBao, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    bao = _Bao(openbao)
    key = _stripe_key(bao.uid)
    kv = bao.root.secrets.kv.v2
    stripe = f"{bao.prefix}/payments/stripe"
    kv.create_or_update_secret(stripe, {"api_key": key, "account": "acct_1"}, mount_point="secret")
    kv.create_or_update_secret(
        f"{bao.prefix}/payments/db", {"password": "not-leaked-pw"}, mount_point="secret"
    )
    kv.create_or_update_secret(f"{bao.prefix}/top", {"x": "y"}, mount_point="secret")
    read_policy = f'path "secret/data/{bao.prefix}/payments/*" {{ capabilities = ["read"] }}'
    consumers = {
        "payments": bao.role(f"payments-{bao.uid}", read_policy),
        "billing": bao.role(f"billing-{bao.uid}", read_policy),
    }
    start = now()
    for client in consumers.values():
        assert bao.read(client, stripe)["api_key"] == key
    # the graph's own read-only token: list and read, nothing else
    bao.root.sys.create_or_update_policy(
        f"graph-reader-{bao.uid}",
        f'path "secret/metadata/{bao.prefix}/*" {{ capabilities = ["list", "read"] }}\n'
        f'path "secret/metadata/{bao.prefix}" {{ capabilities = ["list"] }}\n'
        f'path "secret/data/{bao.prefix}/*" {{ capabilities = ["read"] }}\n',
    )
    reader = bao.root.auth.token.create(
        policies=[f"graph-reader-{bao.uid}"], ttl="1h", display_name=f"lg-{bao.uid}"
    )
    root = tmp_path_factory.mktemp("graph-bao")
    return {
        "bao": bao,
        "key": key,
        "stripe": stripe,
        "consumers": consumers,
        "start": start,
        "reader": reader["auth"]["client_token"],
        "report": _leak_report(root, key),
        "root": root,
    }


def test_vault_list_names_is_recursive_and_read_only(
    openbao: OpenBao, bao_world: dict[str, Any]
) -> None:
    bao: _Bao = bao_world["bao"]
    store = VaultKV2Store(openbao.url, bao_world["reader"], "secret")
    assert isinstance(store, SecretLister)
    assert store.list_names(bao.prefix) == [
        f"{bao.prefix}/payments/db",
        f"{bao.prefix}/payments/stripe",
        f"{bao.prefix}/top",
    ]
    assert store.list_names(f"{bao.prefix}/payments/") == [
        f"{bao.prefix}/payments/db",
        f"{bao.prefix}/payments/stripe",
    ]
    assert store.list_names(f"{bao.prefix}/nothing-here") == []


def test_leaked_key_links_to_its_vault_entry_and_both_approle_readers(
    openbao: OpenBao, bao_world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    bao: _Bao = bao_world["bao"]
    root: Path = bao_world["root"]
    key: str = bao_world["key"]
    fp = fingerprint(key)
    inventory = root / "leakguard.yaml"
    inventory.write_text(
        "services:\n"
        "  - name: payments-api\n"
        "    environment: prod\n"
        f"    identities: [vault-approle:payments-{bao.uid}]\n"
        "    reload: {restart: systemctl restart payments-api}\n"
    )
    db = root / "lg.db"
    monkeypatch.setenv("LG_GRAPH_TOKEN", bao_world["reader"])
    assert openbao.audit_log is not None
    code, out = run_cli(
        [
            "graph",
            "build",
            "--db",
            str(db),
            "--scan-report",
            str(bao_world["report"]),
            "--inventory",
            str(inventory),
            "--vault",
            openbao.url,
            "--vault-token-env",
            "LG_GRAPH_TOKEN",
            "--vault-prefix",
            bao.prefix,
            "--vault-audit",
            str(openbao.audit_log),
            "--ignore-identity",
            f"vault-token:token-lg-{bao.uid}",
            "-f",
            "json",
        ]
    )
    assert code == 0, out
    summary = json.loads(out)
    assert summary["added"]["store-entries"] == 3 and summary["added"]["store-matches"] == 1

    graph = load(db)
    stripe = StoreRef("vault-kv2", bao_world["stripe"], "secret")
    radius = graph.blast_radius(fp)
    assert radius.stores == (stripe,)  # proven by fingerprint, not guessed
    (evidence,) = graph.evidence(ids.credential(fp), stripe.id, EdgeKind.STORED_IN)
    assert evidence.detail == "version 1, field api_key"
    assert evidence.source == f"vault:{openbao.url}/secret"
    names = {c.name for c in radius.consumers}
    assert names == {"payments-api", f"vault-approle:billing-{bao.uid}"}
    assert set(radius.identities) == {
        f"vault-approle:payments-{bao.uid}",
        f"vault-approle:billing-{bao.uid}",
    }
    assert radius.environments == ("prod",)
    for consumer in radius.consumers:
        edge = graph.edge(consumer.id, stripe.id, EdgeKind.READS)
        assert edge is not None
        assert set(edge["versions"]) == {"1"}
        assert edge["last_read"] >= bao_world["start"]
        assert any(
            e.source == f"vault-audit:{openbao.audit_log}" and "from=127.0.0.1" in e.detail
            for e in edge["evidence"]
        )
    assert graph.node(f"store:vault-kv2:secret/{bao.prefix}/payments/db")["version"] == "1"
    assert not list(
        graph.in_edges(f"store:vault-kv2:secret/{bao.prefix}/payments/db", EdgeKind.STORED_IN)
    )

    # the key is rotated (version 2); only payments-api picks it up; the audit log is re-read
    rotated_at = now()
    time.sleep(0.01)
    bao.root.secrets.kv.v2.create_or_update_secret(
        bao_world["stripe"],
        {"api_key": _stripe_key(bao.uid + "new"), "account": "acct_1"},
        mount_point="secret",
    )
    assert bao.read(bao_world["consumers"]["payments"], bao_world["stripe"])["account"]
    code, out = run_cli(
        [
            "graph",
            "build",
            "--db",
            str(db),
            "--no-findings",
            "--vault-audit",
            str(openbao.audit_log),
            "--since",
            rotated_at,
            "-f",
            "json",
        ]
    )
    assert code == 0, out
    assert json.loads(out)["added"]["vault-reads"] >= 1
    graph = load(db)
    stale = graph.stale_consumers(stripe, rotated_at, "2")
    assert [c.name for c in stale] == [f"vault-approle:billing-{bao.uid}"]
    assert graph.stale_consumers(stripe, bao_world["start"], "1") == []
    code, out = run_cli(
        [
            "graph",
            "stale",
            f"vault:secret/{bao_world['stripe']}",
            "--since",
            rotated_at,
            "--version",
            "2",
            "--db",
            str(db),
        ]
    )
    assert code == 0 and f"billing-{bao.uid}" in out and "payments-api" not in out

    # the store file holds no secret value: neither the leaked key nor the other fields
    raw = b"".join(p.read_bytes() for p in root.glob("lg.db*"))
    for value in (key, "not-leaked-pw", "acct_1"):
        assert value.encode() not in raw
    assert run_scan([str(p) for p in root.glob("lg.db*")], ScanOptions(jobs=1)).findings == ()


# --- Secrets Manager (moto) ------------------------------------------------------------------

ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def sm_world(moto: Moto, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    uid = uuid.uuid4().hex[:8]
    client = boto3.client(
        "secretsmanager",
        endpoint_url=moto.url,
        region_name=moto.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    key = _stripe_key("sm" + uid)
    prefix = f"graph-{uid}/"
    stripe = client.create_secret(
        Name=f"{prefix}prod/stripe", SecretString=json.dumps({"api_key": key, "mode": "live"})
    )
    client.create_secret(Name=f"{prefix}prod/plain", SecretString="just-a-password-1")
    gone = client.create_secret(Name=f"{prefix}old/removed", SecretString="x")
    client.delete_secret(SecretId=gone["ARN"], RecoveryWindowInDays=7)
    root = tmp_path_factory.mktemp("graph-sm")
    return {
        "client": client,
        "key": key,
        "prefix": prefix,
        "arn": stripe["ARN"],
        "name": f"{prefix}prod/stripe",
        "root": root,
        "report": _leak_report(root, key),
    }


def test_secretsmanager_list_names(
    moto: Moto, sm_world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in moto.env().items():
        monkeypatch.setenv(name, value)
    store = SecretsManagerStore(endpoint_url=moto.url, region=moto.region)
    assert isinstance(store, SecretLister)
    prefix = sm_world["prefix"]
    assert store.list_names(prefix) == [f"{prefix}prod/plain", f"{prefix}prod/stripe"]
    assert store.list_names(prefix + "prod/s") == [f"{prefix}prod/stripe"]


def _get_secret_value(secret_id: str, arn: str, at: str, **extra: Any) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "eventSource": "secretsmanager.amazonaws.com",
        "eventName": "GetSecretValue",
        "awsRegion": "us-east-1",
        "eventTime": at,
        "sourceIPAddress": "10.0.3.4",
        "userIdentity": {"type": "AssumedRole", "arn": arn},
        "requestParameters": {"secretId": secret_id},
        "responseElements": None,
        **extra,
    }


def test_leaked_key_links_to_its_secret_and_both_cloudtrail_readers(
    moto: Moto, sm_world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in moto.env().items():
        monkeypatch.setenv(name, value)
    root: Path = sm_world["root"]
    fp = fingerprint(sm_world["key"])
    api = f"arn:aws:sts::{ACCOUNT}:assumed-role/payments-api/i-0123"
    worker = f"arn:aws:sts::{ACCOUNT}:assumed-role/ledger-worker/task-9"
    trails = root / "cloudtrail"
    trails.mkdir()
    (trails / "one.json").write_text(
        json.dumps(
            {
                "Records": [
                    _get_secret_value(sm_world["arn"], api, "2026-05-01T10:00:00Z"),
                    _get_secret_value(sm_world["name"], worker, "2026-05-01T11:00:00Z"),
                    _get_secret_value(
                        sm_world["name"],
                        f"arn:aws:iam::{ACCOUNT}:user/intruder",
                        "2026-05-01T12:00:00Z",
                        errorCode="AccessDeniedException",
                    ),
                ]
            }
        )
    )
    inventory = root / "leakguard.yaml"
    inventory.write_text(
        "services:\n  - name: payments-api\n    kind: service\n"
        f'    identities: ["aws:arn:aws:iam::{ACCOUNT}:role/payments-api"]\n'
        "    reload: {webhook: https://payments.internal/reload}\n"
    )
    db = root / "lg.db"
    code, out = run_cli(
        [
            "graph",
            "build",
            "--db",
            str(db),
            "--scan-report",
            str(sm_world["report"]),
            "--aws-secrets",
            "--aws-endpoint",
            moto.url,
            "--aws-region",
            moto.region,
            "--aws-prefix",
            sm_world["prefix"],
            "--cloudtrail",
            str(trails),
            "-f",
            "json",
        ]
    )
    assert code == 0, out
    # inventory afterwards: the observed reader is adopted by the declared service
    code, out = run_cli(["graph", "build", "--db", str(db), "--inventory", str(inventory)])
    assert code == 0, out
    graph = load(db)
    secret = StoreRef("aws-secretsmanager", sm_world["name"])
    radius = graph.blast_radius(fp)
    assert radius.stores == (secret,)
    (evidence,) = graph.evidence(ids.credential(fp), secret.id, EdgeKind.STORED_IN)
    assert evidence.detail.endswith("field api_key")
    assert "AWSCURRENT" in graph.node(secret.id)["stages"]
    assert {c.name for c in radius.consumers} == {
        "payments-api",
        f"aws:arn:aws:iam::{ACCOUNT}:role/ledger-worker",
    }
    api_info = next(c for c in radius.consumers if c.name == "payments-api")
    assert api_info.reload.kind == "webhook"
    assert not graph.has_node(ids.consumer(f"aws:arn:aws:iam::{ACCOUNT}:role/payments-api"))
    edge = graph.edge(api_info.id, secret.id, EdgeKind.READS)
    assert edge is not None and edge["last_read"] == "2026-05-01T10:00:00.000000Z"
    assert f"aws:arn:aws:iam::{ACCOUNT}:user/intruder" not in radius.identities
    assert [c.name for c in graph.stale_consumers(secret, "2026-05-01T10:30:00Z")] == [
        "payments-api"
    ]
    raw = b"".join(p.read_bytes() for p in root.glob("lg.db*"))
    assert sm_world["key"].encode() not in raw and b"just-a-password-1" not in raw
