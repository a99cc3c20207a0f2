"""The inline markers that keep a line out of reports: LeakGuard's own and those of gitleaks,
trufflehog and detect-secrets (so a team moving to LeakGuard keeps its annotations)."""

from __future__ import annotations

ALLOW_MARKER = b"leakguard:allow"
# same line
ALLOW_MARKERS = (ALLOW_MARKER, b"gitleaks:allow", b"trufflehog:ignore", b"pragma: allowlist secret")
# detect-secrets' marker for the line after it
NEXT_LINE_MARKER = b"pragma: allowlist nextline secret"
EVERY_MARKER = (*ALLOW_MARKERS, NEXT_LINE_MARKER)
