"""The rehearsal sandbox starts OpenBao and moto on free local ports, seeds what a playbook
touches (plus AppRole consumers from the graph), and leaves no process or file behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from leakguard.backends.registry import make_issuer, make_store
from leakguard.graph.interface import ConsumerInfo, EdgeKind, Evidence, StoreRef
from leakguard.graph.queries import Graph
from leakguard.rotation import sandbox
from leakguard.rotation.actions import REGISTRY
from leakguard.rotation.schema import load_playbook
from tests.unit.rotation.actions.context import Ctx

pytestmark = pytest.mark.integration
PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
SEEN = Evidence("inventory:test", "2026-01-01T00:00:00+00:00")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _graph(path: str, role: str) -> Graph:
    graph = Graph()
    store = graph.add_store(StoreRef("vault-kv2", path, "secret"))
    consumer = ConsumerInfo(
        "consumer:billing-api", "billing-api", identities=(f"vault-approle:{role}",)
    )
    graph.add_edge(graph.add_consumer(consumer, SEEN), store, EdgeKind.READS, SEEN)
    return graph


def test_plan_seed_follows_the_playbook_inputs() -> None:
    playbook = load_playbook(PLAYBOOKS / "aws-iam-access-key.yaml", REGISTRY)
    inputs = {
        "credential": "sha256:ab",
        "user": "billing",
        "secret": "billing/aws",
        "store": "vault",
    }
    plan = sandbox.plan_seed(playbook, inputs, _graph("billing/aws", "billing-api"))
    assert list(plan.vault) == [("secret", "billing/aws")]
    assert plan.secretsmanager == {}
    assert plan.iam_users == ["billing"]
    assert plan.approles == {"billing-api": {("secret", "billing/aws")}}
    assert plan.key_entries == {"billing": [("vault", "secret", "billing/aws")]}
    other = sandbox.plan_seed(playbook, {**inputs, "store": "sm"})
    assert list(other.secretsmanager) == ["billing/aws"] and other.vault == {}


def test_sandbox_starts_seeds_and_stops(tmp_path: Path) -> None:
    playbook = load_playbook(PLAYBOOKS / "aws-iam-access-key.yaml", REGISTRY)
    inputs = {
        "credential": "sha256:ab",
        "user": "billing",
        "secret": "billing/aws",
        "store": "vault",
    }
    before = os.environ.get("AWS_ACCESS_KEY_ID")
    with sandbox.start(playbook, inputs, graph=_graph("billing/aws", "billing-api")) as box:
        assert all(_alive(pid) for pid in box.pids)
        assert os.environ["AWS_ACCESS_KEY_ID"] == box.admin["aws_access_key_id"]
        vault = make_store("vault-kv2", {**box.overrides["kind:vault-kv2"], "mount": "secret"})
        version, data = vault.read_current("billing/aws")
        assert data["aws_access_key_id"] == box.iam_keys["billing"]
        iam = make_issuer("aws-iam", box.overrides["kind:aws-iam"])
        assert [k.key_id for k in iam.list_keys("billing")] == [box.iam_keys["billing"]]
        assert iam.works(data)  # STS accepts the seeded key...
        assert not iam.works({**data, "aws_secret_access_key": "wrong"})  # ...and checks it
        assert box.read_as("billing-api", "billing/aws") == int(version.version_id)
        assert "billing-api" in box.audit_log.read_text()
        ctx = Ctx(
            stores={"vault": vault}, graph=_graph("billing/aws", "billing-api"), real_time=True
        )
        out = ctx.run(
            REGISTRY["verify.consumers_moved"],
            {
                "backend": "vault",
                "name": "billing/aws",
                "since": "2020-01-01T00:00:00Z",
                "audit_log": str(box.audit_log),
            },
        )
        assert "billing-api" in out["moved"] and out["stale"] == []
        pids, workdir = box.pids, box.workdir
    assert not any(_alive(pid) for pid in pids)
    assert not workdir.exists()
    assert os.environ.get("AWS_ACCESS_KEY_ID") == before


def test_sandbox_stops_when_the_rehearsal_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"), sandbox.start(workdir=tmp_path / "box") as box:
        pids = box.pids
        raise RuntimeError("boom")
    assert not any(_alive(pid) for pid in pids)
    assert (tmp_path / "box" / "openbao.log").exists()  # a given workdir is kept for inspection


def _get(url: str, token: str) -> tuple[int, dict[str, object]]:
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_provider_stand_in_answers_as_documented_and_follows_the_dashboard() -> None:
    """What Stripe's and GitHub's API references document: GET /v1/account is 200 with an
    account object for a valid key, 401 with an invalid_request_error otherwise; GET /user is
    200 with a login, or 401 "Bad credentials". The leaked key is accepted until the operator
    revokes it; a rolled key from then on."""
    from leakguard.redact import fingerprint
    from leakguard.verify.runner import VerifyOptions, verify_value

    leaked, rolled = "sk_live_" + "L" * 30, "sk_live_" + "N" * 30
    with sandbox.provider_stand_in(live=(leaked,)) as stand_in:
        stripe = f"{stand_in.url}/stripe/v1/account"
        status, doc = _get(stripe, leaked)
        assert status == 200 and doc["object"] == "account"
        status, doc = _get(stripe, rolled)
        assert status == 401 and doc["error"]["type"] == "invalid_request_error"  # type: ignore[index]
        stand_in.rolled(rolled)
        stand_in.revoked(fingerprint(leaked))
        assert _get(stripe, leaked)[0] == 401 and _get(stripe, rolled)[0] == 200
        assert _get(f"{stand_in.url}/github/user", rolled)[1]["login"]
        assert _get(f"{stand_in.url}/github/user", leaked) == (
            401,
            {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
        )
        assert _get(f"{stand_in.url}/stripe/v1/charges", rolled)[0] == 404  # identity calls only
        # the verifiers, pointed at it by the explicit override, conclude the same
        endpoints = dict(item.split("=", 1) for item in stand_in.endpoints().split(","))
        options = VerifyOptions(endpoints=endpoints)
        assert str(verify_value("stripe", leaked, options).status) == "revoked"
        assert str(verify_value("stripe", rolled, options).status) == "live"
        # it holds fingerprints, never a value
        assert leaked not in repr(stand_in.accepted) and rolled not in repr(stand_in.accepted)
        assert stand_in.accepted == {fingerprint(rolled)}
