from __future__ import annotations

import json
from pathlib import Path

import pytest

from leakguard.backends.generated import GeneratedIssuer
from leakguard.backends.manual import ManualIssuer
from leakguard.errors import BackendError, PlaybookError
from leakguard.rotation.actions import REGISTRY
from leakguard.rotation.interface import Mode
from tests.unit.rotation.actions.context import Ctx

STRIPE = "sk_live_4eC39HqLyjWDarjtT1zdp7dc9f2c"


def _ctx(*answers: str) -> Ctx:
    return Ctx(
        issuers={"gen": GeneratedIssuer(), "stripe": ManualIssuer("stripe")},
        answers=list(answers),
    )


def test_generated_issue_outputs_a_handle_and_is_idempotent() -> None:
    ctx = _ctx()
    first = ctx.run(REGISTRY["issuer.issue"], {"backend": "gen", "subject": "app/db"}, "new")
    second = ctx.run(REGISTRY["issuer.issue"], {"backend": "gen", "subject": "app/db"}, "new")
    value = ctx.secrets.get(first["secret"])["value"]
    assert ctx.secrets.get(second["secret"])["value"] == value
    assert value not in json.dumps(first)
    assert REGISTRY["issuer.issue"].spec.produces_secret


def test_manual_issue_shows_the_dashboard_steps_and_checks_the_value() -> None:
    ctx = _ctx(STRIPE)
    out = ctx.run(REGISTRY["issuer.issue"], {"backend": "stripe", "subject": "payments"})
    assert ctx.secrets.get(out["secret"]) == {"value": STRIPE}
    assert "Roll key" in ctx.logs[0] and "dashboard.stripe.com" in ctx.asked[0]
    assert STRIPE not in json.dumps(out) and STRIPE not in " ".join(ctx.logs)


@pytest.mark.parametrize(
    "bad",
    [
        "sk_live_xxxxxxxxxxxxxxxxxxxxxxxxxxxx",  # placeholder: fails the rule's entropy
        STRIPE[:20],  # truncated copy
        "ghp_" + "a1B2" * 9,  # a key of another provider
        "",
    ],
)
def test_manual_issue_rejects_values_the_detector_rules_refuse(bad: str) -> None:
    ctx = _ctx(bad)
    with pytest.raises(BackendError) as caught:
        ctx.run(REGISTRY["issuer.issue"], {"backend": "stripe", "subject": "payments"})
    if bad:
        assert bad not in caught.value.diagnostics()


def test_manual_issue_from_a_private_file(tmp_path: Path) -> None:
    value_file = tmp_path / "new-key"
    value_file.write_text(STRIPE + "\n")
    value_file.chmod(0o644)
    ctx = _ctx()
    params = {"backend": "stripe", "subject": "payments", "value_file": str(value_file)}
    with pytest.raises(BackendError, match="readable by other users"):
        ctx.run(REGISTRY["issuer.issue"], params)
    value_file.chmod(0o600)
    out = ctx.run(REGISTRY["issuer.issue"], params)
    assert ctx.secrets.get(out["secret"]) == {"value": STRIPE}
    assert ctx.asked == []


def test_manual_issue_without_an_operator_fails_cleanly() -> None:
    with pytest.raises(PlaybookError, match="not interactive"):
        _ctx().run(REGISTRY["issuer.issue"], {"backend": "stripe", "subject": "payments"})


def test_manual_revoke_needs_the_operator_to_confirm() -> None:
    ctx = _ctx("no")
    with pytest.raises(BackendError, match="did not confirm"):
        ctx.run(REGISTRY["issuer.revoke"], {"backend": "stripe", "subject": "payments"})
    ctx = _ctx("yes")
    out = ctx.run(REGISTRY["issuer.revoke"], {"backend": "stripe", "subject": "payments"})
    assert out["revoked"] == "the old key"
    assert "Expire key now" in ctx.asked[0]
    assert REGISTRY["issuer.revoke"].spec.irreversible


def test_a_rehearsal_never_asks_the_operator_to_revoke_in_the_dashboard() -> None:
    ctx = _ctx()  # no operator answers at all
    ctx.mode = Mode.REHEARSE
    out = ctx.run(REGISTRY["issuer.revoke"], {"backend": "stripe", "subject": "payments"})
    assert out["rehearsed"] is True and ctx.asked == []
    assert "not asked" in ctx.logs[-1]


def test_generated_revoke_retires_the_key() -> None:
    ctx = _ctx()
    issuer = ctx.issuers["gen"]
    assert isinstance(issuer, GeneratedIssuer)
    out = ctx.run(REGISTRY["issuer.issue"], {"backend": "gen", "subject": "s"})
    ctx.run(REGISTRY["issuer.revoke"], {"backend": "gen", "subject": "s", "key_id": out["key_id"]})
    assert issuer.retired == [("s", out["key_id"])]
