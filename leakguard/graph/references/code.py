"""Code and scripts: hvac ``read_secret_version(path=...)``, boto3 / the JS SDK
``get_secret_value(SecretId=...)``, ``vault kv get`` / ``bao kv get`` and
``aws secretsmanager get-secret-value --secret-id``."""

from __future__ import annotations

import re
from pathlib import Path

from leakguard.graph import ids
from leakguard.graph.interface import StoreRef
from leakguard.graph.references.common import Reference, Scan, line_at, literal, vault_ref

_HVAC = re.compile(r"read_secret(?:_version)?\s*\(([^)]*)\)", re.S)
_KW_PATH = re.compile(r"""\bpath\s*=\s*["']([^"']+)["']""")
_KW_MOUNT = re.compile(r"""\bmount_point\s*=\s*["']([^"']+)["']""")
_BOTO = re.compile(
    r"""(?:get_secret_value\s*\(|GetSecretValueCommand\s*\(|getSecretValue\s*\()"""
    r"""[^)]*?SecretId["']?\s*[:=]\s*["']([^"']+)["']""",
    re.S,
)
_VAULT_CLI = re.compile(
    r"""\b(?:vault|bao)\s+kv\s+get\s+((?:-[\w-]+(?:=\S+)?\s+)*)["']?([\w./-]+)"""
)
# `vault read secret/data/x` and the HTTP API (`curl $VAULT_ADDR/v1/secret/data/x`)
_VAULT_DATA = re.compile(
    r"""(?:\b(?:vault|bao)\s+read\s+(?:-[\w-]+(?:=\S+)?\s+)*["']?|/v1/)"""
    r"""([\w-]+/data/[\w./-]+)"""
)
_AWS_CLI = re.compile(
    r"""\baws\s+secretsmanager\s+get-secret-value\b[^\n]*?--secret-id[= ]["']?([\w./:+=@-]+)"""
)


def read_code(scan: Scan, path: Path, text: str, consumer: str) -> None:
    rel = scan.rel(path)

    def read(m: re.Match[str], ref: StoreRef | None, how: str) -> None:
        if ref is not None:
            scan.refs.append(
                Reference(rel, line_at(text, m.start()), consumer, "service", ref, detail=how)
            )

    for m in _HVAC.finditer(text):
        p, mt = _KW_PATH.search(m.group(1)), _KW_MOUNT.search(m.group(1))
        if p:
            read(
                m,
                vault_ref(p.group(1), mt.group(1) if mt else "secret"),
                "hvac read_secret_version",
            )
    for m in _BOTO.finditer(text):
        if literal(m.group(1)):
            read(
                m,
                StoreRef("aws-secretsmanager", ids.secretsmanager_name(m.group(1))),
                "GetSecretValue",
            )
    for m in _VAULT_CLI.finditer(text):
        mount = re.search(r"-mount=([\w/-]+)", m.group(1))
        read(m, vault_ref(m.group(2), mount.group(1) if mount else None), "vault kv get")
    for m in _VAULT_DATA.finditer(text):
        how = "Vault HTTP API" if m.group(0).startswith("/v1/") else "vault read"
        read(m, vault_ref(m.group(1)), how)
    for m in _AWS_CLI.finditer(text):
        read(
            m,
            StoreRef("aws-secretsmanager", ids.secretsmanager_name(m.group(1))),
            "aws secretsmanager get-secret-value",
        )
