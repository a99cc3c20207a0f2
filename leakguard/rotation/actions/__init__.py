"""Every action a playbook step may ``use``, by name (see docs/actions.md)."""

from __future__ import annotations

from leakguard.rotation.actions import (
    aws_iam,
    database,
    flow,
    graph,
    issuer,
    provider_verify,
    store,
    vault_token,
    verify,
)
from leakguard.rotation.interface import Action

REGISTRY: dict[str, Action] = {
    action.spec.name: action
    for module in (
        store,
        aws_iam,
        issuer,
        graph,
        flow,
        verify,
        database,
        vault_token,
        provider_verify,
    )
    for action in module.ACTIONS
}

__all__ = ["REGISTRY"]
