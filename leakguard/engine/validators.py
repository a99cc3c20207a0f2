"""Offline validators, registered by name. A rule names one in its ``validator`` key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leakguard.engine.interface import Candidate, Validator, Verdict


def _accept_all(candidate: Candidate, params: Mapping[str, Any]) -> Verdict:
    return Verdict(accept=True)


VALIDATORS: Mapping[str, Validator] = {
    "none": _accept_all,
}
