"""Known answers from outside the code under test.

A fingerprint is what every user's baseline, findings store and graph hold: its digest is pinned
to literals computed by ``sha256sum`` (``printf '%s' VALUE | sha256sum``), not by a second copy of
the code. The GitHub checksum is checked against a token published as an example of the format,
not against a re-implementation of CRC32/base62.
"""

from __future__ import annotations

from leakguard.engine.matcher import Engine
from leakguard.engine.rules import RuleSet
from leakguard.redact import fingerprint

# printf '%s' 'sk_live_4eC39HqLyjWDarjtT1zdp7dc9f2c' | sha256sum
STRIPE_DIGEST = "e21e2270378b180cf24d7af6c4f96d9f3549b5929df35fb026671e2dde244988"
# printf '%s' 'AKIAIOSFODNN7EXAMPLE' | sha256sum
AWS_DOC_KEY_DIGEST = "1a5d44a2dca19669d72edf4c4f1c27c4c1ca4b4408fbb17f6ce4ad452d78ddb3"

# The example token printed beside the published description of GitHub's token format
# ("ghp_" + 30 characters of entropy + "0mLq17", the CRC32 of the entropy in base62).
GITHUB_EXAMPLE = "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"


def test_fingerprints_are_pinned_digests() -> None:
    assert fingerprint("sk_live_4eC39HqLyjWDarjtT1zdp7dc9f2c") == f"sha256:{STRIPE_DIGEST}"
    assert fingerprint(b"AKIAIOSFODNN7EXAMPLE") == f"sha256:{AWS_DOC_KEY_DIGEST}"


def test_a_scanned_key_carries_the_pinned_fingerprint() -> None:
    engine = Engine(RuleSet.load())
    [finding] = engine.scan_text("STRIPE_SECRET_KEY=sk_live_4eC39HqLyjWDarjtT1zdp7dc9f2c\n")
    assert finding.fingerprint == f"sha256:{STRIPE_DIGEST}"


def test_the_published_github_example_passes_its_checksum() -> None:
    engine = Engine(RuleSet.load())
    found = engine.scan_text(f"GITHUB_TOKEN={GITHUB_EXAMPLE}\n")
    assert [(f.rule_id, str(f.validation.status)) for f in found] == [
        ("github-personal-access-token", "passed")
    ]
    broken = GITHUB_EXAMPLE[:-1] + "8"  # one checksum character off
    assert not [
        f for f in engine.scan_text(f"GITHUB_TOKEN={broken}\n") if f.validation.status == "passed"
    ]
