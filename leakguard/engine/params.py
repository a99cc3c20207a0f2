"""Checking validator parameters at load time (helpers for ``ValidatorSpec.prepare``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from leakguard.model import Severity


def severity(params: Mapping[str, Any], key: str) -> Severity | None:
    value = params.get(key)
    if value is None:
        return None
    try:
        return Severity.parse(value)
    except Exception:
        raise ValueError(f"{key}: unknown severity {value!r}") from None


def integer(
    params: Mapping[str, Any], key: str, default: int, low: int = 0, high: int = 10**6
) -> int:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{key} must be an integer between {low} and {high}")
    return value


def number(params: Mapping[str, Any], key: str, default: float) -> float:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key} must be a number")
    return float(value)


def flag(params: Mapping[str, Any], key: str, default: bool) -> bool:
    value = params.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false")
    return value


def strings(params: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = params.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a list of strings")
    return tuple(value)


def string_map(params: Mapping[str, Any], key: str) -> dict[str, str]:
    value = params.get(key, {})
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, (str, int, bool)) for k, v in value.items()
    ):
        raise ValueError(f"{key} must be a mapping of names to values")
    return {k: str(v) if not isinstance(v, bool) else str(v).lower() for k, v in value.items()}


def pattern(params: Mapping[str, Any], key: str) -> re.Pattern[bytes]:
    value = params.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a regular expression")
    try:
        return re.compile(value.encode("utf-8"))
    except re.error as exc:
        raise ValueError(f"{key}: invalid pattern: {exc}") from None


def only(params: Mapping[str, Any], allowed: Mapping[str, str]) -> None:
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        known = ", ".join(sorted(allowed)) or "none"
        raise ValueError(f"unknown parameter {unknown[0]!r} (accepted: {known})")
