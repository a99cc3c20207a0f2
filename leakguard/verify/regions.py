"""Asking a provider that has several official regional hosts, honestly.

A credential of a regional provider lives in one region, and the other regions refuse it exactly
as they refuse a revoked one. So the regions are asked in order: the first explicit success is
``live``; ``revoked`` needs a refusal from *every* region the credential could belong to (all of
them, or only the one its own format names); anything else (a region unreachable, rate-limited,
erroring, or not asked) leaves the answer ``unknown``. When a test or sandbox endpoint stands in
for any region of a provider, regions without one are not asked at all: a sandbox run never
mixes in a real provider host.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from leakguard.verify.interface import Reply, Result, Status, Transport, TransportError

Classify = Callable[[Reply], tuple[Status, dict[str, str], str]]
TransportFor = Callable[[str, bool], Transport]  # (base URL, is a test/sandbox endpoint)


@dataclass(frozen=True, slots=True)
class Region:
    label: str  # "us", "eu", ...
    base_url: str  # the official scheme://host
    endpoint_key: str  # the --verify-endpoint NAME that stands in for it


@dataclass(frozen=True, slots=True)
class Call:
    """One request, the same for every region (the path never holds the credential)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes | None


@dataclass
class _Tally:
    asked: list[str] = field(default_factory=list)  # endpoints shown (official hosts)
    refused: list[str] = field(default_factory=list)  # region labels
    notes: list[str] = field(default_factory=list)
    last_status: int | None = None


def ask_regions(
    verifier: str,
    call: Call,
    regions: tuple[Region, ...],
    classify: Classify,
    endpoints: Mapping[str, str],
    transport_for: TransportFor,
) -> Result:
    """Ask ``regions`` in order (see the module docstring for how the answers combine)."""
    sandboxed = any(region.endpoint_key in endpoints for region in regions)
    tally = _Tally()
    for region in regions:
        override = endpoints.get(region.endpoint_key)
        if sandboxed and override is None:
            tally.notes.append(f"{region.label}: no test endpoint given, not asked")
            continue
        live = _ask_one(verifier, call, region, override, classify, transport_for, tally)
        if live is not None:
            return live
    return _verdict(verifier, call, regions, tally)


def _ask_one(
    verifier: str,
    call: Call,
    region: Region,
    override: str | None,
    classify: Classify,
    transport_for: TransportFor,
    tally: _Tally,
) -> Result | None:
    shown = f"{call.method} {region.base_url}{call.path}"
    base = override or region.base_url
    tally.asked.append(shown)
    try:
        reply = transport_for(base, override is not None).send(
            call.method, base + call.path, call.headers, call.body
        )
    except TransportError as exc:
        tally.notes.append(f"{region.label}: {exc.message}")
        return None
    status, identity, detail = classify(reply)
    tally.last_status = reply.status
    if status == Status.LIVE:
        identity = {**identity, "region": region.label}
        return Result(
            Status.LIVE,
            verifier,
            shown,
            http_status=reply.status,
            identity=tuple(sorted(identity.items())),
            detail=f"{detail} (region {region.label})",
        )
    if status == Status.REVOKED:
        tally.refused.append(region.label)
    else:
        tally.notes.append(f"{region.label}: {detail}")
    return None


def _verdict(verifier: str, call: Call, regions: tuple[Region, ...], tally: _Tally) -> Result:
    endpoint = ", ".join(tally.asked) or f"{call.method} {regions[0].base_url}{call.path}"
    every = [region.label for region in regions]
    if tally.refused == every:
        return Result(
            Status.REVOKED,
            verifier,
            endpoint,
            http_status=tally.last_status,
            detail=f"refused by every region it could belong to ({', '.join(every)})",
        )
    parts = [f"refused by {', '.join(tally.refused)}"] if tally.refused else []
    return Result(
        Status.UNKNOWN,
        verifier,
        endpoint,
        http_status=tally.last_status,
        detail="; ".join(parts + tally.notes) or "no region asked",
    )
