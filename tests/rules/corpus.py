"""A deterministic mixed corpus: source code, configuration and minified text, with every
shipped rule's examples planted among near misses (words that contain keywords but no secret).

Used by the engine-parity test (small sizes) and benchmarks/engine_throughput.py (tens of MB).
"""

from __future__ import annotations

import random
import string

from leakguard.engine.rules import RuleSet

_WORDS = (
    "def",
    "return",
    "import",
    "class",
    "self",
    "value",
    "config",
    "token",
    "session",
    "request",
    "response",
    "handler",
    "client",
    "server",
    "async",
    "await",
    "const",
    "let",
    "var",
    "function",
    "module",
    "export",
    "default",
    "string",
    "bytes",
    "buffer",
    "stream",
    "error",
    "retry",
    "timeout",
    "password",
    "secret",
    "key",
    "account",
    "region",
    "user",
    "admin",
    "Asia/Tokyo",
    "msg.send",
    "MSG.TEXT",
    "stripe",
    "github",
    "supabase",
    "slack",
    "twilio",
    "openai",
    "gitlab",
    "npm_config",
    "process.env.npm_package_version",
    "service_account",
    "private_key",
    "eyJ",
    "hooks.slack.com",
    "postgres://db",
    "mysql",
    "redis://cache",
    "amqp",
    "sk_test_",
    "pk_live_",
    "AKIA",
    "ghp_",
    "xoxb-",
    "SG.",
    "AIza",
)

_PY = (
    "def {a}_{b}(self, {c}):\n    return self.{d}.get({e!r}, {n})\n",
    "{a} = {b}.{c}({d!r}, timeout={n})\n",
    "if {a} is None:\n    raise ValueError('{b} {c} {d}')\n",
    "# {a} {b} {c} {d} {e}\n",
    "class {A}{B}:\n    {c}: int = {n}\n",
)
_CONFIG = (
    "{a}_{b}={c}\n",
    "{a}:\n  {b}: {c}\n  {d}: {n}\n",
    '"{a}": "{b}", "{c}": {n},\n',
    "[{a}]\n{b} = {c}\n",
)
_JS = "function {a}({b}){{return {c}.{d}({e},{n})}};var {b}={{{c}:{n},{d}:'{e}'}};"


# Without any keyword: no vendor word, and no credential name (the generic rule's keywords are
# "token:", "password=", ...).
_PLAIN = tuple(
    w
    for w in _WORDS
    if w.isalpha() and w not in ("twilio", "AKIA", "AIza", "eyJ", "token", "password", "secret")
)


def _fill(template: str, rng: random.Random, vocabulary: tuple[str, ...] = _WORDS) -> str:
    words = [rng.choice(vocabulary) for _ in range(5)]
    return template.format(
        a=words[0].replace("/", "_").replace(".", "_"),
        b=words[1],
        c=words[2],
        d=words[3],
        e=words[4],
        A=words[0][:1].upper() + words[0][1:],
        B=words[1][:1].upper() + words[1][1:],
        n=rng.randint(0, 10_000),
    )


def _base64ish(rng: random.Random, n: int) -> str:
    alphabet = string.ascii_letters + string.digits + "+/"
    return "".join(rng.choice(alphabet) for _ in range(n))


def filler(size: int, seed: int = 0, *, near_misses: bool = True) -> bytes:
    """About ``size`` bytes of source, config and minified text without secrets.
    ``near_misses=False`` avoids every keyword-like word (the engine's no-hit path)."""
    rng = random.Random(seed)
    parts: list[str] = []
    total = 0
    words = _WORDS if near_misses else _PLAIN
    while total < size:
        kind = rng.random()
        if kind < 0.5:
            piece = _fill(rng.choice(_PY), rng, words)
        elif kind < 0.8:
            piece = _fill(rng.choice(_CONFIG), rng, words)
        elif kind < 0.95:
            piece = "".join(_fill(_JS, rng, words) for _ in range(rng.randint(5, 40))) + "\n"
        else:
            piece = f"blob = '{_base64ish(rng, rng.randint(40, 400))}'\n"
        parts.append(piece)
        total += len(piece)
    return "".join(parts).encode("utf-8")[:size]


# around each planted piece: more than any rule's context reach (``before``, pairing lines) of
# neutral lines, so an example reports in the corpus exactly what it reports on its own
_QUIET = b"\n" * 7 + b"# ----\n" * 80 + b"\n" * 7


def mixed_corpus(ruleset: RuleSet, size: int, seed: int = 0) -> tuple[bytes, list[str]]:
    """Filler of about ``size`` bytes with every rule's examples and negative examples planted
    between whole lines. Returns the corpus and the planted positive examples."""
    rng = random.Random(seed)
    planted = [ex for rule in ruleset.rules for ex in rule.examples]
    decoys = [ex for rule in ruleset.rules for ex in rule.negative_examples]
    pieces = planted + decoys
    rng.shuffle(pieces)
    gap = max(1, size // (len(pieces) + 1))
    out: list[bytes] = []
    for i, piece in enumerate(pieces):
        out.append(filler(gap, seed * 1000 + i))
        out.append(_QUIET + piece.encode("utf-8") + _QUIET)
    out.append(filler(gap, seed * 1000 + len(pieces)))
    return b"".join(out), planted
