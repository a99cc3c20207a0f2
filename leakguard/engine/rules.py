"""Load and check detector rule files (``detectors/*.yaml`` plus ``--rules DIR``).

A rule file holds one provider::

    provider: stripe
    rules:
      - id: stripe-live-secret-key          # stable forever: baselines depend on it
        title: Stripe live secret key
        severity: critical                   # critical | high | medium | low | info
        keywords: [sk_live_]                 # literals that must occur (case-insensitive)
        case_sensitive: false                # optional; true = keywords match exactly
        keyword_guard: '[ \t]*='             # optional; must match where a keyword ends
        pattern: '(?P<secret>sk_live_[0-9A-Za-z]{24,247})'
        validator: {name: entropy_tail, params: {...}}   # or just the name; optional
        entropy: 3.0                         # optional Shannon entropy floor (bits/char)
        max_length: 256                      # optional; bytes scanned after a keyword hit
        before: 64                           # optional; bytes scanned before a keyword hit
        anchored: false                      # optional; true: a match starts at a keyword
        priority: 0                          # optional; wins over rules matching the same text
        placeholder_filter: true             # optional; false when the validator judges
        supersedes: [jwt]                    # optional; rules it overlaps and wins over
        rotation: stripe-key                 # playbook id (the default of rotation_by)
        rotation_by:                         # optional: a playbook chosen by a named group
          group: scheme
          cases: [{match: '^postgres', playbook: postgres-role-password}]
        examples: ['key = "sk_live_..."']
        negative_examples: ['sk_live_xxxxxxxxxxxxxxxxxxxxxxxx']

Patterns are Python regular expressions applied to bytes; a named group ``secret`` marks the
credential inside a larger match. ``rotation_by`` picks a finding's playbook from the text of
another named group (:func:`rotation_for`): the first case whose ``match`` regex finds itself
in that text, else ``rotation``.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from leakguard.engine.guards import GuardError, check_reach
from leakguard.engine.redos import nested_repetition
from leakguard.engine.rulecache import RuleCache, rules_key, status_key
from leakguard.errors import RuleError
from leakguard.model import Severity
from leakguard.resources import detectors_dir, playbooks_dir
from leakguard.schemacheck import Problem, SchemaCheck, check, validator_for
from leakguard.yamlfile import line_of, load_yaml, read_config_text

REQUIRED_KEYS = ("id", "title", "severity", "keywords", "pattern", "examples")
_ID_PATTERN = "^[a-z0-9][a-z0-9-]*[a-z0-9]$"
_ID = re.compile(_ID_PATTERN)
_STRINGS = {"type": "array", "items": {"type": "string"}}
_KEYWORDS = "keywords must be a non-empty list of strings of 2+ characters"
_SUPERSEDES = "supersedes must be a list of other rules' ids"
_PLAYBOOK_ID = "a playbook id (lowercase letters, digits, dashes)"
_GROUP_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"
_ROTATION_BY = "rotation_by needs group (a named group of the pattern) and a list of cases"
_CASE = "each case of rotation_by is {match: REGEX, playbook: ID}"
_ROTATION_BY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["group", "cases"],
    "errorMessage": _ROTATION_BY,
    "description": "the playbook chosen by the text of a named group of the match: the first "
    "case whose regex is found in it (re.search; anchor with ^), else rotation",
    "properties": {
        "group": {
            "type": "string",
            "pattern": _GROUP_PATTERN,
            "errorMessage": "rotation_by.group must be the name of a group of the pattern",
            "description": "a named group of the pattern (not 'secret')",
        },
        "cases": {
            "type": "array",
            "minItems": 1,
            "errorMessage": _ROTATION_BY,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["match", "playbook"],
                "errorMessage": _CASE,
                "properties": {
                    "match": {
                        "type": "string",
                        "minLength": 1,
                        "description": "a Python regular expression searched in the group's text",
                    },
                    "playbook": {
                        "type": "string",
                        "pattern": _ID_PATTERN,
                        "errorMessage": f"playbook must be {_PLAYBOOK_ID}",
                        "description": "the playbook of a match whose group text this case finds",
                    },
                },
            },
        },
    },
}
_RULE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": list(REQUIRED_KEYS),
    "allOf": [
        {"type": "object", "errorMessage": "each rule must be a mapping"},
        {
            "properties": {"examples": {"minItems": 1}},
            "errorMessage": "every rule needs at least one example",
        },
        {
            "if": {"required": ["rotation_by"]},
            "then": {"required": ["rotation"]},
            "errorMessage": "rotation_by needs rotation: the playbook when no case matches",
        },
    ],
    "properties": {
        "id": {
            "type": "string",
            "pattern": _ID_PATTERN,
            "errorMessage": "id must be lowercase letters, digits and dashes",
            "description": "stable forever: baselines depend on it",
        },
        "title": {"type": "string"},
        "description": {"type": "string"},
        "references": {**_STRINGS, "description": "links about this kind of credential"},
        "severity": {
            "title": "severity",
            "enum": ["critical", "high", "medium", "low", "info"],
        },
        "keywords": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "minLength": 2, "errorMessage": _KEYWORDS},
            "errorMessage": _KEYWORDS,
            "description": "literals that must occur (case-insensitive unless case_sensitive)",
        },
        "case_sensitive": {"type": "boolean", "description": "true: keywords match exactly"},
        "keyword_guard": {
            "type": "string",
            "minLength": 1,
            "description": "optional: a small regex (literals, classes, repetition, groups, |) "
            "that must match right where a keyword ends for the hit to count; it must be "
            "implied by the pattern (docs/rules.md, 'Keyword guards')",
        },
        "pattern": {
            "type": "string",
            "description": "a Python regular expression over bytes; group 'secret' marks the "
            "credential",
        },
        "entropy": {
            "type": ["number", "null"],
            "description": "Shannon entropy floor (bits per character)",
        },
        "max_length": {
            "type": "integer",
            "minimum": 1,
            "description": "bytes scanned after a keyword hit (default 256)",
        },
        "before": {
            "type": "integer",
            "minimum": 0,
            "description": "bytes scanned before a keyword hit (default 64)",
        },
        "anchored": {
            "type": "boolean",
            "description": "true: a match starts where a keyword starts; the pattern is tried "
            "at each keyword hit only (faster than searching a window; needs before: 0)",
        },
        "priority": {
            "type": "integer",
            "description": "wins over rules matching the same text (default 0)",
        },
        "placeholder_filter": {
            "type": "boolean",
            "description": "false when the validator judges placeholders itself",
        },
        "supersedes": {
            "type": "array",
            "items": {"type": "string", "pattern": _ID_PATTERN, "errorMessage": _SUPERSEDES},
            "errorMessage": _SUPERSEDES,
            "description": "rule ids this rule knowingly overlaps and wins over",
        },
        "rotation": {
            "type": ["string", "null"],
            "pattern": _ID_PATTERN,
            "errorMessage": f"rotation must be {_PLAYBOOK_ID}",
            "description": "the playbook that rotates this credential (with rotation_by: when "
            "no case matches)",
        },
        "rotation_by": _ROTATION_BY_SCHEMA,
        "examples": {**_STRINGS, "description": "text each of which the rule must match"},
        "negative_examples": {**_STRINGS, "description": "text the rule must not match"},
    },
}


def _validator_schema() -> dict[str, Any]:
    from leakguard.engine.validators import SPECS

    name = {"title": "validator", "enum": sorted(SPECS)}
    by_name = [
        {
            "if": {"required": ["name"], "properties": {"name": {"const": validator}}},
            "then": {
                "properties": {
                    "params": {
                        "type": ["object", "null"],
                        "additionalProperties": False,
                        "properties": {k: {"description": v} for k, v in spec.params.items()},
                    }
                }
            },
        }
        for validator, spec in sorted(SPECS.items())
    ]
    return {
        "description": "an offline check of each match: a name or {name: ..., params: {...}}",
        "type": ["string", "object", "null"],
        "if": {"type": "string"},
        "then": name,
        "else": {
            "additionalProperties": False,
            "required": ["name"],
            "properties": {"name": name, "params": {"type": ["object", "null"]}},
            "allOf": by_name,
        },
    }


def schema() -> dict[str, Any]:
    """The JSON Schema of a rule file (published as ``schemas/detector-rules.schema.json``)."""
    rule = {**_RULE, "properties": {**_RULE["properties"], "validator": _validator_schema()}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "LeakGuard detector rule file (detectors/*.yaml, --rules DIR)",
        "allOf": [
            {
                "type": "object",
                "required": ["provider", "rules"],
                "errorMessage": "a rule file needs 'provider' and a 'rules' list",
            }
        ],
        "additionalProperties": False,
        "properties": {
            "provider": {
                "type": "string",
                "minLength": 1,
                "errorMessage": "'provider' must be a non-empty string",
            },
            "rules": {"type": "array", "items": rule, "errorMessage": "'rules' must be a list"},
        },
    }


RULE_KEYS = frozenset(_RULE["properties"]) | {"validator"}
_HINT = "see docs/rules.md (editors validate with schemas/detector-rules.schema.json)"


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    provider: str
    title: str
    severity: Severity
    pattern: re.Pattern[bytes]
    keywords: tuple[bytes, ...]
    validator: str | None = None
    validator_params: Mapping[str, Any] = field(default_factory=dict)
    entropy: float | None = None
    max_length: int = 256
    before: int = 64
    anchored: bool = False  # a match starts where a keyword starts (before is 0)
    priority: int = 0
    case_sensitive: bool = False
    keyword_guard: str = ""  # must match where a keyword ends (engine/guards.py); "": none
    placeholder_filter: bool = True
    rotation: str | None = None
    # rotation_by: the group whose text picks the playbook, and (regex, playbook) in order
    rotation_group: str = ""
    rotation_cases: tuple[tuple[re.Pattern[bytes], str], ...] = ()
    examples: tuple[str, ...] = ()
    negative_examples: tuple[str, ...] = ()
    description: str = ""
    source: str = ""  # file:line, for errors and `rules list`
    supersedes: tuple[str, ...] = ()  # rule ids this one knowingly overlaps and wins over
    user_supplied: bool = False  # from --rules: matched under a time budget


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...]
    version: str  # sha256 over the rule files' contents: changes when any rule changes

    def by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}

    @classmethod
    def load(
        cls,
        extra_dirs: Iterable[Path] = (),
        *,
        builtin: bool = True,
        cache: RuleCache | None = None,
    ) -> RuleSet:
        """``cache``: where checked rule sets are kept between runs, by rules version (none:
        every file parsed and checked every time)."""
        shipped = _rule_files([detectors_dir()]) if builtin else []
        loaded = cls.from_files(
            shipped + _rule_files(extra_dirs), user_from=len(shipped), cache=cache
        )
        if builtin:
            _check_supersedes(loaded.rules)
        return loaded

    @classmethod
    def from_files(
        cls,
        files: Sequence[Path],
        *,
        user_from: int = 0,
        cache: RuleCache | None = None,
        playbooks: Callable[[], Collection[str]] | None = None,
    ) -> RuleSet:
        """Rules of ``files``; those from ``files[user_from:]`` are user-supplied.
        ``playbooks``: the ids ``rotation_by`` may name (default: the shipped ones, read once
        and only when a rule has ``rotation_by``)."""
        status = None
        if cache is not None:  # files unchanged since a load recorded them are not read
            status = status_key(files, user_from)  # taken before the texts are read
            recorded = cache.known_rules(status)
            if recorded is not None:
                return cls(tuple(recorded[0]), recorded[1])
        texts = [(path, _read(path)) for path in files]
        digest = hashlib.sha256()
        for path, text in texts:
            digest.update(path.name.encode() + b"\0" + text.encode() + b"\0")
        version = digest.hexdigest()[:16]
        key = rules_key(texts, user_from) if cache is not None else ""
        if cache is not None:
            cached = cache.load_rules(key)
            if cached is not None:
                cache.remember_rules(status, key, version)
                return cls(tuple(cached), version)
        rules: list[Rule] = []
        seen: dict[str, str] = {}
        validator = rule_file_validator()
        known = functools.cache(playbooks or shipped_playbook_ids)  # for this call only
        for index, (path, text) in enumerate(texts):
            for parsed in parse_rule_file(path, text, validator, known):
                rule = replace(parsed, user_supplied=True) if index >= user_from else parsed
                if rule.id in seen:
                    raise RuleError(
                        f"{rule.source}: rule id {rule.id!r} is already defined at {seen[rule.id]}",
                        hint="rule ids are unique; give your rule its own id",
                    )
                seen[rule.id] = rule.source
                rules.append(rule)
        if cache is not None and cache.store_rules(key, rules):
            cache.remember_rules(status, key, version)
        return cls(tuple(rules), version)


def _rule_files(dirs: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for d in dirs:
        if not d.exists():
            raise RuleError(f"rules directory not found: {d}")
        if not d.is_dir():  # a rule file, or something that is not one (refused on read)
            files.append(d)
            continue
        # by name: the order of Paths of one directory, without a Path comparison each
        files.extend(sorted((p for p in d.iterdir() if p.suffix in (".yaml", ".yml")), key=_name))
    return files


def _name(path: Path) -> str:
    return path.name


def _check_supersedes(rules: Sequence[Rule]) -> None:
    known = {r.id for r in rules}
    for rule in rules:
        missing = sorted(set(rule.supersedes) - known)
        if missing:
            raise RuleError(
                f"{rule.source}: rule {rule.id!r} supersedes unknown rule {missing[0]!r}",
                hint="'supersedes' lists ids of loaded rules this rule overlaps and wins over",
            )


#: the id of each provider-steps entry (``- playbook: ID`` in ``playbooks/providers/*.yaml``)
_STEPS_PLAYBOOK = re.compile(r"^[ \t]*-?[ \t]*playbook:[ \t]*['\"]?([a-z0-9][a-z0-9-]*)", re.M)


def shipped_playbook_ids(directory: Path | None = None) -> frozenset[str]:
    """The playbook ids a rule may name: the playbook files and the provider-steps entries.
    Read as text: the engine does not import the rotation package (a test checks this set
    equals :func:`leakguard.rotation.providers.playbook_ids`)."""
    root = directory or playbooks_dir()
    ids = {p.stem for p in root.glob("*.yaml")}
    for path in sorted((root / "providers").glob("*.yaml")):
        ids.update(_STEPS_PLAYBOOK.findall(path.read_text(encoding="utf-8")))
    return frozenset(ids)


def rotation_for(rule: Rule, groups: Mapping[str, bytes | None]) -> str | None:
    """The playbook of one match of ``rule``: the first ``rotation_by`` case whose regex is
    found in the text of the rule's group (``groups``: the match's named groups), else the
    rule's ``rotation``."""
    if rule.rotation_cases:
        text = groups.get(rule.rotation_group)
        if text is not None:
            for case, playbook in rule.rotation_cases:
                if case.search(text) is not None:
                    return playbook
    return rule.rotation


def _read(path: Path) -> str:
    return read_config_text(path, RuleError, what="rule file")


def rule_file_validator() -> SchemaCheck:
    """A validator of :func:`schema` (build it once for many files)."""
    return validator_for(schema())


def parse_rule_file(
    path: Path,
    text: str | None = None,
    validator: SchemaCheck | None = None,
    playbooks: Callable[[], Collection[str]] = shipped_playbook_ids,
) -> list[Rule]:
    """``playbooks``: the ids ``rotation_by`` may name (asked only when a rule has it)."""
    doc = load_yaml(path, RuleError, text=text, what="rule file")
    check(
        doc,
        validator or rule_file_validator(),
        path=path,
        error=RuleError,
        hint=_HINT,
        explain=_explain,
    )
    return [_parse_rule(path, doc["provider"], entry, playbooks) for entry in doc["rules"]]


def _explain(problem: Problem) -> tuple[str, str | None] | None:
    """A mistake inside a rule names the rule; a validator's parameter, the validator."""
    steps, entry = problem.steps, problem.at(2)
    if len(steps) < 2 or not isinstance(entry, dict):
        return None
    message = problem.message
    if steps[2:4] == ("validator", "params") and problem.keyword == "additionalProperties":
        known = ", ".join(sorted(problem.error.schema.get("properties", {}))) or "none"
        message = (
            f"validator {entry['validator']['name']!r}: unknown parameter {steps[-1]!r} "
            f"(accepted: {known})"
        )
    return f"rule {entry.get('id', '?')!r}: {message}", None


def _parse_rule(
    path: Path, provider: str, raw: dict[str, Any], playbooks: Callable[[], Collection[str]]
) -> Rule:
    """A rule the schema accepted: compile it and check what the schema cannot."""
    where = f"{path}:{line_of(raw)}"

    def fail(key: str, message: str) -> RuleError:
        return RuleError(f"{path}:{line_of(raw, key)}: rule {raw.get('id', '?')!r}: {message}")

    rule_id = raw["id"]
    case_sensitive = raw.get("case_sensitive", False)
    pattern = _parse_pattern(raw, path, fail)
    validator, params = _parse_validator(raw, fail)
    supersedes = raw.get("supersedes", [])
    if rule_id in supersedes:
        raise fail("supersedes", _SUPERSEDES)
    group, cases = _parse_rotation_by(raw, pattern, path, playbooks)
    keywords = tuple((k if case_sensitive else k.lower()).encode("utf-8") for k in raw["keywords"])
    return Rule(
        id=rule_id,
        provider=provider,
        title=raw["title"],
        severity=Severity.parse(raw["severity"]),
        pattern=pattern,
        keywords=keywords,
        validator=validator,
        validator_params=params,
        entropy=raw.get("entropy"),
        max_length=raw.get("max_length", 256),
        before=raw.get("before", 64),
        anchored=_parse_anchored(raw, fail),
        priority=raw.get("priority", 0),
        case_sensitive=case_sensitive,
        keyword_guard=_parse_guard(raw, keywords, fail),
        placeholder_filter=raw.get("placeholder_filter", True),
        rotation=raw.get("rotation"),
        rotation_group=group,
        rotation_cases=cases,
        examples=tuple(raw["examples"]),
        negative_examples=tuple(raw.get("negative_examples", ())),
        description=raw.get("description", ""),
        source=where,
        supersedes=tuple(supersedes),
    )


Fail = Callable[[str, str], RuleError]


def _parse_anchored(raw: dict[str, Any], fail: Fail) -> bool:
    anchored = bool(raw.get("anchored", False))
    if anchored and raw.get("before", 64) != 0:
        raise fail("anchored", "an anchored rule reads nothing before its keyword: set before: 0")
    return anchored


def _parse_guard(raw: dict[str, Any], keywords: tuple[bytes, ...], fail: Fail) -> str:
    text = raw.get("keyword_guard", "")
    if text:
        try:
            check_reach(text, keywords, raw.get("case_sensitive", False))
        except GuardError as exc:
            raise fail("keyword_guard", str(exc)) from None
    return str(text)


def _parse_pattern(raw: dict[str, Any], path: Path, fail: Fail) -> re.Pattern[bytes]:
    pattern_text = raw["pattern"]
    if not isinstance(pattern_text, str):
        raise fail("pattern", "pattern must be a string")
    try:
        pattern = re.compile(pattern_text.encode("utf-8"))
    except re.error as exc:
        raise fail("pattern", f"invalid pattern: {exc}") from None
    nested = nested_repetition(pattern_text)
    if nested is not None:
        raise RuleError(
            f"{path}:{line_of(raw, 'pattern')}: rule {raw.get('id', '?')!r}: pattern has "
            f"{nested}, which can take exponential time on hostile input",
            hint="repeat once, e.g. (a+)+ -> a+, or make the inner repetition possessive (a++)",
        )

    return pattern


def _parse_validator(raw: dict[str, Any], fail: Fail) -> tuple[str | None, Mapping[str, Any]]:
    """The validator's name and its prepared parameters (the schema checked the shape)."""
    validator = raw.get("validator")
    params: Mapping[str, Any] = {}
    if isinstance(validator, dict):
        params = validator.get("params") or {}
        validator = validator["name"]
    if validator is None:
        return None, params
    from leakguard.engine.validators import prepare_params

    try:
        return validator, prepare_params(validator, params)
    except ValueError as exc:
        raise fail("validator", f"validator {validator!r}: {exc}") from None


def _parse_rotation_by(
    raw: dict[str, Any],
    pattern: re.Pattern[bytes],
    path: Path,
    playbooks: Callable[[], Collection[str]],
) -> tuple[str, tuple[tuple[re.Pattern[bytes], str], ...]]:
    """``rotation_by`` checked (the schema checked its shape): the group exists, each case's
    regex compiles and cannot backtrack exponentially, each playbook (and the default) exists."""
    spec = raw.get("rotation_by")
    if spec is None:
        return "", ()

    def fail(node: object, key: str, message: str, hint: str | None = None) -> RuleError:
        return RuleError(
            f"{path}:{line_of(node, key)}: rule {raw.get('id', '?')!r}: {message}", hint=hint
        )

    group = spec["group"]
    if group == "secret" or group not in pattern.groupindex:
        named = ", ".join(sorted(set(pattern.groupindex) - {"secret"})) or "none"
        message = f"rotation_by.group {group!r} is not a named group of the pattern ({named})"
        raise fail(spec, "group", message)
    known = playbooks()
    named_playbooks = [(raw, "rotation", raw["rotation"])]
    named_playbooks += [(case, "playbook", case["playbook"]) for case in spec["cases"]]
    for node, key, playbook in named_playbooks:
        if playbook not in known:
            hint = "`leakguard playbook list` shows the playbook ids"
            raise fail(node, key, f"no playbook {playbook!r}", hint)
    cases = []
    for case in spec["cases"]:
        try:
            regex = re.compile(case["match"].encode("utf-8"))
        except re.error as exc:
            message = f"rotation_by: invalid match {case['match']!r}: {exc}"
            raise fail(case, "match", message) from None
        nested = nested_repetition(case["match"])
        if nested is not None:
            message = f"rotation_by: match has {nested}, which can take exponential time"
            raise fail(case, "match", message, "repeat once, e.g. (a+)+ -> a+")
        cases.append((regex, case["playbook"]))
    return group, tuple(cases)
