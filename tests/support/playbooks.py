"""What the tests expect to ship."""

from __future__ import annotations

SHIPPED_PLAYBOOK_IDS = frozenset(
    {
        "aws-iam-access-key",
        "vault-kv-secret",
        "aws-secretsmanager-secret",
        "stripe-key",
        "github-token",
        "supabase-service-role",
        "generic-app-secret",
        "postgres-role-password",
        "postgres-alternating-users",
        "mariadb-user-password",
        "mariadb-alternating-users",
        "vault-token",
    }
)
"""The playbooks LeakGuard ships; every detector rule names one of them in ``rotation:``."""
