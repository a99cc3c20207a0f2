"""Keys an operator rolls by hand in a provider's dashboard (Stripe, GitHub, Supabase, OpenAI).

:meth:`ManualIssuer.issue` shows the exact steps, takes the new value from a prompt callback or
a file, and accepts it only if a detector rule of the expected provider matches the *whole*
value: a pasted key of the wrong kind, a truncated copy or a placeholder is refused before it is
stored. Revoking the old key is also a dashboard step, confirmed by the operator.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from leakguard.backends.interface import IssuedKey, KeyState, SecretData, data_fingerprint
from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet
from leakguard.errors import BackendError, UsageError
from leakguard.redact import fingerprint, redact


@dataclass(frozen=True)
class ProviderSteps:
    provider: str
    title: str
    roll: tuple[str, ...]
    revoke: tuple[str, ...]


PROVIDERS: Mapping[str, ProviderSteps] = {
    "stripe": ProviderSteps(
        "stripe",
        "Stripe secret key",
        (
            "Open https://dashboard.stripe.com/apikeys (switch to the account that owns the key).",
            "In 'Standard keys', next to the secret key, choose '...' > 'Roll key'.",
            "Set 'Expiration' to the overlap window (e.g. 'in 1 hour'); never 'now'.",
            "Click 'Roll API key' and copy the new sk_live_ value (shown once).",
            "Paste it here or save it to the file LeakGuard asked for.",
        ),
        (
            "Open https://dashboard.stripe.com/apikeys.",
            "If the rolled key has not expired yet, choose '...' > 'Expire key now' on it.",
        ),
    ),
    "github": ProviderSteps(
        "github",
        "GitHub token",
        (
            "Open https://github.com/settings/tokens (or Settings > Developer settings), "
            "or the organisation's fine-grained token page.",
            "Find the leaked token by its name and last characters; choose 'Regenerate token' "
            "or create a new token with the same scopes and expiry.",
            "Copy the new ghp_/github_pat_ value (shown once).",
            "Paste it here or save it to the file LeakGuard asked for.",
        ),
        (
            "Open https://github.com/settings/tokens.",
            "Delete the leaked token (if it was regenerated, the old value is already dead).",
        ),
    ),
    "supabase": ProviderSteps(
        "supabase",
        "Supabase service-role / secret key",
        (
            "Open https://supabase.com/dashboard/project/_/settings/api-keys for the project.",
            "Under 'Secret keys', choose 'Create new secret key' (keep the old one for the "
            "overlap window).",
            "Copy the new sb_secret_ value.",
            "Paste it here or save it to the file LeakGuard asked for.",
        ),
        (
            "Open https://supabase.com/dashboard/project/_/settings/api-keys.",
            "Delete the leaked secret key (legacy JWT service_role keys: rotate the JWT "
            "secret under Settings > JWT Keys).",
        ),
    ),
    "openai": ProviderSteps(
        "openai",
        "OpenAI API key",
        (
            "Open https://platform.openai.com/api-keys in the project that owns the key.",
            "Choose 'Create new secret key' with the same project and permissions.",
            "Copy the new sk-proj- value (shown once).",
            "Paste it here or save it to the file LeakGuard asked for.",
        ),
        (
            "Open https://platform.openai.com/api-keys.",
            "Revoke the leaked key (trash icon > 'Revoke key').",
        ),
    ),
}


def steps_text(provider: str, *, revoke: bool = False) -> str:
    steps = _provider(provider)
    lines = steps.revoke if revoke else steps.roll
    verb = "Revoke the old" if revoke else "Roll the"
    body = "\n".join(f"  {i}. {line}" for i, line in enumerate(lines, 1))
    return f"{verb} {steps.title}:\n{body}"


def _provider(provider: str) -> ProviderSteps:
    try:
        return PROVIDERS[provider]
    except KeyError:
        raise UsageError(
            f"no manual rotation steps for provider {provider!r}",
            hint=f"known providers: {', '.join(sorted(PROVIDERS))}",
        ) from None


Prompt = Callable[[str], str]
Confirm = Callable[[str], bool]


class ManualIssuer:
    kind = "manual"

    def __init__(
        self,
        provider: str,
        *,
        prompt: Prompt | None = None,
        value_file: Path | None = None,
        confirm: Confirm | None = None,
        ruleset: RuleSet | None = None,
        field: str = "value",
    ) -> None:
        self.provider = _provider(provider).provider
        self._prompt = prompt
        self._value_file = value_file
        self._confirm = confirm
        self._ruleset = ruleset
        self.field = field
        self._issued: dict[tuple[str, str], IssuedKey] = {}

    def steps(self, *, revoke: bool = False) -> str:
        return steps_text(self.provider, revoke=revoke)

    def _engine(self) -> Engine:
        ruleset = self._ruleset or RuleSet.load()
        if not any(rule.provider == self.provider for rule in ruleset.rules):
            raise BackendError(
                f"no detector rule for provider {self.provider!r} to check the new value with",
                hint="add a rule for it under detectors/ (or pass --rules)",
            )
        return Engine(ruleset, "re")

    def check(self, value: str) -> str:
        """The value, stripped, if a rule of the expected provider matches all of it."""
        value = value.strip()
        if not value:
            raise BackendError("no new value was supplied", hint="paste the key from the dashboard")
        whole = fingerprint(value)
        for finding in self._engine().scan_text(value, path="<new value>"):
            if finding.provider == self.provider and finding.fingerprint == whole:
                return value
        raise BackendError(
            f"the value supplied ({redact(value)}) is not a complete {self.provider} key",
            hint=f"copy the whole new key from the {self.provider} dashboard and try again",
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
                hint="run interactively, or approve the step: leakguard playbook approve RUN STEP",
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
