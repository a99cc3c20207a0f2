"""docker-compose ``environment`` and ``env_file`` (and the ``.env`` next to the file)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from leakguard.graph.references.common import Reference, Scan, parse_dotenv
from leakguard.redact import fingerprint
from leakguard.yamlfile import line_of


def read_compose(scan: Scan, path: Path, doc: Mapping[str, Any]) -> None:
    rel = scan.rel(path)
    env_values: dict[str, str] = {}
    dotenv = path.parent / ".env"
    if dotenv.is_file():
        env_values = {k: v for k, v, _ in parse_dotenv(dotenv.read_text(errors="replace"))}
    for name, svc in (doc.get("services") or {}).items():
        if not isinstance(svc, Mapping):
            continue
        env = svc.get("environment") or {}
        pairs: list[tuple[str, str | None]] = []
        if isinstance(env, Mapping):
            pairs = [(str(k), None if v is None else str(v)) for k, v in env.items()]
        elif isinstance(env, list):
            for item in env:
                name_, sep, literal = str(item).partition("=")
                pairs.append((name_, literal if sep else None))
        line = line_of(svc, "environment") or line_of(svc)
        for key, given in pairs:
            value: str | None = env_values.get(key) if given is None else given
            m = re.fullmatch(r"\$\{?(\w+)(?::?-[^}]*)?\}?", value or "")
            if m:
                value = env_values.get(m.group(1))
            if value:
                scan.refs.append(
                    Reference(
                        rel,
                        line,
                        str(name),
                        "service",
                        value_fp=fingerprint(value),
                        detail=f"environment {key}",
                    )
                )
        env_files = svc.get("env_file") or []
        for env_file in [env_files] if isinstance(env_files, str) else env_files:
            target = path.parent / str(env_file)
            if isinstance(env_file, str) and target.is_file():
                for key, value, _n in parse_dotenv(target.read_text(errors="replace")):
                    scan.refs.append(
                        Reference(
                            rel,
                            line_of(svc, "env_file"),
                            str(name),
                            "service",
                            value_fp=fingerprint(value),
                            detail=f"env_file {env_file} {key}",
                        )
                    )
