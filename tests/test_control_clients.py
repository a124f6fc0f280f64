"""The control API as its users reach it: the shell example suite, run_server's helpers and
TLS, the fixture's settings marker, and the `state` command."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx2
import pytest
from lxml import etree

from switchvox_server.cli import main
from switchvox_server.faults import ConfigurationError
from switchvox_server.settings import Settings
from switchvox_server.testing import ControlRequestError, run_server
from tests.helpers import BULK_UPLOAD, fault, request_xml

CONSUMER = Path(__file__).parent / "consumer"
SHELL_SUITE = CONSUMER / "control_suite.sh"
DOCS = Path(__file__).parent.parent / "docs" / "testing.md"


def test_the_shell_example_suite_passes() -> None:
    """The POSIX shell suite of docs/testing.md resets, seeds, injects 86162, checks its
    client's handling and reads the journal, against a live server."""
    if shutil.which("curl") is None or shutil.which("sh") is None:
        pytest.skip("the shell example suite needs sh and curl")
    with run_server() as server:
        environment = os.environ | {
            "SWITCHVOX_URL": server.url,
            "SWITCHVOX_TOKEN": server.control_token,
            "SWITCHVOX_USER": server.admin_user,
            "SWITCHVOX_PASSWORD": server.admin_password,
        }
        result = subprocess.run(
            ["sh", str(SHELL_SUITE)],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ok - ") == 7
    assert "not ok" not in result.stdout


def test_the_docs_show_the_shell_suite_as_it_is() -> None:
    """docs/testing.md carries the example suite that the test above runs, verbatim."""
    assert SHELL_SUITE.read_text() in DOCS.read_text()


def test_run_server_helpers_drive_the_control_api() -> None:
    """The helpers of the running server inject faults, read the journal, change settings,
    dump and restore state, and reset."""
    with run_server(seed={"templates": [{"name": "Staff"}]}) as server:
        start = server.state()
        fault_id = server.inject_fault("switchvox.extensions.getInfo", 10013, times=2)
        assert [item["id"] for item in server.faults()] == [fault_id]
        answer = httpx2.post(
            server.xml_url,
            content=request_xml(
                "switchvox.extensions.getInfo", extensions="<extension>101</extension>"
            ),
            auth=server.auth,
        )
        assert fault(etree.fromstring(answer.content))[0] == 10013
        assert [entry["fault_code"] for entry in server.journal()] == [10013]
        server.remove_fault(fault_id)
        server.inject_fault("switchvox.extensions.getInfo", drop=True)
        server.clear_faults()
        assert server.faults() == []
        assert server.change_settings(max_extensions=3)["max_extensions"] == 3
        assert server.settings()["max_extensions"] == 3
        with pytest.raises(ControlRequestError, match="settings:"):
            server.change_settings(colour="red")
        server.apply_seed({"templates": [{"name": "Sales"}]})
        grown = server.state()
        assert len(grown["templates"]) == len(start["templates"]) + 1
        server.reset()
        assert server.state() == start
        assert server.settings()["max_extensions"] is None
        assert server.journal() == []
        server.restore_state(grown)
        assert server.state() == grown
        server.clear_journal()


def test_run_server_with_tls_exposes_its_certificate() -> None:
    """`tls=True` serves HTTPS that verifies against the certificate the server exposes."""
    with run_server(tls=True) as server:
        assert server.url.startswith("https://127.0.0.1:")
        assert server.certificate is not None
        assert server.certificate.is_file()
        context = ssl.create_default_context(cafile=server.certificate)
        response = httpx2.get(f"{server.url}/healthz", verify=context)
        assert response.status_code == 200
        with pytest.raises(httpx2.ConnectError):
            httpx2.get(f"{server.url}/healthz")
        server.inject_fault(BULK_UPLOAD, 86162)
        assert len(server.faults()) == 1


def test_a_missing_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """run_server with a DATABASE_URL whose driver cannot be imported stops with one line
    naming the extra to install."""
    monkeypatch.setitem(sys.modules, "psycopg", None)  # makes `import psycopg` fail
    with (
        pytest.raises(ConfigurationError, match=r"pip install 'switchvox-server\[postgres\]'"),
        run_server(database_url="postgresql+psycopg://u@127.0.0.1/d"),
    ):
        pass


@pytest.mark.slow
def test_the_fixture_applies_the_settings_marker(tmp_path: Path) -> None:
    """`@pytest.mark.switchvox_settings` sets run-time settings for one test only, and
    `switchvox_tls` serves the session's server over HTTPS."""
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\naddopts = --strict-markers\nswitchvox_tls = true\nfilterwarnings = error\n"
    )
    (tmp_path / "test_marker.py").write_text(
        textwrap.dedent(
            """
            import pytest

            @pytest.mark.switchvox_settings(max_extensions=7, registered=False)
            def test_marked(switchvox_server):
                assert switchvox_server.url.startswith("https://")
                assert switchvox_server.settings()["max_extensions"] == 7
                assert switchvox_server.settings()["registered"] is False

            def test_unmarked(switchvox_server):
                assert switchvox_server.settings()["max_extensions"] is None
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_state_dump_restore_and_reset_from_the_command_line(
    cli_environment: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`state dump` writes the document `state restore` puts back exactly; `state reset`
    empties the store; a bad file is a one-line error."""
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"admins": [{"name": "ci", "password": "ci-pw", "access": "full"}]}))
    assert main(["seed", str(seed)]) == 0
    backup = tmp_path / "backup.json"
    assert main(["state", "dump", "-o", str(backup)]) == 0
    assert main(["state", "reset"]) == 0
    capsys.readouterr()
    assert main(["state", "dump"]) == 0
    assert "ci" not in [admin["name"] for admin in json.loads(capsys.readouterr().out)["admins"]]
    assert main(["state", "restore", str(backup)]) == 0
    assert main(["state", "dump"]) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 1)[1]) == json.loads(backup.read_text())
    for content in ("not json", json.dumps({"format": "x"})):
        bad = tmp_path / "bad.json"
        bad.write_text(content)
        assert main(["state", "restore", str(bad)]) == 1
        error = capsys.readouterr().err
        assert error.startswith("switchvox-server: ")
        assert error.count("\n") == 1
    assert main(["state", "restore", str(tmp_path / "missing.json")]) == 1


def test_settings_defaults_for_the_control_api() -> None:
    """The control API is off and the journal keeps 10,000 entries unless told otherwise."""
    settings = Settings.from_environ({})
    assert settings.control_token is None
    assert settings.journal_max_entries == 10_000
    configured = Settings.from_environ(
        {"SWITCHVOX_CONTROL_TOKEN": "t", "SWITCHVOX_JOURNAL_MAX_ENTRIES": "5"}
    )
    assert (configured.control_token, configured.journal_max_entries) == ("t", 5)
    assert "control_token" not in repr(configured)
    with pytest.raises(ConfigurationError, match="SWITCHVOX_JOURNAL_MAX_ENTRIES"):
        Settings.from_environ({"SWITCHVOX_JOURNAL_MAX_ENTRIES": "0"})
