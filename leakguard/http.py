"""The one HTTP client: every fetch of scanned content (site pages, scripts, source maps) and
every outgoing notification goes through :class:`HttpClient`.

What it guarantees, whatever the server does:

* **Deadlines.** Connecting is bounded by ``connect_seconds``; each wait for more bytes by
  ``idle_seconds``; the whole request (redirects included) by ``total_seconds``, enforced by a
  watchdog that shuts the socket down, so a server trickling one byte a second cannot hold a
  request open past its deadline.
* **A body cap.** A ``Content-Length`` over the cap is refused before reading; a body that grows
  past it is cut off.
* **Where it may go.** Every URL, the first and each redirect, is checked before any connection
  attempt: http(s) only, no ``user:password@``, and an origin the caller allows. The host is
  resolved once, every address is checked (so a hostname that resolves to a forbidden address
  is refused, whatever its name) and the connection goes to a checked address, never to a
  second resolution. Link-local and cloud metadata addresses are always refused; private and
  loopback addresses only when the policy allows them (a site scan allows them when the target
  itself is one).
* **Nothing echoed.** Errors are :class:`FetchError` with a reason for a person; URLs in them
  pass through :func:`shown_url` (no credentials, query values elided).

Only the standard library is used (``http.client``, ``socket``, ``ssl``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # ssl and http.client are imported when a request is made, not at start-up
    import http.client
    import ssl

MiB = 1024 * 1024

DEFAULT_CONNECT_SECONDS = 10.0
DEFAULT_IDLE_SECONDS = 15.0
DEFAULT_TOTAL_SECONDS = 30.0
DEFAULT_MAX_BODY_BYTES = 50 * MiB
MAX_REDIRECTS = 5
_READ_BLOCK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: instance metadata and credential endpoints of cloud providers (AWS, GCP, Azure, OpenStack,
#: AWS ECS tasks, AWS over IPv6, Alibaba): never fetched, whatever the policy
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
#: carrier-grade NAT (RFC 6598): not "private" to ``ipaddress`` but never a public host
_SHARED = ipaddress.ip_network("100.64.0.0/10")

# (host, port) -> [(family, sockaddr)]; a hook so tests can stand in for DNS
Resolver = Callable[[str, int], list[tuple[int, tuple[object, ...]]]]
# (family, sockaddr, timeout) -> a connected socket; a hook so tests can see every attempt
Connector = Callable[[int, tuple[object, ...], float], socket.socket]


class FetchError(Exception):
    """A fetch failed; ``reason`` is for a person and never holds a credential or query value."""

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        refused: bool = False,
        too_large: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status  # the HTTP status when the server answered with an error
        self.refused = refused  # the policy refused the URL or address: retrying cannot help
        self.too_large = too_large  # the body was over the cap


@dataclass(frozen=True, slots=True)
class HttpLimits:
    connect_seconds: float = DEFAULT_CONNECT_SECONDS
    idle_seconds: float = DEFAULT_IDLE_SECONDS
    total_seconds: float = DEFAULT_TOTAL_SECONDS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_redirects: int = MAX_REDIRECTS


def address_class(ip: IPAddress) -> str:
    """``metadata``, ``link-local``, ``unusable`` (multicast, unspecified, reserved),
    ``private`` (RFC 1918, loopback, unique-local, shared) or ``public``."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        return "metadata"
    if ip.is_link_local:
        return "link-local"
    if ip.is_loopback:
        return "private"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return "unusable"
    if ip.is_private or (ip.version == 4 and ip in _SHARED):
        return "private"
    return "public"


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which resolved addresses a client may connect to."""

    allow_private: bool = False

    def refusal(self, ip: IPAddress) -> str | None:
        kind = address_class(ip)
        if kind == "public" or (kind == "private" and self.allow_private):
            return None
        if kind == "private":
            return "a private or loopback address (the target is not one)"
        if kind == "metadata":
            return "a cloud metadata address"
        return f"a {kind} address"


@dataclass(frozen=True, slots=True)
class Response:
    url: str  # after redirects
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes


def _system_resolver(host: str, port: int) -> list[tuple[int, tuple[object, ...]]]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [(family, tuple(sockaddr)) for family, _type, _proto, _name, sockaddr in infos]


def _system_connector(family: int, sockaddr: tuple[object, ...], timeout: float) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


@dataclass
class HttpClient:
    """Fetches with deadlines, a body cap, a redirect policy and an address policy.

    ``allow_url`` decides whether a URL (the first, and each redirect) may be fetched at all; it
    returns a reason for refusing, or None. It runs before any name resolution or connection."""

    user_agent: str
    limits: HttpLimits = field(default_factory=HttpLimits)
    addresses: AddressPolicy = field(default_factory=AddressPolicy)
    allow_url: Callable[[str], str | None] = lambda url: None
    follow_redirects: bool = True
    raise_for_status: bool = True  # False: a 4xx/5xx answer comes back as a Response
    resolver: Resolver = _system_resolver
    connector: Connector = _system_connector
    #: certificate verification for https (None: the system's trust store, hostname checked)
    tls: ssl.SSLContext | None = None

    def get(
        self, url: str, *, deadline: float | None = None, max_bytes: int | None = None
    ) -> Response:
        """GET ``url`` following allowed redirects. ``deadline`` (a ``time.monotonic()`` value)
        and ``max_bytes`` tighten the client's own limits (a caller's overall budget)."""
        return self.request("GET", url, deadline=deadline, max_bytes=max_bytes)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Response:
        return self.request("POST", url, body=body, headers=headers)

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        deadline: float | None = None,
        max_bytes: int | None = None,
    ) -> Response:
        limits = self.limits
        own = time.monotonic() + limits.total_seconds
        deadline = own if deadline is None else min(deadline, own)
        cap = limits.max_body_bytes if max_bytes is None else min(max_bytes, limits.max_body_bytes)
        for _hop in range(limits.max_redirects + 1):
            response = self._once(method, url, body, headers or {}, deadline, cap)
            location = response.headers.get("location")
            if response.status not in _REDIRECTS or location is None:
                if response.status >= 400 and self.raise_for_status:
                    raise FetchError(f"HTTP {response.status}", status=response.status)
                return response
            if not self.follow_redirects or method != "GET":
                raise FetchError(
                    f"HTTP {response.status} (redirects are not followed)", status=response.status
                )
            target = urllib.parse.urljoin(url, location.strip())
            reason = check_url(target) or self.allow_url(target)
            if reason is not None:
                raise FetchError(f"redirect to {shown_url(target)} refused: {reason}", refused=True)
            url = target
        raise FetchError(f"more than {limits.max_redirects} redirects")

    def _once(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: dict[str, str],
        deadline: float,
        cap: int,
    ) -> Response:
        import http.client

        reason = check_url(url) or self.allow_url(url)
        if reason is not None:
            raise FetchError(f"refused: {reason}", refused=True)  # the caller knows the URL
        parts = urllib.parse.urlsplit(url)
        https = parts.scheme == "https"
        host = parts.hostname or ""
        try:
            port = parts.port or (443 if https else 80)
        except ValueError:
            raise FetchError("invalid port in the URL") from None
        sock = self._connect(host, port, deadline)
        watchdog = _Watchdog(sock, deadline - time.monotonic())
        stream: socket.socket = sock
        try:
            sock.settimeout(self.limits.idle_seconds)
            conn: http.client.HTTPConnection
            if https:
                import ssl

                tls = self.tls or ssl.create_default_context()
                stream = tls.wrap_socket(sock, server_hostname=host)
                watchdog.sock = stream  # the TLS socket now owns the connection
                conn = http.client.HTTPSConnection(
                    host, port, timeout=self.limits.idle_seconds, context=tls
                )
            else:
                conn = http.client.HTTPConnection(host, port, timeout=self.limits.idle_seconds)
            conn.sock = stream  # connected to a checked address: http.client never resolves
            path = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
            conn.putrequest(method, path, skip_accept_encoding=True)
            conn.putheader("User-Agent", self.user_agent)
            conn.putheader("Accept-Encoding", "identity")
            conn.putheader("Connection", "close")
            for name, value in headers.items():
                conn.putheader(name, value)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            got = {k.lower(): v for k, v in response.getheaders()}
            data = b""
            if response.status not in _REDIRECTS and (
                response.status < 400 or not self.raise_for_status
            ):
                data = _read_body(response, got, cap)
            if watchdog.fired:  # the cut connection may have looked like a short, whole answer
                raise FetchError(f"time limit reached ({self.limits.total_seconds:g}s)")
            return Response(url, response.status, got, data)
        except FetchError:
            raise
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if watchdog.fired:
                raise FetchError(f"time limit reached ({self.limits.total_seconds:g}s)") from None
            if isinstance(exc, TimeoutError | socket.timeout):
                raise FetchError(
                    f"no data for {self.limits.idle_seconds:g}s (read timeout)"
                ) from None
            raise FetchError(f"unreachable: {type(exc).__name__}") from None
        finally:
            watchdog.cancel()
            stream.close()
            sock.close()

    def _connect(self, host: str, port: int, deadline: float) -> socket.socket:
        try:
            resolved = self.resolver(host, port)
        except (OSError, UnicodeError) as exc:
            reason = f"cannot resolve the host ({type(exc).__name__})"
            raise FetchError(f"unreachable: {reason}") from None
        allowed, refused = [], ""
        for family, sockaddr in resolved:
            ip = _ip_of(sockaddr)
            why = "not an IP address" if ip is None else self.addresses.refusal(ip)
            if why is None:
                allowed.append((family, sockaddr))
            else:
                refused = why
        if not allowed:
            raise FetchError(f"refused: the host resolves to {refused or 'nothing'}", refused=True)
        last: BaseException | None = None
        for family, sockaddr in allowed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                return self.connector(family, sockaddr, min(self.limits.connect_seconds, remaining))
            except OSError as exc:
                last = exc
        if last is None:
            raise FetchError(f"time limit reached ({self.limits.total_seconds:g}s)")
        if isinstance(last, TimeoutError | socket.timeout):
            raise FetchError(f"unreachable: no connection in {self.limits.connect_seconds:g}s")
        raise FetchError(f"unreachable: {getattr(last, 'strerror', None) or type(last).__name__}")


def _ip_of(sockaddr: tuple[object, ...]) -> IPAddress | None:
    try:
        return ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
    except ValueError:
        return None


def _read_body(response: http.client.HTTPResponse, headers: dict[str, str], cap: int) -> bytes:
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise FetchError(f"download limit reached ({cap} bytes)", too_large=True)
    parts: list[bytes] = []
    size = 0
    while True:
        block = response.read(min(_READ_BLOCK, cap + 1 - size))
        if not block:
            return b"".join(parts)
        parts.append(block)
        size += len(block)
        if size > cap:
            raise FetchError(f"download limit reached ({cap} bytes)", too_large=True)


class _Watchdog:
    """Shuts ``sock`` down at the request's deadline: a blocked read then returns at once."""

    def __init__(self, sock: socket.socket, seconds: float) -> None:
        self.fired = False
        self.sock = sock
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


def webhook_client(
    user_agent: str, timeout_seconds: float, *, raise_for_status: bool = True
) -> HttpClient:
    """A client for a webhook the operator configured (sweep summaries, playbook notices):
    deadlines, no redirects, never a metadata or link-local address (a receiver on a private
    network is fine)."""
    limits = HttpLimits(
        connect_seconds=min(timeout_seconds, DEFAULT_CONNECT_SECONDS),
        idle_seconds=timeout_seconds,
        total_seconds=timeout_seconds,
        max_body_bytes=1024 * 1024,
    )
    return HttpClient(
        user_agent,
        limits,
        AddressPolicy(allow_private=True),
        follow_redirects=False,
        raise_for_status=raise_for_status,
    )


def check_url(url: str) -> str | None:
    """Why ``url`` may not be fetched at all (scheme, credentials, host), or None."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "only http and https are fetched"
    if "@" in parts.netloc:
        return "the URL carries a user name or password"
    if not parts.hostname:
        return "no host"
    return None


def origin(url: str) -> str:
    """``scheme://host[:port]``, lower-cased, the default port left out."""
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    suffix = f":{port}" if port is not None and port != default else ""
    return f"{parts.scheme.lower()}://{host}{suffix}"


def target_policy(url: str, resolver: Resolver = _system_resolver) -> AddressPolicy:
    """Private and loopback addresses are allowed when the target itself resolves to one."""
    parts = urllib.parse.urlsplit(url)
    try:
        resolved = resolver(parts.hostname or "", parts.port or 80)
    except (OSError, UnicodeError, ValueError):
        return AddressPolicy()
    ips = [ip for _family, sockaddr in resolved if (ip := _ip_of(sockaddr)) is not None]
    return AddressPolicy(allow_private=any(address_class(ip) == "private" for ip in ips))


def shown_url(url: str) -> str:
    """A URL as reports and errors show it: no user name or password, query values elided (a
    signed or tokenised URL holds a credential there), the fragment dropped."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "…"
    if "@" in parts.netloc:
        parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
    if not parts.query:
        return urllib.parse.urlunsplit(parts._replace(fragment=""))
    keys = [k for k, _ in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)]
    query = "&".join(f"{k}=…" for k in keys) or "…"
    return urllib.parse.urlunsplit(parts._replace(query=query, fragment=""))


def parse_origins(values: Iterable[str]) -> frozenset[str]:
    """``--allow-origin`` values as origins; ValueError names a value that is not one."""
    out = set()
    for value in values:
        if check_url(value) is not None or urllib.parse.urlsplit(value).path not in ("", "/"):
            raise ValueError(value)
        out.add(origin(value))
    return frozenset(out)
