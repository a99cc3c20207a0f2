"""Terraform ``aws_secretsmanager_secret*`` and ``vault_kv_secret_v2`` resources and data
sources."""

from __future__ import annotations

import re
from pathlib import Path

from leakguard.graph import ids
from leakguard.graph.interface import StoreRef
from leakguard.graph.references.common import Reference, Scan, line_at, literal, vault_ref
from leakguard.redact import fingerprint

_TF_BLOCK = re.compile(r'(?m)^\s*(resource|data)\s+"([\w-]+)"\s+"([\w-]+)"\s*\{')
_TF_ATTR = re.compile(r'(?m)^\s*(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*$')
_TF_SECRET_ID = re.compile(r"secret_id\s*=\s*aws_secretsmanager_secret\.([\w-]+)\.(?:id|arn)")


def _tf_body(text: str, start: int) -> str:
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i]
    return text[start + 1 :]


def read_terraform(scan: Scan, path: Path, text: str) -> None:
    rel = scan.rel(path)
    consumer = (
        f"terraform:{path.parent.relative_to(scan.root).as_posix().strip('.') or scan.root.name}"
    )
    names: dict[str, StoreRef] = {}
    blocks = []
    for m in _TF_BLOCK.finditer(text):
        body = _tf_body(text, m.end() - 1)
        attrs = {a.group(1): a.group(2) for a in _TF_ATTR.finditer(body)}
        blocks.append((m.group(1), m.group(2), m.group(3), attrs, body, line_at(text, m.start())))
    for block, rtype, rname, attrs, _body, line in blocks:
        ref: StoreRef | None = None
        if rtype == "aws_secretsmanager_secret" and literal(attrs.get("name")):
            ref = StoreRef("aws-secretsmanager", attrs["name"])
        elif rtype in ("aws_secretsmanager_secret_version",) and literal(attrs.get("secret_id")):
            ref = StoreRef("aws-secretsmanager", ids.secretsmanager_name(attrs["secret_id"]))
        elif rtype == "vault_kv_secret_v2" and literal(attrs.get("name")):
            ref = vault_ref(attrs["name"], literal(attrs.get("mount")) or "secret")
        if ref is None:
            continue
        names[f"{rtype}.{rname}"] = ref
        if block == "data":
            scan.refs.append(Reference(rel, line, consumer, "job", ref, detail=f"data.{rtype}"))
        else:
            scan.refs.append(Reference(rel, line, None, store=ref, detail=f"resource {rtype}"))
    for block, rtype, rname, attrs, body, line in blocks:
        if block != "resource" or rtype != "aws_secretsmanager_secret_version":
            continue
        value = attrs.get("secret_string")
        target = names.get(f"{rtype}.{rname}")
        sid = _TF_SECRET_ID.search(body)  # this block's own secret_id, not the file's first
        if target is None and sid:
            target = names.get(f"aws_secretsmanager_secret.{sid.group(1)}")
        if target is not None and value and literal(value):
            scan.refs.append(
                Reference(
                    rel,
                    line,
                    None,
                    store=target,
                    value_fp=fingerprint(value),
                    stored_value=True,
                    detail=f"resource {rtype}.{rname} secret_string",
                )
            )
