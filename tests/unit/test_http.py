"""The one HTTP client against real servers on 127.0.0.1: deadlines, body cap, redirect and
address policy, and URLs that never echo credentials."""

from __future__ import annotations

import ipaddress
import socket
import time
from pathlib import Path

import pytest

from leakguard import http
from tests.support.hostile_http import Routes, raw_server, response, silent, trickle

LOOPBACK = http.AddressPolicy(allow_private=True)


class _Recording:
    """A connector that records every address it is asked to connect to."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def __call__(self, family: int, sockaddr: tuple[object, ...], timeout: float) -> socket.socket:
        self.attempts.append(str(sockaddr[0]))
        return http._system_connector(family, sockaddr, timeout)


def _client(**kwargs: object) -> http.HttpClient:
    limits = kwargs.pop("limits", http.HttpLimits(idle_seconds=10, total_seconds=20))
    return http.HttpClient("LeakGuard-test", limits, LOOPBACK, **kwargs)  # type: ignore[arg-type]


def test_a_body_trickled_one_byte_a_second_ends_at_the_total_deadline() -> None:
    payload = response(b"x" * 10_000)
    limits = http.HttpLimits(idle_seconds=10, total_seconds=2)
    with raw_server(trickle(payload, every=0.5)) as url:
        started = time.monotonic()
        with pytest.raises(http.FetchError, match=r"time limit reached \(2s\)"):
            _client(limits=limits).get(url + "/")
    assert time.monotonic() - started < 30  # infinite without the watchdog (hours at 1 B/s)


def test_headers_trickled_one_byte_a_second_end_at_the_total_deadline() -> None:
    payload = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 10_000 + b"\r\n\r\n"
    limits = http.HttpLimits(idle_seconds=10, total_seconds=2)
    with raw_server(trickle(payload, every=1.0)) as url:
        started = time.monotonic()
        with pytest.raises(http.FetchError, match="time limit reached"):
            _client(limits=limits).get(url + "/")
    assert time.monotonic() - started < 30


def test_a_server_that_accepts_and_never_answers_ends_at_the_read_timeout() -> None:
    limits = http.HttpLimits(idle_seconds=1, total_seconds=60)
    with raw_server(silent) as url:
        started = time.monotonic()
        with pytest.raises(http.FetchError, match=r"no data for 1s"):
            _client(limits=limits).get(url + "/")
    assert time.monotonic() - started < 30


def test_body_cap_refuses_a_declared_length_and_cuts_a_growing_body() -> None:
    big = response(b"y" * 5000)
    capped = _client(limits=http.HttpLimits(max_body_bytes=1000))
    with (
        raw_server(trickle(big, every=0)) as url,
        pytest.raises(http.FetchError, match=r"download limit reached \(1000 bytes\)"),
    ):
        capped.get(url + "/")
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1388\r\n" + b"z" * 5000
    with raw_server(trickle(chunked + b"\r\n0\r\n\r\n", every=0)) as url:
        with pytest.raises(http.FetchError, match="download limit reached"):
            _client(limits=http.HttpLimits(max_body_bytes=1000)).get(url + "/")
        assert _client().get(url + "/").body == b"z" * 5000


def test_redirect_to_another_origin_is_refused_before_it_is_fetched() -> None:
    with Routes() as other, Routes() as site:
        other.page("/", "elsewhere")
        site.redirect("/", other.url + "/?sig=S3CR3T")
        own = http.origin(site.url)
        client = _client(allow_url=lambda u: None if http.origin(u) == own else "other origin")
        with pytest.raises(http.FetchError) as caught:
            client.get(site.url + "/")
    assert caught.value.reason == f"redirect to {other.url}/?sig=… refused: other origin"
    assert other.requested == []


def test_redirect_to_the_metadata_address_is_refused_before_any_connection() -> None:
    connector = _Recording()
    with Routes() as site:
        site.redirect("/", "http://169.254.169.254/latest/meta-data/iam/security-credentials/")
        client = _client(connector=connector)  # every origin allowed: the address policy holds
        with pytest.raises(http.FetchError, match="a cloud metadata address"):
            client.get(site.url + "/")
    assert connector.attempts == ["127.0.0.1"]  # the site only, never 169.254.169.254


def test_a_hostname_resolving_to_a_forbidden_address_is_refused_by_its_address() -> None:
    """DNS tricks: the check is on the resolved address, and the connection goes to it."""
    connector = _Recording()

    def resolver(host: str, port: int) -> list[tuple[int, tuple[object, ...]]]:
        table = {"innocent.test": "169.254.169.254", "v6.test": "fd00:ec2::254"}
        ip = table.get(host, "127.0.0.1")
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        return [(family, (ip, port))]

    client = _client(connector=connector, resolver=resolver)
    for host in ("innocent.test", "v6.test"):
        with pytest.raises(http.FetchError, match="metadata address"):
            client.get(f"http://{host}/")
    assert connector.attempts == []


def test_private_and_loopback_addresses_only_when_the_policy_allows_them() -> None:
    connector = _Recording()
    with Routes() as site:
        site.page("/", "ok")
        public_only = http.HttpClient("t", addresses=http.AddressPolicy(), connector=connector)
        with pytest.raises(http.FetchError, match="private or loopback"):
            public_only.get(site.url + "/")
        assert connector.attempts == []
        assert _client().get(site.url + "/").body == b"ok"
    assert http.target_policy(site.url) == LOOPBACK
    assert http.target_policy("http://8.8.8.8/") == http.AddressPolicy()


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("169.254.169.254", "metadata"),
        ("::ffff:169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("127.0.0.1", "private"),
        ("::1", "private"),
        ("100.64.0.1", "private"),
        ("0.0.0.0", "unusable"),
        ("224.0.0.1", "unusable"),
        ("8.8.8.8", "public"),
    ],
)
def test_address_classes(address: str, kind: str) -> None:
    assert http.address_class(ipaddress.ip_address(address)) == kind


def test_urls_with_credentials_are_refused_and_never_echoed() -> None:
    with Routes() as site:
        site.redirect("/", "http://admin:hunter2@127.0.0.1:9/x?token=abc")
        with pytest.raises(http.FetchError) as caught:
            _client().get(site.url + "/")
    assert "hunter2" not in caught.value.reason and "abc" not in caught.value.reason
    assert "user name or password" in caught.value.reason
    assert http.check_url("ftp://example.com/") == "only http and https are fetched"
    assert http.shown_url("https://u:p@h.example/a?k=v&t=1#f") == "https://h.example/a?k=…&t=…"


def test_redirects_are_followed_within_the_origin_and_counted() -> None:
    with Routes() as site:
        site.redirect("/", "/next")
        site.page("/next", "arrived")
        for i in range(7):
            site.redirect(f"/loop{i}", f"/loop{i + 1}")
        got = _client().get(site.url + "/")
        assert (got.url, got.body) == (site.url + "/next", b"arrived")
        with pytest.raises(http.FetchError, match="more than 5 redirects"):
            _client().get(site.url + "/loop0")


def test_allowed_origins_parse() -> None:
    assert http.parse_origins(["https://CDN.example.com:443/", "http://h:8080"]) == {
        "https://cdn.example.com",
        "http://h:8080",
    }
    with pytest.raises(ValueError):
        http.parse_origins(["https://cdn.example.com/path"])


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key (PEM files)."""
    import datetime

    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_https_verifies_the_certificate_and_reads_through_tls(tmp_path: Path) -> None:
    import ssl

    cert, key = _self_signed(tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    with Routes() as site:
        site.httpd.socket = server_tls.wrap_socket(site.httpd.socket, server_side=True)
        site.page("/", "over tls")
        url = site.url.replace("http://", "https://") + "/"
        trusting = ssl.create_default_context(cafile=str(cert))
        got = _client(tls=trusting).get(url)
        assert (got.status, got.body) == (200, b"over tls")
        with pytest.raises(http.FetchError, match="unreachable: SSLCertVerificationError"):
            _client().get(url)  # the system's trust store does not know this certificate
