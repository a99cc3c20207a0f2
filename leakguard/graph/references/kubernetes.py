"""Kubernetes manifests: workloads' ``env[].valueFrom.secretKeyRef``, ``envFrom[].secretRef``
and secret volumes; ``ExternalSecret`` remote refs resolved through their ``SecretStore`` /
``ClusterSecretStore``; ``SecretProviderClass`` objects mounted through the CSI driver."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from leakguard.graph import ids
from leakguard.graph.interface import StoreRef
from leakguard.graph.references.common import Reference, Scan, literal, vault_ref
from leakguard.redact import fingerprint
from leakguard.yamlfile import line_of

WORKLOADS = {
    "Deployment": "service",
    "StatefulSet": "service",
    "DaemonSet": "service",
    "ReplicaSet": "service",
    "Pod": "service",
    "Job": "job",
    "CronJob": "job",
}


def _pod_spec(doc: Mapping[str, Any]) -> Mapping[str, Any] | None:
    spec = doc.get("spec") or {}
    if doc.get("kind") == "Pod":
        return spec if isinstance(spec, Mapping) else None
    if doc.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template") if isinstance(spec, Mapping) else None
    pod = template.get("spec") if isinstance(template, Mapping) else None
    return pod if isinstance(pod, Mapping) else None


def read_manifests(scan: Scan, path: Path, docs: list[Any]) -> None:
    rel = scan.rel(path)
    stores: dict[str, StoreRef | str] = {}  # SecretStore name -> backend template
    external: dict[tuple[str, str], list[tuple[StoreRef, int, str]]] = {}
    providers: dict[str, list[tuple[StoreRef, int]]] = {}
    for doc in docs:
        if not isinstance(doc, Mapping):
            continue
        kind = doc.get("kind")
        spec = doc.get("spec") or {}
        meta = doc.get("metadata") or {}
        if kind in ("SecretStore", "ClusterSecretStore") and isinstance(spec, Mapping):
            provider = spec.get("provider") or {}
            if "vault" in provider:
                stores[str(meta.get("name"))] = str(
                    (provider["vault"] or {}).get("path") or "secret"
                )
            elif "aws" in provider:
                stores[str(meta.get("name"))] = "aws"
    for doc in docs:
        if not isinstance(doc, Mapping):
            continue
        kind = doc.get("kind")
        spec = doc.get("spec") or {}
        meta = doc.get("metadata") or {}
        ns = str(meta.get("namespace") or "default")
        if kind == "ExternalSecret" and isinstance(spec, Mapping):
            store_name = str((spec.get("secretStoreRef") or {}).get("name"))
            backend = stores.get(store_name)
            target = str((spec.get("target") or {}).get("name") or meta.get("name"))
            items = [(d.get("remoteRef") or {}, d) for d in spec.get("data") or []]
            items += [(d.get("extract") or {}, d) for d in spec.get("dataFrom") or []]
            for remote, node in items:
                key = literal(remote.get("key"))
                if key is None:
                    continue
                if backend == "aws":
                    ref: StoreRef | None = StoreRef(
                        "aws-secretsmanager", ids.secretsmanager_name(key)
                    )
                elif isinstance(backend, str):
                    ref = vault_ref(key.removeprefix(backend + "/"), backend)
                else:
                    ref = StoreRef("external-secrets", key, store_name)
                if ref is not None:
                    external.setdefault((ns, target), []).append(
                        (ref, line_of(node), f"ExternalSecret {meta.get('name')}")
                    )
        if kind == "SecretProviderClass" and isinstance(spec, Mapping):
            provider = spec.get("provider")
            raw = (spec.get("parameters") or {}).get("objects")
            objects: Any = []
            if isinstance(raw, str):
                try:
                    objects = yaml.safe_load(raw) or []
                except yaml.YAMLError:
                    objects = []
            found: list[tuple[StoreRef, int]] = []
            for obj in objects if isinstance(objects, list) else []:
                if not isinstance(obj, Mapping):
                    continue
                if provider == "vault" and literal(obj.get("secretPath")):
                    vref = vault_ref(str(obj["secretPath"]))
                    if vref:
                        found.append((vref, line_of(spec, "parameters")))
                elif (
                    provider == "aws"
                    and obj.get("objectType", "secretsmanager") == "secretsmanager"
                    and literal(obj.get("objectName"))
                ):
                    found.append(
                        (
                            StoreRef(
                                "aws-secretsmanager",
                                ids.secretsmanager_name(str(obj["objectName"])),
                            ),
                            line_of(spec, "parameters"),
                        )
                    )
            providers[str(meta.get("name"))] = found
    for doc in docs:
        if not isinstance(doc, Mapping) or doc.get("kind") not in WORKLOADS:
            continue
        pod = _pod_spec(doc)
        meta = doc.get("metadata") or {}
        name = str(meta.get("name") or path.stem)
        ns = str(meta.get("namespace") or "default")
        ckind = WORKLOADS[str(doc["kind"])]
        if pod is None:
            continue

        def read(
            secret: object,
            line: int,
            how: str,
            name: str = name,
            ckind: str = ckind,
            ns: str = ns,
        ) -> None:
            if not literal(secret):
                return
            scan.refs.append(
                Reference(
                    rel, line, name, ckind, StoreRef("kubernetes", str(secret), ns), detail=how
                )
            )
            for ref, rline, via in external.get((ns, str(secret)), []):
                scan.refs.append(Reference(rel, rline, name, ckind, ref, detail=f"{how} via {via}"))

        for container in list(pod.get("containers") or []) + list(pod.get("initContainers") or []):
            if not isinstance(container, Mapping):
                continue
            for env in container.get("env") or []:
                if not isinstance(env, Mapping):
                    continue
                key_ref = (env.get("valueFrom") or {}).get("secretKeyRef") or {}
                if key_ref:
                    read(key_ref.get("name"), line_of(env), f"env {env.get('name')}")
                value = literal(env.get("value"))
                if value:
                    scan.refs.append(
                        Reference(
                            rel,
                            line_of(env),
                            name,
                            ckind,
                            value_fp=fingerprint(value),
                            detail=f"env {env.get('name')} value",
                        )
                    )
            for env_from in container.get("envFrom") or []:
                if isinstance(env_from, Mapping) and env_from.get("secretRef"):
                    read(env_from["secretRef"].get("name"), line_of(env_from), "envFrom")
        for volume in pod.get("volumes") or []:
            if not isinstance(volume, Mapping):
                continue
            if volume.get("secret"):
                read(volume["secret"].get("secretName"), line_of(volume), "volume")
            csi = volume.get("csi") or {}
            spc = (csi.get("volumeAttributes") or {}).get("secretProviderClass")
            for ref, _ in providers.get(str(spc), []):
                scan.refs.append(
                    Reference(
                        rel, line_of(volume), name, ckind, ref, detail=f"SecretProviderClass {spc}"
                    )
                )
