"""Playbooks by id: the shipped playbook files, plus one manual playbook per provider-steps entry.

A provider-steps entry (``playbooks/providers/<provider>.yaml``, read by
:class:`~leakguard.backends.manual.StepsCatalog`) names a playbook id. Unless a playbook file of
that id ships (``stripe-key``, ``github-token``: the file wins and its manual backend uses the
entry's steps), the playbook is the one template ``playbooks/templates/manual-provider-key.yaml``
with the entry's id, provider and title filled in: one flow (issue through the manual issuer with
the provider's steps, check the new value's shape, stage, promote, verify, revoke) and no copies.
When one verifier checks every credential kind the entry rotates (the rules naming its playbook
in ``rotation:`` and the rules it names), the flow ends with ``verify.provider_rejects_old``
asking that verifier; otherwise the template's provider-check blocks are left out.
The instantiated text is what a run journals, so resuming a run never needs the template again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from leakguard.backends.manual import ProviderSteps, StepsCatalog
from leakguard.engine.rules import RuleSet
from leakguard.errors import PlaybookError
from leakguard.resources import playbooks_dir
from leakguard.rotation.interface import Action
from leakguard.rotation.schema import Playbook, find_playbook, load_playbook, shipped_playbooks
from leakguard.verify.coverage import common_verifier

TEMPLATE = Path("templates") / "manual-provider-key.yaml"
# a provider-check block of the template: kept (markers dropped) or left out whole
_CHECK_BLOCK = re.compile(
    r"^[ \t]*# __PROVIDER_CHECK__ \{[^\n]*\n(.*?)^[ \t]*# \} __PROVIDER_CHECK__[^\n]*\n",
    re.S | re.M,
)
# a block kept only for the shopify verifier (the shop its tokens are checked on)
_SHOP_BLOCK = re.compile(
    r"^[ \t]*# __SHOPIFY_SHOP__ \{[^\n]*\n(.*?)^[ \t]*# \} __SHOPIFY_SHOP__[^\n]*\n",
    re.S | re.M,
)


def template_path() -> Path:
    return playbooks_dir() / TEMPLATE


def rotated_rules(entry: ProviderSteps, rules: RuleSet) -> frozenset[str]:
    """The credential kinds the entry's playbook rotates: the rules naming it in ``rotation:``
    and the rules the entry names."""
    return frozenset(r.id for r in rules.rules if r.rotation == entry.playbook) | set(entry.rules)


def entry_verifier(entry: ProviderSteps, rules: RuleSet | None = None) -> str | None:
    """The verifier that can prove the entry's rotation with its provider, or None."""
    return common_verifier(entry.provider, sorted(rotated_rules(entry, rules or RuleSet.load())))


def provider_playbook_text(
    entry: ProviderSteps, template: str, rules: RuleSet | None = None
) -> str:
    """The template with the entry filled in; every marker sits inside a double-quoted string,
    where a JSON-escaped value is a valid YAML value. ``rules``: the detector rules that decide
    the entry's verifier (default: the shipped ones)."""
    verifier = entry_verifier(entry, rules)
    text = _SHOP_BLOCK.sub(lambda m: m.group(1) if verifier == "shopify" else "", template)
    text = _CHECK_BLOCK.sub(lambda m: m.group(1) if verifier else "", text)
    for marker, value in (
        ("__PLAYBOOK__", entry.playbook),
        ("__PROVIDER__", entry.provider),
        ("__TITLE__", entry.title),
        ("__VERIFIER__", verifier or ""),
    ):
        text = text.replace(marker, json.dumps(value)[1:-1])
    return text


def provider_playbook(
    entry: ProviderSteps,
    registry: Mapping[str, Action] | None = None,
    *,
    template: Path | None = None,
    rules: RuleSet | None = None,
) -> Playbook:
    path = template or template_path()
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlaybookError(f"cannot read the provider playbook template {path}: {exc}") from None
    return load_playbook(path, registry, text=provider_playbook_text(entry, source, rules))


def shipped_ids() -> frozenset[str]:
    return frozenset(p.stem for p in shipped_playbooks())


def playbook_ids(catalog: StepsCatalog | None = None) -> frozenset[str]:
    """Every id ``rotation:`` may name: shipped playbook files and provider-steps entries."""
    catalog = catalog or StepsCatalog.load()
    return shipped_ids() | frozenset(catalog.entries)


def provider_playbooks(
    registry: Mapping[str, Action] | None = None, catalog: StepsCatalog | None = None
) -> list[Playbook]:
    """The playbooks instantiated from the template (entries without a playbook file)."""
    catalog = catalog or StepsCatalog.load()
    files = shipped_ids()
    rules = RuleSet.load()
    return [
        provider_playbook(entry, registry, rules=rules)
        for pid, entry in sorted(catalog.entries.items())
        if pid not in files
    ]


def resolve_playbook(
    ref: str, registry: Mapping[str, Action] | None = None, catalog: StepsCatalog | None = None
) -> Playbook:
    """A playbook file path, a shipped playbook id or a provider-steps playbook id, loaded."""
    if Path(ref).suffix in {".yaml", ".yml"} or Path(ref).exists() or ref in shipped_ids():
        return load_playbook(find_playbook(ref), registry)
    catalog = catalog or StepsCatalog.load()
    entry = catalog.entries.get(ref)
    if entry is None:
        raise PlaybookError(
            f"no playbook {ref!r}",
            hint=f"shipped playbooks: {', '.join(sorted(shipped_ids())) or 'none'}; the "
            f"{len(catalog.entries)} provider playbooks: `leakguard playbook list`; or a file path",
        )
    return provider_playbook(entry, registry)
