"""`run_server` and the pytest plugin: a real server on loopback for other projects' tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from lxml import etree
from sqlalchemy import make_url

from switchvox_server.seed.declaration import SeedError
from switchvox_server.settings import Settings
from switchvox_server.store.accounts import add_admin, list_admins
from switchvox_server.store.database import open_database
from switchvox_server.store.models import AccessLevel
from switchvox_server.testing import RunningServer, run_server
from tests.conftest import FIXTURES
from tests.helpers import request_xml, section

CONSUMER = Path(__file__).parent / "consumer"
CSV = (
    "ext,fname,lname,email,password,phone_password\n"
    "201,,,,,\n"
    "501,New,Person,new@example.com,new-web-1,new-sip-501\n"
)


def post_upload(
    server: RunningServer,
    csv: str = CSV,
    *,
    report_only: int = 0,
    auth: tuple[str, str] | None = None,
) -> httpx2.Response:
    """A multipart bulk upload (sip, skip duplicates, template 1) with Basic credentials."""
    envelope = request_xml(
        extension_type="sip",
        dupe_process=1,
        template_account_id=1,
        report_only=report_only,
    )
    return httpx2.post(
        server.xml_url,
        data={"request": envelope.decode()},
        files={"csv_file": ("extensions.csv", csv.encode(), "text/csv")},
        auth=auth or (server.admin_user, server.admin_password),
        timeout=30,
        trust_env=False,
    )


def report(response: httpx2.Response) -> etree._Element:
    """The parsed answer, which must have status 200."""
    assert response.status_code == 200, response.text
    return etree.fromstring(response.content)


def test_run_server_answers_an_authenticated_upload(database_url: str) -> None:
    """The server answers a Basic-authenticated upload and refuses a wrong password."""
    with run_server(database_url, seed=FIXTURES / "seed.toml") as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert (server.xml_url, server.json_url) == (f"{server.url}/xml", f"{server.url}/json")
        assert server.admin_user == "admin"
        assert server.database_url == database_url
        assert server.auth == ("admin", server.admin_password)
        assert server.template_id("Sales") > 1
        assert server.admin_password not in repr(server)
        created = report(post_upload(server))
        assert section(created, "skipped") == ["201"]
        assert section(created, "created") == ["501"]
        refused = post_upload(server, auth=("admin", server.admin_password + "x"))
        assert refused.status_code == 401


def test_reset_restores_the_seeded_state(database_url: str) -> None:
    """reset() removes the extensions and admins a test added and keeps the seeded ones."""
    with run_server(database_url, seed=FIXTURES / "seed.json") as server:
        report(post_upload(server))
        database = open_database(server.database_url)
        try:
            with database.sessions.begin() as session:
                add_admin(session, "extra", "extra-password", AccessLevel.FULL)
            server.reset()
            with database.sessions() as session:
                admins = [name for name, _ in list_admins(session)]
        finally:
            database.dispose()
        assert admins == ["admin", "ci", "ops"]
        again = report(post_upload(server, report_only=1))
        assert section(again, "skipped") == ["201"]
        assert section(again, "created") == ["501"]
        assert post_upload(server, report_only=1).status_code == 200


def test_seed_may_be_a_mapping() -> None:
    """A mapping shaped like a seed file seeds the server like the file would."""
    seed = {"templates": [{"name": "Lab", "title": "Lab"}]}
    with run_server(seed=seed) as server:
        assert server.template_id("Lab") == 2
        with pytest.raises(LookupError, match="no template named 'Nope'"):
            server.template_id("Nope")


def test_bad_seed_fails_before_starting(tmp_path: Path) -> None:
    """A seed with a mistake raises SeedError and starts nothing."""
    with pytest.raises(SeedError, match="unknown key 'titel'"), run_server(seed={"titel": 1}):
        pytest.fail("the server must not start")
    rows = {"extensions": [{"ext": "201", "fname": "No", "lname": "Mail"}]}
    with pytest.raises(SeedError, match="extension 201: Email address"), run_server(seed=rows):
        pytest.fail("the server must not start")


@pytest.mark.slow
def test_two_servers_at_once(database_url: str) -> None:
    """Two servers run side by side with their own port, password and store."""
    with (
        run_server(database_url) as first,
        run_server(seed=FIXTURES / "seed.toml") as second,
    ):
        assert first.url != second.url
        assert first.admin_password != second.admin_password
        unseeded = report(post_upload(first))
        assert section(unseeded, "create_failed") == ["201"]
        assert section(unseeded, "created") == ["501"]
        seeded = report(post_upload(second, report_only=1))
        assert (section(seeded, "skipped"), section(seeded, "created")) == (["201"], ["501"])
        # Each server knows only its own admin password.
        assert post_upload(first, auth=second.auth).status_code == 401


def test_a_kept_alive_connection_is_answered_without_waiting_for_acks() -> None:
    """Fifty requests on one kept-alive connection take well under the 2 s that Nagle's
    algorithm (40 ms an answer, waiting for the client's delayed ACK) would make them."""
    with run_server() as server, httpx2.Client(base_url=server.url) as client:
        client.get("/healthz")
        started = time.monotonic()
        for _ in range(50):
            assert client.get("/healthz").status_code == 200
        assert time.monotonic() - started < 1.0


def test_exit_stops_the_server_and_removes_its_files() -> None:
    """Leaving the block closes the port and deletes the throwaway database directory."""
    with run_server() as server:
        database_file = Path(make_url(server.database_url).database or "")
        assert database_file.is_file()
        port = int(server.url.rsplit(":", 1)[1])
    assert not database_file.parent.exists()
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))


@pytest.mark.slow
def test_consumer_suite_runs_with_the_installed_plugin() -> None:
    """Another project's suite, using only the plugin's fixture, passes its 2 tests."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD"}
    }
    environment["PYTHONDONTWRITEBYTECODE"] = "1"  # leave no __pycache__ in the source tree
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-c",
            str(CONSUMER / "pytest.ini"),
            "--rootdir",
            str(CONSUMER),
            "-q",
            str(CONSUMER),
        ],
        cwd=CONSUMER,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "2 passed" in output, output


def test_settings_reach_the_server() -> None:
    """Settings given to run_server apply: here a licence of one extension (fault 86162)."""
    with run_server(settings=Settings(max_extensions=1)) as server:
        two = CSV.replace("201,,,,,\n", "502,Two,Person,two@example.com,two-web-1,two-sip-502\n")
        errors = report(post_upload(server, two)).findall("errors/error")
        assert [error.get("code") for error in errors] == ["86162"]
