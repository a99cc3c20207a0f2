"""Offline validators, registered by name. A rule names one in its ``validator`` key.

Each entry is a :class:`ValidatorSpec`: the check, a summary and the parameters it accepts.
Parameters are checked (and compiled) when the rule file loads. A validator never raises on
odd input and never puts the secret in its ``detail``: what it returns may reach reports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from leakguard.engine import (
    aws,
    bech32,
    checksums,
    encoded,
    generic,
    jwt,
    keys,
    pairing,
    pgp,
    structure,
    urls,
)
from leakguard.engine import params as p
from leakguard.engine.filters import shannon_entropy
from leakguard.engine.interface import Candidate, Validator, ValidatorSpec, Verdict


def _accept_all(candidate: Candidate, params: Mapping[str, Any]) -> Verdict:
    return Verdict(accept=True)


_ENTROPY_PARAMS = {
    "min": "Shannon entropy floor in bits per character (default 3.0)",
    "skip": "characters at the start not counted (a vendor prefix)",
}


def _prepare_entropy(params: Mapping[str, Any]) -> Mapping[str, Any]:
    p.only(params, _ENTROPY_PARAMS)
    return {"min": p.number(params, "min", 3.0), "skip": p.integer(params, "skip", 0, 0, 64)}


def _entropy(candidate: Candidate, params: Mapping[str, Any]) -> Verdict:
    value = candidate.secret[int(params.get("skip", 0)) :]
    bits = shannon_entropy(value)
    if bits < float(params.get("min", 3.0)):
        return Verdict.reject(f"entropy {bits:.2f} below the floor")
    return Verdict(accept=True, detail=f"entropy {bits:.2f} bits/char")


SPECS: Mapping[str, ValidatorSpec] = {
    "none": ValidatorSpec(_accept_all, "accepts every match", {}, lambda params: {}),
    "entropy": ValidatorSpec(
        _entropy, "rejects values less random than a floor", _ENTROPY_PARAMS, _prepare_entropy
    ),
    "github_checksum": ValidatorSpec(
        checksums.crc32_token,
        "GitHub token: last 6 characters are the base62 CRC32 of the 30 before them",
        checksums.PARAMS,
        checksums.prepare,
    ),
    "npm_checksum": ValidatorSpec(
        checksums.crc32_token,
        "npm token: last 6 characters are the base62 CRC32 of the 30 before them",
        checksums.PARAMS,
        checksums.prepare,
    ),
    "aws_pairing": ValidatorSpec(
        aws.aws_pairing,
        "AWS key id paired with its secret access key nearby; account id decoded from the id",
        aws.PARAMS,
        aws.prepare,
        memo_context=aws.pairing_context,
    ),
    "pairing": ValidatorSpec(
        pairing.pairing,
        "reports a value and its partner found a few lines away as one credential",
        pairing.PARAMS,
        pairing.prepare,
    ),
    "jwt": ValidatorSpec(
        jwt.jwt_claims,
        "decodes a JWT, matches claims, classifies it (signed, expired, unsigned)",
        jwt.PARAMS,
        jwt.prepare,
        memo_context=jwt.token_context,
    ),
    "private_key": ValidatorSpec(
        keys.private_key,
        "PEM or OpenSSH private key: base64 body decodes to a key structure",
        keys.PEM_PARAMS,
        keys.prepare_pem,
    ),
    "gcp_service_account": ValidatorSpec(
        keys.gcp_service_account,
        "Google Cloud service-account JSON with a well-formed private_key and client_email",
        keys.GCP_PARAMS,
        keys.prepare_gcp,
    ),
    "connection_url": ValidatorSpec(
        urls.connection_url,
        "password in a connection URL that is not a template; host and user as attributes",
        urls.PARAMS,
        urls.prepare,
        memo_context=urls.url_context,
    ),
    # detection breadth, part A: bech32, base64 structures, OpenPGP armor, the generic rule
    "bech32": bech32.SPEC,
    "base64_bytes": encoded.BYTES_SPEC,
    "base64_json": encoded.JSON_SPEC,
    "basic_auth_base64": encoded.AUTH_SPEC,
    "pkcs12_base64": encoded.PKCS12_SPEC,
    "kubernetes_secret": encoded.KUBERNETES_SPEC,
    "pgp_private_key": pgp.SPEC,
    "generic_secret": generic.SPEC,
    # rules-b
    "base64_structure": ValidatorSpec(
        structure.base64_structure,
        "a base64 segment of the token decodes to the provider's fixed structure",
        structure.PARAMS,
        structure.prepare,
    ),
}

VALIDATORS: Mapping[str, Validator] = {name: spec.check for name, spec in SPECS.items()}
#: the validators whose verdict an engine may reuse, with what it depends on besides the secret
MEMO_CONTEXTS: Mapping[str, Callable[[Candidate, Mapping[str, Any]], bytes]] = {
    name: spec.memo_context for name, spec in SPECS.items() if spec.memo_context is not None
}
#: of those, the ones whose context is read from the chunk, the secret's start and the match's
#: groups alone, by a function of these (the same context without a candidate built for each
#: match: a value repeated through a bundle is looked up thousands of times)
MEMO_CONTEXTS_AT: Mapping[str, Callable[[bytes, int, Mapping[str, bytes | None]], bytes]] = {
    name: at
    for name, at in (("generic_secret", generic.name_at),)
    if SPECS[name].memo_context is not None
}


def prepare_params(name: str, params: Mapping[str, Any]) -> Mapping[str, Any]:
    """Check a rule's parameters for validator ``name``; ``ValueError`` says what is wrong."""
    spec = SPECS[name]
    if spec.prepare is None:
        p.only(params, spec.params)
        return dict(params)
    return spec.prepare(params)
