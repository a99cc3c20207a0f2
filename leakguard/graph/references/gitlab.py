"""GitLab CI: ``secrets:`` (Vault) and ``$VARIABLES`` of each job."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from leakguard.graph.interface import StoreRef
from leakguard.graph.references.common import Reference, Scan, vault_ref
from leakguard.yamlfile import line_of

GITLAB_RESERVED = {
    "stages",
    "variables",
    "default",
    "include",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
    "pages",
}
PREDEFINED_PREFIXES = ("CI_", "GITLAB_", "RUNNER_", "FF_", "DOCKER_", "HOME", "PATH", "PWD")


_GL_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


def _gitlab_vault(spec: object) -> StoreRef | None:
    if isinstance(spec, str):  # path/to/secret/field@mount
        where, _, mount = spec.partition("@")
        secret = where.rsplit("/", 1)[0] if "/" in where else where
        return vault_ref(secret, mount or "kv-v2")
    if isinstance(spec, Mapping):
        engine = spec.get("engine") or {}
        path = spec.get("path")
        if isinstance(path, str):
            return vault_ref(path, str(engine.get("path") or "kv-v2"))
    return None


def read_pipeline(scan: Scan, path: Path, doc: Mapping[str, Any]) -> None:
    rel = scan.rel(path)
    defined = (
        set((doc.get("variables") or {}).keys())
        if isinstance(doc.get("variables"), Mapping)
        else set()
    )
    for job, body in doc.items():
        if job in GITLAB_RESERVED or str(job).startswith(".") or not isinstance(body, Mapping):
            continue
        consumer = f"gitlab-ci:{job}"
        for name, secret in (body.get("secrets") or {}).items():
            ref = _gitlab_vault(
                (secret or {}).get("vault") if isinstance(secret, Mapping) else None
            )
            if ref:
                scan.refs.append(
                    Reference(
                        rel, line_of(body, "secrets"), consumer, "ci", ref, detail=f"secrets.{name}"
                    )
                )
        local = (
            set((body.get("variables") or {}).keys())
            if isinstance(body.get("variables"), Mapping)
            else set()
        )
        seen: set[str] = set()
        for key in ("script", "before_script", "after_script"):
            lines = body.get(key) or []
            for entry in [lines] if isinstance(lines, str) else lines:
                for m in _GL_VAR.finditer(str(entry)):
                    var = m.group(1)
                    if (
                        var in defined
                        or var in local
                        or var in seen
                        or var.startswith(PREDEFINED_PREFIXES)
                    ):
                        continue
                    seen.add(var)
                    scan.refs.append(
                        Reference(
                            rel,
                            line_of(body, key),
                            consumer,
                            "ci",
                            StoreRef("gitlab-ci", var, scan.root.name),
                            detail=f"${var}",
                        )
                    )
