"""What a verification is: a tri-state answer with its evidence, and the verifier protocol.

``live`` is given only on an explicit success answer from the provider; ``revoked`` only when the
provider says the credential is invalid; everything else (network errors, rate limits, server
errors, answers that do not say) is ``unknown``. A result never holds the secret: identities are
what the provider returned about the credential's owner (account, user, login, scopes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from leakguard.errors import LeakguardError
from leakguard.model import Finding, LiveCheck, LiveStatus

__all__ = ["Probe", "Reply", "Result", "Status", "Transport", "TransportError", "Verifier"]


Status = LiveStatus
Result = LiveCheck


@dataclass(frozen=True, slots=True)
class Probe:
    """What a verifier would call for a finding (``--verify-dry-run`` lists these)."""

    verifier: str
    method: str
    url: str

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.url}"


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # names lower-cased
    body: bytes


class TransportError(LeakguardError):
    """The provider could not be reached or did not answer in time (the result is unknown)."""


class Transport(Protocol):
    """Sends one request to a verifier's fixed host. Any HTTP status comes back as a
    :class:`Reply`; only a network failure, a deadline or a refused address raises
    :class:`TransportError`."""

    def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> Reply: ...


class Verifier(Protocol):
    @property
    def name(self) -> str: ...

    def handles(self, finding: Finding) -> bool: ...

    def probe(self, finding: Finding) -> Probe | None:
        """What would be called (``None``: this finding cannot be verified, e.g. a key id
        without its secret)."""
        ...

    def verify(self, finding: Finding, secret: str, transport: Transport) -> Result: ...
