"""Keys an operator rolls by hand in a provider's dashboard, console or CLI.

The steps for each credential are data: ``playbooks/providers/<provider>.yaml`` (see
:class:`StepsCatalog`). :meth:`ManualIssuer.issue` shows the steps, takes the new value from a
prompt callback or a file, and accepts it only if it has the credential's shape: a detector rule
of the provider (or one of the rules the entry names) matches the *whole* value, or, for values
no rule recognises alone (passwords, context-only keys), the entry's ``format`` matches it. A
pasted key of the wrong kind, a truncated copy or a placeholder is refused before it is stored.
Revoking the old key is also an operator step, confirmed by the operator.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leakguard.backends.interface import IssuedKey, KeyState, SecretData, data_fingerprint
from leakguard.engine.filters import is_placeholder
from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet
from leakguard.errors import BackendError, UsageError
from leakguard.redact import fingerprint, redact
from leakguard.yamlfile import line_of, load_yaml

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")
_ENTRY_KEYS = frozenset({"playbook", "title", "roll", "revoke", "rules", "format"})


@dataclass(frozen=True)
class ProviderSteps:
    """How an operator rolls and revokes one kind of credential of one provider."""

    provider: str  # the detector rules' provider name
    title: str
    roll: tuple[str, ...]
    revoke: tuple[str, ...]
    playbook: str = ""  # the playbook id rules name in ``rotation:``
    rules: tuple[str, ...] = ()  # only these rules accept a new value (default: the provider's)
    format: re.Pattern[str] | None = None  # the new value must match this instead of a rule
    source: str = ""  # file:line


@dataclass(frozen=True)
class StepsCatalog:
    """Every provider-steps entry, by playbook id (loaded from ``playbooks/providers/``)::

    provider: telegram                 # as in detectors/telegram.yaml
    credentials:
      - playbook: telegram-bot-token   # the id rules name in `rotation:`
        title: Telegram bot token
        rules: [telegram-bot-token]    # optional: rules that accept the new value
        format: '[0-9]{8,10}:[A-Za-z0-9_-]{35}'   # optional: instead of a rule
        roll: ["Open a chat with @BotFather ...", "..."]
        revoke: ["..."]
    """

    entries: Mapping[str, ProviderSteps]

    @classmethod
    def load(cls, directory: Path | None = None) -> StepsCatalog:
        if directory is None:
            from leakguard.resources import playbooks_dir

            directory = playbooks_dir() / "providers"
        entries: dict[str, ProviderSteps] = {}
        files = sorted(directory.glob("*.yaml")) if directory.is_dir() else []
        for path in files:
            for entry in parse_steps_file(path):
                if entry.playbook in entries:
                    raise UsageError(
                        f"{entry.source}: playbook {entry.playbook!r} is already defined at "
                        f"{entries[entry.playbook].source}",
                        hint="each provider-steps playbook id is unique",
                    )
                entries[entry.playbook] = entry
        return cls(entries)

    def providers(self) -> list[str]:
        return sorted({e.provider for e in self.entries.values()})

    def credential(self, provider: str, playbook: str | None = None) -> ProviderSteps:
        """The entry ``playbook`` of ``provider``, or the provider's first entry."""
        for entry in self.entries.values():
            if entry.provider == provider and playbook in (None, entry.playbook):
                return entry
        if playbook is not None:
            raise UsageError(
                f"no manual rotation steps {playbook!r} for provider {provider!r}",
                hint="steps: "
                + ", ".join(e.playbook for e in self.entries.values() if e.provider == provider),
            )
        raise UsageError(
            f"no manual rotation steps for provider {provider!r}",
            hint=f"known providers: {', '.join(self.providers())}",
        )


def parse_steps_file(path: Path) -> list[ProviderSteps]:
    doc = load_yaml(path, UsageError, what="provider-steps file")
    if not isinstance(doc, dict) or set(doc) != {"provider", "credentials"}:
        raise UsageError(f"{path}:1: a provider-steps file has 'provider' and 'credentials'")
    provider = doc["provider"]
    if not isinstance(provider, str) or provider != path.stem:
        raise UsageError(f"{path}:{line_of(doc, 'provider')}: provider must equal the file name")
    entries = doc["credentials"]
    if not isinstance(entries, list) or not entries:
        raise UsageError(f"{path}:{line_of(doc, 'credentials')}: credentials must be a list")
    return [_parse_entry(path, provider, raw) for raw in entries]


def _parse_entry(path: Path, provider: str, raw: Any) -> ProviderSteps:
    where = f"{path}:{line_of(raw)}"
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: each credential is a mapping")
    unknown = sorted(set(raw) - _ENTRY_KEYS)
    if unknown:
        allowed = ", ".join(sorted(_ENTRY_KEYS))
        raise UsageError(f"{where}: unknown key {unknown[0]!r}", hint=f"allowed: {allowed}")

    def lines(key: str, required: bool = True) -> tuple[str, ...]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise UsageError(f"{path}:{line_of(raw, key)}: {key} must be a list of strings")
        if required and not value:
            raise UsageError(f"{path}:{line_of(raw, key)}: {key} needs at least one step")
        return tuple(value)

    playbook, title = raw.get("playbook"), raw.get("title")
    if not isinstance(playbook, str) or not _ID.match(playbook):
        raise UsageError(f"{where}: playbook must be an id (lowercase letters, digits, dashes)")
    if not isinstance(title, str) or not title.strip() or "${" in title or "\n" in title:
        raise UsageError(f"{where}: credential {playbook}: title must be one line of plain text")
    shape: re.Pattern[str] | None = None
    if "format" in raw:
        try:
            shape = re.compile(str(raw["format"]))
        except re.error as exc:
            raise UsageError(f"{path}:{line_of(raw, 'format')}: invalid format: {exc}") from None
    return ProviderSteps(
        provider=provider,
        title=title.strip(),
        roll=lines("roll"),
        revoke=lines("revoke"),
        playbook=playbook,
        rules=lines("rules", required=False),
        format=shape,
        source=where,
    )


def steps_text(
    provider: str,
    *,
    revoke: bool = False,
    credential: str | None = None,
    catalog: StepsCatalog | None = None,
) -> str:
    steps = (catalog or StepsCatalog.load()).credential(provider, credential)
    return _numbered(steps, revoke=revoke)


def _numbered(steps: ProviderSteps, *, revoke: bool) -> str:
    lines = steps.revoke if revoke else steps.roll
    verb = "Revoke the old" if revoke else "Roll the"
    body = "\n".join(f"  {i}. {line}" for i, line in enumerate(lines, 1))
    return f"{verb} {steps.title}:\n{body}"


Prompt = Callable[[str], str]
Confirm = Callable[[str], bool]


class ManualIssuer:
    kind = "manual"

    def __init__(
        self,
        provider: str,
        *,
        credential: str | None = None,
        prompt: Prompt | None = None,
        value_file: Path | None = None,
        confirm: Confirm | None = None,
        ruleset: RuleSet | None = None,
        field: str = "value",
        catalog: StepsCatalog | None = None,
    ) -> None:
        self._steps = (catalog or StepsCatalog.load()).credential(provider, credential)
        self.provider = self._steps.provider
        self.credential = self._steps.playbook
        self._prompt = prompt
        self._value_file = value_file
        self._confirm = confirm
        self._ruleset = ruleset
        self.field = field
        self._issued: dict[tuple[str, str], IssuedKey] = {}

    def steps(self, *, revoke: bool = False) -> str:
        return _numbered(self._steps, revoke=revoke)

    def _engine(self) -> Engine:
        ruleset = self._ruleset or RuleSet.load()
        if not any(self._accepts(rule.provider, rule.id) for rule in ruleset.rules):
            raise BackendError(
                f"no detector rule for provider {self.provider!r} to check the new value with",
                hint="add a rule for it under detectors/ (or pass --rules)",
            )
        return Engine(ruleset, "re")

    def _accepts(self, provider: str, rule_id: str) -> bool:
        if self._steps.rules:
            return rule_id in self._steps.rules
        return provider == self.provider

    def check(self, value: str) -> str:
        """The value, stripped, if it has the credential's shape (see the module docstring)."""
        value = value.strip()
        if not value:
            raise BackendError("no new value was supplied", hint="paste the key from the dashboard")
        if self._steps.format is not None:
            if self._steps.format.fullmatch(value) and not is_placeholder(value.encode()):
                return value
        else:
            whole = fingerprint(value)
            for found in self._engine().scan_text(value, path="<new value>"):
                if self._accepts(found.provider, found.rule_id) and found.fingerprint == whole:
                    return value
        raise BackendError(
            f"the value supplied ({redact(value)}) is not a complete {self.provider} key "
            f"(expected: {self._steps.title})",
            hint=f"copy the whole new value from {self.provider} and try again",
        )

    def _read_value(self, subject: str) -> str:
        instructions = f"{self.steps()}\n(for {subject})"
        if self._value_file is not None:
            try:
                _require_private(self._value_file)
                return self._value_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise BackendError(
                    f"cannot read the new value from {self._value_file}: {exc.strerror}",
                    hint="save the new key to that file (mode 0600), then resume",
                ) from None
        if self._prompt is not None:
            return self._prompt(instructions)
        raise BackendError(
            f"the new {self.provider} key must be supplied by an operator",
            hint="run interactively, or pass the key in a file",
        )

    # -- KeyIssuer --------------------------------------------------------------------------

    def list_keys(self, subject: str) -> list[KeyState]:
        return [KeyState(k.key_id, "active") for (s, _), k in self._issued.items() if s == subject]

    def issue(self, subject: str, token: str) -> IssuedKey:
        cached = self._issued.get((subject, token))
        if cached is not None:
            return cached
        value = self.check(self._read_value(subject))
        secret = {self.field: value}
        key = IssuedKey(redact(value), subject, secret, data_fingerprint(secret))
        self._issued[(subject, token)] = key
        return key

    def works(self, key: IssuedKey | SecretData) -> bool:
        """Format check only; liveness at the provider is a playbook ``command`` check."""
        data = key.secret if isinstance(key, IssuedKey) else key
        try:
            self.check(data.get(self.field, ""))
        except BackendError:
            return False
        return True

    def deactivate(self, subject: str, key_id: str) -> None:
        self._ask(f"{self.steps(revoke=True)}\n(old key {key_id} of {subject})")

    def activate(self, subject: str, key_id: str) -> None:
        raise BackendError(
            f"a revoked {self.provider} key cannot be restored by LeakGuard",
            hint="roll a new key in the dashboard and run the playbook again",
        )

    def delete(self, subject: str, key_id: str) -> None:
        self.deactivate(subject, key_id)

    def _ask(self, text: str) -> None:
        if self._confirm is None:
            raise BackendError(
                f"revoking a {self.provider} key is a dashboard step an operator must confirm",
                hint=(
                    "resume the run in a terminal (leakguard playbook resume RUN) so the "
                    "operator can confirm it; `playbook approve` serves approval steps only"
                ),
            )
        if not self._confirm(text):
            raise BackendError(
                f"the operator did not confirm revoking the old {self.provider} key",
                hint="revoke it in the dashboard, then resume the run",
            )


def _require_private(path: Path) -> None:
    """A value file readable by others is a leak of its own: refuse rather than warn."""
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise BackendError(
            f"{path} is readable by other users",
            hint=f"chmod 600 {path} (and delete it once the run finishes)",
        )
