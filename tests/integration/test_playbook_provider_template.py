"""Template-built provider playbooks (playbooks/templates/manual-provider-key.yaml) end to end
against the real OpenBao dev server and the local provider fakes (tests/support/provider_fakes.py,
reached through ``LEAKGUARD_VERIFY_ENDPOINTS``), as test_playbook_e2e.py runs stripe-key.

The operator rolls the new key (the manual issuer reads it from a 0600 value_file) and confirms
revoking the old one; the fake accepts the leaked key until then, when the operator revokes it.
A run whose provider has a verifier is completed only on the provider's word: old revoked, new
live. A template-built playbook whose provider has no verifier has no provider step at all."""

from __future__ import annotations

import os
import random
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import pytest

from leakguard.graph.interface import StoreRef
from leakguard.rotation import runner as engine
from leakguard.rotation.actions import REGISTRY
from leakguard.rotation.journal import Journal, RunState
from leakguard.rotation.planner import rehearse_playbook
from leakguard.rotation.providers import resolve_playbook, template_path
from tests.integration.test_playbook_e2e import _Operator, _overrides, _value_file
from tests.integration.test_playbook_helpers import seed_kv_secret
from tests.support.cli import run_cli
from tests.support.clocks import QuickClock
from tests.support.graphs import save_graph
from tests.support.provider_fakes import ProviderFake, provider_fake
from tests.support.servers import OpenBao

STEP = "provider-rejects-old"
_RANDOM = random.Random(14)


def _token(length: int) -> str:
    return "".join(_RANDOM.choice(string.ascii_letters + string.digits) for _ in range(length))


#: template-built playbooks with a verifier: (verifier, leaked key, new key), shapes of their rules
KEYS = {
    "openai-api-key": ("openai", "sk-proj-" + _token(48), "sk-proj-" + _token(48)),
    "gitlab-token": ("gitlab", "glpat-" + _token(20), "glpat-" + _token(20)),
    "anthropic-api-key": (
        "anthropic",
        "sk-ant-api03-" + _token(93) + "AA",
        "sk-ant-api03-" + _token(93) + "AA",
    ),
}


@pytest.fixture()
def providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[ProviderFake]:
    with provider_fake() as fake:
        endpoints = fake.endpoints(*sorted({verifier for verifier, _, _ in KEYS.values()}))
        monkeypatch.setenv(
            "LEAKGUARD_VERIFY_ENDPOINTS", ",".join(f"{n}={u}" for n, u in endpoints.items())
        )
        yield fake


def _run(
    openbao: OpenBao,
    fake: ProviderFake,
    tmp_path: Path,
    playbook_id: str,
    old: str,
    new: str,
    *,
    revokes: bool = True,
    clock: QuickClock | None = None,
    **extra: Any,
) -> tuple[Any, Path, str]:
    """A vault-backed run of a template-built playbook (resolved by id, as ``playbook run``
    does); the fake accepts ``old`` until the operator revokes it (when ``revokes``) and ``new``
    from the start."""
    _, path = seed_kv_secret(openbao, f"lg-tpl/{playbook_id}", {"value": old})
    db = tmp_path / "lg.db"
    fp = save_graph(db, old, StoreRef("vault-kv2", path, "secret"), [])
    inputs: dict[str, Any] = {
        "credential": fp, "secret": path, "store": "vault", "overlap": "1s",
        "move_timeout": "1m", "value_file": _value_file(tmp_path, new), **extra,
    }  # fmt: skip
    fake.live.update({old, new})
    operator = _Operator(fake, old, revokes=revokes)
    playbook = resolve_playbook(playbook_id, REGISTRY)
    assert playbook.path == template_path()  # built from the template, not a file
    options = engine.EngineOptions(
        **({"clock": clock} if clock is not None else {}),
        operator=operator,
        yes=True,
        time_scale=0.002,
        graph=engine.open_graph(db),
        backend_overrides=_overrides(openbao, None),
        rng=random.Random(0),
        approval_timeout=0,
    )
    with Journal.open(db) as journal:
        view = engine.start_run(journal, playbook, inputs, options)
    assert any("Revoke the old" in prompt for prompt in operator.confirmed)
    return view, db, path


@pytest.mark.parametrize("playbook_id", sorted(KEYS))
def test_a_template_playbook_completes_on_the_providers_word(
    openbao: OpenBao, providers: ProviderFake, tmp_path: Path, playbook_id: str
) -> None:
    verifier, old, new = KEYS[playbook_id]
    view, db, path = _run(openbao, providers, tmp_path, playbook_id, old, new)

    assert view.state == RunState.COMPLETED, view.diagnostic
    assert view.steps[STEP].state == "succeeded"
    assert (view.outputs["provider_old"], view.outputs["provider_new"]) == ("revoked", "live")
    asked = [p for _, p in providers.requests]
    assert len(asked) == 2 and all(p.startswith(f"/{verifier}/") for p in asked), asked
    evidence = view.steps[STEP].outputs["evidence"]
    assert (evidence["old"]["http_status"], evidence["new"]["http_status"]) == (401, 200)
    root = hvac.Client(url=openbao.url, token=openbao.token)
    stored = root.secrets.kv.v2.read_secret_version(path=path, raise_on_deleted_version=True)
    assert stored["data"]["data"]["value"] == new
    assert old.encode() not in db.read_bytes() and new.encode() not in db.read_bytes()


def test_a_provider_still_accepting_the_old_key_keeps_a_template_run_from_completing(
    openbao: OpenBao,
    providers: ProviderFake,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The operator confirms the revocation without doing it: the step fails after its retries,
    a resume exits non-zero, and once the key really is revoked a resume completes the run."""
    _, old, new = KEYS["openai-api-key"]
    clock = QuickClock()  # the backoff schedule is followed and recorded, not slept
    view, db, _ = _run(
        openbao, providers, tmp_path, "openai-api-key", old, new, revokes=False, clock=clock
    )

    assert view.state != RunState.COMPLETED
    assert view.steps["revoke-old"].state == "succeeded"
    assert view.steps[STEP].state == "failed"
    assert view.steps[STEP].retries == 4  # the template's retry policy: 5 attempts in all
    assert len(clock.waits) >= 4 and clock.waits[0] < clock.waits[-1]  # backed off between
    assert "still accepts the old credential" in view.diagnostic
    monkeypatch.setenv("VAULT_ADDR", openbao.url)
    monkeypatch.setenv("VAULT_TOKEN", openbao.token)
    options = engine.EngineOptions(  # a resume while the provider still accepts it: no better
        clock=QuickClock(),
        yes=True,
        backend_overrides=_overrides(openbao, None),
        rng=random.Random(1),
        approval_timeout=0,
    )
    with Journal.open(db) as journal:
        assert engine.resume_run(journal, view.run_id, options).state == RunState.PAUSED

    providers.live.discard(old)  # now the operator revokes it in the dashboard
    code, out = run_cli(["playbook", "resume", view.run_id, "--db", str(db)])
    assert code == 0, out
    with Journal.open(db) as journal:
        resumed = journal.view(view.run_id)
    assert resumed.state == RunState.COMPLETED, resumed.diagnostic
    assert (resumed.outputs["provider_old"], resumed.outputs["provider_new"]) == ("revoked", "live")


def test_provider_check_false_skips_the_step_explicitly(
    openbao: OpenBao, providers: ProviderFake, tmp_path: Path
) -> None:
    """For a key its verifier cannot answer for (a Datadog key of another site), the operator
    turns the step off with an input the run journals: reported skipped, nothing asked."""
    _, old, new = KEYS["gitlab-token"]
    view, _, _ = _run(
        openbao, providers, tmp_path, "gitlab-token", old, new, revokes=False, provider_check=False
    )
    assert view.state == RunState.COMPLETED, view.diagnostic
    assert view.steps[STEP].state == "skipped"
    assert view.outputs["provider_old"] is None
    assert not providers.requests


def test_a_template_playbook_without_a_verifier_has_no_provider_step(
    openbao: OpenBao, providers: ProviderFake, tmp_path: Path
) -> None:
    """slack-app-token also rotates refresh and workspace tokens the slack verifier does not
    check: the step is absent (not passed), and no provider is asked."""
    old = "xoxb-" + "".join(_RANDOM.choice(string.digits) for _ in range(12)) + "-"
    old += "".join(_RANDOM.choice(string.digits) for _ in range(13)) + "-" + _token(24)
    new = old[:-24] + _token(24)
    view, _, _ = _run(openbao, providers, tmp_path, "slack-app-token", old, new)
    assert view.state == RunState.COMPLETED, view.diagnostic
    assert STEP not in view.steps and "provider_old" not in view.outputs
    assert not providers.requests


@pytest.mark.slow
def test_a_rehearsal_skips_the_provider_step_of_a_template_playbook(
    tmp_path: Path, providers: ProviderFake
) -> None:
    """The rehearsal sandbox has no OpenAI: the step is reported skipped, never passed, and the
    provider is not asked even with its test endpoint set."""
    _, _, new = KEYS["openai-api-key"]
    db = tmp_path / "lg.db"
    fp = save_graph(db, "leaked-" + "t" * 30, StoreRef("vault-kv2", "app/tpl", "secret"), [])
    value_file = tmp_path / "new-key"
    value_file.write_text(new)
    os.chmod(value_file, 0o600)
    providers.live.add(new)
    options = engine.EngineOptions(graph=engine.open_graph(db), time_scale=0.0005, yes=True)
    with Journal.open(db) as journal:
        report = rehearse_playbook(
            journal,
            resolve_playbook("openai-api-key", REGISTRY),
            {"credential": fp, "secret": "app/tpl", "value_file": str(value_file)},
            options,
        )
    assert report.run.state == RunState.COMPLETED, report.run.diagnostic
    timings = {t.step_id: t for t in report.timings}
    assert timings["revoke-old"].state == "succeeded"
    assert timings[STEP].state == "skipped"
    assert report.run.outputs["provider_old"] is None
    assert not providers.requests


SHOPIFY_OLD = "shpat_" + "".join(_RANDOM.choice("0123456789abcdef") for _ in range(32))
SHOPIFY_NEW = "shpat_" + "".join(_RANDOM.choice("0123456789abcdef") for _ in range(32))


@pytest.fixture()
def shopify(monkeypatch: pytest.MonkeyPatch) -> Iterator[ProviderFake]:
    """The fake of shop acme's Admin API, standing in for https://acme.myshopify.com only."""
    with provider_fake() as fake:
        monkeypatch.setenv("LEAKGUARD_VERIFY_ENDPOINTS", f"shopify@acme={fake.url}/shopify.acme")
        fake.regions.update({SHOPIFY_OLD: "acme", SHOPIFY_NEW: "acme"})
        yield fake


def test_the_shopify_playbook_asks_the_shop_the_operator_names(
    openbao: OpenBao, shopify: ProviderFake, tmp_path: Path
) -> None:
    view, _, _ = _run(
        openbao,
        shopify,
        tmp_path,
        "shopify-app-credential",
        SHOPIFY_OLD,
        SHOPIFY_NEW,
        shop="acme.myshopify.com",
    )
    assert view.state == RunState.COMPLETED, view.diagnostic
    assert (view.outputs["provider_old"], view.outputs["provider_new"]) == ("revoked", "live")
    assert view.steps[STEP].outputs["identity"]["domain"] == "acme.myshopify.com"
    graphql = "/shopify.acme/admin/api/2026-07/graphql.json"
    assert shopify.requests == [("POST", graphql), ("POST", graphql)]


def test_the_shopify_playbook_refuses_a_shop_that_is_not_one(
    openbao: OpenBao, shopify: ProviderFake, tmp_path: Path
) -> None:
    view, _, _ = _run(
        openbao,
        shopify,
        tmp_path,
        "shopify-app-credential",
        SHOPIFY_OLD,
        SHOPIFY_NEW,
        shop="acme.myshopify.com.evil.com",
    )
    assert view.state != RunState.COMPLETED
    assert view.steps[STEP].state == "failed"
    assert "invalid --shopify-shop" in view.diagnostic
    assert shopify.requests == []
