from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.errors import GraphError
from leakguard.graph import ids
from leakguard.graph.interface import EdgeKind, StoreRef
from leakguard.graph.inventory import InventoryError, add_inventory, load_inventory, parse_store
from leakguard.graph.queries import Graph

GOOD = """\
services:
  - name: payments-api
    environment: prod
    identities: [vault-approle:payments, "aws:arn:aws:sts::1:assumed-role/pay/s1"]
    reload: {restart: systemctl restart payments-api}
    reads:
      - vault: secret/payments/stripe
      - {vault: payments/db, mount: kv}
      - aws: prod/payments/stripe
    paths: [services/payments/**]
  - name: ledger
    kind: job
    reload: {webhook: https://ledger.internal/reload}
    uses: [sha256:%s]
  - name: partner
    kind: third-party
    reload: none
""" % ("d" * 64)


def test_inventory_declares_consumers_reads_and_reload(tmp_path: Path) -> None:
    inv = tmp_path / "leakguard.yaml"
    inv.write_text(GOOD)
    services = load_inventory(inv)
    assert [s.info.name for s in services] == ["payments-api", "ledger", "partner"]
    pay = services[0]
    assert pay.info.identities == ("vault-approle:payments", "aws:arn:aws:iam::1:role/pay")
    assert pay.reads == (
        StoreRef("vault-kv2", "payments/stripe", "secret"),
        StoreRef("vault-kv2", "payments/db", "kv"),
        StoreRef("aws-secretsmanager", "prod/payments/stripe"),
    )
    assert pay.owns("services/payments/app/main.py") and not pay.owns("services/other/x.py")
    g = Graph()
    assert add_inventory(g, services) == 3
    info = g.consumer_info(ids.consumer("payments-api"))
    assert info.reload.kind == "command" and info.environment == "prod"
    assert g.edge(ids.consumer("payments-api"), "store:vault-kv2:kv/payments/db", EdgeKind.READS)
    assert g.consumer_info(ids.consumer("ledger")).reload.target == "https://ledger.internal/reload"
    assert [c.name for c in g.consumers_of("d" * 64)] == ["ledger"]
    ev = g.evidence(
        ids.consumer("payments-api"),
        StoreRef("vault-kv2", "payments/stripe", "secret").id,
        EdgeKind.READS,
    )
    assert ev[0].source == f"inventory:{inv}" and ev[0].detail == "line 2"


def test_inventory_directory_reads_every_file_and_rejects_duplicates(tmp_path: Path) -> None:
    d = tmp_path / "inventory"
    d.mkdir()
    (d / "a.yaml").write_text("services:\n  - name: a\n")
    (d / "b.yml").write_text("services:\n  - name: b\n")
    assert [s.info.name for s in load_inventory(d)] == ["a", "b"]
    (d / "c.yaml").write_text("services:\n  - name: x\n  - name: a\n")
    with pytest.raises(InventoryError, match=r"c\.yaml:3: service 'a' is already declared"):
        load_inventory(d)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("services:\n  - name: a\n    kind: robot\n", r":3: kind must be one of"),
        ("services:\n  - name: a\n    colour: red\n", r":3: unknown key 'colour'"),
        ("services:\n  - kind: job\n", r":2: a service needs a name"),
        ("services:\n  - name: a\n    reads:\n      - vault: nomount\n", r":4: a vault entry"),
        ("services:\n  - name: a\n    reads:\n      - gcp: x\n", r":4: each reads entry"),
        ("services:\n  - name: a\n    reload: {restart: ''}\n", r":3: reload must be"),
        ("services:\n  - name: a\n    identities: [payments]\n", r":3: identity 'payments'"),
        ("services:\n  - name: a\n    uses: [AKIAXXXX]\n", r":3: uses takes fingerprints"),
        ("services: {a: 1}\n", r":1: services must be a list"),
        ("teams: []\n", r":1: an inventory file holds"),
        ("services:\n  - name: [a\n", r":3: invalid YAML"),
    ],
)
def test_inventory_errors_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    inv = tmp_path / "leakguard.yaml"
    inv.write_text(text)
    with pytest.raises(InventoryError, match=message):
        load_inventory(inv)


def test_missing_inventory_and_store_specs(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="not found"):
        load_inventory(tmp_path / "nope.yaml")
    assert parse_store("vault:secret/a/b") == StoreRef("vault-kv2", "a/b", "secret")
    assert parse_store("aws:arn:aws:secretsmanager:r:1:secret:prod/x-AbCdEf") == StoreRef(
        "aws-secretsmanager", "prod/x"
    )
    with pytest.raises(GraphError, match="cannot read the store entry"):
        parse_store("secret/a/b")


def test_duplicate_within_one_file_names_the_second(tmp_path: Path) -> None:
    inv = tmp_path / "leakguard.yaml"
    inv.write_text("services:\n  - name: a\n  - name: b\n  - name: a\n")
    with pytest.raises(
        InventoryError,
        match=r"leakguard\.yaml:4: service 'a' is already declared"
        r" at .*leakguard\.yaml:2",
    ):
        load_inventory(inv)


def test_inventory_declares_a_credentials_identities(tmp_path: Path) -> None:
    from leakguard.graph.inventory import read_inventory

    fp = "sha256:" + "f" * 64
    inv = tmp_path / "leakguard.yaml"
    inv.write_text(
        'services:\n  - name: deployer\n    identities: ["aws:arn:aws:iam::1:user/deploy"]\n'
        "credentials:\n"
        f"  - fingerprint: {fp}\n"
        '    identities: ["aws:arn:aws:iam::1:user/deploy"]\n'
    )
    inventory = read_inventory(inv)
    (cred,) = inventory.credentials
    assert cred.identities == ("aws:arn:aws:iam::1:user/deploy",) and cred.line == 5
    g = Graph()
    assert add_inventory(g, inventory.services, inventory.credentials) == 2
    ident = ids.identity("aws:arn:aws:iam::1:user/deploy")
    assert list(g.out_edges(ids.credential(fp), EdgeKind.AUTHENTICATES_AS)) == [ident]
    assert g.blast_radius(fp).identities == ("aws:arn:aws:iam::1:user/deploy",)
    inv.write_text("credentials:\n  - fingerprint: AKIA1234\n")
    with pytest.raises(InventoryError, match=r":2: fingerprint must be sha256"):
        read_inventory(inv)
    inv.write_text(f"credentials:\n  - fingerprint: {fp}\n    owner: x\n")
    with pytest.raises(InventoryError, match=r":3: unknown key 'owner'"):
        read_inventory(inv)
