"""The pytest plugin, registered as an entry point: a real Switchvox server for the tests of
projects that call the API.

    def test_upload(switchvox_server):
        httpx.post(switchvox_server.xml_url, auth=switchvox_server.auth, ...)

One server runs per test session; every test starts from the seeded state. A seed file is
named in the ini file, relative to it: `switchvox_seed = tests/switchvox_seed.toml`.

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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        SEED_OPTION,
        "seed file (TOML or JSON) applied by the switchvox_server fixture; relative to the "
        "ini file",
        type="string",
        default="",
    )


@pytest.fixture(scope="session")
def switchvox_server_session(pytestconfig: pytest.Config) -> Iterator[RunningServer]:
    """One server for the whole session, in the state its last user left it."""
    from switchvox_server.seed import SeedError
    from switchvox_server.testing import run_server

    try:
        with run_server(seed=_seed_path(pytestconfig)) as server:
            yield server
    except SeedError as error:
        pytest.fail(f"{SEED_OPTION}: {error}", pytrace=False)


@pytest.fixture
def switchvox_server(switchvox_server_session: RunningServer) -> RunningServer:
    """The session's server, emptied back to its seeded state for this test."""
    switchvox_server_session.reset()
    return switchvox_server_session


def _seed_path(config: pytest.Config) -> Path | None:
    value = str(config.getini(SEED_OPTION)).strip()
    if not value:
        return None
    base = config.inipath.parent if config.inipath is not None else config.rootpath
    return base / value
