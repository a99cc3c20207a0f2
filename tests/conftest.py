from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakguard.backends.aws_sandbox import BOOTSTRAP_CALLS
from tests.support.servers import Moto, OpenBao, moto_server, openbao_server
from tests.support.silent import SilentServer

_INTEGRATION = Path(__file__).parent / "integration"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration is an integration test, by its folder: a test there
    never depends on remembering the marker, and `-m "not integration"` deselects it all.
    ``tryfirst``: the marks must exist before pytest's own ``-m`` deselection reads them."""
    for item in items:
        if _INTEGRATION in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session", autouse=True)
def private_xdg_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The suite's own cache and state directories (this process's and every command it
    starts): a scan's defaults, ``$XDG_CACHE_HOME/leakguard`` (compiled rules) and
    ``$XDG_STATE_HOME/leakguard`` (incremental state, the default store), never the home of
    whoever runs the tests. A test that needs others sets them itself."""
    saved = {name: os.environ.get(name) for name in ("XDG_CACHE_HOME", "XDG_STATE_HOME")}
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("xdg-state"))
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def openbao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBao]:
    """One OpenBao dev server (with a file audit device) shared by a test session.
    Tests use their own unique KV paths."""
    with openbao_server(tmp_path_factory.mktemp("openbao"), audit=True) as server:
        yield server


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    """One moto server shared by a test session; tests use unique resource names."""
    with moto_server(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture()
def fresh_moto(tmp_path: Path) -> Iterator[Moto]:
    """A private moto server for tests that need a clean account."""
    with moto_server(tmp_path / "moto") as server:
        yield server


@pytest.fixture()
def auth_moto(tmp_path: Path) -> Iterator[Moto]:
    """A private moto that enforces authentication once the sandbox administrator exists
    (:func:`leakguard.backends.aws_sandbox.bootstrap`), so STS rejects unknown and deleted keys."""
    with moto_server(tmp_path / "moto", no_auth_actions=BOOTSTRAP_CALLS) as server:
        yield server


@pytest.fixture()
def silent() -> Iterator[SilentServer]:
    """A server on 127.0.0.1 that accepts connections and never answers."""
    server = SilentServer(None)
    yield server
    server.close()
