"""Compiled keyword databases and checked rule sets kept on disk, so a scan of one small file
neither recompiles the keywords nor reparses and rechecks 100+ rule files.

A database is stored under ``<cache dir>/rules/<key>.hsdb`` (the decoders' marker database:
``<key>.hsmarkers``); the key is a SHA-256 of everything the compiled bytes depend on: this
format's version, the Hyperscan package version, the engine mode, and the exact expressions,
ids and flags compiled (so a changed rule file, an added ``--rules`` directory or an upgrade
gives a new key, and nothing ever has to be invalidated). Old entries are never read again, so
the directory is kept bounded (:meth:`RuleCache.prune`: past 256 entries, the oldest go).

A rule set is stored under ``<key>.rules``, keyed the same way by the rules version: every rule
file's path and text, which of them are the user's, the Python that parsed them, and the source
of the code that parses, checks and encodes them (so editing the parser or this module is an
upgrade too). Its payload is JSON, never pickle: ``{"format": 2, "fields": [...], "rules":
[[...], ...]}``, each rule the list of its fields' values in ``fields`` order, each field of a
known shape (text, a list of texts, a ``[pattern, flags]`` pair; a validator's parameters as
tagged values: bytes, tuples, frozensets, patterns, severities), so that it is decoded a field
at a time with C loops (~1 ms for 250 rules, where a call per value took ~7 ms). It is written
only when decoding it gives back rules equal to the ones just parsed; a payload that does not
decode (another format, a field of the wrong shape) is a miss like any other.

Reading and hashing every rule file to find that key costs ~5 ms a run, so the key is also
recorded under ``<status key>.rulestat`` (:func:`status_key`): the files' paths and their
status (device, inode, size, modification and change times, in ns), the code files' too, and
the versions. A load first looks there and reads no rule file when the record holds: every
write, rename or ``touch`` of a file gives it another change time (``st_ctime``, which only the
clock sets) or inode. A record is trusted only when every file last changed at least
:data:`SETTLED_NS` before the record was written, so that a change in the same timestamp tick
as the status recorded cannot go unseen (git's "racy" index entries); otherwise the files are
read and hashed as before and the record written again.

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
import contextlib
import hashlib
import json
import os
import re
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leakguard.model import Severity

if TYPE_CHECKING:
    from leakguard.engine.rules import Rule

FORMAT = b"leakguard-hyperscan-cache 1\n"
#: a keyword database is a few hundred kilobytes; anything far larger is not ours
MAX_BYTES = 64 * 1024 * 1024
_HEADER = len(FORMAT) + 64 + 1 + 64 + 1  # format, key, newline, payload digest, newline

#: the entries the cache keeps at most (a rule set takes two to four; see RuleCache.prune)
MAX_ENTRIES = 256
#: a temporary file this old was left by a write that never finished
LEFTOVER_NS = 3600 * 1_000_000_000
_ENTRY_NAME = re.compile(r"[0-9a-f]{64}\.[a-z][a-z.]*")
#: the rules key and version recorded for rule files by their status (:func:`status_key`)
STATUS_SUFFIX = ".rulestat"

#: how long before a status record was written every file must have last changed for the
#: record to be trusted: a later change then gives a file another change time, even on a file
#: system with coarse timestamps
SETTLED_NS = 2_000_000_000


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

    def __init__(
        self, root: Path, *, settled_ns: int = SETTLED_NS, max_entries: int = MAX_ENTRIES
    ) -> None:
        """``settled_ns``: see :meth:`known_rules`; ``max_entries``: see :meth:`prune`."""
        self.directory = root / "rules"
        self.settled_ns = settled_ns
        self.max_entries = max_entries

    def path(self, key: str, suffix: str = ".hsdb") -> Path:
        return self.directory / f"{key}{suffix}"

    def load(self, key: str, suffix: str = ".hsdb") -> bytes | None:
        """The stored payload for ``key`` when every check passes, else None."""
        entry = self._entry(key, suffix)
        return None if entry is None else entry[0]

    def _entry(self, key: str, suffix: str) -> tuple[bytes, int] | None:
        """The stored payload for ``key`` and when it was written (ns), or None."""
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
        return payload, info.st_mtime_ns

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
        self.prune()
        return True

    def prune(self) -> None:
        """Keep the cache bounded: once it holds more than ``max_entries`` entries, the oldest
        written go until three quarters are left (each upgrade, rule edit or ``--rules`` set
        writes new entries, and nothing ever reads the old ones again; one still in use costs
        a compile when next needed). Run after each write, so never on a run that only reads.
        A temporary file a killed write left behind goes once an hour old. Best effort; only
        files named as this cache names them are removed."""
        try:
            with os.scandir(self.directory) as found:
                entries = [
                    (e.stat(follow_symlinks=False).st_mtime_ns, e.name)
                    for e in found
                    if e.is_file(follow_symlinks=False)
                    and (_ENTRY_NAME.fullmatch(e.name) or e.name.startswith(".tmp-"))
                ]
        except OSError:
            return
        stale = time.time_ns() - LEFTOVER_NS
        doomed = [name for when, name in entries if name.startswith(".tmp-") and when < stale]
        kept = sorted(e for e in entries if not e[1].startswith(".tmp-"))
        if len(kept) > self.max_entries:
            doomed += [name for _, name in kept[: len(kept) - self.max_entries * 3 // 4]]
        for name in doomed:
            with contextlib.suppress(OSError):
                os.unlink(self.directory / name)

    def load_rules(self, key: str) -> list[Rule] | None:
        """The rules stored for ``key``, or None (missing, foreign, corrupt)."""
        payload = self.load(key, RULES_SUFFIX)
        if payload is None:
            return None
        try:
            return _rules(json.loads(payload))
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError, re.error):
            return None

    def store_rules(self, key: str, rules: Sequence[Rule]) -> bool:
        """Store ``rules`` for ``key`` when they come back equal from their encoding."""
        try:
            payload = json.dumps(_encode_rules(rules)).encode()
            same = _rules(json.loads(payload)) == list(rules)
        except (TypeError, ValueError):  # a value this encoding does not know
            return False
        return same and self.store(key, payload, RULES_SUFFIX)

    def known_rules(self, status: tuple[str, int] | None) -> tuple[list[Rule], str] | None:
        """The rules and rules version recorded for rule files of this :func:`status_key`
        (their status, not their text), or None. Not when a file changed less than
        ``settled_ns`` (:data:`SETTLED_NS`) before the record was written: a change in the
        same timestamp tick as the status recorded would not show in it (git's "racy"
        entries); the next load records it again."""
        entry = None if status is None else self._entry(status[0], STATUS_SUFFIX)
        if entry is None or status is None or status[1] > entry[1] - self.settled_ns:
            return None
        if _STATUS_ENTRY.fullmatch(entry[0]) is None:
            return None
        key, version = entry[0].decode().split()
        rules = self.load_rules(key)
        return None if rules is None else (rules, version)

    def remember_rules(self, status: tuple[str, int] | None, key: str, version: str) -> bool:
        """Record that the rule files of ``status`` (:func:`status_key`, taken before their
        text was read) hold the rules stored under ``key``, of rules ``version``."""
        if status is None:
            return False
        return self.store(status[0], f"{key} {version}".encode(), STATUS_SUFFIX)


RULES_SUFFIX = ".rules"
_STATUS_ENTRY = re.compile(rb"[0-9a-f]{64} [0-9a-f]{16}")
#: the code a stored rule set depends on: its parser and checks, and this encoding itself
_RULE_CODE = ("rules.py", "validators.py", "params.py", "redos.py", "guards.py", "rulecache.py")


def _code_files() -> list[Path]:
    here = Path(__file__).parent
    return [*(here / name for name in _RULE_CODE), here.parent / "schemacheck.py"]


def rules_key(files: Sequence[tuple[Path, str]], user_from: int) -> str:
    """The rules version a stored rule set answers for (see the module's docstring)."""
    from leakguard import __version__

    parts = [b"rules", __version__.encode(), str(user_from).encode(), sys.version.encode()]
    parts += [path.read_bytes() for path in _code_files()]  # schemacheck: the files' schema
    for path, text in files:
        parts += [os.fsencode(path), text.encode("utf-8", "surrogatepass")]
    return database_key(parts)


def status_key(files: Sequence[Path], user_from: int) -> tuple[str, int] | None:
    """A key of what :func:`rules_key` depends on, from the status of each file (the rule
    files and the code files) instead of its text, and the newest change time among them
    (ns, for :meth:`RuleCache.known_rules`); None when a file is missing or not a regular
    file (see the module's docstring)."""
    from leakguard import __version__

    lines = [f"status {__version__} {user_from} {sys.version}"]
    newest = 0
    try:
        for path in (*_code_files(), *files):
            info = os.stat(path)
            if not stat.S_ISREG(info.st_mode):
                return None
            changed = max(info.st_ctime_ns, info.st_mtime_ns)
            newest = max(newest, changed)
            lines.append(
                f"{os.fsdecode(path)!r} {info.st_dev} {info.st_ino} {info.st_size} "
                f"{info.st_mtime_ns} {info.st_ctime_ns}"
            )
    except (OSError, ValueError):
        return None
    return database_key(["\n".join(lines).encode("utf-8", "surrogateescape")]), newest


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


def _cached_pattern(value: dict[str, Any]) -> CachedPattern:
    """A pattern entry (a validator's parameter) as a :class:`CachedPattern`."""
    if set(value) != {"pattern", "flags"}:
        raise ValueError("a pattern entry is {pattern, flags}")
    pattern, flags = _decode(value["pattern"]), value["flags"]
    if not isinstance(pattern, bytes) or type(flags) is not int:
        raise ValueError("a pattern is bytes with integer flags")
    return CachedPattern(pattern, flags)


#: what a stored rule set is: a mapping {format, fields, rules}, each rule a list of its
#: fields' values in ``fields`` order (the names once, not in every rule)
RULES_FORMAT = 2
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _text(value: bytes) -> str:
    """Bytes as JSON text (any byte that is not UTF-8 as a lone surrogate, which JSON escapes)."""
    return value.decode("utf-8", "surrogateescape")


def _bytes(texts: Iterable[str]) -> Iterator[bytes]:
    """What :func:`_text` gave back (TypeError for anything but text)."""
    return map(str.encode, texts, repeat("utf-8"), repeat("surrogateescape"))


def _pattern_entry(pattern: re.Pattern[bytes] | CachedPattern) -> list[Any]:
    return [_text(pattern.pattern), pattern.flags]


def _all(kind: type, values: Iterable[Any]) -> None:
    if not {kind}.issuperset(map(type, values)):
        raise ValueError(f"each value is a {kind.__name__}")


# A stored rule set is decoded a field (a column) at a time, each with one loop in C where it
# can: a run reads ~250 rules of 26 fields, and a call per value would be most of its cost.
def _plain_column(values: Sequence[Any]) -> Sequence[Any]:
    if not _SCALARS.issuperset(map(type, values)):
        raise ValueError("a plain field holds a JSON scalar")
    return values


def _severity_column(values: Sequence[Any]) -> list[Severity]:
    return [Severity(v) for v in values]


def _patterns(entries: Sequence[Any]) -> list[CachedPattern]:
    """``[text, flags]`` entries as :class:`CachedPattern` (each compiled when first used)."""
    _all(list, entries)
    if not entries:
        return []
    texts, flags = zip(*entries, strict=True)
    _all(int, flags)
    return list(map(CachedPattern, _bytes(texts), flags))


def _keywords_column(values: Sequence[Any]) -> list[tuple[bytes, ...]]:
    _all(list, values)
    return [tuple(_bytes(keywords)) for keywords in values]


def _strings_column(values: Sequence[Any]) -> list[tuple[str, ...]]:
    _all(list, values)
    "".join(chain.from_iterable(values))  # a TypeError unless each holds strings only
    return list(map(tuple, values))


def _rotation_cases(entries: list[Any]) -> tuple[tuple[CachedPattern, str], ...]:
    if not entries:
        return ()
    _all(list, entries)
    patterns = _patterns([entry[:2] for entry in entries])
    playbooks = [entry[2] for entry in entries if len(entry) == 3]
    _all(str, playbooks)
    return tuple(zip(patterns, playbooks, strict=True))


def _encode_params(params: Any) -> Any:
    """A validator's parameters, tagged (:func:`_encode`); none (most rules') as 0."""
    return _encode(params) if params else 0


def _params_column(values: Sequence[Any]) -> list[Any]:
    return [{} if type(v) is int and v == 0 else _decode(v) for v in values]


# per field of a rule: encode its value, decode its column; a field not named holds a JSON
# scalar as it is
_FIELD_CODECS: dict[str, tuple[Callable[[Any], Any], Callable[[Sequence[Any]], Sequence[Any]]]] = {
    "severity": (int, _severity_column),
    "pattern": (_pattern_entry, _patterns),
    "keywords": (lambda v: [_text(k) for k in v], _keywords_column),
    "validator_params": (_encode_params, _params_column),
    "rotation_cases": (
        lambda v: [[*_pattern_entry(p), playbook] for p, playbook in v],
        lambda column: list(map(_rotation_cases, column)),
    ),
    "examples": (list, _strings_column),
    "negative_examples": (list, _strings_column),
    "supersedes": (list, _strings_column),
}


def _rule_fields() -> tuple[str, ...]:
    from leakguard.engine.rules import Rule

    return tuple(Rule.__match_args__)  # every field, in order (a dataclass's positional args)


def _encode_rules(rules: Sequence[Rule]) -> dict[str, Any]:
    names = _rule_fields()
    rows = []
    for rule in rules:
        row = []
        for name in names:
            value = getattr(rule, name)
            codec = _FIELD_CODECS.get(name)
            if codec is not None:
                value = codec[0](value)
            elif type(value) not in _SCALARS:
                raise TypeError(f"cannot cache a {type(value).__name__} as {name}")
            row.append(value)
        rows.append(row)
    return {"format": RULES_FORMAT, "fields": list(names), "rules": rows}


def _rules(payload: Any) -> list[Rule]:
    """The rules of a stored payload; ValueError (or TypeError...) when it is not one."""
    from leakguard.engine.rules import Rule

    names = _rule_fields()
    if type(payload) is not dict or payload.get("format") != RULES_FORMAT:
        raise ValueError("another format")
    rows = payload.get("rules")
    if payload.get("fields") != list(names) or type(rows) is not list:
        raise ValueError("other fields")
    _all(list, rows)
    if not rows:
        return []
    columns = list(zip(*rows, strict=True))
    if len(columns) != len(names):
        raise ValueError("a rule is a list of its fields")
    decoded = [
        _FIELD_CODECS.get(name, (None, _plain_column))[1](column)
        for name, column in zip(names, columns, strict=True)
    ]
    return list(map(Rule, *decoded))


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
