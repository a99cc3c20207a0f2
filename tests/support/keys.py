"""Deterministic fake secrets for tests (never real keys)."""

from __future__ import annotations

import random

_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def stripe_key(seed: int | str) -> str:
    """A Stripe-format live key, the same for the same seed (never a real key)."""
    rng = random.Random(seed)
    return "sk_live_" + "".join(rng.choice(_ALPHABET) for _ in range(32))
