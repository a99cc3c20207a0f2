"""Deployed web sites: the page, the scripts and stylesheets it references, and their source maps.

``leakguard scan https://app.example.com`` fetches the page, every ``<script src>`` and
``<link href>`` of a script or stylesheet it names (same origin unless
``WebOptions.same_origin`` is off), and the source map each of those names (a
``sourceMappingURL`` comment or a ``SourceMap`` header). Every request carries a User-Agent
naming LeakGuard; the number of requests, the bytes read and the wall time are bounded by
:class:`~leakguard.options.WebOptions`. Every request goes through :mod:`leakguard.http`:
per-request deadlines and body cap, and each URL and redirect checked before any connection
(same origin as the target unless ``--allow-origin`` widens it; the target's ``https``
upgrade is the same site; never link-local or metadata addresses; private and loopback ones
only when the target is one). Findings are located by URL.
"""

from __future__ import annotations

import io
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser

from leakguard import http
from leakguard.errors import InputError
from leakguard.model import Chunk, Finding, Location, ScanStats, SourceKind
from leakguard.options import ScanOptions, WebOptions
from leakguard.sources import sourcemap
from leakguard.sources.interface import Source
from leakguard.sources.readers import SNIFF_BYTES, stream_chunks_for

_LINK_RELS = frozenset({"stylesheet", "modulepreload", "preload", "prefetch"})


def site_source(url: str, options: ScanOptions) -> Source:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InputError(
            f"{shown_url(url)}: not an http(s) URL", hint="write it as https://host/path"
        )
    if "@" in parsed.netloc:  # never echoed: the password would reach the terminal and reports
        shown = urllib.parse.urlunsplit(parsed._replace(netloc=parsed.netloc.rpartition("@")[2]))
        raise InputError(
            f"{shown}: a site URL cannot carry a user name or password",
            hint="scan the page without credentials (sites are fetched anonymously)",
        )
    return SiteSource(url, shown_url(url))


class _Budget:
    def __init__(self, web: WebOptions, client: http.HttpClient) -> None:
        self.web = web
        self.client = client
        self.requests = 0
        self.bytes = 0
        self.deadline = time.monotonic() + web.timeout_seconds

    def remaining_seconds(self) -> float:
        return self.deadline - time.monotonic()


class _AssetLinks(HTMLParser):
    """``<script src>`` and ``<link rel=stylesheet|modulepreload|preload href>`` in a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): v for k, v in attrs if v is not None}
        if tag == "script" and values.get("src"):
            self.urls.append(values["src"])
        elif tag == "link" and values.get("href"):
            rels = set(values.get("rel", "").lower().split())
            kind = values.get("as", "").lower()
            if (
                "stylesheet" in rels
                or "modulepreload" in rels
                or (rels & _LINK_RELS and kind in ("script", "style"))
            ):
                self.urls.append(values["href"])


@dataclass
class SiteSource:
    """A deployed site. After matching, :meth:`enrich` maps findings in a bundle back through its
    source map's ``mappings`` to the original file, line and column."""

    url: str
    label: str
    parallel_safe = False
    #: bundle URL -> its decoded mappings, filled while fetching
    maps: dict[str, sourcemap.Mappings] = field(default_factory=dict, repr=False, compare=False)

    def split(self, options: ScanOptions) -> Sequence[Source]:
        return [self]

    def iter_chunks(self, options: ScanOptions, stats: ScanStats) -> Iterator[Chunk]:
        web = options.web
        origins = _site_origins(self.url, web)

        def allow(url: str) -> str | None:
            if web.same_origin and http.origin(url) not in origins:
                return "another origin (same-origin scanning; widen with --allow-origin)"
            return None

        client = http.HttpClient(
            web.user_agent,
            http.HttpLimits(
                connect_seconds=web.connect_timeout_seconds,
                idle_seconds=web.read_timeout_seconds,
                total_seconds=web.request_timeout_seconds,
                max_body_bytes=web.max_response_bytes,
            ),
            http.target_policy(self.url),
            allow,
        )
        budget = _Budget(web, client)
        fetched = _fetch(self.url, budget)
        if isinstance(fetched, str):
            raise InputError(
                f"{shown_url(self.url)}: cannot fetch the page ({fetched})",
                hint="check the URL and that the site is reachable",
            )
        page_url, body, headers = fetched
        origin = _origin(page_url)
        seen = {self.url, page_url}
        yield from self._resource(page_url, body, headers, options, stats, budget, origin, seen)
        parser = _AssetLinks()
        try:
            parser.feed(body.decode("utf-8", "replace"))
        except Exception as exc:  # html.parser is lenient; be safe on odd markup
            stats.warn(f"{shown_url(page_url)}: page only partly parsed ({type(exc).__name__})")
        for ref in parser.urls:
            asset = urllib.parse.urljoin(page_url, ref)
            if asset in seen or not self._allowed(asset, origin, options.web, stats):
                continue
            seen.add(asset)
            got = _fetch(asset, budget)
            if isinstance(got, str):
                stats.skip(shown_url(asset), got)
                continue
            yield from self._resource(asset, *got[1:], options, stats, budget, origin, seen)

    def _allowed(self, url: str, origin: str, web: WebOptions, stats: ScanStats) -> bool:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            return False
        allowed = _site_origins(self.url, web) | {origin}
        if web.same_origin and _origin(url) not in allowed:
            stats.skip(shown_url(url), "other origin (same-origin scanning)")
            return False
        return True

    def _resource(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str],
        options: ScanOptions,
        stats: ScanStats,
        budget: _Budget,
        origin: str,
        seen: set[str],
    ) -> Iterator[Chunk]:
        stats.files += 1
        stats.bytes += len(body)
        head = body[:SNIFF_BYTES]
        stream = io.BytesIO(body[len(head) :])
        shown = shown_url(url)
        yield from stream_chunks_for(
            stream, head, shown, options, stats, source_kind=SourceKind.WEB
        )
        map_ref = headers.get("sourcemap") or headers.get("x-sourcemap")
        if map_ref is None:
            found = sourcemap.source_mapping_url(body[-(1024 * 1024) :])
            if found is None:
                return
            inline = sourcemap.decode_data_url(found[0])
            if inline is not None:  # its sources were scanned with the script
                self._remember(shown, inline)
                return
            map_ref = found[0]
        map_url = urllib.parse.urljoin(url, map_ref)
        if map_url in seen or not self._allowed(map_url, origin, options.web, stats):
            return
        seen.add(map_url)
        got = _fetch(map_url, budget)
        if isinstance(got, str):
            stats.skip(shown_url(map_url), got)
            return
        stats.files += 1
        stats.bytes += len(got[1])
        stats.count("followed_source_maps")
        self._remember(shown, got[1])
        yield from sourcemap.map_chunks(
            got[1], shown_url(map_url), stats, source_kind=SourceKind.WEB
        )

    def _remember(self, bundle_url: str, map_data: bytes) -> None:
        mappings = sourcemap.Mappings.from_map(map_data)
        if mappings is not None and mappings.lines:
            self.maps[bundle_url] = mappings

    def enrich(self, findings: Sequence[Finding], stats: ScanStats) -> list[Finding]:
        """Add ``original_path``/``original_line``/``original_column`` to findings in bundles."""
        out = []
        for finding in findings:
            loc = finding.location
            mappings = self.maps.get(loc.path)
            original = None
            if mappings is not None and loc.get("original_path") is None:
                original = mappings.original(loc.line, loc.column)
            if original is None:
                out.append(finding)
                continue
            path, line, column = original
            extras = (
                *loc.extras,
                ("original_path", path),
                ("original_line", line),
                ("original_column", column),
            )
            located = Location(loc.path, loc.line, loc.column, loc.commit, extras)
            out.append(replace(finding, location=located))
            stats.count("findings_mapped_to_original")
        return out


def shown_url(url: str) -> str:
    """A URL as reports show it (see :func:`leakguard.http.shown_url`)."""
    return http.shown_url(url)


def _origin(url: str) -> str:
    return http.origin(url)


def _site_origins(target: str, web: WebOptions) -> frozenset[str]:
    """The target's origin, its https upgrade (``http://host`` redirecting to ``https://host``
    is the same site), and ``--allow-origin`` values."""
    own = http.origin(target)
    origins = {own}
    if own.startswith("http://") and own.count(":") == 1:  # default port only
        origins.add("https://" + own.removeprefix("http://"))
    return frozenset(origins) | web.allow_origins


def _fetch(url: str, budget: _Budget) -> tuple[str, bytes, dict[str, str]] | str:
    """(final URL, body, lower-cased headers), or why it could not be fetched."""
    web = budget.web
    if budget.requests >= web.max_requests:
        return f"request limit reached ({web.max_requests})"
    remaining = budget.remaining_seconds()
    if remaining <= 0:
        return f"time limit reached ({web.timeout_seconds:g}s)"
    left = web.max_bytes - budget.bytes
    if left <= 0:
        return f"download limit reached ({web.max_bytes} bytes)"
    budget.requests += 1
    try:
        response = budget.client.get(url, deadline=budget.deadline, max_bytes=left)
    except http.FetchError as exc:
        if exc.too_large and left < web.max_response_bytes:  # the site's budget ran out
            budget.bytes = web.max_bytes
            return f"download limit reached ({web.max_bytes} bytes)"
        return exc.reason
    budget.bytes += len(response.body)
    return response.url, response.body, response.headers
