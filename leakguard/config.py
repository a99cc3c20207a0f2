"""The project configuration, ``.leakguard.yaml``: what a repository tells every scan of it.

Found at the scan root (a target that is a directory) or given with ``--config FILE``. One
model definition, :data:`SCHEMA` (a JSON Schema), validates the file, is published for editors
(``schemas/leakguard-config.schema.json``) and is documented in docs/config.md. Errors name the
file and line. Values meant to be allowed are hashed when the file loads: the loaded
configuration holds fingerprints, never those values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leakguard.errors import UsageError
from leakguard.model import Severity
from leakguard.pathfilter import PathFilter
from leakguard.redact import fingerprint

if TYPE_CHECKING:
    from leakguard.schemacheck import Problem

CONFIG_NAME = ".leakguard.yaml"
_SEVERITIES = ["critical", "high", "medium", "low", "info"]
_STRINGS = {"type": "array", "items": {"type": "string", "minLength": 1}}
_ALLOW_ENTRY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "fingerprints": {
            "type": "array",
            "items": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
            "description": "credentials never reported, by fingerprint",
        },
        "values": {
            **_STRINGS,
            "description": "public example values never reported (hashed when read)",
        },
        "regexes": {**_STRINGS, "description": "a secret matching one (search) is not reported"},
        "stopwords": {
            **_STRINGS,
            "description": "a secret containing one (any case) is not reported",
        },
        "paths": {
            **_STRINGS,
            "description": "gitignore-syntax paths where findings are not reported",
        },
    },
}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "LeakGuard project configuration (.leakguard.yaml)",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "version": {"const": 1, "description": "the format version"},
        "exclude": {**_STRINGS, "description": "gitignore-syntax paths never scanned"},
        "default_excludes": {
            "type": "boolean",
            "description": "skip dependency trees and lockfiles (default true; not dist/)",
        },
        "rules": {**_STRINGS, "description": "extra rule directories, relative to this file"},
        "disable_rules": {**_STRINGS, "description": "rule ids never reported"},
        "generic": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "enabled": {"type": "boolean"},
                "severity": {"enum": _SEVERITIES},
            },
            "description": "the generic keyword = high-entropy literal rules",
        },
        "min_severity": {"enum": _SEVERITIES},
        "baseline": {"type": "string", "description": "baseline file, relative to this file"},
        "allow": {
            **_ALLOW_ENTRY,
            "properties": {
                **_ALLOW_ENTRY["properties"],
                "rules": {
                    "type": "object",
                    "additionalProperties": _ALLOW_ENTRY,
                    "description": "allowlists that apply to one rule id",
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Allow:
    """One allowlist (global, or one rule's)."""

    fingerprints: frozenset[str] = frozenset()
    regexes: tuple[re.Pattern[str], ...] = ()
    stopwords: tuple[str, ...] = ()
    paths: PathFilter = field(default_factory=PathFilter)

    def allows(self, secret: str, path: str | None) -> bool:
        if self.fingerprints and fingerprint(secret) in self.fingerprints:
            return True
        lowered = secret.lower()
        if any(word in lowered for word in self.stopwords):
            return True
        if any(pattern.search(secret) for pattern in self.regexes):
            return True
        return path is not None and self.paths.excluded(path)

    def __bool__(self) -> bool:
        return bool(self.fingerprints or self.regexes or self.stopwords or self.paths)


@dataclass(frozen=True)
class Allowlist:
    everywhere: Allow = field(default_factory=Allow)
    by_rule: Mapping[str, Allow] = field(default_factory=dict)

    def allows(self, rule_id: str, secret: str, path: str | None = None) -> bool:
        own = self.by_rule.get(rule_id)
        return self.everywhere.allows(secret, path) or (
            own is not None and own.allows(secret, path)
        )

    def allows_value(self, rule_id: str, secret: str) -> bool:
        """By value alone (the engine pass, where the value is at hand)."""
        return self.allows(rule_id, secret, None)

    def allows_path(self, rule_id: str, path: str) -> bool:
        """By place alone (after the scan, where only fingerprints remain)."""
        own = self.by_rule.get(rule_id)
        if self.everywhere.paths.excluded(path):
            return True
        return own is not None and own.paths.excluded(path)

    def __bool__(self) -> bool:
        return bool(self.everywhere) or any(self.by_rule.values())


@dataclass(frozen=True)
class ProjectConfig:
    path: Path | None = None
    excludes: PathFilter = field(default_factory=lambda: PathFilter.build(()))
    rules_dirs: tuple[Path, ...] = ()
    disable_rules: frozenset[str] = frozenset()
    generic_enabled: bool = True
    generic_severity: Severity | None = None
    min_severity: Severity | None = None
    baseline: Path | None = None
    allow: Allowlist = field(default_factory=Allowlist)


def discover(root: Path) -> Path | None:
    """``.leakguard.yaml`` at the scan root (a directory target), or None. Never a parent's:
    scanning ``examples/app`` inside a repository is not scanning that repository."""
    candidate = root / CONFIG_NAME
    return candidate if root.is_dir() and candidate.is_file() else None


def load(path: Path) -> ProjectConfig:
    from leakguard.yamlfile import load_yaml

    raw = load_yaml(path, UsageError, what="configuration")
    if raw is None:
        raw = {}
    _validate(raw, path)
    base = path.parent
    generic = raw.get("generic") or {}
    return ProjectConfig(
        path=path,
        excludes=PathFilter.build(
            raw.get("exclude", ()), defaults=raw.get("default_excludes", True)
        ),
        rules_dirs=tuple(base / d for d in raw.get("rules", ())),
        disable_rules=frozenset(raw.get("disable_rules", ())),
        generic_enabled=generic.get("enabled", True),
        generic_severity=Severity.parse(generic["severity"]) if "severity" in generic else None,
        min_severity=Severity.parse(raw["min_severity"]) if "min_severity" in raw else None,
        baseline=base / raw["baseline"] if "baseline" in raw else None,
        allow=_allowlist(raw.get("allow") or {}, path),
    )


def _validate(raw: Any, path: Path) -> None:
    from leakguard.schemacheck import check, validator_for

    check(
        raw,
        validator_for(SCHEMA),
        path=path,
        error=UsageError,
        hint="see docs/config.md (editors validate with schemas/leakguard-config.schema.json)",
        explain=_explain,
    )


def _explain(problem: Problem) -> tuple[str, str | None] | None:
    if problem.keyword != "additionalProperties":
        return None
    from leakguard.schemacheck import unknown_keys

    where = ".".join(str(s) for s in problem.steps[:-1])
    return (
        f"{where + ': ' if where else ''}unknown key(s): {', '.join(unknown_keys(problem.error))}",
        None,
    )


def _allow(raw: Mapping[str, Any], path: Path, where: str) -> Allow:
    regexes = []
    for text in raw.get("regexes", ()):
        try:
            regexes.append(re.compile(text))
        except re.error as exc:
            raise UsageError(f"{path}: {where}.regexes: {text!r} does not compile: {exc}") from None
    values = {fingerprint(v) for v in raw.get("values", ())}
    return Allow(
        fingerprints=frozenset(set(raw.get("fingerprints", ())) | values),
        regexes=tuple(regexes),
        stopwords=tuple(w.lower() for w in raw.get("stopwords", ())),
        paths=PathFilter.build(raw.get("paths", ()), defaults=False),
    )


def _allowlist(raw: Mapping[str, Any], path: Path) -> Allowlist:
    by_rule = {
        rule: _allow(entry or {}, path, f"allow.rules.{rule}")
        for rule, entry in (raw.get("rules") or {}).items()
    }
    return Allowlist(_allow(raw, path, "allow"), by_rule)
