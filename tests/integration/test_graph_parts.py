"""A leaked AWS pair against a real Secrets Manager (moto server): the scanner fingerprints the
pair as one credential (``id:secret``), the store holds its halves in two fields, six services
read that entry (CloudTrail), and requests were signed with the key id. `graph blast-radius`
must show the entry, its six readers and the key's IAM user; `rotation-order` must not warn
that the key has no store."""

from __future__ import annotations

import json
import random
import string
import uuid
from pathlib import Path

import boto3
import pytest

from leakguard.options import ScanOptions
from leakguard.redact import fingerprint
from leakguard.reports.json_report import render
from leakguard.scanner import run_scan
from tests.support.cli import run_cli
from tests.support.servers import Moto

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"
READERS = ("checkout", "ledger", "exporter", "billing", "reports", "reconciler")


def _aws_pair(seed: str) -> tuple[str, str]:
    rng = random.Random(seed)
    key_id = "AKIA" + "".join(rng.choice(string.ascii_uppercase + "234567") for _ in range(16))
    alphabet = string.ascii_letters + string.digits + "+/"
    while True:
        secret = "".join(rng.choice(alphabet) for _ in range(40))
        if any(c.islower() for c in secret) and any(c.isupper() for c in secret):
            return key_id, secret


def _record(event: str, at: str, who: dict[str, str], **extra: object) -> dict[str, object]:
    return {
        "eventVersion": "1.08",
        "eventSource": extra.pop("source", "secretsmanager.amazonaws.com"),
        "eventName": event,
        "eventTime": at,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "10.0.4.2",
        "userIdentity": who,
        **extra,
    }


def test_a_leaked_aws_pair_reaches_the_secret_holding_its_halves_and_its_readers(
    moto: Moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in moto.env().items():
        monkeypatch.setenv(name, value)
    uid = uuid.uuid4().hex[:8]
    key_id, secret = _aws_pair(uid)
    whole = fingerprint(f"{key_id}:{secret}")

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "deploy.ini").write_text(
        f"[ci]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"
    )
    result = run_scan([str(repo)], ScanOptions(jobs=1))
    assert [f.fingerprint for f in result.findings] == [whole]
    report = tmp_path / "report.json"
    report.write_text(render(result))
    assert json.loads(report.read_text())["findings"][0]["parts"] == {
        "aws_access_key_id": fingerprint(key_id),
        "aws_secret_access_key": fingerprint(secret),
    }

    client = boto3.client("secretsmanager", endpoint_url=moto.url, region_name=moto.region)
    name = f"parts-{uid}/prod/ci-deployer"
    created = client.create_secret(
        Name=name,
        SecretString=json.dumps({"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret}),
    )
    client.create_secret(Name=f"parts-{uid}/prod/other", SecretString="unrelated-value-42")

    user_arn = f"arn:aws:iam::{ACCOUNT}:user/ci-deployer"
    records = [
        _record(
            "GetSecretValue",
            f"2026-05-01T10:0{i}:00Z",
            {"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{r}/task-{i}"},
            requestParameters={"secretId": created["ARN"] if i % 2 else name},
        )
        for i, r in enumerate(READERS)
    ]
    records.append(
        _record(
            "PutObject",
            "2026-05-02T08:00:00Z",
            {"type": "IAMUser", "arn": user_arn, "accountId": ACCOUNT, "accessKeyId": key_id},
            source="s3.amazonaws.com",
        )
    )
    trail = tmp_path / "trail"
    trail.mkdir()
    (trail / f"{ACCOUNT}_CloudTrail_us-east-1_0001.json").write_text(
        json.dumps({"Records": records})
    )

    db = tmp_path / "lg.db"
    code, out = run_cli(
        [
            "graph",
            "build",
            "--db",
            str(db),
            "--scan-report",
            str(report),
            "--aws-secrets",
            "--aws-endpoint",
            moto.url,
            "--aws-region",
            moto.region,
            "--aws-prefix",
            f"parts-{uid}/",
            "--cloudtrail",
            str(trail),
            "-f",
            "json",
        ]
    )
    assert code == 0, out
    summary = json.loads(out)
    assert summary["added"]["store-matches"] == 1
    assert summary["added"]["cloudtrail-key-uses"] == 1

    code, out = run_cli(["graph", "blast-radius", whole, "--db", str(db), "-f", "json"])
    assert code == 0, out
    radius = json.loads(out)
    assert [s["path"] for s in radius["stores"]] == [name]
    assert sorted(c["name"] for c in radius["consumers"]) == sorted(
        f"aws:arn:aws:iam::{ACCOUNT}:role/{r}" for r in READERS
    )
    assert radius["unknown_consumers"] is False
    assert f"aws:{user_arn}" in radius["identities"]

    code, out = run_cli(["graph", "rotation-order", whole, "--db", str(db)])
    assert code == 0 and "no known store" not in out and "no known consumer" not in out, out

    raw = b"".join(p.read_bytes() for p in tmp_path.glob("lg.db*"))
    assert secret.encode() not in raw and key_id.encode() not in raw
