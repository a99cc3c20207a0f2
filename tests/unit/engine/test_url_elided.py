"""A connection URL whose password is elided or masked (documentation) is not a credential."""

from __future__ import annotations

import pytest

from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet

RULES = RuleSet.load()


@pytest.mark.parametrize(
    "text",
    [
        "A leaked `postgres://app:…@db/app` is rotated",
        "DATABASE_URL=postgres://app:...@db.internal:5432/app",
        "url = postgresql://payments:****@db/payments",
        "mysql://root:xxxx@localhost/app",
        "postgres://app:<password>@db/app",
    ],
)
def test_elided_passwords_are_not_reported(text: str) -> None:
    assert Engine(RULES, "re").scan_text(text) == []


def test_a_real_password_still_is() -> None:
    found = Engine(RULES, "re").scan_text("postgres://payments:Vq3xR8tLm2NpZ7wK@db.internal/p")
    assert [f.rule_id for f in found] == ["postgres-url-password"]
