"""Load and check detector rule files (``detectors/*.yaml`` plus ``--rules DIR``).

A rule file holds one provider::

    provider: stripe
    rules:
      - id: stripe-live-secret-key          # stable forever: baselines depend on it
        title: Stripe live secret key
        severity: critical                   # critical | high | medium | low | info
        keywords: [sk_live_]                 # literals that must occur (case-insensitive)
        case_sensitive: false                # optional; true = keywords match exactly
        pattern: '(?P<secret>sk_live_[0-9A-Za-z]{24,247})'
        validator: {name: entropy_tail, params: {...}}   # or just the name; optional
        entropy: 3.0                         # optional Shannon entropy floor (bits/char)
        max_length: 256                      # optional; bytes scanned after a keyword hit
        before: 64                           # optional; bytes scanned before a keyword hit
        priority: 0                          # optional; wins over rules matching the same text
        placeholder_filter: true             # optional; false when the validator judges
        supersedes: [jwt]                    # optional; rules it overlaps and wins over
        rotation: stripe-key                 # playbook id
        examples: ['key = "sk_live_..."']
        negative_examples: ['sk_live_xxxxxxxxxxxxxxxxxxxxxxxx']

Patterns are Python regular expressions applied to bytes; a named group ``secret`` marks the
credential inside a larger match.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from leakguard.engine.redos import nested_repetition
from leakguard.engine.rulecache import RuleCache, rules_key
from leakguard.errors import RuleError
from leakguard.model import Severity
from leakguard.resources import detectors_dir
from leakguard.yamlfile import line_of, load_yaml, read_config_text

RULE_KEYS = {
    "id",
    "title",
    "severity",
    "keywords",
    "pattern",
    "validator",
    "entropy",
    "max_length",
    "before",
    "rotation",
    "examples",
    "negative_examples",
    "description",
    "references",
    "priority",
    "case_sensitive",
    "placeholder_filter",
    "supersedes",
}
REQUIRED_KEYS = ("id", "title", "severity", "keywords", "pattern", "examples")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")


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
    priority: int = 0
    case_sensitive: bool = False
    placeholder_filter: bool = True
    rotation: str | None = None
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
        cls, files: Sequence[Path], *, user_from: int = 0, cache: RuleCache | None = None
    ) -> RuleSet:
        """Rules of ``files``; those from ``files[user_from:]`` are user-supplied."""
        texts = [(path, _read(path)) for path in files]
        digest = hashlib.sha256()
        for path, text in texts:
            digest.update(path.name.encode() + b"\0" + text.encode() + b"\0")
        key = rules_key(texts, user_from) if cache is not None else ""
        cached = cache.load_rules(key) if cache is not None else None
        if cached is not None:
            return cls(tuple(cached), digest.hexdigest()[:16])
        rules: list[Rule] = []
        seen: dict[str, str] = {}
        for index, (path, text) in enumerate(texts):
            for parsed in parse_rule_file(path, text):
                rule = replace(parsed, user_supplied=True) if index >= user_from else parsed
                if rule.id in seen:
                    raise RuleError(
                        f"{rule.source}: rule id {rule.id!r} is already defined at {seen[rule.id]}",
                        hint="rule ids are unique; give your rule its own id",
                    )
                seen[rule.id] = rule.source
                rules.append(rule)
        if cache is not None:
            cache.store_rules(key, rules)
        return cls(tuple(rules), digest.hexdigest()[:16])


def _rule_files(dirs: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for d in dirs:
        if not d.exists():
            raise RuleError(f"rules directory not found: {d}")
        if not d.is_dir():  # a rule file, or something that is not one (refused on read)
            files.append(d)
            continue
        files.extend(sorted(p for p in d.iterdir() if p.suffix in (".yaml", ".yml")))
    return files


def _check_supersedes(rules: Sequence[Rule]) -> None:
    known = {r.id for r in rules}
    for rule in rules:
        missing = sorted(set(rule.supersedes) - known)
        if missing:
            raise RuleError(
                f"{rule.source}: rule {rule.id!r} supersedes unknown rule {missing[0]!r}",
                hint="'supersedes' lists ids of loaded rules this rule overlaps and wins over",
            )


def _read(path: Path) -> str:
    return read_config_text(path, RuleError, what="rule file")


def parse_rule_file(path: Path, text: str | None = None) -> list[Rule]:
    doc = load_yaml(path, RuleError, text=text, what="rule file")
    if not isinstance(doc, dict) or "rules" not in doc or "provider" not in doc:
        raise RuleError(
            f"{path}:1: a rule file needs 'provider' and a 'rules' list",
            hint="see README.md, 'Rule format'",
        )
    provider = doc["provider"]
    if not isinstance(provider, str) or not provider:
        raise RuleError(f"{path}:{line_of(doc, 'provider')}: 'provider' must be a non-empty string")
    entries = doc["rules"]
    if not isinstance(entries, list):
        raise RuleError(f"{path}:{line_of(doc, 'rules')}: 'rules' must be a list")
    return [_parse_rule(path, provider, entry) for entry in entries]


def _parse_rule(path: Path, provider: str, raw: Any) -> Rule:
    where = f"{path}:{line_of(raw)}"
    if not isinstance(raw, dict):
        raise RuleError(f"{where}: each rule must be a mapping")

    def fail(key: str, message: str) -> RuleError:
        return RuleError(f"{path}:{line_of(raw, key)}: rule {raw.get('id', '?')!r}: {message}")

    unknown = sorted(set(raw) - RULE_KEYS)
    if unknown:
        raise fail(
            unknown[0], f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(RULE_KEYS))})"
        )
    for key in REQUIRED_KEYS:
        if key not in raw:
            raise RuleError(f"{where}: rule {raw.get('id', '?')!r}: missing required key {key!r}")

    rule_id = raw["id"]
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        raise fail("id", "id must be lowercase letters, digits and dashes")
    try:
        severity = Severity.parse(raw["severity"])
    except Exception:
        raise fail("severity", f"unknown severity {raw['severity']!r}") from None

    keywords = raw["keywords"]
    if (
        not isinstance(keywords, list)
        or not keywords
        or not all(isinstance(k, str) and len(k) >= 2 for k in keywords)
    ):
        raise fail("keywords", "keywords must be a non-empty list of strings of 2+ characters")

    pattern = _parse_pattern(raw, path, fail)

    validator, params = _parse_validator(raw, fail)

    def examples(key: str) -> tuple[str, ...]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(key, f"{key} must be a list of strings")
        return tuple(value)

    positives = examples("examples")
    if not positives:
        raise fail("examples", "every rule needs at least one example")

    def number(key: str, default: Any, kind: type) -> Any:
        value = raw.get(key, default)
        if value is not None and not isinstance(value, (int, float) if kind is float else int):
            raise fail(key, f"{key} must be a number")
        return value

    def boolean(key: str, default: bool) -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            raise fail(key, f"{key} must be true or false")
        return value

    case_sensitive = boolean("case_sensitive", False)
    rotation = raw.get("rotation")
    if rotation is not None and (not isinstance(rotation, str) or not _ID.match(rotation)):
        raise fail("rotation", "rotation must be a playbook id (lowercase letters, digits, dashes)")
    for key, low in (("max_length", 1), ("before", 0)):
        value = number(key, low, int)
        if value is None or value < low:
            raise fail(key, f"{key} must be at least {low}")

    supersedes = raw.get("supersedes", [])
    if not isinstance(supersedes, list) or not all(
        isinstance(i, str) and _ID.match(i) and i != rule_id for i in supersedes
    ):
        raise fail("supersedes", "supersedes must be a list of other rules' ids")

    return Rule(
        id=rule_id,
        provider=provider,
        title=str(raw["title"]),
        severity=severity,
        pattern=pattern,
        keywords=tuple((k if case_sensitive else k.lower()).encode("utf-8") for k in keywords),
        validator=validator,
        validator_params=params,
        entropy=number("entropy", None, float),
        max_length=number("max_length", 256, int),
        before=number("before", 64, int),
        priority=number("priority", 0, int),
        case_sensitive=case_sensitive,
        placeholder_filter=boolean("placeholder_filter", True),
        rotation=rotation,
        examples=positives,
        negative_examples=examples("negative_examples"),
        description=str(raw.get("description", "")),
        source=where,
        supersedes=tuple(supersedes),
    )


Fail = Callable[[str, str], RuleError]


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
    validator = raw.get("validator")
    params: Mapping[str, Any] = {}
    if isinstance(validator, dict):
        params = validator.get("params") or {}
        validator = validator.get("name")
        if not isinstance(params, dict):
            raise fail("validator", "validator params must be a mapping")
    if validator is not None and not isinstance(validator, str):
        raise fail("validator", "validator must be a name or {name: ..., params: {...}}")
    if validator is not None:
        from leakguard.engine.validators import SPECS, prepare_params

        if validator not in SPECS:
            raise fail(
                "validator",
                f"unknown validator {validator!r} (known: {', '.join(sorted(SPECS))})",
            )
        try:
            params = prepare_params(validator, params)
        except ValueError as exc:
            raise fail("validator", f"validator {validator!r}: {exc}") from None

    return validator, params
