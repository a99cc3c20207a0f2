"""`leakguard scan http://...` against a built page served on 127.0.0.1: page, scripts, source
maps, same-origin bounds, User-Agent. No external network."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakguard.errors import InputError
from leakguard.options import ScanOptions, WebOptions
from leakguard.scanner import run_scan
from tests.support.cli import leakguard_app
from tests.support.keys import stripe_key as key
from tests.support.sourcemaps import vlq

pytestmark = pytest.mark.integration


class _Server:
    def __init__(self, root: Path) -> None:
        self.agents: list[tuple[str, str]] = []
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                server.agents.append((self.path, self.headers.get("User-Agent", "")))
                super().do_GET()

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a scanner that stops reading at its byte limit resets the connection

        self.httpd = Server(("127.0.0.1", 0), partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def other_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Server]:
    root = tmp_path_factory.mktemp("cdn")
    (root / "lib.js").write_text(f"var cdnKey='{key(99)}';\n")
    with _Server(root) as server:
        yield server


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, other_site: _Server) -> Iterator[_Server]:
    root = tmp_path_factory.mktemp("site")
    static = root / "_next" / "static"
    static.mkdir(parents=True)
    original = f"import Stripe from 'stripe';\n\nexport const stripe = new Stripe('{key(1)}');\n"
    minified = "var a=1;" * 30_000 + f'var e={{NEXT_PUBLIC_STRIPE_KEY:"{key(2)}"}};'
    inlined_at = minified.index(key(2))  # 0-based generated column of the inlined value
    source_map = {
        "version": 3,
        "file": "main.js",
        "sources": ["webpack://shop/./src/lib/stripe.ts", "webpack://shop/./src/config.ts"],
        "sourcesContent": [original, None],
        # line 1: column 0 -> stripe.ts 1:1; the inlined value -> config.ts line 7, column 31
        "mappings": "AAAA," + vlq(inlined_at, 1, 6, 30),
    }
    (static / "main.js").write_text(minified + "\n//# sourceMappingURL=main.js.map\n")
    (static / "main.js.map").write_text(json.dumps(source_map))
    (static / "app.css").write_text(f"/* build {key(3)} */ body{{margin:0}}\n")
    page = (
        "<!doctype html><html><head>"
        '<link rel="stylesheet" href="/_next/static/app.css">'
        f'<script src="{other_site.url}/lib.js"></script>'
        "</head><body><div id=root></div>"
        '<script id="__NEXT_DATA__" type="application/json">'
        f'{{"props":{{"pageProps":{{"k":"{key(4)}"}}}}}}</script>'
        '<script src="/_next/static/main.js" defer></script>'
        '<script src="/_next/static/missing.js"></script>'
        "</body></html>"
    )
    (root / "index.html").write_text(page)
    with _Server(root) as server:
        yield server


def test_site_scan_finds_page_script_map_and_exposure(site: _Server, other_site: _Server) -> None:
    result = run_scan([site.url + "/"], ScanOptions(jobs=1, show_secrets=True))
    found = {f.secret: f for f in result.findings}
    assert set(found) == {key(1), key(2), key(3), key(4)}
    mapped = found[key(1)].location
    assert mapped.path == f"{site.url}/_next/static/main.js.map"
    assert (mapped.get("original_path"), mapped.get("original_line")) == ("src/lib/stripe.ts", 3)
    inlined = found[key(2)]
    assert inlined.location.path == f"{site.url}/_next/static/main.js"
    assert (inlined.location.line, inlined.location.column) == (
        1,
        240_000 + len('var e={NEXT_PUBLIC_STRIPE_KEY:"') + 1,
    )
    assert inlined.attribute("exposed_by") == "NEXT_PUBLIC_"
    # mapped back through the map's mappings to where it was written
    assert inlined.location.get("original_path") == "src/config.ts"
    assert (inlined.location.get("original_line"), inlined.location.get("original_column")) == (
        7,
        31,
    )
    assert result.stats.counters["findings_mapped_to_original"] == 1
    assert found[key(4)].attribute("exposed_by") == "__NEXT_DATA__"
    assert all(f.source_kind == "web" for f in result.findings)
    assert all(agent.startswith("LeakGuard/") for _, agent in site.agents)
    assert other_site.agents == []  # another origin is not fetched by default
    skipped = {s.path: s.reason for s in result.stats.skipped}
    assert skipped[f"{site.url}/_next/static/missing.js"] == "HTTP 404"
    assert "other origin" in skipped[f"{other_site.url}/lib.js"]


def test_other_origins_when_allowed_and_request_limit(site: _Server, other_site: _Server) -> None:
    wide = ScanOptions(jobs=1, show_secrets=True, web=WebOptions(same_origin=False))
    secrets = {f.secret for f in run_scan([site.url + "/"], wide).findings}
    assert key(99) in secrets
    tight = ScanOptions(jobs=1, show_secrets=True, web=WebOptions(max_requests=2))
    result = run_scan([site.url + "/"], tight)
    assert (
        len(result.stats.files) if isinstance(result.stats.files, list) else result.stats.files == 2
    )
    assert any("request limit" in s.reason for s in result.stats.skipped)


def test_download_and_time_limits(site: _Server) -> None:
    small = ScanOptions(jobs=1, show_secrets=True, web=WebOptions(max_bytes=4096))
    result = run_scan([site.url + "/"], small)
    found = {f.secret for f in result.findings}
    assert key(4) in found and key(2) not in found  # the page, not the 240 KB bundle
    assert any("download limit" in s.reason for s in result.stats.skipped)
    instant = ScanOptions(jobs=1, web=WebOptions(timeout_seconds=0))
    with pytest.raises(InputError, match="time limit"):
        run_scan([site.url + "/"], instant)


def test_unreachable_site_is_an_input_error(tmp_path: Path) -> None:
    with _Server(tmp_path) as server:
        url = server.url
    with pytest.raises(InputError):
        run_scan([url + "/"], ScanOptions(jobs=1, web=WebOptions(timeout_seconds=5)))


def test_a_site_url_with_credentials_is_refused_without_echoing_them() -> None:
    url = "https://admin:hunter2-not-shown@127.0.0.1:9/app"
    result = CliRunner().invoke(leakguard_app(), ["scan", url])
    assert result.exit_code == 2, result.output
    assert "https://127.0.0.1:9/app: a site URL cannot carry a user name or password" in (
        result.output
    )
    assert "hunter2" not in result.output and "Traceback" not in result.output


def test_cli_scan_of_a_url(site: _Server) -> None:
    result = CliRunner().invoke(leakguard_app(), ["scan", site.url + "/", "-f", "json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    paths = {f["location"]["path"] for f in report["findings"]}
    assert f"{site.url}/_next/static/main.js.map" in paths
    assert key(1) not in result.output  # redacted unless --show-secrets


def test_query_values_in_site_urls_never_reach_the_report(tmp_path: Path) -> None:
    """A signed asset URL or a tokenised page URL holds a credential in its query."""
    (tmp_path / "app.js").write_text(f"var k='{key(5)}';\n")
    (tmp_path / "index.html").write_text(
        '<html><script src="/app.js?X-Amz-Signature=SiGnAtUrE0123&v=2"></script></html>'
    )
    with _Server(tmp_path) as server:
        result = CliRunner().invoke(
            leakguard_app(), ["scan", f"{server.url}/?token=PaGeToKeN42", "-f", "json", "-v"]
        )
    assert result.exit_code == 1, result.output
    assert "SiGnAtUrE0123" not in result.output and "PaGeToKeN42" not in result.output
    paths = {f["location"]["path"] for f in json.loads(result.stdout)["findings"]}
    assert paths == {f"{server.url}/app.js?X-Amz-Signature=…&v=…"}
