"""HashiCorp Vault / OpenBao tokens: ``auth/token/lookup-self`` on the address the user gave.

A token says nothing about which server issued it, so there is no fixed official host: the
address comes from ``--vault-addr`` (or ``VAULT_ADDR`` / ``BAO_ADDR``), never from scanned
content. Without one, the result is ``unknown``. ``lookup-self`` changes nothing and every token
may call it.
"""

from __future__ import annotations

import json

from leakguard.model import Finding
from leakguard.verify.interface import Probe, Result, Status, Transport

PATH = "/v1/auth/token/lookup-self"


class VaultTokenVerifier:
    name = "vault"

    def __init__(self, address: str | None) -> None:
        self.address = address.rstrip("/") if address else None

    def handles(self, finding: Finding) -> bool:
        return finding.provider in ("vault", "hashicorp-vault", "openbao")

    def probe(self, finding: Finding) -> Probe | None:
        return Probe(self.name, "GET", (self.address or "<no --vault-addr>") + PATH)

    def verify(self, finding: Finding, secret: str, transport: Transport) -> Result:
        if self.address is None:
            return Result(
                Status.UNKNOWN,
                self.name,
                f"GET <no --vault-addr>{PATH}",
                detail="pass --vault-addr to check Vault/OpenBao tokens",
            )
        endpoint = f"GET {self.address}{PATH}"
        reply = transport.send("GET", self.address + PATH, {"X-Vault-Token": secret})
        if reply.status == 200:
            try:
                data = json.loads(reply.body).get("data") or {}
            except (ValueError, AttributeError):
                data = {}
            identity = {
                k: ",".join(v) if isinstance(v, list) else str(v)
                for k, v in data.items()
                if k in ("display_name", "entity_id", "policies", "accessor", "ttl") and v
            }
            return Result(
                Status.LIVE,
                self.name,
                endpoint,
                http_status=200,
                identity=tuple(sorted(identity.items())),
                detail="lookup-self answered",
            )
        if reply.status == 403:
            return Result(
                Status.REVOKED,
                self.name,
                endpoint,
                http_status=403,
                detail="permission denied (bad or revoked token)",
            )
        return Result(
            Status.UNKNOWN,
            self.name,
            endpoint,
            http_status=reply.status,
            detail=f"HTTP {reply.status}",
        )
