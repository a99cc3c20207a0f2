"""What reaches a terminal: control characters escaped, URL credentials hidden, pasted keys
recognised (and replaced by their fingerprint) before anything echoes them."""

from __future__ import annotations

import pytest

from leakguard.redact import (
    escape_terminal,
    fingerprint,
    hide_url_credentials,
    looks_like_credential,
    scrub_credentials,
    terminal_safe,
)
from tests.support.keys import stripe_key

KEY = stripe_key("terminal")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain name.txt", "plain name.txt"),
        ("a\x1b[31mred", "a\\x1b[31mred"),  # ESC
        ("bell\x07", "bell\\x07"),
        ("over\rwrite", "over\\x0dwrite"),
        ("line\nbreak", "line\\x0abreak"),
        ("tab\there", "tab\\x09here"),
        ("del\x7f", "del\\x7f"),
        ("csi\x9b2J", "csi\\x9b2J"),  # C1
        ("nul\x00", "nul\\x00"),
        ("rtl\u202egnp.exe", "rtl\\u202egnp.exe"),  # bidirectional override
        ("bytes\udcff\udc80", "bytes\\xff\\x80"),  # a non-UTF-8 name (surrogateescape)
        ("café ünïcode ✓", "café ünïcode ✓"),  # printable text is left alone
    ],
)
def test_escape_terminal(raw: str, shown: str) -> None:
    assert escape_terminal(raw) == shown


def test_messages_may_keep_their_line_breaks() -> None:
    assert escape_terminal("one\ntwo\x1b", keep_newlines=True) == "one\ntwo\\x1b"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://user:tok3n@git.example.com/r.git", "https://…@git.example.com/r.git"),
        ("clone of HTTPS://t0ken@host/x failed", "clone of HTTPS://…@host/x failed"),
        ("postgres://app:pw@db:5432/app", "postgres://…@db:5432/app"),
        ("https://host/path?q=a@b", "https://host/path?q=a@b"),  # no user information
        ("mail me at a@b.example", "mail me at a@b.example"),
    ],
)
def test_url_credentials_are_hidden(text: str, shown: str) -> None:
    assert hide_url_credentials(text) == shown


def test_terminal_safe_does_both() -> None:
    assert terminal_safe("https://u:p@h/\x1b") == "https://…@h/\\x1b"


@pytest.mark.parametrize(
    "value",
    [
        KEY,
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "ghp_" + "a1B2c3D4e5F6" * 3,
        "xoxb-1234567890-abcdefghij",
        "Zx8yQ2mN4pL7vR1tK9sD3fG6hJ0",
    ],
)
def test_pasted_keys_look_like_credentials(value: str) -> None:
    assert looks_like_credential(value)


@pytest.mark.parametrize(
    "value",
    [
        "sha256:" + "ab" * 32,
        "sha256:9f2c",
        "9f2c1a",
        "main",
        "refs/heads/main",
        "feature/add-login-page-2024",
        "v1.2.3-rc1-build20240101",
        "/tmp/pytest-of-root/pytest-12/test_missing_path0/nothere",
        "./config/settings.production.yaml",
        "test_missing_path_is_not_e0",
        "stripe-live-secret-key",
    ],
)
def test_names_paths_and_fingerprints_do_not(value: str) -> None:
    assert not looks_like_credential(value)


def test_scrub_replaces_candidates_and_vendor_keys_by_their_fingerprint() -> None:
    random_token = "Zx8yQ2mN4pL7vR1tK9sD3fG6hJ0"
    text = f"unknown ref {random_token}; target not found: {KEY}; path /tmp/x"
    scrubbed = scrub_credentials(text, ["scan", random_token, "/tmp/x"])
    assert random_token not in scrubbed and KEY not in scrubbed
    assert fingerprint(random_token) in scrubbed and fingerprint(KEY) in scrubbed
    assert scrubbed.endswith("path /tmp/x")
    # a random token that was not on the command line is not guessed at
    assert scrub_credentials(f"ref {random_token}") == f"ref {random_token}"
