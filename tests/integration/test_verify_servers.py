"""Live verification against real servers: AWS keys against moto (authentication enforced, reached
through the standard AWS_ENDPOINT_URL_STS setting) and OpenBao tokens against a dev server."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from leakguard.backends.aws_sandbox import bootstrap
from leakguard.model import Finding, Location, Severity
from leakguard.redact import fingerprint, redact
from leakguard.verify.interface import Status
from leakguard.verify.runner import VerifyOptions, verify_findings
from tests.support.servers import Moto, OpenBao, free_port


def _finding(provider: str, rule_id: str, secret: str) -> Finding:
    return Finding(
        rule_id,
        provider,
        rule_id,
        Severity.CRITICAL,
        fingerprint(secret),
        redact(secret),
        "file",
        Location("src/deploy.py", 5, 1),
        attributes=(("paired", True),),
    )


def _verify(found: Finding, secret: str, options: VerifyOptions | None = None) -> object:
    answers = verify_findings([found], {found.fingerprint: secret}, options or VerifyOptions())
    return answers[found.fingerprint]


def test_aws_key_live_then_revoked_through_sts(
    auth_moto: Moto, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeder = bootstrap(auth_moto.url, auth_moto.region)
    key = seeder.user_with_key("deploy")
    key_id, key_secret = key["aws_access_key_id"], key["aws_secret_access_key"]
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", auth_moto.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", auth_moto.region)
    pair = f"{key_id}:{key_secret}"
    found = _finding("aws", "aws-access-key", pair)

    live = _verify(found, pair)
    assert live.status == Status.LIVE, live
    assert dict(live.identity)["arn"].endswith(":user/deploy")
    assert key_secret not in json.dumps(live.to_dict())

    iam = seeder._client("iam")
    iam.delete_access_key(UserName="deploy", AccessKeyId=key_id)
    dead = _verify(found, pair)
    assert dead.status == Status.REVOKED, dead


def test_aws_unreachable_endpoint_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{free_port()}")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    pair = "AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    answer = _verify(_finding("aws", "aws-access-key", pair), pair)
    assert answer.status == Status.UNKNOWN


def test_a_key_id_alone_is_unknown_without_a_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{free_port()}")
    answer = _verify(
        _finding("aws", "aws-access-key", "AKIAIOSFODNN7EXAMPLE"), "AKIAIOSFODNN7EXAMPLE"
    )
    assert answer.status == Status.UNKNOWN and "without its secret" in answer.detail


def _bao(
    openbao: OpenBao, method: str, path: str, body: object = None, token: str | None = None
) -> object:
    request = urllib.request.Request(
        f"{openbao.url}/v1/{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"X-Vault-Token": token or openbao.token},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def test_openbao_token_live_then_revoked(openbao: OpenBao) -> None:
    created = _bao(
        openbao, "POST", "auth/token/create", {"display_name": "ci-deploy", "policies": ["default"]}
    )
    token = created["auth"]["client_token"]  # type: ignore[index]
    found = _finding("vault", "vault-service-token", token)
    options = VerifyOptions(vault_addr=openbao.url)
    live = _verify(found, token, options)
    assert live.status == Status.LIVE, live
    assert dict(live.identity)["display_name"] == "token-ci-deploy"
    _bao(openbao, "POST", "auth/token/revoke", {"token": token})
    dead = _verify(found, token, options)
    assert dead.status == Status.REVOKED, dead
    assert token not in json.dumps(dead.to_dict())


def test_a_vault_token_without_an_address_is_unknown(tmp_path: Path) -> None:
    found = _finding("vault", "vault-service-token", "hvs.CAESIAbCdEf")
    answer = _verify(found, "hvs.CAESIAbCdEf", VerifyOptions(vault_addr=None))
    assert answer.status == Status.UNKNOWN and "--vault-addr" in answer.detail
