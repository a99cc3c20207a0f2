"""Base64 structures: key sizes, JSON token payloads, user:password pairs, PKCS#12 files made by
a real library, Kubernetes Secret manifests."""

from __future__ import annotations

import base64
import datetime
import json
import random

import pytest

from leakguard.engine import encoded
from leakguard.engine.interface import Candidate
from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet

ALL = RuleSet.load()


def _candidate(secret: bytes, data: bytes | None = None, **groups: bytes) -> Candidate:
    data = secret if data is None else data
    start = data.find(secret)
    return Candidate("t", secret, start, start + len(secret), data, groups)


def test_base64_bytes() -> None:
    params = encoded.prepare_bytes({"lengths": [32]})
    key = base64.b64encode(bytes(range(32)))
    assert encoded.base64_bytes(_candidate(key), params).accept
    assert not encoded.base64_bytes(_candidate(base64.b64encode(bytes(16))), params).accept
    assert not encoded.base64_bytes(_candidate(base64.b64encode(b"\0" * 32)), params).accept
    assert not encoded.base64_bytes(_candidate(b"not base64 at all!"), params).accept
    sas = encoded.prepare_bytes({"lengths": [32], "group": "sig", "percent": True})
    sig = base64.b64encode(bytes(range(100, 132))).replace(b"=", b"%3D")
    assert encoded.base64_bytes(_candidate(b"sv=2022", sig=sig), sas).accept
    with pytest.raises(ValueError):
        encoded.prepare_bytes({"lengths": []})


def test_base64_json_payloads() -> None:
    params = encoded.prepare_json({"keys": ["o", "k"], "attributes": {"org": "o"}})
    good = base64.b64encode(json.dumps({"o": "42", "n": "ci", "k": "abc"}).encode())
    verdict = encoded.base64_json(_candidate(good), params)
    assert verdict.accept and verdict.attributes == (("org", "42"),)
    missing = base64.b64encode(json.dumps({"o": "42"}).encode())
    assert not encoded.base64_json(_candidate(missing), params).accept
    assert not encoded.base64_json(_candidate(base64.b64encode(b"[1, 2]")), params).accept
    assert not encoded.base64_json(_candidate(b"eyJ!!!"), params).accept


def test_basic_auth_pairs() -> None:
    params = encoded.prepare_auth({"min_password": 8})
    good = base64.b64encode(b"deploy:Zq8vKf3LxT9pWm2R")
    verdict = encoded.basic_auth_base64(_candidate(good), params)
    assert verdict.accept and verdict.attributes == (("user", "deploy"),)
    for bad in (b"user:password", b"nocolon", b"u:short", b":emptyuser1234", b"user:xxxxxxxxxx"):
        assert not encoded.basic_auth_base64(_candidate(base64.b64encode(bad)), params).accept


def _pfx(password: bytes | None) -> bytes:
    crypto = pytest.importorskip("cryptography")
    assert crypto
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leakguard.invalid")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(b"test", key, cert, None, encryption)


@pytest.mark.parametrize("password", [None, b"correct horse"])
def test_pkcs12_made_by_the_cryptography_library(password: bytes | None) -> None:
    der = _pfx(password)
    assert encoded.is_pkcs12(der)
    text = base64.b64encode(der).decode()
    found = Engine(ALL, "re").scan_text(f'{{"certificate": "{text}"}}')
    assert [f.rule_id for f in found] == ["pkcs12-base64"]
    wrapped = "\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    assert [f.rule_id for f in Engine(ALL, "re").scan_text(f"pfx: |\n{wrapped}\n")] == [
        "pkcs12-base64"
    ]


def test_not_pkcs12() -> None:
    assert not encoded.is_pkcs12(b"\x30\x82\x01\x00\x02\x01\x01" + bytes(300))  # version 1
    cert_like = base64.b64encode(b"\x30\x82\x03\x00\x30\x82\x02\x00" + bytes(64))
    assert not encoded.pkcs12_base64(_candidate(cert_like), {}).accept


SECRET_MANIFEST = b"""apiVersion: v1
kind: Secret
metadata:
  name: db
type: Opaque
data:
  username: b3JkZXJz
  password: @VALUE@
"""
SECRET_MANIFEST = SECRET_MANIFEST.replace(
    b"@VALUE@", base64.b64encode(random.Random(5).randbytes(20))
)


def test_kubernetes_secret_values() -> None:
    params = encoded.prepare_kubernetes({})
    block = SECRET_MANIFEST.split(b"\ndata:\n", 1)[1]
    verdict = encoded.kubernetes_secret(_candidate(block, SECRET_MANIFEST, field=b"data"), params)
    assert verdict.accept and verdict.attributes == (("keys", "password"),)
    config_map = SECRET_MANIFEST.replace(b"kind: Secret", b"kind: ConfigMap")
    assert not encoded.kubernetes_secret(
        _candidate(block, config_map, field=b"data"), params
    ).accept
    two_docs = SECRET_MANIFEST.replace(b"type: Opaque\n", b"type: Opaque\n---\nkind: Other\n")
    assert not encoded.kubernetes_secret(_candidate(block, two_docs, field=b"data"), params).accept
    weak = SECRET_MANIFEST.replace(
        base64.b64encode(random.Random(5).randbytes(20)), b"Y2hhbmdlbWU="
    )
    weak_block = weak.split(b"\ndata:\n", 1)[1]
    assert not encoded.kubernetes_secret(_candidate(weak_block, weak, field=b"data"), params).accept


def test_kubernetes_secret_found_once_in_kubectl_order() -> None:
    value = base64.b64encode(random.Random(3).randbytes(20))  # made here: the file holds none
    kubectl = b"apiVersion: v1\ndata:\n  token: " + value + b"\nkind: Secret\n"
    found = Engine(ALL, "re").scan_text(kubectl.decode())
    assert [f.rule_id for f in found] == ["kubernetes-secret-manifest"]
