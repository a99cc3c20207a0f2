"""A build directory through the real scan pipeline (process pool included): bundles with their
maps, a Kubernetes Secret, nested archives. Each secret is reported once, at the right place."""

from __future__ import annotations

import base64
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from leakguard.options import ScanOptions
from leakguard.scanner import run_scan
from tests.support.keys import stripe_key as key
from tests.support.sourcemaps import vlq

pytestmark = pytest.mark.integration


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("build")
    assets = root / "dist" / "assets"
    assets.mkdir(parents=True)
    original = f"export const key = '{key(1)}';\n"
    bundle = "const a=1;" * 20_000 + f'const c={{VITE_PAY_KEY:"{key(6)}"}};'
    source_map = {
        "version": 3,
        "sources": ["../../src/pay.ts", "../../src/config.ts"],
        "sourcesContent": [original, None],
        # the literal holding key(6) was written at config.ts line 3, column 15
        "mappings": "AAAA," + vlq(bundle.index(key(6)) - 1, 1, 2, 14),
    }
    (assets / "index-3f2a.js").write_text(bundle + "\n//# sourceMappingURL=index-3f2a.js.map\n")
    (assets / "index-3f2a.js.map").write_text(json.dumps(source_map))
    (root / ".env.production").write_text(f"VITE_STRIPE_KEY={key(2)}\n")
    k8s = root / "deploy"
    k8s.mkdir()
    (k8s / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: pay\ndata:\n"
        f"  STRIPE_KEY: {base64.b64encode(key(3).encode()).decode()}\n"
    )
    jar = _zip({"application.properties": f"stripe.key={key(4)}\n".encode()})
    (root / "app.war").write_bytes(_zip({"WEB-INF/lib/pay.jar": jar}))
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w:gz") as archive:
        data = f"KEY={key(5)}\n".encode()
        info = tarfile.TarInfo("release/config.env")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    (root / "release.tgz").write_bytes(tar_buffer.getvalue())
    return root


@pytest.mark.parametrize("jobs", [1, 2])
def test_build_directory(build: Path, jobs: int) -> None:
    result = run_scan([str(build)], ScanOptions(jobs=jobs, show_secrets=True))
    by_secret: dict[str, list[tuple[object, ...]]] = {}
    for f in result.findings:
        loc = f.location
        where = (loc.path, loc.line, loc.get("original_path"), loc.get("encoding"))
        by_secret.setdefault(f.secret or "", []).append((*where, f.attribute("exposed_by")))
    assert by_secret == {
        key(1): [("dist/assets/index-3f2a.js.map", 1, "../../src/pay.ts", None, None)],
        key(2): [(".env.production", 1, None, None, "VITE_")],
        key(3): [("deploy/secret.yaml", 6, None, "base64", None)],
        key(4): [("app.war!WEB-INF/lib/pay.jar!application.properties", 1, None, None, None)],
        key(5): [("release.tgz!release/config.env", 1, None, None, None)],
        key(6): [("dist/assets/index-3f2a.js", 1, "../../src/config.ts", None, "VITE_")],
    }
    [inlined] = [f for f in result.findings if f.secret == key(6)]
    assert inlined.location.column == 200_000 + len('const c={VITE_PAY_KEY:"') + 1
    assert (inlined.location.get("original_line"), inlined.location.get("original_column")) == (
        3,
        15,
    )
    assert result.stats.warnings == []
