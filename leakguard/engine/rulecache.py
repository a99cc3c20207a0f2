"""Compiled keyword databases and checked rule sets kept on disk, so a scan of one small file
neither recompiles the keywords nor reparses and rechecks 100+ rule files.

A database is stored under ``<cache dir>/rules/<key>.hsdb`` (the decoders' marker database:
``<key>.hsmarkers``); the key is a SHA-256 of everything the compiled bytes depend on: this
format's version, the Hyperscan package version, the engine mode, and the exact expressions,
ids and flags compiled (so a changed rule file, an added ``--rules`` directory or an upgrade
gives a new key, and nothing ever has to be invalidated).

A rule set is stored under ``<key>.rules``, keyed the same way by the rules version: every rule
file's path and text, which of them are the user's, the Python that parsed them, and the source
of the code that parses, checks and encodes them (so editing the parser or this module is an
upgrade too). Its payload is JSON with tagged values
(bytes, tuples, frozensets, patterns, severities), never pickle, and it is written only when
decoding it gives back rules equal to the ones just parsed; a payload that does not decode is
a miss like any other.

The cache is input like any other file. A database is loaded only from a regular file (not a
link) owned by this user and writable by no one else, in a directory with the same properties;
its header must name the same key and its SHA-256 must match its bytes. Anything else (missing,
foreign, truncated, corrupt, mismatched) is ignored and the database compiled again, then
written atomically (a temporary file, mode 0600, renamed into place; the directory is 0700).
Nothing is unpickled: the bytes go to Hyperscan's own deserialiser, and only after these checks.
Writing is best effort: a read-only or full disk only costs the compile next time.

Why this is not a trust boundary: the directory and its files must be this user's and writable
by no one else, so only this user (or root) can have written an entry, and whoever can do that
can already run code as this user (``~/.bashrc``, the virtual environment). The SHA-256 in the
header therefore guards against damage (a truncated write, a full disk, bit rot, another
version's format), not against forgery; a cache directory others can write (a shared
``XDG_CACHE_HOME``, a world-writable ``--cache-dir``) is never read or written.

Rules read from the cache carry their patterns (and their validators' patterns) uncompiled
(:class:`CachedPattern`): Python's ``re.compile`` of 250 patterns costs about 50 ms, more than
the rest of loading, and a scan of a small file runs few of them (only those of the rules whose
keywords occur). Each is compiled on first use. The rules version names the Python that wrote
the entry, whose ``re`` compiled every pattern when the files were parsed, so another Python
(whose ``re`` might refuse one) reads another entry instead of failing in the middle of a scan.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import stat
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leakguard.model import Severity

if TYPE_CHECKING:
    from leakguard.engine.rules import Rule

FORMAT = b"leakguard-hyperscan-cache 1\n"
#: a keyword database is a few hundred kilobytes; anything far larger is not ours
MAX_BYTES = 64 * 1024 * 1024
_HEADER = len(FORMAT) + 64 + 1 + 64 + 1  # format, key, newline, payload digest, newline


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/leakguard`` (``~/.cache/leakguard``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "leakguard"


def database_key(parts: list[bytes]) -> str:
    digest = hashlib.sha256(FORMAT)
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class RuleCache:
    """Compiled databases under ``root/rules``."""

    def __init__(self, root: Path) -> None:
        self.directory = root / "rules"

    def path(self, key: str, suffix: str = ".hsdb") -> Path:
        return self.directory / f"{key}{suffix}"

    def load(self, key: str, suffix: str = ".hsdb") -> bytes | None:
        """The stored payload for ``key`` when every check passes, else None."""
        if not _private_dir(self.directory):
            return None
        try:
            flags = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
            fd = os.open(self.path(key, suffix), flags)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())
            if not _private_file(info) or info.st_size > MAX_BYTES + _HEADER:
                return None
            data = fh.read(MAX_BYTES + _HEADER + 1)
        header, payload = data[:_HEADER], data[_HEADER:]
        expected = FORMAT + key.encode() + b"\n" + hashlib.sha256(payload).hexdigest().encode()
        if header != expected + b"\n":
            return None
        return payload

    def store(self, key: str, payload: bytes, suffix: str = ".hsdb") -> bool:
        """Write ``payload`` for ``key`` atomically; False when the cache cannot be written."""
        if len(payload) > MAX_BYTES:
            return False
        import tempfile  # only when writing: most runs only read the cache

        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not _private_dir(self.directory):
                return False
            digest = hashlib.sha256(payload).hexdigest().encode()
            header = FORMAT + key.encode() + b"\n" + digest + b"\n"
            fd, temporary = tempfile.mkstemp(prefix=".tmp-", dir=self.directory)  # mode 0600
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(header + payload)
                os.replace(temporary, self.path(key, suffix))
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError:
            return False
        return True

    def load_rules(self, key: str) -> list[Rule] | None:
        """The rules stored for ``key``, or None (missing, foreign, corrupt)."""
        payload = self.load(key, RULES_SUFFIX)
        if payload is None:
            return None
        try:
            return [_rule(entry) for entry in json.loads(payload)]
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError, re.error):
            return None

    def store_rules(self, key: str, rules: Sequence[Rule]) -> bool:
        """Store ``rules`` for ``key`` when they come back equal from their encoding."""
        try:
            payload = json.dumps([_encode_rule(r) for r in rules]).encode()
            same = [_rule(entry) for entry in json.loads(payload)] == list(rules)
        except (TypeError, ValueError):  # a value this encoding does not know
            return False
        return same and self.store(key, payload, RULES_SUFFIX)


RULES_SUFFIX = ".rules"
#: the code a stored rule set depends on: its parser and checks, and this encoding itself
_RULE_CODE = ("rules.py", "validators.py", "params.py", "redos.py", "guards.py", "rulecache.py")


def rules_key(files: Sequence[tuple[Path, str]], user_from: int) -> str:
    """The rules version a stored rule set answers for (see the module's docstring)."""
    from leakguard import __version__

    here = Path(__file__).parent
    parts = [b"rules", __version__.encode(), str(user_from).encode(), sys.version.encode()]
    parts += [(here / name).read_bytes() for name in _RULE_CODE]
    parts.append((here.parent / "schemacheck.py").read_bytes())  # the rule files' schema check
    for path, text in files:
        parts += [os.fsencode(path), text.encode("utf-8", "surrogatepass")]
    return database_key(parts)


def _encode(value: Any) -> Any:
    if isinstance(value, Severity):
        return {"severity": int(value)}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode()}
    if isinstance(value, tuple):
        return {"tuple": [_encode(v) for v in value]}
    if isinstance(value, list):
        return {"list": [_encode(v) for v in value]}
    if isinstance(value, frozenset):
        return {"frozenset": [_encode(v) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: _encode(v) for k, v in value.items()}}
    if isinstance(value, re.Pattern | CachedPattern):
        return {"pattern": _encode(value.pattern), "flags": value.flags}
    raise TypeError(f"cannot cache a {type(value).__name__}")


def _decode(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if len(value) != 1:  # {pattern, flags}: the one entry with two keys
        return _cached_pattern(value)
    ((tag, inner),) = value.items()
    return _DECODERS[tag](inner)


# built once: a cached rule set is ~7,000 values, decoded on every run
_DECODERS: dict[str, Callable[[Any], Any]] = {
    "severity": Severity,
    "bytes": binascii.a2b_base64,  # what base64.b64decode does, without its wrapper
    "tuple": lambda v: tuple(map(_decode, v)),
    "list": lambda v: list(map(_decode, v)),
    "frozenset": lambda v: frozenset(map(_decode, v)),
    "dict": lambda v: {k: _decode(x) for k, x in v.items()},
}


def _encode_rule(rule: Rule) -> dict[str, Any]:
    from dataclasses import fields

    return {f.name: _encode(getattr(rule, f.name)) for f in fields(rule)}


def _rule(entry: dict[str, Any]) -> Rule:
    from leakguard.engine.rules import Rule

    fields = {name: _decode(value) for name, value in entry.items()}
    if not isinstance(fields.get("pattern"), CachedPattern):
        raise ValueError("a rule's pattern is a pattern entry")
    return Rule(**fields)


def _cached_pattern(value: dict[str, Any]) -> CachedPattern:
    """A pattern entry as a :class:`CachedPattern` (compiled when first used)."""
    if set(value) != {"pattern", "flags"}:
        raise ValueError("a pattern entry is {pattern, flags}")
    pattern, flags = _decode(value["pattern"]), value["flags"]
    if not isinstance(pattern, bytes) or type(flags) is not int:
        raise ValueError("a pattern is bytes with integer flags")
    return CachedPattern(pattern, flags)


class CachedPattern:
    """A rule's pattern read from the cache: its text and flags now, the compiled
    ``re.Pattern`` on first use (see the module's docstring for why).

    It stands in for ``re.Pattern[bytes]`` in :attr:`Rule.pattern` and in the validators'
    parameters (everything that uses them calls their methods): ``pattern`` and ``flags``
    are plain attributes, every other attribute and method is the compiled pattern's, it equals
    (and hashes like) the pattern it compiles to, and it pickles as itself (a worker process
    compiles only what it uses too). Code that hands a pattern to ``re`` functions themselves
    (``re.sub(pattern, ...)``) must use :attr:`compiled`."""

    __slots__ = ("_compiled", "flags", "pattern")

    def __init__(self, pattern: bytes, flags: int) -> None:
        self.pattern = pattern
        self.flags = flags
        self._compiled: re.Pattern[bytes] | None = None

    @property
    def compiled(self) -> re.Pattern[bytes]:
        if self._compiled is None:  # two threads may both compile: the same pattern either way
            self._compiled = re.compile(self.pattern, self.flags)
        return self._compiled

    @property
    def is_compiled(self) -> bool:
        """Whether anything has used the pattern yet (what a run paid for)."""
        return self._compiled is not None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # never a compile for a dunder probe (copy, pickle, ...)
            raise AttributeError(name)
        return getattr(self.compiled, name)

    def __eq__(self, other: object) -> bool:
        # what re.Pattern compares, less the compiled code: the same text and flags give the
        # same code (so checking a stored rule set does not compile it)
        if isinstance(other, CachedPattern | re.Pattern):
            return (self.pattern, self.flags) == (other.pattern, other.flags)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.compiled)

    def __reduce__(self) -> tuple[type[CachedPattern], tuple[bytes, int]]:
        return CachedPattern, (self.pattern, self.flags)

    def __repr__(self) -> str:
        return f"CachedPattern({self.pattern!r}, {self.flags})"


def _private_dir(path: Path) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and _ours_alone(info)


def _private_file(info: os.stat_result) -> bool:
    return stat.S_ISREG(info.st_mode) and _ours_alone(info)


def _ours_alone(info: os.stat_result) -> bool:
    """Owned by this user and writable by no one else."""
    owner = getattr(os, "getuid", lambda: info.st_uid)()
    return info.st_uid == owner and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def block_database(
    expressions: list[bytes], ids: list[int], flags: list[int], cache: RuleCache | None
) -> Any:
    """A Hyperscan block-mode database of ``expressions``, loaded from ``cache`` when it holds
    one for exactly these expressions, ids and flags, else compiled (and stored there)."""
    import hyperscan

    def compiled() -> Any:
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        db.compile(expressions=expressions, ids=ids, elements=len(expressions), flags=flags)
        return db

    if cache is None:
        return compiled()
    version = getattr(hyperscan, "__version__", "?").encode()
    key = database_key([version, b"block", *expressions, repr(ids).encode(), repr(flags).encode()])
    db = _loaded(cache, key, hyperscan)
    if db is None:
        db = compiled()
        cache.store(key, hyperscan.dumpb(db))
    return db


def _loaded(cache: RuleCache, key: str, hyperscan: Any) -> Any:
    """The database stored for ``key`` (checked by the cache before Hyperscan sees it), or
    None to compile it again."""
    payload = cache.load(key)
    if payload is None:
        return None
    try:
        db = hyperscan.loadb(payload, hyperscan.HS_MODE_BLOCK)
        db.scratch = hyperscan.Scratch(db)
    except Exception:  # another Hyperscan build's format: compile it again
        return None
    return db
