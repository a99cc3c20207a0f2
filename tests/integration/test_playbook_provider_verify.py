"""``verify.provider_rejects_old`` against moto with authentication enforced, reached through the
standard ``AWS_ENDPOINT_URL_STS`` setting: the aws-iam-access-key playbook ends with STS itself
rejecting the leaked key and accepting the new one; a provider that still accepts the old key,
or gives no clear answer, fails the run (never completed, non-zero exit)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from leakguard.backends.aws_sandbox import bootstrap
from leakguard.graph.interface import StoreRef
from leakguard.rotation import runner as engine
from leakguard.rotation.journal import Journal, RunState
from leakguard.rotation.schema import find_playbook, load_playbook
from tests.integration.test_playbook_helpers import unique
from tests.support.cli import run_cli
from tests.support.graphs import save_graph
from tests.support.servers import Moto, free_port

pytestmark = pytest.mark.integration

STEP = "provider-rejects-old"


def _aws_env(monkeypatch: pytest.MonkeyPatch, moto: Moto, admin: dict[str, str], sts: str) -> None:
    for key, value in {
        "AWS_ENDPOINT_URL": moto.url,
        "AWS_ENDPOINT_URL_STS": sts,  # the explicit sandbox setting the verifier honours
        "AWS_DEFAULT_REGION": moto.region,
        "AWS_ACCESS_KEY_ID": admin["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": admin["aws_secret_access_key"],
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("LEAKGUARD_VERIFY_ENDPOINTS", raising=False)


def _sts_accepts(moto: Moto, key_id: str, key_secret: str) -> bool:
    """STS asked directly with boto3 (not through LeakGuard): the answer to compare with."""
    client = boto3.client(
        "sts",
        endpoint_url=moto.url,
        region_name=moto.region,
        aws_access_key_id=key_id,
        aws_secret_access_key=key_secret,
    )
    try:
        client.get_caller_identity()
    except ClientError:
        return False
    return True


def _run_iam_playbook(db: Path, inputs: dict[str, Any], moto: Moto, **options: Any) -> Any:
    aws = {"endpoint_url": moto.url, "region": moto.region}
    engine_options = engine.EngineOptions(
        yes=True,
        time_scale=0.002,
        graph=engine.open_graph(db),
        backend_overrides={"kind:aws-secretsmanager": dict(aws), "kind:aws-iam": dict(aws)},
        rng=random.Random(0),
        approval_timeout=0,
        **options,
    )
    with Journal.open(db) as journal:
        return engine.start_run(
            journal, load_playbook(find_playbook("aws-iam-access-key")), inputs, engine_options
        )


def _iam_inputs(fp: str, user: str, name: str) -> dict[str, Any]:
    return {
        "credential": fp,
        "user": user,
        "secret": name,
        "store": "sm",
        "contain": False,
        "overlap": "1s",
        "soak": "1s",
        "move_timeout": "1m",
    }


def test_aws_playbook_ends_with_the_provider_rejecting_the_old_key_and_accepting_the_new(
    auth_moto: Moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeder = bootstrap(auth_moto.url, auth_moto.region)
    leaked = seeder.user_with_key("app")
    name = unique("lg-provider/iam")
    seeder.secret(name, leaked)
    _aws_env(monkeypatch, auth_moto, seeder.admin, auth_moto.url)
    db = tmp_path / "lg.db"
    fp = save_graph(db, leaked["aws_secret_access_key"], StoreRef("aws-secretsmanager", name), [])

    view = _run_iam_playbook(db, _iam_inputs(fp, "app", name), auth_moto)

    assert view.state == RunState.COMPLETED, view.diagnostic
    assert view.outputs["provider_old"] == "revoked"
    assert view.outputs["provider_new"] == "live"
    evidence = view.steps[STEP].outputs["evidence"]
    assert evidence["old"]["detail"] == "InvalidClientTokenId"
    assert evidence["old"]["endpoint"] == f"POST {auth_moto.url} GetCallerIdentity"
    assert evidence["new"]["identity"]["arn"].endswith(":user/app")
    # the same answers, asked of STS directly
    assert not _sts_accepts(auth_moto, leaked["aws_access_key_id"], leaked["aws_secret_access_key"])
    new_id = view.outputs["new_key_id"]
    assert evidence["new"]["identity"]["userid"]
    # explicit keys: boto3's default session keeps the first credentials it resolved in this
    # process, which may be another test's moto administrator
    admin = boto3.Session(
        aws_access_key_id=seeder.admin["aws_access_key_id"],
        aws_secret_access_key=seeder.admin["aws_secret_access_key"],
        region_name=auth_moto.region,
    )
    admin_iam = admin.client("iam", endpoint_url=auth_moto.url)
    assert [k["AccessKeyId"] for k in admin_iam.list_access_keys(UserName="app")[
        "AccessKeyMetadata"
    ]] == [new_id]  # fmt: skip
    # no plaintext at rest: the journal holds statuses and evidence, never either key
    stored = db.read_bytes()
    assert leaked["aws_secret_access_key"].encode() not in stored
    new_secret = admin.client("secretsmanager", endpoint_url=auth_moto.url).get_secret_value(
        SecretId=name, VersionStage="AWSCURRENT"
    )["SecretString"]
    assert new_id in new_secret
    for part in new_secret.split('"'):
        if len(part) >= 30:  # the new secret access key
            assert part.encode() not in stored


def test_no_clear_answer_from_the_provider_fails_the_aws_run(
    auth_moto: Moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeder = bootstrap(auth_moto.url, auth_moto.region)
    leaked = seeder.user_with_key("app")
    name = unique("lg-provider/unknown")
    seeder.secret(name, leaked)
    _aws_env(monkeypatch, auth_moto, seeder.admin, f"http://127.0.0.1:{free_port()}")
    db = tmp_path / "lg.db"
    fp = save_graph(db, leaked["aws_secret_access_key"], StoreRef("aws-secretsmanager", name), [])

    view = _run_iam_playbook(db, _iam_inputs(fp, "app", name), auth_moto, max_retry_wait=5.0)

    assert view.state != RunState.COMPLETED
    assert view.state == RunState.PAUSED
    assert STEP in view.diagnostic and "no clear answer" in view.diagnostic
    assert view.steps[STEP].state == "failed" and view.steps[STEP].retries >= 1
    assert "release" not in view.steps or view.steps["release"].state != "succeeded"


_TINY = """\
apiVersion: leakguard/v1
kind: Playbook
id: provider-check
title: A new key, then the provider's word on the old one
inputs:
  user:   {type: string, required: true}
  secret: {type: string, required: true}
backends:
  iam: {kind: aws-iam}
  sm:  {kind: aws-secretsmanager}
stages:
  map:
    - id: current
      uses: store.read_current
      with: {backend: sm, name: "${inputs.secret}"}
  rotate:
    - id: new-key
      uses: aws.iam.create_access_key
      with: {backend: iam, user: "${inputs.user}"}
  verify:
    - id: provider
      uses: verify.provider_rejects_old
      retry: {attempts: 3, backoff: 10ms, max_backoff: 20ms}
      with:
        verifier: aws
        old: "${steps.current.outputs.secret}"
        new: "${steps.new-key.outputs.secret}"
"""


@pytest.mark.parametrize("answer", ["still accepted", "no clear answer"])
def test_a_run_whose_old_key_is_not_proven_revoked_exits_non_zero(
    answer: str, auth_moto: Moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeder = bootstrap(auth_moto.url, auth_moto.region)
    leaked = seeder.user_with_key("svc")  # never deactivated: STS still accepts it
    name = unique("lg-provider/tiny")
    seeder.secret(name, leaked)
    sts = auth_moto.url if answer == "still accepted" else f"http://127.0.0.1:{free_port()}"
    _aws_env(monkeypatch, auth_moto, seeder.admin, sts)
    playbook = tmp_path / "provider-check.yaml"
    playbook.write_text(_TINY)
    db = tmp_path / "lg.db"

    code, out = run_cli(
        ["playbook", "run", str(playbook), "--db", str(db), "--yes",
         "-i", "user=svc", "-i", f"secret={name}"],
    )  # fmt: skip

    assert code != 0, out
    with Journal.open(db) as journal:
        (run_id,) = journal.run_ids()
        view = journal.view(run_id)
    assert view.state != RunState.COMPLETED
    assert f"run {run_id}: {view.state}" in out
    assert view.steps["provider"].state == "failed"
    assert view.steps["provider"].retries == 2  # the step's retry policy: 3 attempts in all
    expected = "still accepts the old credential" if answer == "still accepted" else "no clear"
    assert expected in view.diagnostic
    assert _sts_accepts(auth_moto, leaked["aws_access_key_id"], leaked["aws_secret_access_key"])
    assert leaked["aws_secret_access_key"] not in out
    assert leaked["aws_secret_access_key"].encode() not in db.read_bytes()
