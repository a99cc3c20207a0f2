"""The sweep configuration file: which targets, with which options, and where to run them.

```yaml
dask: tcp://scheduler:8786        # optional: run targets on a Dask cluster
jobs: 4                           # optional: process pool size (default: one per core)
webhook: https://hooks.example/x  # optional: POST a redacted summary
webhook_format: slack             # optional: json (default), slack or teams
fail_on_target_error: true        # optional: exit 1 when a target fails (default false)
verify: false                     # optional: same as --verify (default false)
targets:
  - path: /srv/git/payments       # work tree, bare repository, directory or log directory
    include_unreachable: true
  - glob: /srv/git/*.git          # every match is one target
  - url: https://git.example.com/org/api.git
    refs: [main]
    max_file_size: 10MB
```

One definition, :data:`SCHEMA` (a JSON Schema), validates the file before the checks it cannot
express and is published as ``schemas/sweep-config.schema.json``. Every error names the file and
line.
"""

from __future__ import annotations

import glob as globbing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leakguard.errors import UsageError
from leakguard.options import GitOptions, ScanOptions, with_project_config
from leakguard.options import parse_size as parse_size_text
from leakguard.schemacheck import Problem, check, validator_for
from leakguard.yamlfile import LineDict, line_of, load_yaml

_KINDS = ("path", "glob", "url")
#: bodies the sweep webhook can send (rendered by leakguard.reports.webhook)
WEBHOOK_FORMATS = ("json", "slack", "teams")
_TARGETS = "`targets:` must be a non-empty list"
_ONE_KIND = f"a target needs exactly one of {', '.join(_KINDS)}"


def _kind(key: str, description: str) -> dict[str, Any]:
    return {
        "type": "string",
        "pattern": "\\S",
        "errorMessage": f"`{key}:` must be a non-empty string",
        "description": description,
    }


_TARGET: dict[str, Any] = {
    "type": ["string", "object"],
    "description": "a path, or a mapping with one of path, glob, url and its options",
    "if": {"type": "string"},
    "then": _kind("path", "a path (as `path:`)"),
    "else": {
        "additionalProperties": False,
        "allOf": [{"oneOf": [{"required": [k]} for k in _KINDS], "errorMessage": _ONE_KIND}],
        "properties": {
            "path": _kind("path", "work tree, bare repository, directory or log directory"),
            "glob": _kind("glob", "every match is one target"),
            "url": _kind("url", "a remote repository"),
            "include_unreachable": {
                "type": "boolean",
                "description": "also scan commits no ref reaches",
            },
            "history": {"type": "boolean", "description": "scan history (default true)"},
            "refs": {
                "type": ["string", "array"],
                "items": {"type": "string"},
                "description": "refs (or patterns) to scan",
            },
            "max_file_size": {
                "type": ["integer", "string", "null"],
                "minimum": 1,
                "description": "bytes, or a size such as 10MB",
            },
        },
    },
}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "LeakGuard sweep configuration (leakguard sweep CONFIG)",
    "allOf": [
        {
            "type": "object",
            "errorMessage": "a sweep configuration is a mapping with a `targets:` list",
        },
        {"required": ["targets"], "errorMessage": _TARGETS},
    ],
    "additionalProperties": False,
    "properties": {
        "targets": {"type": "array", "minItems": 1, "items": _TARGET, "errorMessage": _TARGETS},
        "dask": {
            "type": ["string", "null"],
            "pattern": "^\\s*(tcp|tls|inproc)://",
            "errorMessage": "`dask:` must be a scheduler address (e.g. tcp://scheduler:8786)",
            "description": "run targets on this Dask scheduler",
        },
        "jobs": {
            "type": "integer",
            "minimum": 0,
            "description": "process pool size (0: one per core)",
        },
        "webhook": {
            "type": ["string", "null"],
            "pattern": "\\S",
            "description": "POST a redacted summary here",
        },
        "webhook_format": {
            "title": "webhook format",
            "enum": list(WEBHOOK_FORMATS),
            "description": "the body posted to the webhook (default json)",
        },
        "fail_on_target_error": {
            "type": "boolean",
            "description": "exit 1 when a target fails (default false)",
        },
        "verify": {
            "type": "boolean",
            "description": "same as --verify (default false)",
        },
    },
}
_TOP_KEYS = frozenset(SCHEMA["properties"])
_TARGET_OPTIONS = frozenset(_TARGET["else"]["properties"]) - set(_KINDS)
_HINT = "see docs/sweep.md (editors validate with schemas/sweep-config.schema.json)"


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """One entry of ``targets:``; a ``glob`` expands to many :class:`Target`."""

    kind: str  # path | glob | url
    value: str
    line: int
    include_unreachable: bool = False
    refs: tuple[str, ...] = ()
    max_file_size: int | None = None
    history: bool = True


@dataclass(frozen=True, slots=True)
class Target:
    """A concrete thing to scan (one repository, directory or URL) and its options."""

    label: str
    spec: TargetSpec

    def scan_options(self, db: Path, *, rules_dirs: tuple[Path, ...] = ()) -> ScanOptions:
        """The target's options, with the ``.leakguard.yaml`` at its root applied (excludes,
        allowlists, disabled rules, baseline; its extra rule directories are not: a sweep
        compiles one rule set for all its targets). A bad file fails this target only."""
        options = self._own_options(db, rules_dirs)
        if self.spec.kind == "url":
            return options
        return with_project_config(options, [self.label])[0]

    def _own_options(self, db: Path, rules_dirs: tuple[Path, ...]) -> ScanOptions:
        spec = self.spec
        base = ScanOptions()
        return ScanOptions(
            jobs=1,
            db=db,
            rules_dirs=rules_dirs,
            max_file_bytes=spec.max_file_size or base.max_file_bytes,
            git=GitOptions(
                history=spec.history,
                include_unreachable=spec.include_unreachable,
                refs=spec.refs,
                incremental=True,
                max_blob_bytes=spec.max_file_size or base.git.max_blob_bytes,
            ),
        )


@dataclass(frozen=True, slots=True)
class SweepConfig:
    path: Path
    specs: tuple[TargetSpec, ...]
    dask: str | None = None
    jobs: int = 0
    webhook: str | None = None
    webhook_format: str = "json"
    fail_on_target_error: bool = False
    verify: bool = False  # check each new credential with its provider (same as --verify)

    def targets(self) -> tuple[list[Target], list[tuple[str, str]]]:
        """Expand globs. Returns the targets and (label, error) for specs that give none."""
        targets: list[Target] = []
        errors: list[tuple[str, str]] = []
        seen: set[str] = set()
        for spec in self.specs:
            if spec.kind != "glob":
                labels = [spec.value]
            else:
                labels = sorted(globbing.glob(spec.value))
                if not labels:
                    errors.append((spec.value, f"{self.path}:{spec.line}: glob matched nothing"))
            for label in labels:
                if label not in seen:
                    seen.add(label)
                    targets.append(Target(label, spec))
        return targets, errors


def parse_size(value: object, where: str) -> int:
    """A size from the configuration (an integer, or text such as 10MB), errors at ``where``."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    try:
        return parse_size_text(str(value))
    except UsageError as exc:
        raise UsageError(f"{where}: {exc.message}", hint=exc.hint) from None


def load_config(path: Path) -> SweepConfig:
    doc = load_yaml(path, UsageError, what="sweep configuration")
    check(doc, validator_for(SCHEMA), path=path, error=UsageError, hint=_HINT, explain=_explain)
    raw_targets = doc["targets"]
    specs = [_spec(path, entry, line_of(raw_targets)) for entry in raw_targets]
    return SweepConfig(
        path=path,
        specs=tuple(specs),
        dask=_optional_str(doc, "dask"),
        jobs=doc.get("jobs", 0),
        webhook=_optional_str(doc, "webhook"),
        webhook_format=doc.get("webhook_format", "json"),
        fail_on_target_error=doc.get("fail_on_target_error", False),
        verify=doc.get("verify", False),
    )


def _explain(problem: Problem) -> tuple[str, str | None] | None:
    """The sweep's own wording: keys as `key:`, unknown target options named as such."""
    steps = problem.steps
    if problem.keyword == "additionalProperties":
        if len(steps) == 1:
            return f"unknown key {steps[0]!r}", f"known keys: {', '.join(sorted(_TOP_KEYS))}"
        return (
            f"unknown target option {steps[-1]!r}",
            f"known options: {', '.join(sorted(_TARGET_OPTIONS))}",
        )
    if problem.keyword == "enum":
        return problem.message.split(" (known")[0], f"use one of: {', '.join(WEBHOOK_FORMATS)}"
    key = steps[-1] if steps else None
    if isinstance(key, str) and problem.message.startswith(f"{key} "):
        return f"`{key}:`" + problem.message[len(key) :], None
    return None


def _optional_str(doc: LineDict, key: str) -> str | None:
    value = doc.get(key)
    return value.strip() if isinstance(value, str) else None


def _spec(path: Path, entry: Any, list_line: int) -> TargetSpec:
    """A target the schema accepted: its kind, an absolute path, a parsed size."""
    line = line_of(entry) or list_line
    options: dict[str, Any] = {"path": entry} if isinstance(entry, str) else entry
    kind = next(k for k in _KINDS if k in options)
    refs = options.get("refs", ())
    size = options.get("max_file_size")
    where = f"{path}:{line_of(entry, 'max_file_size') or line}"
    value = options[kind].strip()
    if kind in ("path", "glob"):
        value = str(Path(value).expanduser())
        if not Path(value).is_absolute():
            value = str(path.resolve().parent / value)
    return TargetSpec(
        kind=kind,
        value=value,
        line=line,
        include_unreachable=options.get("include_unreachable", False),
        refs=(refs,) if isinstance(refs, str) else tuple(refs),
        max_file_size=parse_size(size, where) if size is not None else None,
        history=options.get("history", True),
    )
