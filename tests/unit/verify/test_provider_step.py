"""The ``verify.provider_rejects_old`` playbook step against the local provider fake (a real HTTP
server on 127.0.0.1, reached through the explicit test endpoint setting): only revoked-old and
live-new pass; a live old credential or an unclear answer is a retryable ``NotYet``; no value
reaches an output, a log line or an error."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from leakguard.backends.fake import FakeStore
from leakguard.errors import PlaybookError
from leakguard.redact import fingerprint
from leakguard.rotation.actions import REGISTRY
from leakguard.rotation.actions.provider_verify import credential_value, provider_rejects_old
from leakguard.rotation.interface import Mode, NotYet
from tests.support.provider_fakes import RATE_LIMITED, ProviderFake, provider_fake
from tests.unit.rotation.actions.context import Ctx

OLD = "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"
NEW = "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"


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[ProviderFake]:
    with provider_fake() as server:
        monkeypatch.setenv("LEAKGUARD_VERIFY_ENDPOINTS", f"github={server.url}/github")
        yield server


def _handles(ctx: Ctx, old: str, new: str) -> dict[str, str]:
    return {
        "verifier": "github",
        "old": ctx.secrets.put({"token": old}),
        "new": ctx.secrets.put({"token": new}),
    }


def _no_value_in(*texts: str) -> None:
    for text in texts:
        assert OLD not in text and NEW not in text


def test_revoked_old_and_live_new_pass_with_evidence(fake: ProviderFake) -> None:
    fake.live.add(NEW)
    ctx = Ctx()
    out = provider_rejects_old(ctx, _handles(ctx, OLD, NEW))
    assert out["old"] == "revoked" and out["new"] == "live"
    assert out["evidence"]["old"]["http_status"] == 401
    assert out["evidence"]["new"]["endpoint"] == "GET https://api.github.com/user"
    assert out["identity"]["login"]
    assert [path for _, path in fake.requests] == ["/github/user", "/github/user"]
    _no_value_in(json.dumps(out), *ctx.logs)


def test_an_old_credential_the_provider_still_accepts_is_not_yet(fake: ProviderFake) -> None:
    fake.live.update({OLD, NEW})
    ctx = Ctx()
    with pytest.raises(NotYet) as caught:
        provider_rejects_old(ctx, _handles(ctx, OLD, NEW))
    assert caught.value.transient  # the runner retries it per the step's retry policy
    assert "still accepts the old credential" in caught.value.message
    assert caught.value.details["old"]["status"] == "live"
    _no_value_in(caught.value.message, json.dumps(caught.value.details), *ctx.logs)


def test_an_unclear_answer_never_passes(fake: ProviderFake) -> None:
    fake.live.add(NEW)
    ctx = Ctx()
    with pytest.raises(NotYet) as caught:
        provider_rejects_old(ctx, _handles(ctx, RATE_LIMITED, NEW))
    assert "no clear answer about the old credential" in caught.value.message
    assert caught.value.details["old"]["status"] == "unknown"


def test_a_new_credential_the_provider_rejects_is_not_yet(fake: ProviderFake) -> None:
    ctx = Ctx()
    with pytest.raises(NotYet, match="rejects the new credential"):
        provider_rejects_old(ctx, _handles(ctx, OLD, NEW))


def test_values_read_from_store_versions(fake: ProviderFake) -> None:
    fake.live.add(NEW)
    store = FakeStore({"ci/github": {"token": OLD}})
    old_version = store.read_current("ci/github")[0].version_id
    staged = store.put_pending("ci/github", {"token": NEW}, "t1")
    store.promote("ci/github", staged.version_id, "t2")
    ctx = Ctx(stores={"vault": store})
    params = {
        "verifier": "github",
        "store": "vault",
        "name": "ci/github",
        "old_version": old_version,
        "new_version": staged.version_id,
        "credential": fingerprint(OLD)[:20],
    }
    out = provider_rejects_old(ctx, params)
    assert (out["old"], out["new"]) == ("revoked", "live")


def test_the_old_value_must_be_the_leaked_one(fake: ProviderFake) -> None:
    ctx = Ctx()
    params = {**_handles(ctx, OLD, NEW), "credential": fingerprint(NEW)}
    with pytest.raises(PlaybookError, match="not the leaked one"):
        provider_rejects_old(ctx, params)
    assert fake.requests == []  # nothing asked about a value that is not the leaked one
    rehearsal = Ctx(mode=Mode.REHEARSE)  # sandbox stand-ins never hash to the leaked value
    fake.live.add(NEW)
    out = provider_rejects_old(
        rehearsal, {**_handles(rehearsal, OLD, NEW), "credential": fingerprint(NEW)}
    )
    assert out["old"] == "revoked"


def test_the_same_value_for_old_and_new_is_refused(fake: ProviderFake) -> None:
    ctx = Ctx()
    with pytest.raises(PlaybookError, match="same value"):
        provider_rejects_old(ctx, _handles(ctx, OLD, OLD))
    assert fake.requests == []


def test_an_unknown_verifier_is_a_playbook_error() -> None:
    ctx = Ctx()
    with pytest.raises(PlaybookError, match="no verifier named 'nope'"):
        provider_rejects_old(ctx, {"verifier": "nope", "old": ctx.secrets.put({"v": OLD})})


def test_credential_values() -> None:
    pair = {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "s" * 40}
    assert credential_value("aws", pair, None) == "AKIAIOSFODNN7EXAMPLE:" + "s" * 40
    with pytest.raises(PlaybookError, match="access key id"):
        credential_value("aws", {"value": "x"}, None)
    assert credential_value("github", {"token": OLD}, None) == OLD
    assert credential_value("github", {"token": OLD, "user": "ci"}, "token") == OLD
    with pytest.raises(PlaybookError, match="2 fields") as caught:
        credential_value("github", {"token": OLD, "user": "ci"}, None)
    assert OLD not in caught.value.message
    with pytest.raises(PlaybookError, match="no field 'missing'"):
        credential_value("github", {"token": OLD}, "missing")


def test_the_step_is_registered_read_only() -> None:
    spec = REGISTRY["verify.provider_rejects_old"].spec
    assert not spec.mutating and not spec.produces_secret
