"""What every run must respect, whatever its playbook says: checked by the runner, not by each
playbook (docs/playbooks.md, "Invariants").

1. The playbook is the one the credential's detector rule names (``rotation:``), unless the
   operator overrides it with a reason (journaled, in the audit trail).
2. A generated random value never replaces a provider-issued key (a Stripe key, an AWS key):
   only secrets the team owns, whatever the override.
3. The fields to rotate are every field of the stored secret that holds the leaked credential
   (or one of its parts), found in the store and in the graph, not the playbook's default.
4. After promotion no field of the current version still hashes to the leaked credential.

This module only reads: the stores (current versions), the graph and the detector rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from leakguard.backends.interface import SecretData, data_fingerprint
from leakguard.errors import LeakguardError
from leakguard.graph.interface import GraphQueries
from leakguard.redact import fingerprint
from leakguard.rotation import expr
from leakguard.rotation.context import Backends
from leakguard.rotation.schema import Playbook, find_playbook, load_playbook

STAGE_ACTION = "store.put_pending"
ISSUE_ACTION = "issuer.issue"
GENERATED = "generated"


@dataclass(frozen=True)
class Target:
    """A secret a playbook stages a new value in: its backend name in the playbook and path."""

    backend: str
    name: str


@dataclass
class Preflight:
    """What the runner learned before any write; journaled with the run (no secret values)."""

    credential: str
    leaked: list[str]  # fingerprints that must not be current after promotion
    rule_id: str | None = None
    expected_playbook: str | None = None
    fields: dict[str, list[str]] = field(default_factory=dict)  # "backend:name" -> fields
    refusal: tuple[str, str] | None = None  # (diagnostic, hint): the run must not write
    override: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "credential": self.credential,
            "leaked": self.leaked,
            "rule_id": self.rule_id,
            "expected_playbook": self.expected_playbook,
            "fields": self.fields,
            "override": self.override,
        }


def leaked_fields(data: Mapping[str, str], leaked: Iterable[str]) -> list[str]:
    """Every field whose value hashes to a leaked fingerprint; ``*`` when the whole secret (a
    JSON document) does."""
    wanted = set(leaked)
    found = {name for name, value in data.items() if fingerprint(value) in wanted}
    if data_fingerprint(data) in wanted:
        found.add("*")
    return sorted(found)


def generates(playbook: Playbook) -> bool:
    """Does the playbook make up a random value (a ``generated`` issuer)?"""
    kinds = {name: b.kind for name, b in playbook.backends.items()}
    for step in playbook.steps:
        if step.uses == ISSUE_ACTION:
            backend = str(step.with_.get("backend", ""))
            if kinds.get(backend) == GENERATED:
                return True
    return False


def team_owned(playbook_id: str) -> bool:
    """A rule's playbook that generates values rotates a secret the team owns."""
    try:
        return generates(load_playbook(find_playbook(playbook_id)))
    except LeakguardError:
        return False


def targets(playbook: Playbook, inputs: Mapping[str, Any]) -> list[Target]:
    """The secrets the playbook stages values in, rendered from the inputs alone."""
    scope = expr.Scope(inputs=inputs, steps={}, run={})
    out: list[Target] = []
    for step in playbook.steps:
        if step.uses != STAGE_ACTION:
            continue
        try:
            backend = expr.render_value(step.with_.get("backend"), scope)
            name = expr.render_value(step.with_.get("name"), scope)
        except expr.ExprError:
            continue
        if isinstance(backend, str) and isinstance(name, str) and backend and name:
            target = Target(backend, name)
            if target not in out:
                out.append(target)
    return out


def _graph_facts(graph: GraphQueries | None, credential: str) -> tuple[str, dict[str, Any]]:
    """The full fingerprint and the credential node's attributes (rule id, parts), when the
    graph knows the credential."""
    if graph is None:
        return credential, {}
    try:
        full = graph.blast_radius(credential).credential
    except LeakguardError:
        return credential, {}
    attrs: dict[str, Any] = {}
    resolve, node = getattr(graph, "resolve_credential", None), getattr(graph, "node", None)
    if callable(resolve) and callable(node):
        try:
            attrs = dict(node(resolve(full)))
        except (LeakguardError, KeyError):
            attrs = {}
    return full, attrs


def _graph_fields(graph: GraphQueries | None, credential: str, target_name: str) -> list[str]:
    """Fields the graph recorded on ``stored_in`` edges to a store entry at ``target_name``."""
    if graph is None:
        return []
    edges, resolve = getattr(graph, "edges", None), getattr(graph, "resolve_credential", None)
    if not callable(edges) or not callable(resolve):
        return []
    try:
        node = resolve(credential)
        found = []
        for src, dst, kind, attrs in edges():
            if (
                src == node
                and str(kind) == "stored_in"
                and _names(str(dst), target_name)
                and attrs.get("field") not in (None, "", "*")
            ):
                found.append(str(attrs["field"]))
        return found
    except LeakguardError:
        return []


def _names(node: str, name: str) -> bool:
    return node.endswith((f"/{name}", f":{name}"))


def _rule_of_value(value: str) -> tuple[str | None, str | None]:
    """The detector rule that recognises a stored value, and that rule's playbook."""
    from leakguard.engine.matcher import Engine
    from leakguard.engine.rules import RuleSet

    for finding in Engine(RuleSet.load(), "re").scan_text(value, path="<store>"):
        return finding.rule_id, finding.rotation
    return None, None


def _rule_playbook(rule_id: str | None) -> str | None:
    if not rule_id:
        return None
    from leakguard.engine.rules import RuleSet

    rule = RuleSet.load().by_id().get(rule_id)
    if rule is None or rule.rotation_cases:
        return None  # with rotation_by the playbook depends on the match, not known here
    return rule.rotation


def preflight(
    playbook: Playbook,
    inputs: Mapping[str, Any],
    given: Mapping[str, Any],
    backends: Backends,
    graph: GraphQueries | None,
    override: str | None,
) -> Preflight:
    """Check the invariants before anything is written; find the fields to rotate."""
    credential = str(inputs.get("credential") or "")
    full, attrs = _graph_facts(graph, credential)
    parts = [str(p) for p in attrs.get("parts") or () if isinstance(p, str)]
    facts = Preflight(credential=full, leaked=sorted({full, *parts}))
    facts.rule_id = attrs.get("rule_id") or None
    facts.expected_playbook = attrs.get("rotation") or _rule_playbook(facts.rule_id)
    if not credential:
        return facts
    provider_value = None
    for target in targets(playbook, inputs):
        try:
            _, data = backends.store(target.backend).read_current(target.name)
        except LeakguardError as exc:
            facts.notes.append(f"{target.name}: current version not read ({exc.message})")
            continue
        fields = sorted(
            set(leaked_fields(data, facts.leaked)) - {"*"}
            | set(_graph_fields(graph, full, target.name))
        )
        facts.fields[f"{target.backend}:{target.name}"] = fields
        for name in fields:
            if name in data and provider_value is None:
                provider_value = _classify(data, name)
    if facts.rule_id is None and provider_value is not None:
        facts.rule_id, facts.expected_playbook = provider_value
    _check_playbook(facts, playbook, override)
    return facts


def _classify(data: SecretData, name: str) -> tuple[str | None, str | None] | None:
    rule_id, rotation = _rule_of_value(data[name])
    return None if rule_id is None else (rule_id, rotation)


def _check_playbook(facts: Preflight, playbook: Playbook, override: str | None) -> None:
    expected = facts.expected_playbook
    rule = facts.rule_id or "unknown"
    if expected is None:
        facts.notes.append(
            "the credential's detector rule is unknown: the playbook could not be checked"
        )
        return
    use = f"`leakguard playbook run {expected} ...`"
    if generates(playbook) and not team_owned(expected):
        facts.refusal = (
            f"playbook {playbook.id} would replace a provider-issued key (rule {rule}) with a "
            "random value: every consumer would break",
            f"rotate it with {use}: the provider issues the new key "
            "(--playbook-override cannot lift this)",
        )
        return
    same = expected == playbook.id or (team_owned(expected) and generates(playbook))
    if same:
        return
    if override:
        facts.override = override
        return
    facts.refusal = (
        f"playbook {playbook.id} is not the one rule {rule} names for this credential ({expected})",
        f"use {use}, or pass --playbook-override REASON (journaled in the audit trail)",
    )
