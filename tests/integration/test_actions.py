"""Store and verify actions against the real servers: OpenBao KV v2 (with two AppRole consumers
and its file audit log as evidence) and moto's Secrets Manager (with CloudTrail JSON files)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import hvac
import pytest

from leakguard.backends.aws_secretsmanager import SecretsManagerStore
from leakguard.backends.generated import GeneratedIssuer
from leakguard.backends.interface import SecretStore
from leakguard.backends.vault_kv2 import VaultKV2Store
from leakguard.errors import BackendError, PlaybookError
from leakguard.graph.interface import ConsumerInfo, EdgeKind, Evidence, StoreRef
from leakguard.graph.queries import Graph
from leakguard.rotation.actions import REGISTRY
from leakguard.rotation.interface import NotYet
from tests.support.servers import Moto, OpenBao
from tests.unit.rotation.actions.context import Ctx

pytestmark = pytest.mark.integration
SEEN = Evidence("inventory:test", "2026-01-01T00:00:00+00:00")


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def vault(openbao: OpenBao) -> VaultKV2Store:
    return VaultKV2Store(openbao.url, openbao.token, timeout=5)


@pytest.fixture(scope="module")
def sm(moto: Moto) -> SecretsManagerStore:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=moto.region
    )
    return SecretsManagerStore(session, endpoint_url=moto.url, timeout=5)


def _seed_vault(openbao: OpenBao, name: str, value: str) -> None:
    client = hvac.Client(url=openbao.url, token=openbao.token)
    client.secrets.kv.v2.create_or_update_secret(path=name, secret={"value": value})


def _seed_sm(moto: Moto, name: str, value: str) -> None:
    boto3.client(
        "secretsmanager",
        endpoint_url=moto.url,
        region_name=moto.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_secret(Name=name, SecretString=value)


@pytest.fixture(params=["vault", "sm"])
def store_case(
    request: pytest.FixtureRequest, openbao: OpenBao, moto: Moto
) -> Iterator[tuple[Ctx, str]]:
    kind = request.param
    store: SecretStore = request.getfixturevalue(kind)
    name = _unique("app/db" if kind == "vault" else "app-db")
    if kind == "vault":
        _seed_vault(openbao, name, "old-" + "a" * 24)
    else:
        _seed_sm(moto, name, "old-" + "a" * 24)
    yield Ctx(stores={"s": store}, issuers={"gen": GeneratedIssuer()}, real_time=True), name


def _run(ctx: Ctx, action: str, step: str, **params: Any) -> dict[str, Any]:
    return ctx.run(REGISTRY[action], params, step)


def test_stage_test_promote_rollback(store_case: tuple[Ctx, str]) -> None:
    ctx, name = store_case
    store = ctx.stores["s"]
    old = _run(ctx, "store.read_current", "current", backend="s", name=name)
    new = _run(ctx, "issuer.issue", "new-value", backend="gen", subject=name)
    staged = _run(ctx, "store.put_pending", "stage", backend="s", name=name, value=new["secret"])
    again = _run(ctx, "store.put_pending", "stage", backend="s", name=name, value=new["secret"])
    assert again["version_id"] == staged["version_id"]
    assert store.read_current(name)[0].version_id == old["version_id"]  # not visible yet
    tested = _run(
        ctx,
        "verify.new_credential_works",
        "test",
        backend="gen",
        secret=new["secret"],
        store="s",
        name=name,
        version=staged["version_id"],
    )
    assert tested["works"] is True
    promoted = _run(
        ctx, "store.promote", "promote", backend="s", name=name, version=staged["version_id"]
    )
    assert promoted["previous_version_id"] == old["version_id"]
    value = ctx.secrets.get(new["secret"])
    assert store.read_current(name)[1] == value
    assert (
        _run(ctx, "verify.old_revoked", "old", store="s", name=name, old_version=old["version_id"])[
            "dead"
        ]
        is True
    )
    back = _run(
        ctx,
        "store.rollback",
        "rollback",
        backend="s",
        name=name,
        to=promoted["previous_version_id"],
    )
    assert back["rolled_back_to"] == old["version_id"]
    assert store.read_current(name)[1] == ctx.secrets.get(old["secret"])
    with pytest.raises(BackendError, match="still the current"):
        _run(
            ctx,
            "verify.old_revoked",
            "old2",
            store="s",
            name=name,
            old_version=store.read_current(name)[0].version_id,
        )


def test_dangling_pending_from_a_failed_run_is_cleaned_up(store_case: tuple[Ctx, str]) -> None:
    ctx, name = store_case
    new = _run(ctx, "issuer.issue", "new-value", backend="gen", subject=name)
    dangling = _run(ctx, "store.put_pending", "stage", backend="s", name=name, value=new["secret"])
    ctx.run_id = "run-2"  # a later run finds it
    found = _run(ctx, "store.pending", "dangling", backend="s", name=name)
    assert found["pending"] is True and found["version_id"] == dangling["version_id"]
    with pytest.raises(BackendError, match="pending"):
        _run(ctx, "store.put_pending", "stage", backend="s", name=name, value=new["secret"])
    out = _run(
        ctx, "store.discard_pending", "discard", backend="s", name=name, version=found["version_id"]
    )
    assert out["discarded"] == dangling["version_id"]
    assert ctx.stores["s"].pending(name) is None
    staged = _run(ctx, "store.put_pending", "stage", backend="s", name=name, value=new["secret"])
    # Secrets Manager: a new version id; Vault: the version consumers will get once promoted,
    # which the discarded value never reached
    found = ctx.stores["s"].pending(name)
    assert found is not None and found.version_id == staged["version_id"]


# -- consumers moved: two AppRole consumers on OpenBao, evidence from the audit log -----------


@dataclass
class AppRole:
    name: str
    client: hvac.Client

    @property
    def identity(self) -> str:
        return f"vault-approle:{self.name}"

    def read(self, path: str) -> None:
        self.client.secrets.kv.v2.read_secret_version(path=path, raise_on_deleted_version=True)


def _approles(openbao: OpenBao, path: str, *names: str) -> list[AppRole]:
    root = hvac.Client(url=openbao.url, token=openbao.token)
    if "approle/" not in root.sys.list_auth_methods()["data"]:
        root.sys.enable_auth_method("approle")
    policy = f"read-{uuid.uuid4().hex[:8]}"
    root.sys.create_or_update_policy(
        name=policy, policy=f'path "secret/data/{path}" {{ capabilities = ["read"] }}'
    )
    roles = []
    for name in names:
        root.auth.approle.create_or_update_approle(role_name=name, token_policies=[policy])
        role_id = root.auth.approle.read_role_id(name)["data"]["role_id"]
        secret_id = root.auth.approle.generate_secret_id(name)["data"]["secret_id"]
        client = hvac.Client(url=openbao.url)
        client.auth.approle.login(role_id=role_id, secret_id=secret_id)
        roles.append(AppRole(name, client))
    return roles


def _graph(ref: StoreRef, consumers: dict[str, str]) -> Graph:
    graph = Graph()
    store = graph.add_store(ref)
    for name, identity in consumers.items():
        node = graph.add_consumer(
            ConsumerInfo(f"consumer:{name}", name, identities=(identity,)), SEEN
        )
        graph.add_edge(node, store, EdgeKind.READS, SEEN)
    return graph


def test_consumers_moved_on_openbao_audit_evidence(openbao: OpenBao, vault: VaultKV2Store) -> None:
    assert openbao.audit_log is not None
    path = _unique("billing/stripe")
    _seed_vault(openbao, path, "sk_old_" + "x" * 24)
    mover, laggard = _approles(openbao, path, _unique("billing-api"), _unique("billing-cron"))
    graph = _graph(
        StoreRef("vault-kv2", path, "secret"), {"api": mover.identity, "cron": laggard.identity}
    )
    ctx = Ctx(
        stores={"vault": vault}, issuers={"gen": GeneratedIssuer()}, graph=graph, real_time=True
    )
    mover.read(path)
    laggard.read(path)  # both on the old version
    new = _run(ctx, "issuer.issue", "new", backend="gen", subject=path)
    staged = _run(
        ctx, "store.put_pending", "stage", backend="vault", name=path, value=new["secret"]
    )
    laggard.read(path)  # KV v2 serves the latest (staged) version, but before the promotion
    promoted = _run(
        ctx, "store.promote", "promote", backend="vault", name=path, version=staged["version_id"]
    )
    mover.read(path)  # after promotion: the new version
    params = {
        "backend": "vault",
        "name": path,
        "since": promoted["promoted_at"],
        "version": promoted["version_id"],
        "audit_log": str(openbao.audit_log),
    }
    with pytest.raises(NotYet) as caught:
        ctx.run(REGISTRY["verify.consumers_moved"], params)
    assert caught.value.details["stale"] == ["cron"]
    assert caught.value.details["moved"] == ["api"]
    laggard.read(path)
    out = ctx.run(REGISTRY["verify.consumers_moved"], params)
    assert out["moved"] == ["api", "cron"] and out["events"] >= 2
    # the evidence was recorded in the graph too
    ref = StoreRef("vault-kv2", path, "secret")
    assert graph.stale_consumers(ref, promoted["promoted_at"], promoted["version_id"]) == []


def test_wait_until_polls_consumers_moved_until_it_times_out(
    openbao: OpenBao, vault: VaultKV2Store
) -> None:
    assert openbao.audit_log is not None
    path = _unique("jobs/token")
    _seed_vault(openbao, path, "old-" + "y" * 24)
    graph = _graph(StoreRef("vault-kv2", path, "secret"), {"never": "vault-approle:never-moves"})
    ctx = Ctx(stores={"vault": vault}, graph=graph, real_time=True)
    check = {
        "backend": "vault",
        "name": path,
        "since": datetime.now(UTC).isoformat(),
        "audit_log": str(openbao.audit_log),
    }
    with pytest.raises(PlaybookError, match=r"gave up on verify\.consumers_moved after .*never"):
        ctx.run(
            REGISTRY["wait_until"],
            {
                "check": "verify.consumers_moved",
                "with": check,
                "interval": "100ms",
                "timeout": "350ms",
            },
        )
    assert len(ctx.slept) >= 2


# -- consumers moved on Secrets Manager, evidence from CloudTrail files -----------------------


def _trail_event(arn: str, secret_id: str, at: datetime, **params: str) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "userIdentity": {"type": "AssumedRole", "arn": arn, "accountId": "123456789012"},
        "eventTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "secretsmanager.amazonaws.com",
        "eventName": "GetSecretValue",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "10.0.0.7",
        "requestParameters": {"secretId": secret_id, **params},
        "responseElements": None,
        "readOnly": True,
        "eventType": "AwsApiCall",
    }


def test_consumers_moved_on_cloudtrail_evidence(
    tmp_path: Path, moto: Moto, sm: SecretsManagerStore
) -> None:
    name = _unique("prod/payments")
    _seed_sm(moto, name, "old-" + "z" * 24)
    api_role = "arn:aws:iam::123456789012:role/payments-api"
    worker = "arn:aws:iam::123456789012:user/payments-worker"
    graph = _graph(
        StoreRef("aws-secretsmanager", name),
        {"payments-api": f"aws:{api_role}", "worker": f"aws:{worker}"},
    )
    ctx = Ctx(stores={"sm": sm}, issuers={"gen": GeneratedIssuer()}, graph=graph, real_time=True)
    new = _run(ctx, "issuer.issue", "new", backend="gen", subject=name)
    staged = _run(ctx, "store.put_pending", "stage", backend="sm", name=name, value=new["secret"])
    promoted = _run(
        ctx, "store.promote", "promote", backend="sm", name=name, version=staged["version_id"]
    )
    after = datetime.now(UTC) + timedelta(seconds=5)
    arn = f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbC123"
    session = "arn:aws:sts::123456789012:assumed-role/payments-api/i-0abc"
    trail = tmp_path / "trail.json"
    trail.write_text(
        json.dumps(
            {
                "Records": [
                    _trail_event(session, arn, after),
                    _trail_event(worker, name, after - timedelta(hours=1)),  # before the promotion
                    _trail_event(
                        worker, name, after, versionStage="AWSPREVIOUS"
                    ),  # still the old value
                ]
            }
        )
    )
    params = {
        "backend": "sm",
        "name": name,
        "since": promoted["promoted_at"],
        "version": promoted["version_id"],
        "cloudtrail": str(trail),
    }
    with pytest.raises(NotYet) as caught:
        ctx.run(REGISTRY["verify.consumers_moved"], params)
    assert caught.value.details == {"stale": ["worker"], "moved": ["payments-api"]}
    later = tmp_path / "trail-2.json"
    later.write_text(json.dumps({"Records": [_trail_event(worker, name, after)]}))
    out = ctx.run(
        REGISTRY["verify.consumers_moved"], {**params, "cloudtrail": [str(trail), str(later)]}
    )
    assert out["moved"] == ["payments-api", "worker"]


def test_manual_key_is_checked_before_it_reaches_the_store(
    openbao: OpenBao, vault: VaultKV2Store
) -> None:
    from leakguard.backends.manual import ManualIssuer

    path = _unique("payments/stripe")
    _seed_vault(openbao, path, "sk_live_" + "Q1w2E3r4T5y6U7i8O9p0A1s2")
    bad, good = "sk_live_xxxxxxxxxxxxxxxxxxxxxxxxxxxx", "sk_live_4eC39HqLyjWDarjtT1zdp7dc9f2c"
    ctx = Ctx(
        stores={"vault": vault},
        issuers={"stripe": ManualIssuer("stripe")},
        answers=[bad, good],
        real_time=True,
    )
    with pytest.raises(BackendError, match="not a complete stripe key"):
        _run(ctx, "issuer.issue", "new-value", backend="stripe", subject=path)
    assert vault.pending(path) is None and len(vault.list_versions(path)) == 1
    new = _run(ctx, "issuer.issue", "new-value", backend="stripe", subject=path)
    staged = _run(
        ctx, "store.put_pending", "stage", backend="vault", name=path, value=new["secret"]
    )
    assert vault.read_version(path, staged["version_id"]) == {"value": good}
