"""Builder (b): what teams declare in ``leakguard.yaml`` or ``inventory/*.yaml``.

```yaml
services:
  - name: payments-api
    kind: service                  # service | job | ci | function | third-party
    environment: prod
    identities: [vault-approle:payments, "aws:arn:aws:iam::123456789012:role/payments"]
    reload: {restart: systemctl restart payments-api}   # or {webhook: URL}, or none
    reads:
      - vault: secret/payments/stripe        # <mount>/<path>
      - {vault: payments/db, mount: kv}      # explicit mount
      - aws: prod/payments/stripe            # Secrets Manager name or ARN
    uses: [sha256:3f…]                       # credentials it holds directly (fingerprints)
    paths: [services/payments/**]            # its files, for configuration references
```

One definition, :data:`SCHEMA` (a JSON Schema), checks every file before the checks it cannot
express (duplicate names, fingerprint prefixes); it is published as
``schemas/inventory.schema.json``. Every error names the file and line.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from leakguard.errors import GraphError
from leakguard.graph import ids, yamlload
from leakguard.graph.ids import STORE_KEYS, parse_store
from leakguard.graph.interface import (
    ConsumerInfo,
    EdgeKind,
    Evidence,
    NodeKind,
    Reload,
    StoreRef,
)
from leakguard.graph.model import now
from leakguard.graph.queries import Graph
from leakguard.schemacheck import Problem, check, shown, validator_for
from leakguard.yamlfile import line_of, load_yaml

__all__ = ["STORE_KEYS", "parse_store"]  # at home in ids (the CLI's queries import no YAML)

KINDS = ("service", "job", "ci", "function", "third-party")
IDENTITY_SCHEMES = ("vault-approle:", "vault-entity:", "vault-token:", "aws:")
_FINGERPRINT = "fingerprint must be sha256:… (from a scan)"
_RELOAD = "reload must be none, {restart: COMMAND} or {webhook: http(s)://URL}"
_VAULT = "a vault entry is <mount>/<path>, or give mount:"
_READS = "each reads entry is {vault: MOUNT/PATH} or {aws: SECRET_NAME}"
_IDENTITY = {
    "type": "string",
    "pattern": f"^({'|'.join(IDENTITY_SCHEMES)}).*[^:]$",
    "description": "vault-approle:NAME, vault-entity:ID, vault-token:ACCESSOR or aws:ARN",
}


def _one_or_list(item: dict[str, Any], description: str) -> dict[str, Any]:
    """A value that is one item or a list of them."""
    return {
        "type": ["string", "array", "null"],
        "description": description,
        "if": {"type": "string"},
        "then": item,
        "else": {"items": item},
    }


def _store_entry() -> dict[str, Any]:
    """``{vault: MOUNT/PATH}``, ``{vault: PATH, mount: MOUNT}`` or ``{aws: NAME}`` (the checks
    of one key run only when it is there: an estate's inventory has tens of thousands)."""
    where = {"type": "string", "pattern": "[^/]"}
    common = sorted(STORE_KEYS, key=len)  # vault, aws first: anyOf stops at the first match
    only: dict[str, Any] = {}
    for key, backend in STORE_KEYS.items():
        others = {o: {"not": {}, "errorMessage": _READS} for o in STORE_KEYS if o != key}
        if backend == "aws-secretsmanager":
            mount = {"not": {}, "errorMessage": "an aws entry takes no mount"}
            only[key] = {"properties": {**others, "mount": mount}}
        else:
            path = {"properties": {key: {"pattern": "[^/]/+[^/]"}}}
            only[key] = {
                "properties": others,
                "anyOf": [path, {"required": ["mount"]}],  # most name their mount in the path
                "errorMessage": _VAULT,
            }
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            **{
                key: {**where, "description": f"a {backend} secret"}
                for key, backend in STORE_KEYS.items()
            },
            "mount": {**where, "errorMessage": "mount must be a non-empty string"},
        },
        "anyOf": [{"required": [key]} for key in common],
        "dependentSchemas": only,
        "errorMessage": _READS,
    }


_SERVICE: dict[str, Any] = {
    "additionalProperties": False,
    "allOf": [
        {
            "type": "object",
            "required": ["name"],
            "errorMessage": "a service needs a name",
        }
    ],
    "properties": {
        "name": {"type": "string", "pattern": "\\S", "errorMessage": "a service needs a name"},
        "kind": {
            "enum": list(KINDS),
            "errorMessage": f"kind must be one of: {', '.join(KINDS)}",
            "description": "default service",
        },
        "environment": {"type": ["string", "null"], "minLength": 1},
        "description": {"description": "free text"},
        "owner": {"description": "free text (a team)"},
        "identities": _one_or_list(_IDENTITY, "who the service authenticates as"),
        "reload": {
            "description": "how it picks up a new secret",
            "anyOf": [
                {"enum": ["none", None]},
                *(
                    {
                        "type": "object",
                        "required": [key],
                        "additionalProperties": False,
                        "properties": {key: {"type": "string", "minLength": 1}},
                    }
                    for key in ("restart", "command")
                ),
                {
                    "type": "object",
                    "required": ["webhook"],
                    "additionalProperties": False,
                    "properties": {"webhook": {"type": "string", "pattern": "^https?://"}},
                },
            ],
            "errorMessage": _RELOAD,
        },
        "reads": {
            "type": ["array", "null"],
            "items": _store_entry(),
            "description": "secrets it reads from a store",
        },
        "uses": _one_or_list(
            {
                "type": "string",
                "pattern": "^sha256:",
                "errorMessage": "uses takes fingerprints (sha256:…)",
            },
            "credentials it holds directly (fingerprints, or a unique prefix)",
        ),
        "paths": _one_or_list(
            {"type": "string", "minLength": 1}, "its files (globs), for configuration references"
        ),
    },
}
_CREDENTIAL: dict[str, Any] = {
    "additionalProperties": False,
    "allOf": [
        {
            "type": "object",
            "required": ["fingerprint"],
            "errorMessage": "each credential is a mapping with a fingerprint",
        }
    ],
    "properties": {
        "fingerprint": {
            "type": "string",
            "pattern": "^sha256:.{8}",
            "errorMessage": _FINGERPRINT,
        },
        "identities": _one_or_list(_IDENTITY, "who the credential authenticates as"),
        "description": {"description": "free text"},
    },
}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "LeakGuard inventory (leakguard.yaml, inventory/*.yaml)",
    "allOf": [
        {
            "type": "object",
            "anyOf": [{"required": ["services"]}, {"required": ["credentials"]}],
            "errorMessage": "an inventory file holds a services: list",
        }
    ],
    "additionalProperties": False,
    "properties": {
        "services": {"type": ["array", "null"], "items": _SERVICE},
        "credentials": {"type": ["array", "null"], "items": _CREDENTIAL},
    },
}
SERVICE_KEYS = frozenset(_SERVICE["properties"])
_HINT = "see docs/graph.md#inventory (editors validate with schemas/inventory.schema.json)"


class InventoryError(GraphError):
    """The inventory file is malformed (the message names file and line)."""


@dataclass(frozen=True, slots=True)
class Service:
    info: ConsumerInfo
    reads: tuple[StoreRef, ...]
    uses: tuple[str, ...]
    paths: tuple[str, ...]
    file: str
    line: int

    def owns(self, relpath: str) -> bool:
        return any(
            fnmatch.fnmatch(relpath, p) or relpath.startswith(p.rstrip("*/") + "/")
            for p in self.paths
        )


def inventory_files(path: Path) -> list[Path]:
    """``leakguard.yaml`` as given, or every ``*.yaml``/``*.yml`` under an ``inventory/``
    directory."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        if not files:
            raise InventoryError(f"no inventory files (*.yaml) under {path}")
        return files
    if not path.exists():
        raise InventoryError(
            f"inventory not found: {path}", hint="pass leakguard.yaml or an inventory/ directory"
        )
    return [path]


def _fail(path: Path, node: Any, key: str | None, message: str) -> InventoryError:
    line = line_of(node, key)
    where = f"{path}:{line}" if line else str(path)
    return InventoryError(f"{where}: {message}", hint="see docs/graph.md#inventory")


def _str_list(path: Path, svc: Any, key: str) -> tuple[str, ...]:
    value = svc.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(path, svc, key, f"{key} must be a list of strings")
    return tuple(value)


def _reload(path: Path, svc: Any) -> Reload:
    value = svc.get("reload")
    if value is None or value == "none":
        return Reload()
    if isinstance(value, dict) and len(value) == 1:
        ((kind, target),) = value.items()
        if kind in ("restart", "command") and isinstance(target, str) and target:
            return Reload("command", target)
        if (
            kind == "webhook"
            and isinstance(target, str)
            and target.startswith(("http://", "https://"))
        ):
            return Reload("webhook", target)
    raise _fail(
        path, svc, "reload", "reload must be none, {restart: COMMAND} or {webhook: http(s)://URL}"
    )


def _store(path: Path, entry: Any, parent: Any) -> StoreRef:
    if isinstance(entry, dict):
        keys = [k for k in entry if k in STORE_KEYS]
        extra = set(entry) - set(STORE_KEYS) - {"mount"}
        if len(keys) == 1 and not extra:
            backend = STORE_KEYS[keys[0]]
            where = entry[keys[0]]
            mount = entry.get("mount")
            if isinstance(where, str) and where.strip("/"):
                where = where.strip("/")
                if backend == "aws-secretsmanager":
                    if mount is not None:
                        raise _fail(path, entry, "mount", "an aws entry takes no mount")
                    return StoreRef(backend, ids.secretsmanager_name(where))
                if mount is None:
                    if "/" not in where:
                        raise _fail(
                            path, entry, keys[0], "a vault entry is <mount>/<path>, or give mount:"
                        )
                    mount, where = where.split("/", 1)
                if not isinstance(mount, str) or not mount.strip("/"):
                    raise _fail(path, entry, "mount", "mount must be a non-empty string")
                return StoreRef(backend, where, mount.strip("/"))
    raise _fail(
        path,
        entry if isinstance(entry, dict) else parent,
        None if isinstance(entry, dict) else "reads",
        "each reads entry is {vault: MOUNT/PATH} or {aws: SECRET_NAME}",
    )


def _service(path: Path, svc: Any, parent: Any) -> Service:
    if not isinstance(svc, dict):
        raise _fail(path, parent, "services", "each service is a mapping with a name")
    unknown = sorted(set(svc) - SERVICE_KEYS)
    if unknown:
        raise _fail(
            path,
            svc,
            unknown[0],
            f"unknown key {unknown[0]!r} (known: {', '.join(sorted(SERVICE_KEYS))})",
        )
    name = svc.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _fail(path, svc, "name", "a service needs a name")
    kind = svc.get("kind", "service")
    if kind not in KINDS:
        raise _fail(path, svc, "kind", f"kind must be one of: {', '.join(KINDS)}")
    env = svc.get("environment")
    if env is not None and (not isinstance(env, str) or not env):
        raise _fail(path, svc, "environment", "environment must be a string")
    identities = _identities(path, svc)
    reads_raw = svc.get("reads") or []
    if not isinstance(reads_raw, list):
        raise _fail(path, svc, "reads", "reads must be a list")
    reads = tuple(_store(path, entry, reads_raw) for entry in reads_raw)
    uses = _str_list(path, svc, "uses")
    for fp in uses:
        if not fp.startswith("sha256:"):
            raise _fail(path, svc, "uses", f"uses takes fingerprints (sha256:…), not {fp[:12]!r}")
    info = ConsumerInfo(
        ids.consumer(name.strip()), name.strip(), kind, _reload(path, svc), identities, env
    )
    return Service(info, reads, uses, _str_list(path, svc, "paths"), str(path), line_of(svc))


_NAME_LINE = re.compile(r"""(?m)^[ \t]*-[ \t]+(?:name|fingerprint):[ \t]*["']?([^"'\s#]+)""")


@dataclass(frozen=True, slots=True)
class CredentialDecl:
    """A credential's identities, declared: ``credentials: [{fingerprint, identities}]``."""

    fingerprint: str
    identities: tuple[str, ...]
    file: str
    line: int


@dataclass(frozen=True, slots=True)
class Inventory:
    services: tuple[Service, ...] = ()
    credentials: tuple[CredentialDecl, ...] = ()


def _identities(path: Path, node: Any) -> tuple[str, ...]:
    identities = _str_list(path, node, "identities")
    for identity in identities:
        if not identity.startswith(IDENTITY_SCHEMES) or identity.endswith(":"):
            raise _fail(
                path,
                node,
                "identities",
                f"identity {identity!r} needs a scheme: {', '.join(IDENTITY_SCHEMES)}",
            )
    return tuple(ids.aws_identity(i[4:]) if i.startswith("aws:") else i for i in identities)


def _credential(path: Path, item: Any, parent: Any) -> CredentialDecl:
    if not isinstance(item, dict):
        raise _fail(path, parent, "credentials", "each credential is a mapping with a fingerprint")
    unknown = sorted(set(item) - {"fingerprint", "identities", "description"})
    if unknown:
        raise _fail(path, item, unknown[0], f"unknown key {unknown[0]!r} in a credential")
    fp = item.get("fingerprint")
    if not isinstance(fp, str) or not fp.startswith("sha256:") or len(fp) < 15:
        raise _fail(path, item, "fingerprint", "fingerprint must be sha256:… (from a scan)")
    return CredentialDecl(fp, _identities(path, item), str(path), line_of(item))


def _explain(problem: Problem) -> tuple[str, str | None] | None:
    doc = problem.document
    if isinstance(doc, dict) and not {"services", "credentials"} & set(doc):
        return "an inventory file holds a services: list", None  # not "unknown key 'teams'"
    if problem.keyword == "pattern" and "identities" in problem.steps:
        schemes = ", ".join(IDENTITY_SCHEMES)
        return f"identity {shown(problem.value)} needs a scheme: {schemes}", None
    return None


def _parse(file: Path, doc: Any, lines: dict[str, int]) -> Inventory:
    if doc is None:
        return Inventory()
    check(doc, validator_for(SCHEMA), path=file, error=InventoryError, hint=_HINT, explain=_explain)
    if not isinstance(doc, dict) or not ({"services", "credentials"} & set(doc)):
        raise _fail(file, doc, None, "an inventory file holds a services: list")
    items = doc.get("services") or []
    if not isinstance(items, list):
        raise _fail(file, doc, "services", "services must be a list")
    creds = doc.get("credentials") or []
    if not isinstance(creds, list):
        raise _fail(file, doc, "credentials", "credentials must be a list")
    services = []
    for svc in items:
        service = _service(file, svc, items)
        if not service.line and service.info.name in lines:
            service = dataclasses.replace(service, line=lines[service.info.name])
        services.append(service)
    declared = []
    for item in creds:
        cred = _credential(file, item, creds)
        if not cred.line and cred.fingerprint in lines:
            cred = dataclasses.replace(cred, line=lines[cred.fingerprint])
        declared.append(cred)
    return Inventory(tuple(services), tuple(declared))


def _load_file(file: Path) -> Inventory:
    """Fast path: libyaml without line numbers (an estate's inventory is large), lines of
    services found by a pattern. On any error, the line-keeping loader names the exact line."""
    try:
        text = file.read_text(encoding="utf-8")
        doc = yamlload.load(text)
        lines: dict[str, int] = {}
        line, pos = 1, 0
        for m in _NAME_LINE.finditer(text):
            line += text.count("\n", pos, m.start())
            pos = m.start()
            lines.setdefault(m.group(1), line)
        return _parse(file, doc, lines)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, InventoryError):
        doc = load_yaml(file, InventoryError, what="inventory file")
        return _parse(file, doc, {})


def load_inventory(path: Path) -> list[Service]:
    """The services of every inventory file under ``path`` (see :func:`read_inventory`)."""
    return list(read_inventory(path).services)


def read_inventory(path: Path) -> Inventory:
    """Parse and validate every inventory file under ``path``."""
    services: list[Service] = []
    credentials: list[CredentialDecl] = []
    seen: dict[str, tuple[Path, str]] = {}
    for file in inventory_files(path):
        parsed = _load_file(file)
        credentials.extend(parsed.credentials)
        for service in parsed.services:
            if service.info.name in seen:
                first_file, where = seen[service.info.name]
                doc = load_yaml(file, InventoryError, what="inventory file")
                same = [
                    s
                    for s in doc["services"]
                    if isinstance(s, dict) and str(s.get("name", "")).strip() == service.info.name
                ]
                duplicate = same[1] if file == first_file and len(same) > 1 else same[0]
                raise _fail(
                    file,
                    duplicate,
                    "name",
                    f"service {service.info.name!r} is already declared at {where}",
                )
            seen[service.info.name] = (file, f"{file}:{service.line}")
            services.append(service)
    return Inventory(tuple(services), tuple(credentials))


def add_inventory(
    graph: Graph, services: Iterable[Service], credentials: Iterable[CredentialDecl] = ()
) -> int:
    stamp = now()
    n = 0
    for cred in credentials:
        evidence = Evidence(f"inventory:{cred.file}", stamp, f"line {cred.line}")
        fp = resolve_declared(graph, cred.fingerprint, f"{cred.file}:{cred.line}")
        node = graph.add_credential(fp)
        for identity in cred.identities:
            graph.add_edge(node, graph.identity_node(identity), EdgeKind.AUTHENTICATES_AS, evidence)
        n += 1
    for service in services:
        evidence = Evidence(f"inventory:{service.file}", stamp, f"line {service.line}")
        node = graph.add_consumer(service.info, evidence)
        for ref in service.reads:
            graph.add_edge(node, graph.add_store(ref), EdgeKind.READS, evidence)
        for declared in service.uses:
            fp = resolve_declared(graph, declared, f"{service.file}:{service.line}")
            graph.add_edge(node, graph.add_credential(fp), EdgeKind.USES, evidence)
        n += 1
    return n


FULL_FINGERPRINT = re.compile(r"sha256:[0-9a-f]{64}")


def resolve_declared(graph: Graph, declared: str, where: str) -> str:
    """A fingerprint as an inventory declares it: a full one as is; a prefix only when it names
    exactly one credential already in the graph (else a typo would make a phantom credential
    that no store or scan ever matches)."""
    if FULL_FINGERPRINT.fullmatch(declared):
        return declared
    node = ids.credential(declared)
    found = sorted(
        graph.node(n)["fingerprint"]
        for n in graph.nodes_of(NodeKind.CREDENTIAL)
        if n.startswith(node)
    )
    if len(found) == 1:
        return str(found[0])
    if not found:
        raise InventoryError(
            f"{where}: fingerprint {declared} is not a full fingerprint and matches no credential",
            hint="give the full sha256:… fingerprint (64 hex digits) from the scan, or build "
            "the graph from the scan first",
        )
    shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
    raise InventoryError(
        f"{where}: fingerprint prefix {declared} matches {len(found)} credentials: {shown}",
        hint="give the full fingerprint",
    )


def owner_of(services: Sequence[Service], relpath: str) -> Service | None:
    for service in services:
        if service.owns(relpath):
            return service
    return None
