"""The pytest plugin, registered as an entry point: a real Switchvox server for the tests of
projects that call the API.

    def test_upload(switchvox_server):
        httpx.post(switchvox_server.xml_url, auth=switchvox_server.auth, ...)

One server runs per test session; every test starts from the seeded state. A seed file is
named in the ini file, relative to it: `switchvox_seed = tests/switchvox_seed.toml`;
`switchvox_tls = true` serves HTTPS with a throwaway certificate. A test changes run-time
settings for itself with a marker:

    @pytest.mark.switchvox_settings(max_extensions=10)
    def test_licence(switchvox_server): ...

pytest loads this module into every session once the package is installed, so it imports
nothing of the server until a test asks for the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from switchvox_server.testing import RunningServer

SEED_OPTION = "switchvox_seed"
TLS_OPTION = "switchvox_tls"
SETTINGS_MARKER = "switchvox_settings"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        SEED_OPTION,
        "seed file (TOML or JSON) applied by the switchvox_server fixture; relative to the "
        "ini file",
        type="string",
        default="",
    )
    parser.addini(
        TLS_OPTION,
        "serve HTTPS with a throwaway self-signed certificate (its path: server.certificate)",
        type="bool",
        default=False,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{SETTINGS_MARKER}(**settings): run-time settings of the switchvox_server fixture"
        " for this test (max_extensions, registered, unregistered_limit, …)",
    )


@pytest.fixture(scope="session")
def switchvox_server_session(pytestconfig: pytest.Config) -> Iterator[RunningServer]:
    """One server for the whole session, in the state its last user left it."""
    from switchvox_server.seed.declaration import SeedError
    from switchvox_server.testing import run_server

    try:
        tls = bool(pytestconfig.getini(TLS_OPTION))
        with run_server(seed=_seed_path(pytestconfig), tls=tls) as server:
            yield server
    except SeedError as error:
        pytest.fail(f"{SEED_OPTION}: {error}", pytrace=False)


@pytest.fixture
def switchvox_server(
    switchvox_server_session: RunningServer, request: pytest.FixtureRequest
) -> RunningServer:
    """The session's server, emptied back to its seeded state for this test, with the
    run-time settings of the test's `switchvox_settings` marker."""
    switchvox_server_session.reset()
    marker = request.node.get_closest_marker(SETTINGS_MARKER)
    if marker is not None:
        from switchvox_server.testing import ControlRequestError

        try:
            switchvox_server_session.change_settings(**marker.kwargs)
        except ControlRequestError as error:
            pytest.fail(f"{SETTINGS_MARKER}: {error}", pytrace=False)
    return switchvox_server_session


def _seed_path(config: pytest.Config) -> Path | None:
    value = str(config.getini(SEED_OPTION)).strip()
    if not value:
        return None
    base = config.inipath.parent if config.inipath is not None else config.rootpath
    return base / value
