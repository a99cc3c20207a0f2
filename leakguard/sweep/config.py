"""The sweep configuration file: which targets, with which options, and where to run them.

```yaml
dask: tcp://scheduler:8786        # optional: run targets on a Dask cluster
jobs: 4                           # optional: process pool size (default: one per core)
webhook: https://hooks.example/x  # optional: POST a redacted summary
webhook_format: slack             # optional: json (default), slack or teams
fail_on_target_error: true        # optional: exit 1 when a target fails (default false)
targets:
  - path: /srv/git/payments       # work tree, bare repository, directory or log directory
    include_unreachable: true
  - glob: /srv/git/*.git          # every match is one target
  - url: https://git.example.com/org/api.git
    refs: [main]
    max_file_size: 10MB
```

Every error names the file and line.
"""

from __future__ import annotations

import glob as globbing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leakguard.errors import UsageError
from leakguard.options import GitOptions, ScanOptions, with_project_config
from leakguard.options import parse_size as parse_size_text
from leakguard.yamlfile import LineDict, line_of, load_yaml

_KINDS = ("path", "glob", "url")
_TARGET_OPTIONS = {"include_unreachable", "refs", "max_file_size", "history"}
#: bodies the sweep webhook can send (rendered by leakguard.reports.webhook)
WEBHOOK_FORMATS = ("json", "slack", "teams")
_TOP_KEYS = {"targets", "dask", "jobs", "webhook", "webhook_format", "fail_on_target_error"}


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
    if not isinstance(doc, LineDict):
        raise UsageError(
            f"{path}:1: a sweep configuration is a mapping with a `targets:` list",
            hint="see docs/sweep.md",
        )
    for key in doc:
        if key not in _TOP_KEYS:
            raise UsageError(
                f"{path}:{doc.line_of(key)}: unknown key {key!r}",
                hint=f"known keys: {', '.join(sorted(_TOP_KEYS))}",
            )
    raw_targets = doc.get("targets")
    if not isinstance(raw_targets, list) or not raw_targets:
        raise UsageError(f"{path}:{doc.line_of('targets')}: `targets:` must be a non-empty list")
    specs = [_spec(path, entry, line_of(raw_targets)) for entry in raw_targets]
    jobs = doc.get("jobs", 0)
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 0:
        raise UsageError(f"{path}:{doc.line_of('jobs')}: `jobs:` must be a whole number >= 0")
    dask = _optional_str(path, doc, "dask")
    if dask is not None and not dask.startswith(("tcp://", "tls://", "inproc://")):
        raise UsageError(
            f"{path}:{doc.line_of('dask')}: `dask:` must be a scheduler address",
            hint="e.g. tcp://scheduler:8786",
        )
    webhook_format = _optional_str(path, doc, "webhook_format") or "json"
    if webhook_format not in WEBHOOK_FORMATS:
        raise UsageError(
            f"{path}:{doc.line_of('webhook_format')}: unknown webhook format {webhook_format!r}",
            hint=f"use one of: {', '.join(WEBHOOK_FORMATS)}",
        )
    fail = doc.get("fail_on_target_error", False)
    if not isinstance(fail, bool):
        raise UsageError(
            f"{path}:{doc.line_of('fail_on_target_error')}: `fail_on_target_error:` must be "
            "true or false"
        )
    return SweepConfig(
        path=path,
        specs=tuple(specs),
        dask=dask,
        jobs=jobs,
        webhook=_optional_str(path, doc, "webhook"),
        webhook_format=webhook_format,
        fail_on_target_error=fail,
    )


def _optional_str(path: Path, doc: LineDict, key: str) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{path}:{doc.line_of(key)}: `{key}:` must be a string")
    return value.strip()


def _spec(path: Path, entry: Any, list_line: int) -> TargetSpec:
    line = line_of(entry) or list_line
    where = f"{path}:{line}"
    if isinstance(entry, str):
        entry_dict: dict[str, Any] = {"path": entry}
    elif isinstance(entry, LineDict):
        entry_dict = entry
    else:
        raise UsageError(f"{where}: a target is a mapping with one of: {', '.join(_KINDS)}")
    kinds = [k for k in _KINDS if k in entry_dict]
    if len(kinds) != 1:
        raise UsageError(
            f"{where}: a target needs exactly one of {', '.join(_KINDS)}",
            hint="e.g. `- path: /srv/git/payments`",
        )
    kind = kinds[0]
    for key in entry_dict:
        if key not in _TARGET_OPTIONS and key not in _KINDS:
            key_line = line_of(entry, key) or line
            raise UsageError(
                f"{path}:{key_line}: unknown target option {key!r}",
                hint=f"known options: {', '.join(sorted(_TARGET_OPTIONS))}",
            )
    value = entry_dict[kind]
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{where}: `{kind}:` must be a non-empty string")
    refs = entry_dict.get("refs", ())
    if isinstance(refs, str):
        refs = (refs,)
    if not isinstance(refs, list | tuple) or not all(isinstance(r, str) for r in refs):
        raise UsageError(f"{path}:{line_of(entry, 'refs') or line}: `refs:` must be a list of refs")
    flags: dict[str, bool] = {}
    for flag, default in (("include_unreachable", False), ("history", True)):
        v = entry_dict.get(flag, default)
        if not isinstance(v, bool):
            raise UsageError(
                f"{path}:{line_of(entry, flag) or line}: `{flag}:` must be true or false"
            )
        flags[flag] = v
    size = entry_dict.get("max_file_size")
    max_size = (
        parse_size(size, f"{path}:{line_of(entry, 'max_file_size') or line}")
        if size is not None
        else None
    )
    value = value.strip()
    if kind in ("path", "glob"):
        value = str(Path(value).expanduser())
        if not Path(value).is_absolute():
            value = str(path.resolve().parent / value)
    return TargetSpec(
        kind=kind,
        value=value,
        line=line,
        include_unreachable=flags["include_unreachable"],
        refs=tuple(refs),
        max_file_size=max_size,
        history=flags["history"],
    )
