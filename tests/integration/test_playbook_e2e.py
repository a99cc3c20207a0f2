"""Every shipped playbook end to end against the real OpenBao dev server and moto in server mode
(vault-kv-secret has its own module, with AppRole consumers and kill/resume).

The dashboard playbooks (stripe-key, github-token, supabase-service-role) end with the provider's
word (``verify.provider_rejects_old``): their verifiers are pointed at the local provider fakes
(tests/support/provider_fakes.py) through ``LEAKGUARD_VERIFY_ENDPOINTS``. What a fake accepts is
set here, as the operator's dashboard would: the leaked key until the operator confirms revoking
it, the new key from the start (it was rolled)."""

from __future__ import annotations

import base64
import json
import os
import random
from collections.abc import Iterator
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
from tests.integration.test_playbook_helpers import (
    approle,
    consumer,
    reload_command,
    seed_kv_secret,
    unique,
)
from tests.support.cli import run_cli
from tests.support.clocks import QuickClock
from tests.support.graphs import save_graph
from tests.support.provider_fakes import ProviderFake, provider_fake
from tests.support.servers import Moto, OpenBao

STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc9f2cQ"
GITHUB = "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"


def _supabase_jwt(ref: str, signature: str) -> str:
    """A service_role key of the shape Supabase issues (claims iss, ref, role): the verifier
    reads the project from ``ref``."""

    def part(doc: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()

    claims = {"iss": "supabase", "ref": ref, "role": "service_role", "iat": 1716200000}
    return (
        f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims | {'exp': 2031776000})}.{signature}"
    )


SUPABASE = _supabase_jwt("odxcczckduhvfmmbvskg", "ZZNIm9k9Wt-Rbf8DoHZ3YzwcdTbKNStIvggiNfwWVso")
SUPABASE_OLD = _supabase_jwt("odxcczckduhvfmmbvskg", "g1Hk275kTCd7_0qhVIQLvnZuSodewpubYoDVzcvuEPg")
#: the playbooks whose provider step asks a verifier, and that verifier
PROVIDER_STEP = {
    "stripe-key": "stripe",
    "github-token": "github",
    "supabase-service-role": "supabase",
}
STEP = "provider-rejects-old"


@pytest.fixture()
def providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[ProviderFake]:
    """The provider fakes, reached through the explicit test endpoint override."""
    with provider_fake() as fake:
        endpoints = fake.endpoints(*sorted(set(PROVIDER_STEP.values())))
        monkeypatch.setenv(
            "LEAKGUARD_VERIFY_ENDPOINTS", ",".join(f"{n}={u}" for n, u in endpoints.items())
        )
        yield fake


@pytest.fixture()
def aws_env(moto: Moto, monkeypatch: pytest.MonkeyPatch) -> Moto:
    for key, value in moto.env().items():
        monkeypatch.setenv(key, value)
    return moto


def _overrides(openbao: OpenBao, moto: Moto | None) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {
        "kind:vault-kv2": {"url": openbao.url, "token": openbao.token}
    }
    if moto is not None:
        aws = {"endpoint_url": moto.url, "region": moto.region}
        out["kind:aws-secretsmanager"] = dict(aws)
        out["kind:aws-iam"] = dict(aws)
    return out


def _run(
    playbook_id: str,
    inputs: dict[str, Any],
    db: Path,
    overrides: dict[str, dict[str, Any]],
    operator: _Operator | None = None,
    clock: QuickClock | None = None,
) -> Any:
    playbook = load_playbook(find_playbook(playbook_id))
    options = engine.EngineOptions(
        **({"clock": clock} if clock is not None else {}),
        operator=operator or _Operator(),
        yes=True,
        time_scale=0.002,
        graph=engine.open_graph(db),
        backend_overrides=overrides,
        rng=random.Random(0),
        approval_timeout=0,
    )
    with Journal.open(db) as journal:
        return engine.start_run(journal, playbook, inputs, options)


class _Operator:
    """The operator at the terminal: confirms they revoked the old key in the dashboard, having
    revoked it there (the provider fake stops accepting ``old``), unless ``revokes`` is false."""

    def __init__(
        self, fake: ProviderFake | None = None, old: str | None = None, *, revokes: bool = True
    ) -> None:
        self.confirmed: list[str] = []
        self.fake, self.old, self.revokes = fake, old, revokes

    def ask(self, prompt: str, *, secret: bool = False) -> str:
        assert not secret, "the new key comes from value_file, never a prompt"
        self.confirmed.append(prompt)
        if "Revoke the old" in prompt and self.fake is not None and self.revokes:
            self.fake.live.discard(self.old or "")
        return "yes"

    def confirm(self, prompt: str) -> bool:
        self.confirmed.append(prompt)
        return True


def _value_file(tmp: Path, value: str) -> str:
    path = tmp / "new-key"
    path.write_text(value)
    os.chmod(path, 0o600)
    return str(path)


@pytest.mark.parametrize(
    ("playbook_id", "old", "new"),
    [
        ("generic-app-secret", "old-" + "g" * 30, None),
        ("stripe-key", "sk_live_" + "0ldK3yOldK3yOldK3yOldK3yQ", STRIPE),
        ("github-token", "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", GITHUB),
        ("supabase-service-role", SUPABASE_OLD, SUPABASE),
    ],
)
def test_vault_backed_playbooks(
    openbao: OpenBao,
    providers: ProviderFake,
    tmp_path: Path,
    playbook_id: str,
    old: str,
    new: str | None,
) -> None:
    assert openbao.audit_log is not None
    _, path = seed_kv_secret(openbao, f"lg-e2e/{playbook_id}", {"value": old})
    role = approle(openbao, unique("svc"), path)
    db = tmp_path / "lg.db"
    reads = tmp_path / "reads.log"
    fp = save_graph(
        db,
        old,
        StoreRef("vault-kv2", path, "secret"),
        [consumer(role, reload_command(tmp_path, openbao, role, path, reads))],
    )
    inputs: dict[str, Any] = {
        "credential": fp,
        "secret": path,
        "store": "vault",
        "overlap": "1s",
        "move_timeout": "10m",
        "audit_log": str(openbao.audit_log),
    }
    if new is not None:
        inputs["value_file"] = _value_file(tmp_path, new)
        providers.live.update({old, new})  # the leaked key is live; the rolled one too
    view = _run(playbook_id, inputs, db, _overrides(openbao, None), _Operator(providers, old))
    assert view.state == RunState.COMPLETED, view.diagnostic
    _assert_provider_word(view, providers, playbook_id)
    current = role.read(openbao.url, path)["value"]
    assert current != old
    if new is not None:
        assert current == new
    assert role.read(openbao.url, path, version=1)["value"] == old  # never destroyed
    assert reads.read_text().split() == ["2"]
    dump = (
        json.dumps([r.data for r in Journal.open(db).records(view.run_id)])
        + Path(view.audit_path).read_text()
    )
    assert current not in dump and old not in dump


def _assert_provider_word(view: Any, fake: ProviderFake, playbook_id: str) -> None:
    """The run asked the provider (the fake's log) and had its word: old revoked, new live."""
    verifier = PROVIDER_STEP.get(playbook_id)
    if verifier is None:
        assert STEP not in view.steps
        assert not fake.requests
        return
    assert view.steps[STEP].state == "succeeded"
    assert (view.outputs["provider_old"], view.outputs["provider_new"]) == ("revoked", "live")
    asked = [path for _, path in fake.requests]
    assert len(asked) == 2 and all(path.startswith(f"/{verifier}/") for path in asked), asked
    evidence = view.steps[STEP].outputs["evidence"]
    assert (evidence["old"]["http_status"], evidence["new"]["http_status"]) == (401, 200)


def _sm_current(sm: Any, name: str) -> tuple[str, str]:
    got = sm.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")
    return got["SecretString"], got["VersionId"]


@pytest.mark.parametrize(
    ("playbook_id", "new"),
    [("aws-secretsmanager-secret", None), ("stripe-key", STRIPE)],
)
def test_secrets_manager_backed_playbooks(
    openbao: OpenBao,
    aws_env: Moto,
    providers: ProviderFake,
    tmp_path: Path,
    playbook_id: str,
    new: str | None,
) -> None:
    sm = boto3.client("secretsmanager", endpoint_url=aws_env.url, region_name=aws_env.region)
    name = unique(f"lg-e2e/{playbook_id}")
    old = "sk_live_" + "0ldK3yOldK3yOldK3yOldK3yQ" if new else "old-" + "s" * 30
    sm.create_secret(Name=name, SecretString=json.dumps({"value": old, "user": "app"}))
    old_version = _sm_current(sm, name)[1]
    db = tmp_path / "lg.db"
    fp = save_graph(db, old, StoreRef("aws-secretsmanager", name), [])
    inputs: dict[str, Any] = {
        "credential": fp,
        "secret": name,
        "store": "sm",
        "overlap": "1s",
        "move_timeout": "1m",
    }
    if playbook_id == "aws-secretsmanager-secret":
        inputs.pop("store")
    if new is not None:
        inputs["value_file"] = _value_file(tmp_path, new)
        providers.live.update({old, new})
    view = _run(playbook_id, inputs, db, _overrides(openbao, aws_env), _Operator(providers, old))
    assert view.state == RunState.COMPLETED, view.diagnostic
    _assert_provider_word(view, providers, playbook_id)
    current, version = _sm_current(sm, name)
    assert version != old_version
    assert json.loads(current)["value"] != old
    if new is not None:
        assert json.loads(current)["value"] == new
    previous = sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
    assert previous["VersionId"] == old_version
    stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert not any("AWSPENDING" in s for s in stages.values())


def test_aws_iam_access_key_end_to_end(
    openbao: OpenBao, auth_moto: Moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeder = bootstrap(auth_moto.url, auth_moto.region)
    leaked = seeder.user_with_key("app")
    name = unique("lg-e2e/iam")
    seeder.secret(name, leaked)
    for key, value in {
        "AWS_ENDPOINT_URL": auth_moto.url,
        "AWS_DEFAULT_REGION": auth_moto.region,
        "AWS_ACCESS_KEY_ID": seeder.admin["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": seeder.admin["aws_secret_access_key"],
    }.items():
        monkeypatch.setenv(key, value)
    admin_session = boto3.session.Session(region_name=auth_moto.region)
    sm = admin_session.client("secretsmanager", endpoint_url=auth_moto.url)
    db = tmp_path / "lg.db"
    fp = save_graph(db, leaked["aws_secret_access_key"], StoreRef("aws-secretsmanager", name), [])
    view = _run(
        "aws-iam-access-key",
        {
            "credential": fp,
            "user": "app",
            "secret": name,
            "store": "sm",
            "overlap": "1s",
            "soak": "1s",
            "move_timeout": "1m",
        },
        db,
        _overrides(openbao, auth_moto),
    )
    assert view.state == RunState.COMPLETED, view.diagnostic
    admin_iam = admin_session.client("iam", endpoint_url=auth_moto.url)
    keys = admin_iam.list_access_keys(UserName="app")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [view.outputs["new_key_id"]]
    assert keys[0]["Status"] == "Active"
    stored = json.loads(_sm_current(sm, name)[0])
    assert stored["aws_access_key_id"] == view.outputs["new_key_id"]
    sts_new = boto3.client(
        "sts",
        endpoint_url=auth_moto.url,
        region_name=auth_moto.region,
        aws_access_key_id=stored["aws_access_key_id"],
        aws_secret_access_key=stored["aws_secret_access_key"],
    )
    assert sts_new.get_caller_identity()["Arn"].endswith("user/app")
    # the containment deny policy was lifted; the user's own policy is untouched
    assert admin_iam.list_user_policies(UserName="app")["PolicyNames"] == ["sandbox"]
    # the leaked key is gone: STS rejects it
    sts_old = boto3.client(
        "sts",
        endpoint_url=auth_moto.url,
        region_name=auth_moto.region,
        aws_access_key_id=leaked["aws_access_key_id"],
        aws_secret_access_key=leaked["aws_secret_access_key"],
    )
    with pytest.raises(ClientError):
        sts_old.get_caller_identity()


def _dashboard_run(
    openbao: OpenBao,
    fake: ProviderFake,
    tmp_path: Path,
    playbook_id: str,
    old: str,
    new: str,
    *,
    revokes: bool = True,
    new_live: bool = True,
    clock: QuickClock | None = None,
    **extra: Any,
) -> tuple[Any, Path]:
    """A vault-backed run of a dashboard playbook whose provider accepts ``old`` until the
    operator revokes it (when ``revokes``) and ``new`` from the start (when ``new_live``)."""
    _, path = seed_kv_secret(openbao, f"lg-e2e/{playbook_id}", {"value": old})
    db = tmp_path / "lg.db"
    fp = save_graph(db, old, StoreRef("vault-kv2", path, "secret"), [])
    inputs: dict[str, Any] = {
        "credential": fp, "secret": path, "store": "vault", "overlap": "1s",
        "move_timeout": "1m", "value_file": _value_file(tmp_path, new), **extra,
    }  # fmt: skip
    fake.live.update({old, new} if new_live else {old})
    operator = _Operator(fake, old, revokes=revokes)
    view = _run(playbook_id, inputs, db, _overrides(openbao, None), operator, clock)
    assert any("Revoke the old" in prompt for prompt in operator.confirmed)
    return view, db


OLD_NEW = {
    "stripe-key": ("sk_live_" + "0ldK3yOldK3yOldK3yOldK3yQ", STRIPE),
    "github-token": ("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", GITHUB),
    "supabase-service-role": (SUPABASE_OLD, SUPABASE),
}


@pytest.mark.parametrize("playbook_id", sorted(OLD_NEW))
def test_a_provider_still_accepting_the_old_key_keeps_the_run_from_completing(
    openbao: OpenBao,
    providers: ProviderFake,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    playbook_id: str,
) -> None:
    """The operator confirms the revocation but did not do it: the provider still accepts the
    old key, so the run is not completed and resuming it exits non-zero, until the key really
    is revoked; then a resume completes it."""
    old, new = OLD_NEW[playbook_id]
    clock = QuickClock()  # the backoff schedule is followed and recorded, not slept
    view, db = _dashboard_run(
        openbao, providers, tmp_path, playbook_id, old, new, revokes=False, clock=clock
    )

    assert view.state != RunState.COMPLETED
    assert view.steps["revoke-old"].state == "succeeded"
    assert view.steps[STEP].state == "failed"
    assert view.steps[STEP].retries == 4  # the playbook's retry policy: 5 attempts in all
    assert len(clock.waits) >= 4 and clock.waits[0] < clock.waits[-1]  # backed off between
    assert "still accepts the old credential" in view.diagnostic
    monkeypatch.setenv("VAULT_ADDR", openbao.url)
    monkeypatch.setenv("VAULT_TOKEN", openbao.token)
    if playbook_id == "stripe-key":  # once through the CLI with the real clock (~30 s of backoff)
        code, out = run_cli(["playbook", "resume", view.run_id, "--db", str(db)])
        assert code != 0, out
        assert old not in out and new not in out
    else:
        options = engine.EngineOptions(
            clock=QuickClock(),
            yes=True,
            backend_overrides=_overrides(openbao, None),
            rng=random.Random(1),
            approval_timeout=0,
        )
        with Journal.open(db) as journal:
            assert engine.resume_run(journal, view.run_id, options).state == RunState.PAUSED
    with Journal.open(db) as journal:
        assert journal.view(view.run_id).state != RunState.COMPLETED

    providers.live.discard(old)  # now the operator revokes it in the dashboard
    code, out = run_cli(["playbook", "resume", view.run_id, "--db", str(db)])
    assert code == 0, out
    with Journal.open(db) as journal:
        resumed = journal.view(view.run_id)
    assert resumed.state == RunState.COMPLETED, resumed.diagnostic
    assert (resumed.outputs["provider_old"], resumed.outputs["provider_new"]) == ("revoked", "live")
    assert old.encode() not in db.read_bytes() and new.encode() not in db.read_bytes()


def test_a_provider_rejecting_the_new_key_keeps_the_run_from_completing(
    openbao: OpenBao, providers: ProviderFake, tmp_path: Path
) -> None:
    """The operator pasted a key of the right shape that Stripe does not accept (never issued,
    or already expired): the old key is revoked, but the run is not completed."""
    old, new = OLD_NEW["stripe-key"]
    view, _ = _dashboard_run(
        openbao, providers, tmp_path, "stripe-key", old, new, new_live=False, clock=QuickClock()
    )
    assert view.state != RunState.COMPLETED
    assert view.steps[STEP].state == "failed"
    assert "rejects the new credential" in view.diagnostic
    assert "still accepts the old" not in view.diagnostic  # the old one was revoked


SB_OLD = "sb_secret_d4dx_d1ClWYth6PuZ_8NINBcRisYZjB"
SB_NEW = "sb_secret_bXp_4xP-D0CzfcOXDQJ9foajjYK3VAx"


def test_supabase_secret_keys_name_no_project_so_the_provider_check_must_be_turned_off(
    openbao: OpenBao, providers: ProviderFake, tmp_path: Path
) -> None:
    """An sb_secret_ key carries no project ref: the verifier cannot ask Supabase about it. The
    step fails at once (no retry can help) unless the operator turns it off explicitly."""
    view, _ = _dashboard_run(openbao, providers, tmp_path, "supabase-service-role", SB_OLD, SB_NEW)
    assert view.state != RunState.COMPLETED
    assert view.steps[STEP].state == "failed"
    assert view.steps[STEP].retries == 0
    assert "cannot check the old and new credential's shape" in view.diagnostic
    assert not providers.requests  # nothing to ask: no project host

    off = tmp_path / "off"
    off.mkdir()
    view, _ = _dashboard_run(
        openbao, providers, off, "supabase-service-role", SB_OLD, SB_NEW, provider_check=False
    )
    assert view.state == RunState.COMPLETED, view.diagnostic
    assert view.steps[STEP].state == "skipped"
    assert view.outputs["provider_old"] is None
