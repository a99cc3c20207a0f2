"""Builder (c): references to secrets found in configuration and code under a directory; one
module per format (``kubernetes``, ``compose``, ``github``, ``gitlab``, ``terraform``, ``code``).

Recognised (literal names and paths only; an interpolated path is skipped):

* Kubernetes manifests: workloads' ``env[].valueFrom.secretKeyRef``, ``envFrom[].secretRef``
  and secret volumes; ``ExternalSecret`` remote refs (resolved through their ``SecretStore`` /
  ``ClusterSecretStore`` to Vault or Secrets Manager); ``SecretProviderClass`` objects mounted
  through the secrets-store CSI driver;
* docker-compose ``environment`` and ``env_file``;
* GitHub Actions ``${{ secrets.X }}`` and Vault action paths, GitLab CI ``secrets:`` (Vault)
  and ``$VARIABLES``;
* Terraform ``aws_secretsmanager_secret*`` and ``vault_kv_secret_v2`` resources and data sources;
* ``.env`` files;
* code calling hvac (``read_secret_version(path=...)``), boto3 / the JS SDK
  (``get_secret_value(SecretId=...)``), ``vault kv get`` / ``bao kv get`` and
  ``aws secretsmanager get-secret-value --secret-id``.

Literal values (``.env``, compose and manifest ``env`` values, Terraform ``secret_string``) are
hashed in memory and only a fingerprint match with a known credential is kept: it becomes a
``uses`` (or ``stored_in``) edge. The consumer of a file is the inventory service whose
``paths`` cover it, else the workload/service/job the file declares, else the file's top
directory.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from leakguard.graph import ids
from leakguard.graph.interface import ConsumerInfo, EdgeKind, Evidence, NodeKind
from leakguard.graph.inventory import Service, owner_of
from leakguard.graph.model import now
from leakguard.graph.queries import IDENTIFIER_PARTS, Graph
from leakguard.graph.references import code, compose, github, gitlab, kubernetes, terraform
from leakguard.graph.references.common import (
    CODE_NAMES,
    CODE_SUFFIXES,
    MAX_FILE_BYTES,
    SKIP_DIRS,
    Reference,
    ReferenceError,
    Scan,
    parse_dotenv,
    yaml_docs,
)
from leakguard.redact import fingerprint

__all__ = ["Reference", "ReferenceError", "add_references", "scan_references"]


def _files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            try:
                info = path.stat()  # one stat: a regular file (or a link to one), not too large
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode) and info.st_size <= MAX_FILE_BYTES:
                yield path


def _has_compose(folder: Path) -> bool:
    return any(
        (folder / f"{stem}.{ext}").is_file()
        for stem in ("docker-compose", "compose")
        for ext in ("yml", "yaml")
    )


def _default_consumer(scan: Scan, path: Path) -> str:
    parts = path.relative_to(scan.root).parts
    return parts[0] if len(parts) > 1 else scan.root.name


def scan_references(
    root: Path, services: Sequence[Service] = ()
) -> tuple[list[Reference], list[str]]:
    """Every reference under ``root``; returns (references, warnings)."""
    if not root.is_dir():
        raise ReferenceError(
            f"configuration directory not found: {root}", hint="pass a directory with --config-dir"
        )
    scan = Scan(root.resolve())
    for path in _files(scan.root):
        rel = scan.rel(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        owner = owner_of(services, rel)
        before = len(scan.refs)
        name = path.name
        if name == ".env" or name.startswith(".env.") or name.endswith(".env"):
            if name == ".env" and _has_compose(path.parent):
                continue  # read through the compose file's services instead
            consumer = owner.info.name if owner else _default_consumer(scan, path)
            for key, value, line in parse_dotenv(text):
                scan.refs.append(
                    Reference(
                        rel,
                        line,
                        consumer,
                        "service",
                        value_fp=fingerprint(value),
                        detail=f".env {key}",
                    )
                )
            continue
        if path.suffix == ".tf":
            terraform.read_terraform(scan, path, text)
        elif path.suffix in (".yaml", ".yml"):
            if ".github/workflows/" in "/" + rel:
                github.read_workflow(scan, path, text)
            elif name.endswith(".gitlab-ci.yml") or name == ".gitlab-ci.yml":
                docs = list(yaml_docs(path, text, scan.warnings))
                if docs and isinstance(docs[0], Mapping):
                    gitlab.read_pipeline(scan, path, docs[0])
            else:
                docs = list(yaml_docs(path, text, scan.warnings))
                if any(isinstance(d, Mapping) and "apiVersion" in d and "kind" in d for d in docs):
                    kubernetes.read_manifests(scan, path, docs)
                elif (
                    docs
                    and isinstance(docs[0], Mapping)
                    and isinstance(docs[0].get("services"), Mapping)
                ):
                    compose.read_compose(scan, path, docs[0])
        if path.suffix in CODE_SUFFIXES or name in CODE_NAMES:
            consumer = owner.info.name if owner else _default_consumer(scan, path)
            code.read_code(scan, path, text, consumer)
        if owner is not None:
            scan.refs[before:] = [
                replace(r, consumer=owner.info.name, consumer_kind=owner.info.kind)
                if r.consumer
                else r
                for r in scan.refs[before:]
            ]
    return scan.refs, scan.warnings


def add_references(graph: Graph, refs: Sequence[Reference], *, root: Path) -> int:
    """Add references as edges; a value is kept only when it is a known credential's."""
    stamp = now()
    known = graph.fingerprint_index()
    added = 0
    for ref in refs:
        evidence = Evidence(
            f"config:{root.name}/{ref.file}", stamp, f"line {ref.line}: {ref.detail}"
        )
        creds = _credentials_holding(known, ref.value_fp)
        if ref.value_fp is not None and not creds:
            continue  # a value that is no leaked credential (or part of one): forget it
        consumer = None
        if ref.consumer is not None and graph.has_node(ids.consumer(ref.consumer)):
            consumer = ids.consumer(ref.consumer)  # declared elsewhere: keep its kind and reload
        elif ref.consumer is not None:
            consumer = graph.add_consumer(
                ConsumerInfo(ids.consumer(ref.consumer), ref.consumer, ref.consumer_kind),
                evidence,
            )
        store = graph.add_store(ref.store) if ref.store is not None else None
        if store is not None and ref.consumer is None and ref.value_fp is None:
            graph.add_node(store, NodeKind.STORE_ENTRY, declared_at=f"{ref.file}:{ref.line}")
        for cred in creds:
            if ref.stored_value and store is not None:
                graph.add_edge(cred, store, EdgeKind.STORED_IN, evidence)
            elif consumer is not None:
                graph.add_edge(consumer, cred, EdgeKind.USES, evidence)
        if ref.value_fp is None and consumer is not None and store is not None:
            graph.add_edge(consumer, store, EdgeKind.READS, evidence)
        added += 1
    return added


def _credentials_holding(
    known: Mapping[str, list[tuple[str, str | None]]], value_fp: str | None
) -> list[str]:
    """The credential nodes a configuration value is, or is a part of (never by a part that
    only names an account)."""
    if value_fp is None:
        return []
    return sorted({cred for cred, part in known.get(value_fp, ()) if part not in IDENTIFIER_PARTS})
