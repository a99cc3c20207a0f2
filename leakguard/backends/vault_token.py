"""Vault / OpenBao tokens: look one up (by accessor, or by the token itself), revoke it with its
children, and prove it is gone. Requests go through LeakGuard's one HTTP client
(:mod:`leakguard.http`: deadlines, no redirects); tokens travel only in the ``X-Vault-Token``
header (the administrator's, or the leaked one to look itself up), never in a URL or a message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from leakguard.backends.errors import from_http_status
from leakguard.errors import BackendError

#: what Vault/OpenBao answer for a token or accessor that does not exist (any more)
_GONE = ("invalid accessor", "bad token", "invalid token", "permission denied")


@dataclass(frozen=True)
class TokenInfo:
    """A token's metadata (never its id)."""

    accessor: str
    display_name: str
    policies: tuple[str, ...]
    orphan: bool
    expire_time: str | None
    entity_id: str | None


class VaultTokens:
    def __init__(self, url: str, admin_token: str, timeout: float = 10.0) -> None:
        from leakguard.http import AddressPolicy, HttpClient, HttpLimits

        self.url = url.rstrip("/")
        self._admin = admin_token
        self._http = HttpClient(
            user_agent="leakguard",
            limits=HttpLimits(connect_seconds=timeout, total_seconds=timeout),
            addresses=AddressPolicy(allow_private=True),  # Vault is an internal service
            follow_redirects=False,
            raise_for_status=False,
        )

    def _call(
        self, path: str, body: dict[str, str] | None, token: str | None = None
    ) -> tuple[int, Any]:
        """POST ``body`` (GET without one) as the administrator, or as ``token``."""
        from leakguard.http import FetchError

        headers = {"Content-Type": "application/json", "X-Vault-Token": token or self._admin}
        try:
            response = self._http.request(
                "GET" if body is None else "POST",
                f"{self.url}/v1/{path}",
                body=None if body is None else json.dumps(body).encode(),
                headers=headers,
            )
        except FetchError as exc:
            raise BackendError(
                f"Vault {path} failed: {exc.reason}", transient=not exc.refused
            ) from None
        try:
            data = json.loads(response.body) if response.body else {}
        except ValueError:
            data = {}
        return response.status, data

    @staticmethod
    def _gone(status: int, data: Any) -> bool:
        errors = " ".join(str(e) for e in (data.get("errors") or [])).lower()
        return status in (400, 403, 404) and any(g in errors for g in _GONE)

    def _info(self, path: str, data: Any) -> TokenInfo:
        d = data.get("data") or {}
        if not d.get("accessor"):
            raise BackendError(f"Vault {path} answered without an accessor")
        return TokenInfo(
            str(d["accessor"]),
            str(d.get("display_name") or ""),
            tuple(str(p) for p in d.get("policies") or ()),
            bool(d.get("orphan")),
            d.get("expire_time"),
            d.get("entity_id") or None,
        )

    def lookup_accessor(self, accessor: str) -> TokenInfo | None:
        """The token behind ``accessor``; None when it does not exist (revoked, expired)."""
        status, data = self._call("auth/token/lookup-accessor", {"accessor": accessor})
        if status == 200:
            return self._info("lookup-accessor", data)
        if self._gone(status, data) and status != 403:
            return None
        raise from_http_status(status, "Vault token lookup by accessor", "")

    def lookup_token(self, token: str) -> TokenInfo | None:
        """The leaked token presented to Vault itself (``token/lookup-self``): its metadata, or
        None when Vault refuses it (revoked, expired, never valid)."""
        status, data = self._call("auth/token/lookup-self", None, token=token)
        if status == 200:
            return self._info("lookup-self", data)
        if self._gone(status, data):
            return None
        raise from_http_status(status, "Vault token lookup", "")

    def revoke_accessor(self, accessor: str) -> None:
        """Revoke the token and every token it created (children)."""
        status, data = self._call("auth/token/revoke-accessor", {"accessor": accessor})
        if status in (200, 204) or (self._gone(status, data) and status != 403):
            return
        raise from_http_status(status, "Vault token revocation", "")
