"""Verify the credentials of a scan: one provider call per credential, in parallel, politely.

One call per fingerprint (however many places it leaked), at most ``per_provider`` calls in
flight per provider and ``min_interval`` seconds between two calls to the same provider, answers
cached by fingerprint (never the value) for ``ttl_seconds``. A verifier's host is its fixed
official one; ``endpoints`` replaces it only for tests and sandboxes, by explicit option.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Protocol

from leakguard.model import Finding, ScanResult, Severity
from leakguard.verify.http_verifiers import HTTP_VERIFIERS, HttpVerifier
from leakguard.verify.interface import Probe, Result, Status, Transport, TransportError, Verifier
from leakguard.verify.shopify import ShopifyVerifier, endpoint_name
from leakguard.verify.transport import HttpTransport
from leakguard.verify.vault import VaultTokenVerifier

DEFAULT_TTL = 24 * 3600


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    endpoints: Mapping[str, str] = field(default_factory=dict)  # tests and sandboxes only
    vault_addr: str | None = None
    shopify_shops: tuple[str, ...] = ()  # checked shop names (verify.shopify.parse_shops)
    workers: int = 8
    per_provider: int = 2
    min_interval: float = 0.1
    ttl_seconds: float = DEFAULT_TTL
    refresh: bool = False  # ignore cached answers


class ResultCache(Protocol):
    def get(self, fingerprint: str, max_age: float) -> Result | None: ...

    def put(self, fingerprint: str, result: Result) -> None: ...


TransportFactory = Callable[[str, bool], Transport]


def _http_transport(base_url: str, allow_private: bool) -> Transport:
    return HttpTransport(base_url, allow_private=allow_private)


def verifiers(options: VerifyOptions) -> list[Verifier]:
    from leakguard.verify.aws import AwsVerifier  # boto3 only when a scan verifies

    return [
        *HTTP_VERIFIERS,
        AwsVerifier(),
        VaultTokenVerifier(options.vault_addr),
        ShopifyVerifier(options.shopify_shops, options.endpoints),
    ]


def verifier_for(finding: Finding, options: VerifyOptions) -> Verifier | None:
    return next((v for v in verifiers(options) if v.handles(finding)), None)


def plan(findings: Iterable[Finding], options: VerifyOptions) -> list[tuple[Finding, Probe | None]]:
    """What ``--verify`` would call, one line per credential (``--verify-dry-run``)."""
    out: list[tuple[Finding, Probe | None]] = []
    for finding in _unique(findings):
        verifier = verifier_for(finding, options)
        probe = verifier.probe(finding) if verifier is not None else None
        override = options.endpoints.get(verifier.name) if verifier is not None else None
        if probe is not None and override is not None and not isinstance(verifier, ShopifyVerifier):
            path = probe.url[len(verifier.base_url) :] if isinstance(verifier, HttpVerifier) else ""
            probe = Probe(probe.verifier, probe.method, f"{override}{path} (test endpoint)")
        out.append((finding, probe))
    return out


class _Throttle:
    def __init__(self, per_provider: int, min_interval: float) -> None:
        self._slots: dict[str, threading.Semaphore] = {}
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()
        self._per_provider = per_provider
        self._min_interval = min_interval

    def run(self, name: str, call: Callable[[], Result]) -> Result:
        with self._lock:
            slot = self._slots.setdefault(name, threading.Semaphore(self._per_provider))
        with slot:
            with self._lock:
                wait = self._last.get(name, 0.0) + self._min_interval - time.monotonic()
                self._last[name] = time.monotonic() + max(wait, 0.0)
            if wait > 0:
                time.sleep(wait)
            return call()


def verify_findings(
    findings: Sequence[Finding],
    secrets: Mapping[str, str],
    options: VerifyOptions,
    *,
    cache: ResultCache | None = None,
    transport: TransportFactory = _http_transport,
) -> dict[str, Result]:
    """Fingerprint -> answer for every credential in ``findings`` a verifier handles.
    ``secrets`` maps fingerprints to values (held in memory for this call only)."""
    throttle = _Throttle(options.per_provider, options.min_interval)
    jobs: list[tuple[Finding, Verifier]] = []
    answers: dict[str, Result] = {}
    for finding in _unique(findings):
        verifier = verifier_for(finding, options)
        if verifier is None:
            continue
        cached = (
            None
            if cache is None or options.refresh
            else cache.get(finding.fingerprint, options.ttl_seconds)
        )
        if cached is not None:
            answers[finding.fingerprint] = replace(cached, cached=True)
        elif finding.fingerprint in secrets:
            jobs.append((finding, verifier))

    def one(job: tuple[Finding, Verifier]) -> tuple[str, Result]:
        finding, verifier = job
        secret = secrets[finding.fingerprint]
        return finding.fingerprint, throttle.run(
            verifier.name, lambda: _call(verifier, finding, secret, options, transport)
        )

    with ThreadPoolExecutor(max(1, options.workers)) as pool:
        for fingerprint, result in pool.map(one, jobs):
            answers[fingerprint] = result
            if cache is not None and result.status != Status.UNKNOWN:
                cache.put(fingerprint, result)
    return answers


def _call(
    verifier: Verifier,
    finding: Finding,
    secret: str,
    options: VerifyOptions,
    transport: TransportFactory,
) -> Result:
    override = options.endpoints.get(verifier.name)
    try:
        if isinstance(verifier, HttpVerifier) and verifier.regions:
            return verifier.verify_regions(finding, secret, options.endpoints, transport)
        if isinstance(verifier, HttpVerifier):
            base = override or verifier.base_for(secret)
            return verifier.verify(finding, secret, transport(base, override is not None), base)
        if isinstance(verifier, ShopifyVerifier):  # its stand-ins are its own (one per shop)
            return verifier.verify_shops(finding, secret, transport)
        if isinstance(verifier, VaultTokenVerifier) and verifier.address is not None:
            local = override is not None or _is_loopback(verifier.address)
            return verifier.verify(finding, secret, transport(verifier.address, local))
        return verifier.verify(finding, secret, transport("https://invalid.invalid", False))
    except TransportError as exc:
        probe = verifier.probe(finding)
        return Result(
            Status.UNKNOWN,
            verifier.name,
            probe.endpoint if probe else verifier.name,
            detail=exc.message,
        )


def _is_loopback(address: str) -> bool:
    from leakguard.http import origin

    host = origin(address).split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


def _unique(findings: Iterable[Finding]) -> list[Finding]:
    seen: dict[str, Finding] = {}
    for finding in findings:
        seen.setdefault(finding.fingerprint, finding)
    return list(seen.values())


def adjusted(severity: Severity, result: Result | None) -> Severity:
    """``live`` raises a credential one level (critical stays critical); ``revoked`` lowers it
    to low (kept, with its evidence); ``unknown`` changes nothing."""
    if result is None or result.status == Status.UNKNOWN:
        return severity
    if result.status == Status.LIVE:
        return Severity(min(severity + 1, Severity.CRITICAL))
    return min(severity, Severity.LOW)


def apply(result: ScanResult, answers: Mapping[str, Result], *, keep_secrets: bool) -> ScanResult:
    """The scan result with each finding's answer and adjusted severity; secret values dropped
    unless the user asked to see them."""
    findings = tuple(
        replace(
            f,
            verification=answers.get(f.fingerprint),
            severity=adjusted(f.severity, answers.get(f.fingerprint)),
            secret=f.secret if keep_secrets else None,
        )
        for f in result.findings
    )
    return replace(result, findings=findings)


def verify_result(
    result: ScanResult,
    options: VerifyOptions,
    *,
    keep_secrets: bool,
    cache: ResultCache | None = None,
    transport: TransportFactory = _http_transport,
) -> ScanResult:
    """Verify a scan whose findings still hold their values (the scan ran with secrets kept in
    memory for this), then drop the values unless ``keep_secrets``."""
    secrets = {f.fingerprint: f.secret for f in result.findings if f.secret is not None}
    answers = verify_findings(result.findings, secrets, options, cache=cache, transport=transport)
    return apply(result, answers, keep_secrets=keep_secrets)


def parse_endpoints(values: Iterable[str]) -> dict[str, str]:
    """``NAME=URL`` pairs (``--verify-endpoint``, ``LEAKGUARD_VERIFY_ENDPOINTS``): a test or
    sandbox server standing in for a verifier's official host."""
    from leakguard.errors import UsageError

    known = {
        name
        for v in verifiers(VerifyOptions())
        for name in (v.endpoint_names() if isinstance(v, HttpVerifier) else (v.name,))
    }
    out: dict[str, str] = {}
    for value in values:
        for item in (part.strip() for part in value.split(",")):
            if not item:
                continue
            name, sep, url = item.partition("=")
            shop = endpoint_name(name)  # shopify@SHOP: the stand-in for one configured shop
            name = shop or name
            if (
                not sep
                or (name not in known and shop is None)
                or not url.startswith(("http://", "https://"))
            ):
                raise UsageError(
                    f"invalid --verify-endpoint {name or item!r}",
                    hint="write NAME=http(s)://host:port with NAME one of: "
                    + ", ".join(sorted(known | {"shopify@SHOP"})),
                )
            out[name] = url.rstrip("/")
    return out


def environment_options(
    vault_addr: str | None = None, shopify_shop: str | None = None
) -> VerifyOptions:
    """Options for a verification outside a scan (a playbook step): each verifier's official
    host, unless the operator set the explicit test/sandbox override
    (``LEAKGUARD_VERIFY_ENDPOINTS``; for AWS the standard ``AWS_ENDPOINT_URL_STS``, read by
    the AWS verifier itself). ``vault_addr`` wins over ``$VAULT_ADDR``/``$BAO_ADDR``;
    ``shopify_shop`` (the playbook's ``shop`` input) is the one shop Shopify tokens are asked on."""
    import os

    from leakguard.verify.shopify import shop_name

    env = os.environ.get("LEAKGUARD_VERIFY_ENDPOINTS")
    address = vault_addr or os.environ.get("VAULT_ADDR") or os.environ.get("BAO_ADDR") or None
    return VerifyOptions(
        endpoints=parse_endpoints([env] if env else []),
        vault_addr=address,
        shopify_shops=(shop_name(shopify_shop),) if shopify_shop else (),  # exactly one
    )


def verifier_names() -> list[str]:
    return sorted(v.name for v in verifiers(VerifyOptions()))


def verify_value(
    name: str,
    secret: str,
    options: VerifyOptions,
    *,
    transport: TransportFactory = _http_transport,
) -> Result:
    """Ask verifier ``name`` about one value held in memory (the ``verify.provider_rejects_old``
    playbook step): the same call, host rules and retries as ``scan --verify``; never cached."""
    from leakguard.errors import UsageError
    from leakguard.model import Location
    from leakguard.redact import fingerprint, redact

    verifier = next((v for v in verifiers(options) if v.name == name), None)
    if verifier is None:
        raise UsageError(
            f"no verifier named {name!r}", hint="use one of: " + ", ".join(verifier_names())
        )
    finding = Finding(
        rule_id=name,
        provider=name,
        title=f"{name} credential",
        severity=Severity.INFO,
        fingerprint=fingerprint(secret),
        redacted=redact(secret),
        source_kind="playbook",
        location=Location("-"),
    )
    return _call(verifier, finding, secret, options, transport)
