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


# (namespace, Kubernetes secret name) -> what an ExternalSecret fills it from
External = dict[tuple[str, str], list[tuple[StoreRef, int, str]]]
# SecretProviderClass name -> the store entries it mounts
Providers = dict[str, list[tuple[StoreRef, int]]]


def _mappings(docs: list[Any]) -> list[Mapping[str, Any]]:
    return [d for d in docs if isinstance(d, Mapping)]


def _secret_stores(docs: list[Mapping[str, Any]]) -> dict[str, str]:
    """SecretStore / ClusterSecretStore name -> a Vault mount path, or ``aws``."""
    stores: dict[str, str] = {}
    for doc in docs:
        spec = doc.get("spec") or {}
        if doc.get("kind") not in ("SecretStore", "ClusterSecretStore"):
            continue
        if not isinstance(spec, Mapping):
            continue
        name = str((doc.get("metadata") or {}).get("name"))
        provider = spec.get("provider") or {}
        if "vault" in provider:
            stores[name] = str((provider["vault"] or {}).get("path") or "secret")
        elif "aws" in provider:
            stores[name] = "aws"
    return stores


def _remote_ref(key: str, backend: str | None, store_name: str) -> StoreRef | None:
    if backend == "aws":
        return StoreRef("aws-secretsmanager", ids.secretsmanager_name(key))
    if backend is not None:
        return vault_ref(key.removeprefix(backend + "/"), backend)
    return StoreRef("external-secrets", key, store_name)


def _external_secrets(docs: list[Mapping[str, Any]], stores: dict[str, str]) -> External:
    external: External = {}
    for doc in docs:
        spec = doc.get("spec") or {}
        if doc.get("kind") != "ExternalSecret" or not isinstance(spec, Mapping):
            continue
        meta = doc.get("metadata") or {}
        ns = str(meta.get("namespace") or "default")
        store_name = str((spec.get("secretStoreRef") or {}).get("name"))
        target = str((spec.get("target") or {}).get("name") or meta.get("name"))
        items = [(d.get("remoteRef") or {}, d) for d in spec.get("data") or []]
        items += [(d.get("extract") or {}, d) for d in spec.get("dataFrom") or []]
        for remote, node in items:
            key = literal(remote.get("key"))
            ref = _remote_ref(key, stores.get(store_name), store_name) if key else None
            if ref is not None:
                external.setdefault((ns, target), []).append(
                    (ref, line_of(node), f"ExternalSecret {meta.get('name')}")
                )
    return external


def _provider_objects(spec: Mapping[str, Any]) -> list[Any]:
    raw = (spec.get("parameters") or {}).get("objects")
    if not isinstance(raw, str):
        return []
    try:
        objects = yaml.safe_load(raw) or []
    except yaml.YAMLError:
        return []
    return [o for o in objects if isinstance(o, Mapping)] if isinstance(objects, list) else []


def _provider_ref(provider: object, obj: Mapping[str, Any]) -> StoreRef | None:
    if provider == "vault" and literal(obj.get("secretPath")):
        return vault_ref(str(obj["secretPath"]))
    if (
        provider == "aws"
        and obj.get("objectType", "secretsmanager") == "secretsmanager"
        and literal(obj.get("objectName"))
    ):
        return StoreRef("aws-secretsmanager", ids.secretsmanager_name(str(obj["objectName"])))
    return None


def _provider_classes(docs: list[Mapping[str, Any]]) -> Providers:
    providers: Providers = {}
    for doc in docs:
        spec = doc.get("spec") or {}
        if doc.get("kind") != "SecretProviderClass" or not isinstance(spec, Mapping):
            continue
        found = []
        for obj in _provider_objects(spec):
            ref = _provider_ref(spec.get("provider"), obj)
            if ref is not None:
                found.append((ref, line_of(spec, "parameters")))
        providers[str((doc.get("metadata") or {}).get("name"))] = found
    return providers


class _Workload:
    """One workload's references, as its containers and volumes name them."""

    def __init__(
        self, scan: Scan, rel: str, doc: Mapping[str, Any], default_name: str, external: External
    ) -> None:
        meta = doc.get("metadata") or {}
        self.scan, self.rel, self.external = scan, rel, external
        self.name = str(meta.get("name") or default_name)
        self.ns = str(meta.get("namespace") or "default")
        self.kind = WORKLOADS[str(doc["kind"])]

    def add(self, line: int, **fields: Any) -> None:
        self.scan.refs.append(Reference(self.rel, line, self.name, self.kind, **fields))

    def read(self, secret: object, line: int, how: str) -> None:
        """The workload reads Kubernetes secret ``secret`` (and what fills it, if known)."""
        if not literal(secret):
            return
        self.add(line, store=StoreRef("kubernetes", str(secret), self.ns), detail=how)
        for ref, rline, via in self.external.get((self.ns, str(secret)), []):
            self.add(rline, store=ref, detail=f"{how} via {via}")

    def container(self, container: Mapping[str, Any]) -> None:
        for env in container.get("env") or []:
            if not isinstance(env, Mapping):
                continue
            key_ref = (env.get("valueFrom") or {}).get("secretKeyRef") or {}
            if key_ref:
                self.read(key_ref.get("name"), line_of(env), f"env {env.get('name')}")
            value = literal(env.get("value"))
            if value:
                self.add(
                    line_of(env),
                    value_fp=fingerprint(value),
                    detail=f"env {env.get('name')} value",
                )
        for env_from in container.get("envFrom") or []:
            if isinstance(env_from, Mapping) and env_from.get("secretRef"):
                self.read(env_from["secretRef"].get("name"), line_of(env_from), "envFrom")

    def volume(self, volume: Mapping[str, Any], providers: Providers) -> None:
        if volume.get("secret"):
            self.read(volume["secret"].get("secretName"), line_of(volume), "volume")
        csi = volume.get("csi") or {}
        spc = (csi.get("volumeAttributes") or {}).get("secretProviderClass")
        for ref, _ in providers.get(str(spc), []):
            self.add(line_of(volume), store=ref, detail=f"SecretProviderClass {spc}")


def read_manifests(scan: Scan, path: Path, docs: list[Any]) -> None:
    rel = scan.rel(path)
    manifests = _mappings(docs)
    external = _external_secrets(manifests, _secret_stores(manifests))
    providers = _provider_classes(manifests)
    for doc in manifests:
        if doc.get("kind") not in WORKLOADS:
            continue
        pod = _pod_spec(doc)
        if pod is None:
            continue
        workload = _Workload(scan, rel, doc, path.stem, external)
        for container in list(pod.get("containers") or []) + list(pod.get("initContainers") or []):
            if isinstance(container, Mapping):
                workload.container(container)
        for volume in pod.get("volumes") or []:
            if isinstance(volume, Mapping):
                workload.volume(volume, providers)
