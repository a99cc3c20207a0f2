"""Terraform ``aws_secretsmanager_secret*`` and ``vault_kv_secret_v2`` resources and data
sources, read with the small HCL tokenizer in :mod:`leakguard.graph.references.hcl`."""

from __future__ import annotations

import re
from pathlib import Path

from leakguard.graph import ids
from leakguard.graph.interface import StoreRef
from leakguard.graph.references.common import (
    MAX_FILE_BYTES,
    Reference,
    Scan,
    literal,
    vault_ref,
)
from leakguard.graph.references.hcl import HEREDOC, STRING, Block, HclError, top_level_blocks
from leakguard.redact import fingerprint

_SECRET_REFERENCE = re.compile(r"aws_secretsmanager_secret\.([\w-]+)\.(?:id|arn)")


def _text(block: Block, name: str) -> str | None:
    """The attribute's value when it is one string or heredoc with no template."""
    token = block.attributes.get(name)
    if token is None or token.kind not in (STRING, HEREDOC) or not token.text:
        return None
    if token.kind == HEREDOC:
        # Terraform keeps the newline before the closing tag; a credential found by a scan
        # is the token without it, and it is that fingerprint the value is compared with
        return token.text.removesuffix("\n") or None
    return token.text


def _store(block: Block) -> StoreRef | None:
    rtype = block.labels[0]
    if rtype == "aws_secretsmanager_secret" and literal(_text(block, "name")):
        return StoreRef("aws-secretsmanager", str(_text(block, "name")))
    secret_id = _text(block, "secret_id")
    if rtype == "aws_secretsmanager_secret_version" and literal(secret_id):
        return StoreRef("aws-secretsmanager", ids.secretsmanager_name(str(secret_id)))
    if rtype == "vault_kv_secret_v2" and literal(_text(block, "name")):
        return vault_ref(str(_text(block, "name")), literal(_text(block, "mount")) or "secret")
    return None


def _named_secret(block: Block) -> str | None:
    """``secret_id = aws_secretsmanager_secret.NAME.id`` (or ``.arn``): NAME."""
    token = block.attributes.get("secret_id")
    match = _SECRET_REFERENCE.fullmatch(token.text or "") if token is not None else None
    return match.group(1) if match else None


def _blocks(scan: Scan, path: Path, text: str) -> list[Block]:
    if len(text) > MAX_FILE_BYTES:  # the directory walk skips these; a caller may not
        scan.warnings.append(f"{path}: larger than {MAX_FILE_BYTES} bytes; file skipped")
        return []
    try:
        blocks = top_level_blocks(text)
    except HclError as exc:
        scan.warnings.append(f"{path}:{exc.line}: invalid Terraform: {exc.reason}; file skipped")
        return []
    return [
        b for b in blocks if b.type in ("resource", "data") and len(b.labels) == 2 and b.labels[0]
    ]


def read_terraform(scan: Scan, path: Path, text: str) -> None:
    rel = scan.rel(path)
    consumer = (
        f"terraform:{path.parent.relative_to(scan.root).as_posix().strip('.') or scan.root.name}"
    )
    blocks = _blocks(scan, path, text)
    names: dict[str, StoreRef] = {}
    for block in blocks:
        ref = _store(block)
        if ref is None:
            continue
        rtype = block.labels[0]
        if block.type == "resource":
            names[f"{rtype}.{block.labels[1]}"] = ref
            scan.refs.append(
                Reference(rel, block.line, None, store=ref, detail=f"resource {rtype}")
            )
        else:
            scan.refs.append(
                Reference(rel, block.line, consumer, "job", ref, detail=f"data.{rtype}")
            )
    for block in blocks:
        rtype, rname = block.labels
        if block.type != "resource" or rtype != "aws_secretsmanager_secret_version":
            continue
        value = _text(block, "secret_string")
        target = names.get(f"{rtype}.{rname}")
        if target is None and (secret := _named_secret(block)) is not None:
            target = names.get(f"aws_secretsmanager_secret.{secret}")
        if target is not None and value:
            scan.refs.append(
                Reference(
                    rel,
                    block.line,
                    None,
                    store=target,
                    value_fp=fingerprint(value),
                    stored_value=True,
                    detail=f"resource {rtype}.{rname} secret_string",
                )
            )
