from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.graph import ids
from leakguard.graph.interface import EdgeKind, StoreRef
from leakguard.graph.inventory import load_inventory
from leakguard.graph.queries import Graph
from leakguard.graph.references import ReferenceError, add_references, scan_references
from leakguard.redact import fingerprint
from tests.unit.graph.configs import write_configs

KEY = "sk_live_" + "51HqLyjWDarjtT1zdp7dc9f2cQx"


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    return write_configs(tmp_path / "shop", KEY)


def _reads(refs: list, consumer: str) -> set[str]:  # type: ignore[type-arg]
    return {r.store.id for r in refs if r.consumer == consumer and r.store is not None}


def test_every_reference_kind_is_found(repo: Path) -> None:
    refs, _ = scan_references(repo)
    assert _reads(refs, "payments-api") == {
        "store:kubernetes:pay/stripe-secret",
        "store:vault-kv2:secret/payments/stripe",
    }
    assert _reads(refs, "billing") == {"store:aws-secretsmanager:prod/db"}
    assert _reads(refs, "github-actions:deploy") == {
        "store:github-actions:shop/STRIPE_KEY",
        "store:vault-kv2:secret/ci/deploy",
    }
    assert _reads(refs, "gitlab-ci:deploy") == {
        "store:gitlab-ci:shop/DEPLOY_TOKEN",
        "store:vault-kv2:ops/production/db",
        "store:vault-kv2:kv/team/api",
    }
    assert _reads(refs, "terraform:infra") == {"store:aws-secretsmanager:prod/partner/token"}
    declared = {r.store.id for r in refs if r.consumer is None and r.store is not None}
    assert declared == {
        "store:aws-secretsmanager:prod/payments/stripe",
        "store:vault-kv2:secret/payments/db",
    }
    assert _reads(refs, "services") == {
        "store:vault-kv2:secret/payments/stripe",
        "store:aws-secretsmanager:prod/db",
    }
    assert _reads(refs, "scripts") == {
        "store:vault-kv2:secret/payments/stripe",
        "store:vault-kv2:kv/team/api",
        "store:aws-secretsmanager:prod/payments/stripe",
        "store:vault-kv2:secret/billing/token",
        "store:vault-kv2:kv/team/hook",
    }
    assert not any("ignored" in (r.store.path if r.store else "") for r in refs)
    fp = fingerprint(KEY)
    holders = {(r.consumer, r.stored_value) for r in refs if r.value_fp == fp}
    assert holders == {("payments-api", False), ("web", False), ("ledger", False), (None, True)}
    # references carry file and line
    hvac_ref = next(r for r in refs if r.detail == "hvac read_secret_version")
    assert (hvac_ref.file, hvac_ref.line) == ("services/payments/app.py", 5)


def test_values_are_kept_only_when_they_are_a_known_credential(repo: Path) -> None:
    refs, _ = scan_references(repo)
    g = Graph()
    cred = g.add_credential(fingerprint(KEY), provider="stripe")
    add_references(g, refs, root=repo)
    users = {n for n in g.in_edges(cred, EdgeKind.USES)}
    assert users == {ids.consumer("payments-api"), ids.consumer("web"), ids.consumer("ledger")}
    stripe = StoreRef("aws-secretsmanager", "prod/payments/stripe")
    assert list(g.out_edges(cred, EdgeKind.STORED_IN)) == [stripe.id]
    assert g.node(stripe.id)["declared_at"] == "infra/main.tf:1"
    # "hello", "prod" and other values are in no node, edge or evidence
    dump = repr(list(g.g.nodes(data=True))) + repr(list(g.g.edges(data=True)))
    assert fingerprint("hello") not in dump and KEY not in dump
    radius = g.blast_radius(fingerprint(KEY))
    assert {c.name for c in radius.consumers} == {
        "payments-api",
        "web",
        "ledger",
        "scripts",
    }  # scripts read the Terraform-held store
    ev = g.evidence(
        ids.consumer("payments-api"), "store:vault-kv2:secret/payments/stripe", EdgeKind.READS
    )
    assert ev[0].source == "config:shop/k8s/payments.yaml"
    assert "via ExternalSecret stripe" in ev[0].detail


def test_inventory_paths_name_the_consumer(repo: Path, tmp_path: Path) -> None:
    inv = tmp_path / "leakguard.yaml"
    inv.write_text("services:\n  - name: payments\n    paths: [services/payments/**]\n")
    refs, _ = scan_references(repo, load_inventory(inv))
    assert "payments" in {r.consumer for r in refs}
    assert "services" not in {r.consumer for r in refs}


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ReferenceError, match="not found"):
        scan_references(tmp_path / "nope")


def test_unparsable_yaml_is_skipped_with_a_warning(tmp_path: Path) -> None:
    chart = tmp_path / "chart" / "templates"
    chart.mkdir(parents=True)
    (chart / "deploy.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: {{ .Values.name }}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec:\n  containers:\n"
        "    - name: c\n      envFrom: [{secretRef: {name: app-secret}}]\n"
    )
    refs, warnings = scan_references(tmp_path)
    assert [r.store.id for r in refs if r.store] == ["store:kubernetes:default/app-secret"]
    assert len(warnings) == 1 and "deploy.yaml:3" in warnings[0]


def test_a_terraform_secret_version_names_its_own_secret(tmp_path: Path) -> None:
    # the second version's name ("api") appears before the first version block in the file
    (tmp_path / "main.tf").write_text(
        'resource "aws_secretsmanager_secret" "db" {\n  name = "prod/api-db"\n}\n'
        'resource "aws_secretsmanager_secret" "api" {\n  name = "prod/api"\n}\n'
        'resource "aws_secretsmanager_secret_version" "db" {\n'
        "  secret_id     = aws_secretsmanager_secret.db.id\n"
        '  secret_string = "db-value"\n}\n'
        'resource "aws_secretsmanager_secret_version" "api" {\n'
        "  secret_id     = aws_secretsmanager_secret.api.arn\n"
        '  secret_string = "api-value"\n}\n'
    )
    refs, _ = scan_references(tmp_path)
    held = {r.value_fp: r.store.path for r in refs if r.stored_value and r.store is not None}
    assert held == {fingerprint("db-value"): "prod/api-db", fingerprint("api-value"): "prod/api"}
