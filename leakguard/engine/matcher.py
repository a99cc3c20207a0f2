"""Keyword prefilter + regex-on-windows matching.

Every rule names literal keywords. One pass over a chunk finds every occurrence of every keyword
(Hyperscan when it loads; a trie-shaped ``re`` fallback otherwise, forced with
``LEAKGUARD_ENGINE=re``). A rule's ``keyword_guard`` (engine/guards.py) must match where its
keyword ends for a hit to count: Hyperscan compiles it with the keyword, the fallback checks it
at each hit. Both report the same set of (keyword, end offset) hits, so both build the same
windows and give identical findings. Keywords are case-insensitive unless their rule
says ``case_sensitive``. Python ``re`` then runs each hit rule's pattern only on the merged
windows around its hits (rules sharing a pattern and window run it once); placeholders, the
entropy floor and the rule's validator decide what is a credential, and overlapping matches are
resolved to one finding per secret per place (longest match, then highest ``priority``).
"""

from __future__ import annotations

import os
import re
import signal
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from hashlib import blake2b
from typing import NamedTuple, NoReturn

from leakguard.engine.decoders import (
    DecoderScanners,
    decoded_chunks,
    decoder_scanners,
    marker_expressions,
)
from leakguard.engine.exposure import NEXT_DATA, PUBLIC_PARTS, Exposure
from leakguard.engine.filters import documentation, is_placeholder, shannon_entropy
from leakguard.engine.guards import compile_guard, guard_bytes, hyperscan_source
from leakguard.engine.interface import Candidate, Validator, Verdict
from leakguard.engine.literals import SOURCE_MAP_NAME, escaped, trie
from leakguard.engine.markers import ALLOW_MARKERS, NEXT_LINE_MARKER
from leakguard.engine.rulecache import RuleCache, block_database
from leakguard.engine.rules import Rule, RuleSet, rotation_for
from leakguard.errors import EngineError, UsageError
from leakguard.model import (
    Chunk,
    Extras,
    Finding,
    Location,
    Parts,
    Severity,
    Validation,
    ValidationStatus,
)
from leakguard.redact import fingerprint, redact

#: how long a user-supplied rule (``--rules``) may run on one chunk before it is skipped
USER_RULE_BUDGET_SECONDS = 5.0

# (rule id, secret) -> True when the project allows it (never reported)
AllowCheck = Callable[[str, str], bool]

# (keyword index, end offset) pairs
KeywordScanner = Callable[[bytes], Iterable[tuple[int, int]]]
# the keyword hits and the decoding markers present (``decoders.marker_expressions`` indexes)
LayeredScanner = Callable[[bytes], tuple[list[tuple[int, int]], set[int]]]
# whether bytes hold nothing the keyword pass reports: no keyword, and (when the flag says a
# chunk of them would be decoded) no decoding marker; it stops at the first that counts
QuietScanner = Callable[[bytes | bytearray | memoryview, bool], bool]
# a keyword: its bytes (lowercased unless exact), exact (case-sensitive), its guard ("": none)
Keyword = tuple[bytes, bool, str]


def _hyperscan_scanner(
    keywords: list[Keyword], cache: RuleCache | None = None, once: Collection[int] = ()
) -> tuple[LayeredScanner, QuietScanner]:
    """A guarded keyword is compiled with its guard after it and reported with its start
    (``HS_FLAG_SOM_LEFTMOST``): its end is the start plus its length. The decoding layers'
    markers ride in the same database (ids after the keywords', each reported once), so one
    pass over a chunk finds both; the scanner returns the hits and the markers present.
    ``once``: the keywords whose presence alone matters (reported once per chunk)."""
    import hyperscan

    expressions, flags = [], []
    for index, (kw, exact, guard) in enumerate(keywords):
        expression = escaped(kw)
        flag = 0 if exact else hyperscan.HS_FLAG_CASELESS
        if index in once:
            flag |= hyperscan.HS_FLAG_SINGLEMATCH
        if guard:
            expression += b"(?:" + hyperscan_source(guard) + b")"
            flag |= hyperscan.HS_FLAG_SOM_LEFTMOST
        expressions.append(expression)
        flags.append(flag)
    ids = list(range(len(keywords)))
    first_marker = len(keywords)
    for index, expression, caseless in marker_expressions():
        expressions.append(expression)
        ids.append(first_marker + index)
        flags.append(
            hyperscan.HS_FLAG_SINGLEMATCH | (hyperscan.HS_FLAG_CASELESS if caseless else 0)
        )
    db = block_database(expressions, ids, flags, cache)
    lengths = [len(kw) for kw, _, _ in keywords]
    nesting = [_nesting(keyword) for keyword in keywords]
    # per id: 0 a plain keyword, 1 a guarded one, 2 a marker
    kinds = [1 if guard else 0 for _, _, guard in keywords] + [2] * (max(ids) + 1 - first_marker)

    def scan(data: bytes) -> tuple[list[tuple[int, int]], set[int]]:
        hits: list[tuple[int, int]] = []
        append = hits.append
        spans: list[tuple[int, int, int]] = []
        add_span = spans.append
        present: set[int] = set()

        def on_match(kw: int, start: int, to: int, _flags: int, _ctx: object) -> None:
            kind = kinds[kw]
            if kind == 0:
                append((kw, to))
            elif kind == 1:
                add_span((kw, start, to))
            else:
                present.add(kw - first_marker)

        db.scan(data, match_event_handler=on_match)
        if spans:
            hits.extend(_guarded_hits(spans, data, lengths, nesting))
        return hits, present

    stopped = hyperscan.ScanTerminated

    def any_match(_kw: int, _start: int, _to: int, _flags: int, _ctx: object) -> bool:
        return True  # stop the pass

    def any_keyword(kw: int, _start: int, _to: int, _flags: int, _ctx: object) -> bool:
        return kinds[kw] != 2  # a keyword stops the pass; a decoding marker is passed over

    def quiet(data: bytes | bytearray | memoryview, decoding: bool) -> bool:
        # a guarded keyword counts before its guard's second look (which can only drop it):
        # "quiet" is never wrong, "not quiet" at worst cautious
        try:
            db.scan(data, match_event_handler=any_match if decoding else any_keyword)
        except stopped:
            return False
        return True

    return scan, quiet


class _Nesting(NamedTuple):
    """How a second occurrence of a guarded keyword can lie inside a match of it (keyword and
    guard): from ``skip`` bytes after the match's start (1 when the keyword overlaps itself,
    as ``aba`` in ``ababa``; else its length: only in the guard's text); ``probe``: a byte
    every occurrence holds in either case (b"" when none: each byte is a letter)."""

    needle: bytes
    exact: bool
    guard: str
    skip: int
    probe: bytes


def _nesting(keyword: Keyword) -> _Nesting | None:
    """None when no second occurrence can lie inside a match of ``keyword``: it is not
    guarded, or it cannot overlap itself and its guard can match none of some byte of it
    (``api_key`` followed by ``[ \t]*=``)."""
    needle, exact, guard = keyword
    if not guard:
        return None
    size = len(needle)
    overlaps = any(needle[i:] == needle[: size - i] for i in range(1, size))
    if not overlaps and not set(needle) <= guard_bytes(guard, exact):
        return None
    return _Nesting(needle, exact, guard, 1 if overlaps else size, _probe(needle))


def _guarded_hits(
    spans: list[tuple[int, int, int]],
    data: bytes,
    lengths: list[int],
    nesting: list[_Nesting | None],
) -> list[tuple[int, int]]:
    """The hits of guarded keywords from Hyperscan's (keyword, start, end) matches. For each end
    Hyperscan reports the leftmost start only, so a second occurrence of the keyword whose
    guard ends where an earlier one's does is not reported itself: it lies inside the earlier
    match, where it is looked for and its guard checked here (rare: a keyword inside a guard's
    text; the guard is compiled for ``re`` only then). ``lengths``: per keyword, its length;
    ``nesting``: per keyword, where such an occurrence can be (:func:`_nesting`)."""
    furthest = {(kw, start): end for kw, start, end in spans}
    if len(furthest) < len(spans):  # a start reported with several ends: the furthest
        furthest = {}
        for kw, start, end in spans:
            if furthest.get((kw, start), -1) < end:
                furthest[(kw, start)] = end
    hits = [(kw, start + lengths[kw]) for kw, start in furthest]
    for (kw, start), end in list(furthest.items()):
        nest = nesting[kw]
        if nest is None:
            continue
        needle, exact, guard, skip, probe = nest
        first = start + skip
        if end - first < len(needle) or (probe and data.find(probe, first, end) == -1):
            continue
        inside = data[first:end] if exact else data[first:end].lower()
        at = inside.find(needle)
        while at != -1:
            begin = first + at
            after = begin + len(needle)
            if (kw, begin) not in furthest and compile_guard(guard, exact).match(data, after):
                furthest[(kw, begin)] = after  # seen: not added twice
                hits.append((kw, after))
            at = inside.find(needle, at + 1)
    return hits


def _probe(keyword: bytes) -> bytes:
    """The keyword's last byte that is no ASCII letter (the same in either case), or b""."""
    for c in reversed(keyword):
        if not (65 <= c <= 90 or 97 <= c <= 122):
            return bytes([c])
    return b""


def _find_scanner(keywords: list[Keyword]) -> KeywordScanner:
    """Without Hyperscan: one regex pass per case (the keywords as a trie; each search resumes
    one byte after the last start, so overlapping keywords are all seen) finds where keywords
    start; a table by the first two bytes names which keywords start there; a guarded keyword
    counts where its guard matches after it. A ``bytes.find`` per keyword would read a chunk
    hundreds of times."""
    passes = []
    for exact in (False, True):
        chosen = [
            (index, kw, compile_guard(guard, exact) if guard else None)
            for index, (kw, kw_exact, guard) in enumerate(keywords)
            if kw_exact == exact
        ]
        if chosen:
            starts = re.compile(trie(sorted({kw for _, kw, _ in chosen})), re.DOTALL)
            by_head: dict[bytes, list[tuple[int, bytes, re.Pattern[bytes] | None]]] = {}
            for index, kw, guard in chosen:
                by_head.setdefault(kw[:2], []).append((index, kw, guard))
            passes.append((exact, starts, by_head))

    def scan(data: bytes) -> list[tuple[int, int]]:
        hits: list[tuple[int, int]] = []
        lowered = b""
        for exact, starts, by_head in passes:
            if exact:
                haystack = data
            else:
                haystack = lowered = lowered or data.lower()
            search = starts.search
            m = search(haystack)
            while m is not None:  # the next search starts one byte on: keywords may overlap
                pos = m.start()
                for index, kw, guard in by_head.get(haystack[pos : pos + 2], ()):
                    if haystack.startswith(kw, pos):
                        end = pos + len(kw)
                        if guard is None or guard.match(data, end) is not None:
                            hits.append((index, end))
                m = search(haystack, pos + 1)
        return hits

    return scan


@dataclass(frozen=True, slots=True)
class _Group:
    pattern: re.Pattern[bytes]
    before: int
    max_length: int
    anchored: bool  # a match starts at a keyword hit: tried there only, not searched for
    rules: list[Rule]
    # per rule: its first keyword, lowercased (a vendor prefix the placeholder check skips)
    prefixes: list[bytes]


class _Judged:
    """An accepted verdict on a rule's secret and, once a finding was made of it, what every
    finding of that rule, secret and verdict shares whatever its place (:class:`_Facts`). A
    memoised verdict's judgement is shared by each place the value is found again, so its
    fingerprint and redacted preview are computed once."""

    __slots__ = ("facts", "verdict")

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        self.facts: _Facts | None = None


@dataclass(frozen=True, slots=True)
class _Facts:
    """What a finding takes from its rule, its verdict and its secret (never the value)."""

    rule_id: str
    provider: str
    title: str
    severity: Severity
    fingerprint: str
    redacted: str
    validation: Validation
    attributes: Extras
    rotation: str | None
    per_match: bool  # the playbook depends on the match (the rule's ``rotation_by``)
    parts: Parts


class _Accepted(NamedTuple):
    rule: Rule
    start: int
    end: int
    secret: bytes
    judged: _Judged
    groups: Mapping[str, bytes | None]  # the match's named groups (rotation_by reads one)

    @property
    def verdict(self) -> Verdict:
        return self.judged.verdict


# the pseudo-group of the markers' keyword hits (no pattern: they only say a marker is there)
_MARKED = -1
# the pseudo-group of ``__NEXT_DATA__`` (a chunk without one holds no Next.js page props)
_NEXT_DATA = -2
# the pseudo-group of the public variable prefixes (``VITE_``, ``NEXT_PUBLIC_``...)
_PUBLIC = -3
# the pseudo-group of ``sourceMappingURL=`` (for :meth:`Engine.probe`; no rule reads it)
_SOURCE_MAP = -4

#: verdicts an engine remembers (a digest and a verdict each: a few MB at most); when full it
#: starts again empty (values repeat within a file set: config copied into many files)
MEMO_ENTRIES = 16384
_Memo = dict[tuple[str, bytes], _Judged | None]
_UNJUDGED = _Judged(Verdict(accept=False))  # what the memo gives for a key it does not hold


class Engine:
    """Compiled rules. Not thread-safe (Hyperscan scratch space): one per thread or process."""

    def __init__(
        self,
        ruleset: RuleSet,
        kind: str = "auto",
        *,
        show_secrets: bool = False,
        validators: Mapping[str, Validator] | None = None,
        rule_budget_seconds: float = USER_RULE_BUDGET_SECONDS,
        rule_cache: RuleCache | None = None,
    ) -> None:
        """``rule_cache``: where the compiled keyword database is kept between runs (none:
        compiled every time)."""
        from leakguard.engine.validators import MEMO_CONTEXTS, MEMO_CONTEXTS_AT, VALIDATORS

        documentation(rule_cache)  # the shipped allowlist, from the cache when it holds it

        self.ruleset = ruleset
        self.rule_budget_seconds = rule_budget_seconds
        self._over_budget: set[int] = set()  # groups of user rules that ran out of time
        self._notices: list[str] = []
        self.show_secrets = show_secrets
        self._validators = VALIDATORS if validators is None else validators
        # validators whose verdict depends on the secret and a context alone (shipped ones only)
        self._memo_contexts = MEMO_CONTEXTS if validators is None else {}
        self._contexts_at = MEMO_CONTEXTS_AT if validators is None else {}
        self._keywords: list[Keyword] = []
        self._keyword_rules: list[list[Rule]] = []
        index: dict[Keyword, int] = {}
        for rule in ruleset.rules:
            for kw in rule.keywords:
                key = (kw, rule.case_sensitive, rule.keyword_guard)
                if key not in index:
                    index[key] = len(self._keywords)
                    self._keywords.append(key)
                    self._keyword_rules.append([])
                self._keyword_rules[index[key]].append(rule)
        # where two matches start at one offset and are as long: the higher priority first,
        # then the rule listed first
        self._rank = {rule.id: (-rule.priority, i) for i, rule in enumerate(ruleset.rules)}
        # Rules sharing a pattern and window (the JWT rules) are matched once per window.
        self._groups: list[_Group] = []
        group_index: dict[tuple[bytes, int, int, int, bool], int] = {}
        rule_group: dict[str, int] = {}
        for rule in ruleset.rules:
            shape = (
                rule.pattern.pattern,
                rule.pattern.flags,
                rule.before,
                rule.max_length,
                rule.anchored,
            )
            if shape not in group_index:
                group_index[shape] = len(self._groups)
                self._groups.append(
                    _Group(rule.pattern, rule.before, rule.max_length, rule.anchored, [], [])
                )
            self._groups[group_index[shape]].rules.append(rule)
            self._groups[group_index[shape]].prefixes.append(rule.keywords[0].lower())
            rule_group[rule.id] = group_index[shape]
        # Per keyword: (group, bytes before the keyword's end, bytes after) of each window.
        self._keyword_reach: list[list[tuple[int, int, int]]] = []
        for (keyword, _, _), rules in zip(self._keywords, self._keyword_rules, strict=True):
            reach = []
            for g in sorted({rule_group[rule.id] for rule in rules}):
                group = self._groups[g]
                reach.append((g, len(keyword) + group.before, group.max_length))
            self._keyword_reach.append(reach)
        if self._keywords:
            # markers ride along: a chunk without an allow marker skips line checks, one
            # without __NEXT_DATA__ or a public prefix is not searched for them per match
            markers = [
                *((stem, _MARKED) for stem in _MARKER_STEMS),
                (NEXT_DATA, _NEXT_DATA),
                *((part, _PUBLIC) for part in PUBLIC_PARTS),
                (SOURCE_MAP_NAME, _SOURCE_MAP),
            ]
            for literal, pseudo in markers:
                key = (literal, True, "")
                if key not in index:
                    index[key] = len(self._keywords)
                    self._keywords.append(key)
                    self._keyword_rules.append([])
                    self._keyword_reach.append([])
                self._keyword_reach[index[key]].append((pseudo, 0, 0))
        source_map_key = (SOURCE_MAP_NAME, True, "")
        self._source_map_keyword = index.get(source_map_key) if self._keywords else None
        # the keyword pass :meth:`probe` made over some bytes, for the scan of them that follows
        self._probed: tuple[bytes, list[tuple[int, int]], set[int]] | None = None
        self.kind = self._choose_kind(kind)
        self._rule_cache = rule_cache
        self._decoders: DecoderScanners | None = None  # built on the first decoding scan
        # verdicts of the memo-safe validators by (rule, digest of context and secret): the
        # verdict is a function of those alone, so reusing it changes no result
        self._memo: _Memo = {}
        # Hyperscan: one pass finds the keywords and the decoding markers
        self._scan_layered: LayeredScanner | None = None
        self._scan_quiet: QuietScanner | None = None
        if not self._keywords:
            self._scan_keywords: KeywordScanner = lambda data: ()
        elif self.kind == "hyperscan":
            # the markers' keywords (no rule's) say a chunk holds one: the first hit is enough
            reaches = enumerate(self._keyword_reach)
            once = {i for i, reach in reaches if reach and all(g < 0 for g, _, _ in reach)}
            layered, self._scan_quiet = _hyperscan_scanner(self._keywords, rule_cache, once)
            self._scan_layered = layered
            self._scan_keywords = lambda data: layered(data)[0]
        else:
            self._scan_keywords = _find_scanner(self._keywords)

    @staticmethod
    def _choose_kind(kind: str) -> str:
        if kind == "auto":  # the environment sets a default; an explicit choice wins
            kind = os.environ.get("LEAKGUARD_ENGINE", "") or kind
        if kind not in ("auto", "hyperscan", "re"):
            raise UsageError(f"unknown engine {kind!r}", hint="use auto, hyperscan or re")
        if kind == "re":
            return "re"
        try:
            import hyperscan  # noqa: F401
        except ImportError as exc:
            if kind == "hyperscan":
                raise EngineError(
                    f"the hyperscan engine is not available: {exc}",
                    hint="install the 'hyperscan' package, or use LEAKGUARD_ENGINE=re",
                ) from None
            return "re"
        return "hyperscan"

    @property
    def decoders(self) -> DecoderScanners:
        """The scanners that find encoded layers, of this engine's kind (built when first
        needed: a scan without decoding never compiles them)."""
        if self._decoders is None:
            self._decoders = decoder_scanners(self.kind, self._rule_cache)
        return self._decoders

    # -- matching ------------------------------------------------------------------------

    def probe(self, data: bytes) -> bool | None:
        """Whether ``data`` names a source map (holds ``sourceMappingURL=``), answered by the
        keyword pass over it, which the next :meth:`scan` takes over when its chunk holds
        exactly these bytes (the same object) instead of passing over them again. A source
        that must know this before it makes its chunks (a git blob is one chunk, or a bundle
        and its map) then reads every byte once: over a history's 28,153 blobs, 0.04 s of CPU
        less. None when this engine has no such pass (no Hyperscan): the caller searches."""
        layered, keyword = self._scan_layered, self._source_map_keyword
        if layered is None or keyword is None:
            return None
        hits, markers = layered(data)
        self._probed = (data, hits, markers)
        return any(kw == keyword for kw, _ in hits)

    def quiet(self, decode_depth: int) -> Callable[[bytes | bytearray | memoryview], bool] | None:
        """``check(data)``: True when :meth:`scan` of a chunk of exactly ``data`` at depth 0
        (with this ``decode_depth``) has nothing to do: its keyword pass would see no keyword
        and no marker (``sourceMappingURL=``, ``__NEXT_DATA__``, an allow comment), nor a
        decoding marker when the chunk would be decoded. The check's own pass stops at the
        first. A source may count such bytes as read and make no chunk of them; ``data`` may
        be a view into a buffer it reuses (most blobs of a history: no chunk is made and
        nothing is copied). False may be cautious (a guarded keyword before its guard's second
        look). None when this engine has no such pass (no Hyperscan)."""
        scan_quiet = self._scan_quiet
        if scan_quiet is None:
            return None
        decoding = decode_depth > 0

        def check(data: bytes | bytearray | memoryview) -> bool:
            return scan_quiet(data, decoding)

        return check

    def scan(
        self, chunk: Chunk, decode_depth: int = 0, allow: AllowCheck | None = None
    ) -> list[Finding]:
        """Match ``chunk``; then, up to ``decode_depth`` layers deep, match what its encoded
        runs (base64, percent-encoding, JSON escapes) decode to. ``allow(rule_id, secret)``
        (a project's allowlist) drops a match while its value is still at hand."""
        return self._scan(chunk, decode_depth, allow, self._memo)

    def _scan(
        self, chunk: Chunk, decode_depth: int, allow: AllowCheck | None, memo: _Memo
    ) -> list[Finding]:
        """``memo``: the verdicts judged so far by this engine."""
        data = chunk.data
        decoding = chunk.depth < decode_depth
        present: set[int] | None = None  # the decoding markers, when the keyword pass saw them
        hits: Iterable[tuple[int, int]]
        if self._scan_layered is not None:
            probed, self._probed = self._probed, None
            if probed is not None and probed[0] is data:  # see probe
                hits, markers = probed[1], probed[2]
            else:
                hits, markers = self._scan_layered(data)
            if not hits and not (decoding and markers):
                return []  # most small files and blobs: nothing to match, nothing to decode
            present = markers if decoding else None
        else:
            hits = self._scan_keywords(data)
        windows = self._windows(hits)
        next_data = windows.pop(_NEXT_DATA, None) is not None
        public_names = windows.pop(_PUBLIC, None) is not None
        windows.pop(_SOURCE_MAP, None)
        accepted = self._accepted(data, chunk, memo, windows)
        if allow is not None and accepted:
            accepted = [a for a in accepted if not allow(a.rule.id, _secret_text(a))]
        findings: list[Finding] = []
        if accepted:
            exposure = None  # nothing in the chunk could make a match public
            if next_data or public_names:
                exposure = Exposure(data, next_data=next_data, public_names=public_names)
            findings = self._findings(chunk, accepted, exposure)
        # a plain chunk's own findings start at distinct offsets, so at distinct places: only
        # a decoded layer's may repeat one (a subclass places findings its own way)
        distinct = type(chunk) is Chunk and not chunk.position_fixed
        if decoding:
            own = len(findings)
            for decoded in decoded_chunks(chunk, self.decoders, present):
                findings.extend(self._scan(decoded, decode_depth, allow, memo))
            distinct = distinct and len(findings) == own
        return findings if distinct else _unique(findings)

    def _windows(self, hits: Iterable[tuple[int, int]]) -> dict[int, list[tuple[int, int]]]:
        """Per group, the window around each of the keyword pass's (keyword, end) ``hits``
        (unsorted; :meth:`_match_group` sorts and merges them). The pseudo-groups
        ``_MARKED``, ``_NEXT_DATA``, ``_PUBLIC`` and ``_SOURCE_MAP`` say a marker is there."""
        windows: dict[int, list[tuple[int, int]]] = {}
        reach = self._keyword_reach
        for kw_index, end in hits:
            for g, back, ahead in reach[kw_index]:
                spans = windows.get(g)
                if spans is None:
                    windows[g] = [(end - back, end + ahead)]
                else:
                    spans.append((end - back, end + ahead))
        return windows

    def _accepted(
        self, data: bytes, chunk: Chunk, memo: _Memo, windows: dict[int, list[tuple[int, int]]]
    ) -> list[_Accepted]:
        """The accepted matches of the groups in ``windows`` (see :meth:`_windows`), in
        offset order."""
        marked = windows.pop(_MARKED, None) is not None
        if not windows:
            return []
        candidates: list[_Accepted] = []
        lo, hi = chunk.owned()
        groups = self._groups
        for g, spans in windows.items():
            group = groups[g]
            if g in self._over_budget:
                continue
            if not any(rule.user_supplied for rule in group.rules):
                self._match_group(group, spans, data, (lo, hi), candidates, memo)
                continue
            try:
                with time_budget(self.rule_budget_seconds):
                    self._match_group(group, spans, data, (lo, hi), candidates, memo)
            except RuleTimeout:
                self._over_budget.add(g)
                for rule in group.rules:
                    self._notices.append(
                        f"rule {rule.id!r} ({rule.source}) took over "
                        f"{self.rule_budget_seconds:g}s on {chunk.location.path}; "
                        "skipped for the rest of the scan (a pattern that backtracks?)"
                    )
        return self._resolve_overlaps(candidates, data, marked)

    def _match_group(
        self,
        group: _Group,
        spans: list[tuple[int, int]],
        data: bytes,
        owned: tuple[int, int],
        candidates: list[_Accepted],
        memo: _Memo,
    ) -> None:
        lo, hi = owned
        # the group holding the secret: "secret", or 0 (the whole match); the pattern is
        # compiled here, on its first window
        secret_group = "secret" if "secret" in group.pattern.groupindex else 0
        checks = list(zip(group.rules, group.prefixes, strict=True))
        check = self._check
        seen: set[tuple[int, int]] = set()
        matches = _anchored_matches if group.anchored else _matches
        for m in matches(group, spans, data):
            s_start, s_end = m.span(secret_group)
            if s_start == -1:  # the secret group took no part: the whole match
                s_start, s_end = m.span()
            if s_start < lo or s_start >= hi or s_start == s_end or (s_start, s_end) in seen:
                continue
            seen.add((s_start, s_end))
            match_groups = m.groupdict()
            for rule, prefix in checks:
                accepted = check(rule, prefix, data, match_groups, s_start, s_end, memo)
                if accepted is not None:
                    candidates.append(accepted)

    def take_notices(self) -> list[str]:
        """Warnings for the scan's stats (a user rule over its time budget), once each."""
        notices, self._notices = self._notices, []
        return notices

    def _check(
        self,
        rule: Rule,
        first: bytes,
        data: bytes,
        groups: dict[str, bytes | None],
        start: int,
        end: int,
        memo: _Memo,
    ) -> _Accepted | None:
        """``first``: the rule's first keyword, lowercased."""
        secret = data[start:end]
        prefix = len(first) if secret[: len(first)].lower() == first else 0
        validator = rule.validator
        if validator is None:
            verdict = self._judge(rule, prefix, secret, None)
            return (
                None
                if verdict is None
                else _Accepted(rule, start, end, secret, _Judged(verdict), groups)
            )
        checked = rule.placeholder_filter and prefix == 0
        context_at = self._contexts_at.get(validator)
        candidate = None
        if context_at is not None:  # a candidate is built only to judge
            named = context_at(data, start, groups)
        else:
            candidate = Candidate(rule.id, secret, start, end, data, groups, checked)
            context = self._memo_contexts.get(validator)
            if context is None:
                verdict = self._judge(rule, prefix, secret, candidate)
                return (
                    None
                    if verdict is None
                    else _Accepted(rule, start, end, secret, _Judged(verdict), groups)
                )
            named = context(candidate, rule.validator_params)
        # the key is a digest: the memo keeps no value
        digest = blake2b(len(named).to_bytes(4, "big") + named + secret, digest_size=16)
        key = (rule.id, digest.digest())
        judged = memo.get(key, _UNJUDGED)
        if judged is _UNJUDGED:
            if candidate is None:
                candidate = Candidate(rule.id, secret, start, end, data, groups, checked)
            verdict = self._judge(rule, prefix, secret, candidate)
            judged = None if verdict is None else _Judged(verdict)
            if len(memo) >= MEMO_ENTRIES:
                memo.clear()
            memo[key] = judged
        return None if judged is None else _Accepted(rule, start, end, secret, judged, groups)

    def _judge(
        self, rule: Rule, prefix: int, secret: bytes, candidate: Candidate | None
    ) -> Verdict | None:
        """The verdict on ``secret`` (after a ``prefix`` that is the rule's keyword), or None
        when it is a placeholder, not random enough or rejected by the validator."""
        if rule.placeholder_filter and is_placeholder(secret, prefix):
            return None
        if rule.entropy is not None and shannon_entropy(secret[prefix:]) < rule.entropy:
            return None
        if candidate is None or rule.validator is None:
            return Verdict(accept=True, status=ValidationStatus.NOT_CHECKED)
        verdict = self._validate(rule, rule.validator, candidate)
        return verdict if verdict.accept else None

    def _validate(self, rule: Rule, name: str, candidate: Candidate) -> Verdict:
        """Run a validator; a crash becomes an :class:`EngineError` that names the rule and the
        offset but carries neither the secret nor the original exception (whose message or
        traceback locals could hold it)."""
        failure = ""
        try:
            return self._validators[name](candidate, rule.validator_params)
        except Exception as exc:  # re-raised below without the secret
            failure = type(exc).__name__
        raise EngineError(
            f"validator {name!r} of rule {rule.id!r} failed ({failure}) on a match at offset "
            f"{candidate.start}",
            hint="this is a bug in the validator; scan with LEAKGUARD_ENGINE=re to compare, "
            "or remove the rule with a --rules copy",
        )

    def _resolve_overlaps(
        self, found: list[_Accepted], data: bytes, marked: bool
    ) -> list[_Accepted]:
        """A secret inside a longer secret at the same place is the same credential; a secret
        on a line marked ``leakguard:allow`` is suppressed (``marked``: the keyword pass saw a
        marker in ``data``; without one no line is searched)."""
        rank = self._rank
        found.sort(key=lambda a: (a.start, a.start - a.end, rank[a.rule.id]))
        kept: list[_Accepted] = []
        last_end = -1
        for acc in found:
            if acc.end <= last_end:
                continue
            last_end = acc.end
            if marked and _line_has_marker(data, acc.start, acc.end):
                continue
            kept.append(acc)
        return kept

    def _findings(
        self, chunk: Chunk, accepted: Iterable[_Accepted], exposure: Exposure | None
    ) -> list[Finding]:
        """A finding per accepted match (in offset order). ``exposure``: None when the chunk
        holds nothing that could make a match public (no attribute to look for)."""
        findings: list[Finding] = []
        append = findings.append
        place = _Places(chunk)
        source_kind = str(chunk.source_kind)
        show_secrets = self.show_secrets
        for acc in accepted:
            judged, rule = acc.judged, acc.rule
            facts = judged.facts
            if facts is None:
                facts = judged.facts = _facts(rule, judged.verdict, acc.secret)
            attributes = facts.attributes
            if exposure is not None:
                attributes += exposure.attributes(acc.start, acc.end)
            secret = None
            if show_secrets:
                value = judged.verdict.secret
                secret = (acc.secret if value is None else value).decode("utf-8", "replace")
            append(
                Finding(
                    facts.rule_id,
                    facts.provider,
                    facts.title,
                    facts.severity,
                    facts.fingerprint,
                    facts.redacted,
                    source_kind,
                    place.of(acc.start),
                    facts.validation,
                    attributes,
                    rotation_for(rule, acc.groups) if facts.per_match else facts.rotation,
                    (),  # occurrences: a source that finds the value elsewhere adds them
                    secret,
                    facts.parts,
                )
            )
        return findings

    def scan_text(self, text: str, path: str = "<example>") -> list[Finding]:
        """Scan a string as one chunk (rule examples, tests)."""
        return self.scan(Chunk(text.encode("utf-8"), Location(path, 1, 1)))


def _facts(rule: Rule, verdict: Verdict, matched: bytes) -> _Facts:
    """What the findings of ``rule``'s accepted ``verdict`` on the ``matched`` secret share."""
    secret = verdict.secret if verdict.secret is not None else matched
    return _Facts(
        rule_id=verdict.rule_id or rule.id,
        provider=verdict.provider or rule.provider,
        title=verdict.title or rule.title,
        severity=verdict.severity if verdict.severity is not None else rule.severity,
        fingerprint=fingerprint(secret),
        redacted=verdict.redacted or redact(secret),
        validation=Validation(
            status=verdict.status, validator=rule.validator, detail=verdict.detail
        ),
        attributes=verdict.attributes,
        rotation=rule.rotation,
        per_match=bool(rule.rotation_cases),
        parts=_part_fingerprints(verdict),
    )


def _part_fingerprints(verdict: Verdict) -> tuple[tuple[str, str], ...]:
    """Each named part of a credential, fingerprinted (the values stay in this pass)."""
    if not verdict.parts:
        return ()
    return tuple(sorted((name, fingerprint(value)) for name, value in verdict.parts if value))


class RuleTimeout(Exception):
    """A user rule ran past its budget (raised from the SIGALRM handler inside ``re``)."""


def _on_alarm(signum: int, frame: object) -> NoReturn:
    raise RuleTimeout()


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Raise :class:`RuleTimeout` in the block after ``seconds``. ``re`` checks for signals
    while it backtracks, so this interrupts a runaway pattern. Only the main thread can take
    signals; elsewhere (a sweep's threads) the load-time pattern check is the guard."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _unique(findings: list[Finding]) -> list[Finding]:
    """One finding per secret per place (a decoded layer may show the same secret again)."""
    seen: set[tuple[object, ...]] = set()
    out = []
    for f in findings:
        if f.identity not in seen:
            seen.add(f.identity)
            out.append(f)
    return out


def _matches(group: _Group, spans: list[tuple[int, int]], data: bytes) -> Iterator[re.Match[bytes]]:
    """The group's matches in its merged windows."""
    finditer = group.pattern.finditer
    for w_start, w_stop in _merge(spans, len(data)):
        yield from finditer(data, w_start, w_stop)


def _anchored_matches(
    group: _Group, spans: list[tuple[int, int]], data: bytes
) -> list[re.Match[bytes]]:
    """An anchored group's matches: only at each window's start (its keyword's), tried once
    each (a window search costs a regex attempt per byte)."""
    match = group.pattern.match
    size = len(data)
    found = [
        match(data, start if start > 0 else 0, stop if stop < size else size)
        for start, stop in sorted(set(spans))
    ]
    return [m for m in found if m is not None]


def _merge(spans: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    """The union of ``spans``, clipped to ``[0, size)``, in order."""
    spans.sort()
    merged: list[tuple[int, int]] = []
    last_start, last_stop = spans[0]
    for start, stop in spans:
        if start <= last_stop:
            if stop > last_stop:
                last_stop = stop
        else:
            merged.append((max(0, last_start), min(size, last_stop)))
            last_start, last_stop = start, stop
    merged.append((max(0, last_start), min(size, last_stop)))
    return merged


def _secret_text(acc: _Accepted) -> str:
    secret = acc.verdict.secret if acc.verdict.secret is not None else acc.secret
    return secret.decode("utf-8", "replace")


# How far from a match, on its line, an inline marker counts: a marker is a comment beside the
# value, and a bound keeps a megabyte-long minified line from being searched once per match.
MARKER_REACH = 1024
# any of the inline markers, in one search
_ALLOW_MARKER = re.compile(b"|".join(re.escape(marker) for marker in ALLOW_MARKERS))
# what every marker starts with (the two detect-secrets markers share "pragma: allowlist"),
# found by the keyword pass: a chunk holding none of these needs no per-match line search
_STEMS = {marker.partition(b" secret")[0] for marker in (*ALLOW_MARKERS, NEXT_LINE_MARKER)}
_MARKER_STEMS = tuple(sorted(s for s in _STEMS if not any(o != s and o in s for o in _STEMS)))


def _line_has_marker(data: bytes, start: int, end: int) -> bool:
    low = max(0, start - MARKER_REACH)
    high = min(len(data), end + MARKER_REACH)
    newline = data.rfind(b"\n", low, start)
    line_start = newline + 1 if newline != -1 else low
    line_end = data.find(b"\n", end, high)
    if line_end == -1:
        line_end = high
    if _ALLOW_MARKER.search(data, line_start, line_end) is not None:
        return True
    if line_start == 0 or data[line_start - 1 : line_start] != b"\n":
        return False  # the line began before the reach: no line before it to look at
    reach = max(0, line_start - 1 - MARKER_REACH)
    previous = data.rfind(b"\n", reach, line_start - 1)
    previous = previous + 1 if previous != -1 else reach
    return data.find(NEXT_LINE_MARKER, previous, line_start) != -1


class _Places:
    """The location of each of a chunk's findings, asked in offset order: the newlines before
    an offset are counted from the previous one, and only where ``rfind`` (``memrchr``) says
    there is one (a minified line of megabytes holds none to count)."""

    def __init__(self, chunk: Chunk) -> None:
        self.chunk = chunk
        self.data = chunk.data
        base = chunk.location
        self.fixed = chunk.position_fixed
        # a subclass (a mapped bundle, a map's source) locates its findings itself; a plain
        # chunk's location is Chunk.location_at's, computed inline (a method call per finding
        # cost 3% of the file benchmark's CPU); test_matcher checks the two agree
        self.plain = type(chunk) is Chunk
        self.path, self.commit, self.extras = base.path, base.commit, base.extras
        self.first_line, self.first_column = base.line or 1, base.column or 1
        self.offset = 0
        self.newlines = 0
        self.line_start = 0  # the offset just after the last newline before ``offset``

    def of(self, offset: int) -> Location:
        if self.fixed:
            return self.chunk.location
        counted = self.offset
        if offset < counted:
            counted, self.newlines, self.line_start = 0, 0, 0
        data = self.data
        last = data.rfind(b"\n", counted, offset)
        if last != -1:
            self.newlines += data.count(b"\n", counted, last) + 1
            self.line_start = last + 1
        self.offset = offset
        newlines = self.newlines
        if not self.plain:
            return self.chunk.location_at(offset, newlines)
        column = offset - self.line_start + 1 if newlines else self.first_column + offset
        return Location(self.path, self.first_line + newlines, column, self.commit, self.extras)
