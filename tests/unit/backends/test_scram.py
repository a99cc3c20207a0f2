"""SCRAM-SHA-256 keys against RFC 7677's published exchange (user "user", password "pencil")."""

from __future__ import annotations

import base64
import hashlib
import hmac

from leakguard.backends.postgres import new_password, scram_keys, scram_verifier

SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
CLIENT_FIRST_BARE = "n=user,r=rOprNGfwEbeRWgbNEkqO"
SERVER_FIRST = (
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
)
CLIENT_FINAL_BARE = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
RFC_PROOF = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
RFC_SERVER_SIGNATURE = "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def test_keys_reproduce_the_rfc_7677_exchange() -> None:
    client_key, stored_key, server_key = scram_keys("pencil", SALT, 4096)
    auth = f"{CLIENT_FIRST_BARE},{SERVER_FIRST},{CLIENT_FINAL_BARE}".encode()
    signature = hmac.new(stored_key, auth, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    assert base64.b64encode(proof).decode() == RFC_PROOF
    server_signature = hmac.new(server_key, auth, hashlib.sha256).digest()
    assert base64.b64encode(server_signature).decode() == RFC_SERVER_SIGNATURE


def test_the_verifier_has_postgres_stored_form() -> None:
    verifier = scram_verifier("pencil", salt=SALT)
    _, stored, server = scram_keys("pencil", SALT, 4096)
    assert verifier == (
        "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"
        f"{base64.b64encode(stored).decode()}:{base64.b64encode(server).decode()}"
    )
    assert "pencil" not in verifier


def test_new_passwords_need_no_escaping() -> None:
    values = {new_password() for _ in range(50)}
    assert len(values) == 50
    assert all(len(v) == 32 and v.isalnum() for v in values)
