"""Builder (c): references to secrets found in configuration and code under a directory.

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
import re
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from leakguard.errors import GraphError
from leakguard.graph import ids
from leakguard.graph.interface import ConsumerInfo, EdgeKind, Evidence, NodeKind, StoreRef
from leakguard.graph.inventory import Service, owner_of
from leakguard.graph.model import now
from leakguard.graph.queries import IDENTIFIER_PARTS, Graph
from leakguard.redact import fingerprint
from leakguard.yamlfile import line_of, load_yaml

SKIP_DIRS = {
    ".git",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    "dist",
    "build",
    ".tox",
    "vendor",
    ".terraform",
}
MAX_FILE_BYTES = 2 * 1024 * 1024
CODE_SUFFIXES = {
    ".py",
    ".js",
    ".mjs",
    ".cjs",
    ".ts",
    ".go",
    ".rb",
    ".sh",
    ".bash",
    ".java",
    ".kt",
    ".php",
    ".ps1",
    ".yml",
    ".yaml",
    ".tf",
    ".mk",
}
CODE_NAMES = {"Dockerfile", "Makefile", "Jenkinsfile", "Procfile"}
WORKLOADS = {
    "Deployment": "service",
    "StatefulSet": "service",
    "DaemonSet": "service",
    "ReplicaSet": "service",
    "Pod": "service",
    "Job": "job",
    "CronJob": "job",
}
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


class ReferenceError(GraphError):
    """A configuration directory cannot be read."""


@dataclass(frozen=True, slots=True)
class Reference:
    """One thing a file says: ``consumer`` reads ``store``, holds a value fingerprinted
    ``value_fp`` (kept only if it matches a credential), or declares a store entry."""

    file: str
    line: int
    consumer: str | None
    consumer_kind: str = "service"
    store: StoreRef | None = None
    value_fp: str | None = None
    detail: str = ""
    stored_value: bool = False  # value_fp is the store entry's value (Terraform), not a use


@dataclass
class _Scan:
    root: Path
    refs: list[Reference] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


# --- helpers -------------------------------------------------------------------------------


def _literal(value: object) -> str | None:
    if isinstance(value, str) and value and not any(c in value for c in "${}<>"):
        return value
    return None


def _vault_ref(path: str, mount: str | None = None) -> StoreRef | None:
    """``secret/data/x`` or ``secret/x`` (mount first) or ``x`` with ``mount``."""
    path = path.strip().strip("/")
    if not _literal(path):
        return None
    if mount is None:
        if "/" not in path:
            return None
        mount, path = path.split("/", 1)
    mount = mount.strip("/")
    path = path.removeprefix("data/")
    return StoreRef("vault-kv2", path, mount) if path and mount else None


def _line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _yaml_docs(path: Path, text: str, warnings: list[str]) -> Iterator[Any]:
    """Each document of a multi-document YAML file, keeping true line numbers; a document
    that does not parse (a Helm template, say) is skipped with a warning."""
    starts = [0] + [m.end() for m in re.finditer(r"(?m)^---[^\n]*\n", text)]
    for i, start in enumerate(starts):
        end = text.find("\n---", start) if i + 1 < len(starts) else len(text)
        chunk = text[start : end if end >= 0 else len(text)]
        padded = "\n" * text.count("\n", 0, start) + chunk
        try:
            doc = load_yaml(path, ReferenceError, text=padded)
        except ReferenceError as exc:
            warnings.append(f"{exc.message}; document skipped")
            continue
        if doc is not None:
            yield doc


def _dotenv(text: str) -> Iterator[tuple[str, str, int]]:
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        if key.strip() and value:
            yield key.strip(), value, n


# --- Kubernetes ----------------------------------------------------------------------------


def _pod_spec(doc: Mapping[str, Any]) -> Mapping[str, Any] | None:
    spec = doc.get("spec") or {}
    if doc.get("kind") == "Pod":
        return spec if isinstance(spec, Mapping) else None
    if doc.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template") if isinstance(spec, Mapping) else None
    pod = template.get("spec") if isinstance(template, Mapping) else None
    return pod if isinstance(pod, Mapping) else None


def _kubernetes(scan: _Scan, path: Path, docs: list[Any]) -> None:
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
                key = _literal(remote.get("key"))
                if key is None:
                    continue
                if backend == "aws":
                    ref: StoreRef | None = StoreRef(
                        "aws-secretsmanager", ids.secretsmanager_name(key)
                    )
                elif isinstance(backend, str):
                    ref = _vault_ref(key.removeprefix(backend + "/"), backend)
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
                if provider == "vault" and _literal(obj.get("secretPath")):
                    vref = _vault_ref(str(obj["secretPath"]))
                    if vref:
                        found.append((vref, line_of(spec, "parameters")))
                elif (
                    provider == "aws"
                    and obj.get("objectType", "secretsmanager") == "secretsmanager"
                    and _literal(obj.get("objectName"))
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
            if not _literal(secret):
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
                value = _literal(env.get("value"))
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


# --- docker-compose ------------------------------------------------------------------------


def _compose(scan: _Scan, path: Path, doc: Mapping[str, Any]) -> None:
    rel = scan.rel(path)
    env_values: dict[str, str] = {}
    dotenv = path.parent / ".env"
    if dotenv.is_file():
        env_values = {k: v for k, v, _ in _dotenv(dotenv.read_text(errors="replace"))}
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
                for key, value, _n in _dotenv(target.read_text(errors="replace")):
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


# --- CI --------------------------------------------------------------------------------------

_GH_SECRET = re.compile(r"\$\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_GH_VAULT = re.compile(r"(?m)^\s*([A-Za-z0-9_.-]+/data/[A-Za-z0-9_./-]+)\s+[A-Za-z0-9_.-]+\s*\|")


def _github(scan: _Scan, path: Path, text: str) -> None:
    rel = scan.rel(path)
    consumer = f"github-actions:{path.stem}"
    for m in _GH_SECRET.finditer(text):
        if m.group(1) == "GITHUB_TOKEN":
            continue
        scan.refs.append(
            Reference(
                rel,
                _line_at(text, m.start()),
                consumer,
                "ci",
                StoreRef("github-actions", m.group(1), scan.root.name),
                detail=f"secrets.{m.group(1)}",
            )
        )
    for m in _GH_VAULT.finditer(text):
        ref = _vault_ref(m.group(1))
        if ref:
            scan.refs.append(
                Reference(
                    rel, _line_at(text, m.start(1)), consumer, "ci", ref, detail="vault-action"
                )
            )


_GL_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


def _gitlab_vault(spec: object) -> StoreRef | None:
    if isinstance(spec, str):  # path/to/secret/field@mount
        where, _, mount = spec.partition("@")
        secret = where.rsplit("/", 1)[0] if "/" in where else where
        return _vault_ref(secret, mount or "kv-v2")
    if isinstance(spec, Mapping):
        engine = spec.get("engine") or {}
        path = spec.get("path")
        if isinstance(path, str):
            return _vault_ref(path, str(engine.get("path") or "kv-v2"))
    return None


def _gitlab(scan: _Scan, path: Path, doc: Mapping[str, Any]) -> None:
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


# --- Terraform -----------------------------------------------------------------------------

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


def _terraform(scan: _Scan, path: Path, text: str) -> None:
    rel = scan.rel(path)
    consumer = (
        f"terraform:{path.parent.relative_to(scan.root).as_posix().strip('.') or scan.root.name}"
    )
    names: dict[str, StoreRef] = {}
    blocks = []
    for m in _TF_BLOCK.finditer(text):
        body = _tf_body(text, m.end() - 1)
        attrs = {a.group(1): a.group(2) for a in _TF_ATTR.finditer(body)}
        blocks.append((m.group(1), m.group(2), m.group(3), attrs, body, _line_at(text, m.start())))
    for block, rtype, rname, attrs, _body, line in blocks:
        ref: StoreRef | None = None
        if rtype == "aws_secretsmanager_secret" and _literal(attrs.get("name")):
            ref = StoreRef("aws-secretsmanager", attrs["name"])
        elif rtype in ("aws_secretsmanager_secret_version",) and _literal(attrs.get("secret_id")):
            ref = StoreRef("aws-secretsmanager", ids.secretsmanager_name(attrs["secret_id"]))
        elif rtype == "vault_kv_secret_v2" and _literal(attrs.get("name")):
            ref = _vault_ref(attrs["name"], _literal(attrs.get("mount")) or "secret")
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
        if target is not None and value and _literal(value):
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


# --- code ------------------------------------------------------------------------------------

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


def _code(scan: _Scan, path: Path, text: str, consumer: str) -> None:
    rel = scan.rel(path)

    def read(m: re.Match[str], ref: StoreRef | None, how: str) -> None:
        if ref is not None:
            scan.refs.append(
                Reference(rel, _line_at(text, m.start()), consumer, "service", ref, detail=how)
            )

    for m in _HVAC.finditer(text):
        p, mt = _KW_PATH.search(m.group(1)), _KW_MOUNT.search(m.group(1))
        if p:
            read(
                m,
                _vault_ref(p.group(1), mt.group(1) if mt else "secret"),
                "hvac read_secret_version",
            )
    for m in _BOTO.finditer(text):
        if _literal(m.group(1)):
            read(
                m,
                StoreRef("aws-secretsmanager", ids.secretsmanager_name(m.group(1))),
                "GetSecretValue",
            )
    for m in _VAULT_CLI.finditer(text):
        mount = re.search(r"-mount=([\w/-]+)", m.group(1))
        read(m, _vault_ref(m.group(2), mount.group(1) if mount else None), "vault kv get")
    for m in _VAULT_DATA.finditer(text):
        how = "Vault HTTP API" if m.group(0).startswith("/v1/") else "vault read"
        read(m, _vault_ref(m.group(1)), how)
    for m in _AWS_CLI.finditer(text):
        read(
            m,
            StoreRef("aws-secretsmanager", ids.secretsmanager_name(m.group(1))),
            "aws secretsmanager get-secret-value",
        )


# --- walking ---------------------------------------------------------------------------------


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


def _default_consumer(scan: _Scan, path: Path) -> str:
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
    scan = _Scan(root.resolve())
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
            for key, value, line in _dotenv(text):
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
            _terraform(scan, path, text)
        elif path.suffix in (".yaml", ".yml"):
            if ".github/workflows/" in "/" + rel:
                _github(scan, path, text)
            elif name.endswith(".gitlab-ci.yml") or name == ".gitlab-ci.yml":
                docs = list(_yaml_docs(path, text, scan.warnings))
                if docs and isinstance(docs[0], Mapping):
                    _gitlab(scan, path, docs[0])
            else:
                docs = list(_yaml_docs(path, text, scan.warnings))
                if any(isinstance(d, Mapping) and "apiVersion" in d and "kind" in d for d in docs):
                    _kubernetes(scan, path, docs)
                elif (
                    docs
                    and isinstance(docs[0], Mapping)
                    and isinstance(docs[0].get("services"), Mapping)
                ):
                    _compose(scan, path, docs[0])
        if path.suffix in CODE_SUFFIXES or name in CODE_NAMES:
            consumer = owner.info.name if owner else _default_consumer(scan, path)
            _code(scan, path, text, consumer)
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
