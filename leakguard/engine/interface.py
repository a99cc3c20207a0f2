"""Types shared by the engine and its validators.

A validator is a plain function registered by name in :mod:`leakguard.engine.validators`. It
gets a :class:`Candidate` (the extracted secret and the chunk around it) plus the rule's
parameters, and returns a :class:`Verdict`. Validators are offline: no network, no state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from leakguard.model import Extras, Severity, ValidationStatus


@dataclass(frozen=True, slots=True)
class Candidate:
    rule_id: str
    secret: bytes  # the extracted secret (named group ``secret`` or the whole match)
    start: int  # offset of the secret in ``data``
    end: int
    data: bytes  # the whole chunk, read-only context (pairing, claims in nearby text)
    groups: Mapping[str, bytes | None]
    #: the engine found the whole secret is no placeholder (``filters.is_placeholder``) already
    placeholder_checked: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a validator decided.

    ``accept=False`` drops the candidate (not a credential). On acceptance a validator may raise
    or lower the severity, attach attributes (account id, project ref, JWT role...), and replace
    the fingerprinted secret (``secret``) and its redacted preview (``redacted``) when the
    credential is more than the matched text (an AWS key id paired with its secret key).
    ``rule_id`` lets a generic rule re-classify (a JWT that is a Supabase service_role key).
    ``parts`` names each part of a credential with parts (an AWS key id and its secret key):
    the engine fingerprints each, so stores and logs holding one half link to the whole.
    """

    accept: bool
    status: ValidationStatus = ValidationStatus.PASSED
    detail: str = ""
    severity: Severity | None = None
    attributes: Extras = ()
    secret: bytes | None = None
    redacted: str | None = None
    rule_id: str | None = None
    title: str | None = None
    provider: str | None = None
    parts: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)

    @classmethod
    def reject(cls, detail: str) -> Verdict:
        return cls(accept=False, detail=detail)


Validator = Callable[[Candidate, Mapping[str, Any]], Verdict]
ParamsCheck = Callable[[Mapping[str, Any]], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class ValidatorSpec:
    """A registered validator: the check, a one-line summary, and its parameters.

    ``params`` maps each accepted parameter to a short description. ``prepare`` checks the
    parameters a rule gives (raising ``ValueError`` with a message for a person) and returns
    them ready to use (regexes compiled, severities parsed); it runs when rules are loaded, so a
    bad parameter is reported with the rule file and line, never in the middle of a scan.
    """

    check: Validator
    summary: str
    params: Mapping[str, str]
    prepare: ParamsCheck | None = None
    #: when the verdict depends on the secret and this context alone (not on where it is or
    #: on the rest of the chunk), what the context is, given the rule's prepared parameters:
    #: the engine then judges each rule, context and secret once per scan call (a value
    #: repeated in every source of a map, a key id on every line of a log)
    memo_context: Callable[[Candidate, Mapping[str, Any]], bytes] | None = None
