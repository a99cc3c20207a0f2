"""GitHub Actions workflows: ``${{ secrets.X }}`` and Vault action secret paths."""

from __future__ import annotations

import re
from pathlib import Path

from leakguard.graph.interface import StoreRef
from leakguard.graph.references.common import Reference, Scan, line_at, vault_ref

_GH_SECRET = re.compile(r"\$\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_GH_VAULT = re.compile(r"(?m)^\s*([A-Za-z0-9_.-]+/data/[A-Za-z0-9_./-]+)\s+[A-Za-z0-9_.-]+\s*\|")


def read_workflow(scan: Scan, path: Path, text: str) -> None:
    rel = scan.rel(path)
    consumer = f"github-actions:{path.stem}"
    for m in _GH_SECRET.finditer(text):
        if m.group(1) == "GITHUB_TOKEN":
            continue
        scan.refs.append(
            Reference(
                rel,
                line_at(text, m.start()),
                consumer,
                "ci",
                StoreRef("github-actions", m.group(1), scan.root.name),
                detail=f"secrets.{m.group(1)}",
            )
        )
    for m in _GH_VAULT.finditer(text):
        ref = vault_ref(m.group(1))
        if ref:
            scan.refs.append(
                Reference(
                    rel, line_at(text, m.start(1)), consumer, "ci", ref, detail="vault-action"
                )
            )
