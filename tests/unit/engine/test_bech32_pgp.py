"""Checksums of age keys (bech32) and OpenPGP armor (CRC-24), against published vectors and keys
made by the real tools."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakguard.engine import bech32, pgp
from leakguard.engine.interface import Candidate
from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet
from leakguard.model import Severity

ALL = RuleSet.load()

# BIP-173, "Test vectors": valid and invalid bech32 strings.
BIP173_VALID = [
    "A12UEL5L",
    "a12uel5l",
    "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
    "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
    "11" + "q" * 82 + "c8247j",
    "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    "?1ezyfcl",
]
BIP173_INVALID = [
    "pzry9x0s0muk",  # no separator
    "1pzry9x0s0muk",  # empty HRP
    "x1b4n0q5v",  # invalid data character
    "li1dgmt3",  # checksum too short
    "A1G7SGD8",  # checksum computed with the upper-case HRP
    "10a06t8",  # empty HRP
    "1qzzfhee",  # empty HRP
    "a12UEL5L",  # mixed case
]
# The age testkit's identity: 32 bytes of 0x42.
AGE_TESTKIT_IDENTITY = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"


def _candidate(secret: str, rule_id: str = "t") -> Candidate:
    raw = secret.encode()
    return Candidate(rule_id, raw, 0, len(raw), raw, {})


@pytest.mark.parametrize("text", BIP173_VALID)
def test_bip173_valid_strings_decode(text: str) -> None:
    assert bech32.decode(text) is not None


@pytest.mark.parametrize("text", BIP173_INVALID)
def test_bip173_invalid_strings_are_rejected(text: str) -> None:
    assert bech32.decode(text) is None


def test_age_identity_payload_and_rule() -> None:
    decoded = bech32.decode(AGE_TESTKIT_IDENTITY)
    assert decoded is not None and decoded[0] == "age-secret-key-"
    assert bech32.to_bytes(decoded[1]) == b"\x42" * 32
    params = {"hrp": "age-secret-key-", "bytes": 32}
    assert bech32.bech32_checksum(_candidate(AGE_TESTKIT_IDENTITY), params).accept
    flipped = AGE_TESTKIT_IDENTITY[:-1] + "Y"
    assert not bech32.bech32_checksum(_candidate(flipped), params).accept
    other_hrp = {"hrp": "age-plugin-", "bytes": 32}
    assert not bech32.bech32_checksum(_candidate(AGE_TESTKIT_IDENTITY), other_hrp).accept
    found = Engine(ALL, "re").scan_text(f"# key\n{AGE_TESTKIT_IDENTITY}\n")
    assert [f.rule_id for f in found] == ["age-secret-key"]


def test_bech32_params_are_checked() -> None:
    with pytest.raises(ValueError):
        bech32.prepare({"hrp": "AGE"})
    with pytest.raises(ValueError):
        bech32.prepare({"hrp": "age", "colour": 1})


def test_crc24_check_value() -> None:
    # CRC-24/OPENPGP (RFC 4880 6.1); check value from the CRC RevEng catalogue.
    assert pgp.crc24(b"123456789") == 0x21CF02
    assert pgp.crc24(b"") == 0xB704CE


def _gpg(home: Path, *args: str, stdin: bytes | None = None) -> bytes:
    env = {**os.environ, "GNUPGHOME": str(home)}
    run = subprocess.run(
        ["gpg", "--batch", "--yes", "--pinentry-mode", "loopback", *args],
        input=stdin,
        env=env,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return run.stdout


@pytest.fixture()
def gpg_homes(tmp_path: Path) -> Iterator[Path]:
    """gpg starts an agent per home that outlives it: stopped here, whatever the test did."""
    yield tmp_path
    for home in (tmp_path / "gnupg", tmp_path / "gnupg2"):
        if home.exists() and shutil.which("gpgconf"):
            subprocess.run(
                ["gpgconf", "--homedir", str(home), "--kill", "all"],
                capture_output=True,
                timeout=30,
                check=False,
            )


@pytest.mark.skipif(shutil.which("gpg") is None, reason="needs the gpg binary")
def test_keys_exported_by_gpg(gpg_homes: Path) -> None:
    tmp_path = gpg_homes
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    _gpg(home, "--passphrase", "", "--quick-gen-key", "Test <t@leakguard.invalid>", "ed25519")
    plain = _gpg(home, "--passphrase", "", "--armor", "--export-secret-keys").decode()
    _gpg(home, "--passphrase", "", "--quick-gen-key", "Locked <l@leakguard.invalid>", "rsa2048")
    engine = Engine(ALL, "re")
    found = engine.scan_text(plain)
    assert [(f.rule_id, f.severity) for f in found] == [("pgp-private-key", Severity.CRITICAL)]
    home2 = tmp_path / "gnupg2"
    home2.mkdir(mode=0o700)
    _gpg(home2, "--passphrase", "correct horse", "--quick-gen-key", "L <l@x.invalid>", "ed25519")
    locked = _gpg(home2, "--passphrase", "correct horse", "--armor", "--export-secret-keys")
    found = engine.scan_text(locked.decode())
    assert [(f.rule_id, f.severity) for f in found] == [("pgp-private-key", Severity.MEDIUM)]
    public = _gpg(home, "--armor", "--export").decode()
    assert engine.scan_text(public) == []
    broken = plain.replace(plain.splitlines()[3], plain.splitlines()[3][::-1])
    assert engine.scan_text(broken) == []


def test_pgp_block_without_a_secret_key_packet() -> None:
    armor = "PGP PRIVATE KEY BLOCK-----"
    block = f"-----BEGIN {armor}\n\nmDMEZmF0aGVyCQ==\n-----END {armor}"
    assert not pgp.pgp_private_key(_candidate(block), {}).accept
