"""The `switchvox-server` command, run in-process against the test database."""

from __future__ import annotations

import io
import ssl
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import inspect
from starlette.testclient import TestClient

from switchvox_server.cli import main
from switchvox_server.store.database import open_database
from switchvox_server.tls import write_self_signed
from tests.conftest import ADMIN_PASSWORD, FIXTURES
from tests.helpers import canonical, fault, upload

EXAMPLE_CSV = (FIXTURES / "example.csv").read_bytes()
PERMISSION_DENIED = (27168, "Your account is not permitted to run this action.")


# Each command sees the test database and the test admin password, nothing else.
pytestmark = pytest.mark.usefixtures("cli_environment")


@pytest.fixture
def stdin(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Replace standard input with the given text."""

    def feed(text: str) -> None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))

    return feed


@pytest.fixture
def prompts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Answers for getpass, consumed in order; the list is empty once all were asked."""
    answers: list[str] = []

    def fake_getpass(prompt: str = "Password: ", stream: object = None) -> str:
        if not answers:
            raise EOFError
        return answers.pop(0)

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    return answers


def add_admin(stdin: Callable[[str], None], name: str, password: str, access: str = "full") -> int:
    """Run `admin add` with the password on stdin; its exit status."""
    stdin(password + "\n")
    return main(["admin", "add", name, "--access", access, "--password-stdin"])


# --- migrate ---------------------------------------------------------------------------


def test_migrate_brings_the_schema_up_to_date(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`migrate` succeeds on an empty database and again on a migrated one."""
    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    assert main(["migrate"]) == 0
    database = open_database(empty_database_url)
    try:
        assert inspect(database.engine).has_table("extensions")
    finally:
        database.dispose()
    assert main(["migrate"]) == 0
    out, err = capsys.readouterr()
    assert out == "The database schema is up to date.\n" * 2
    assert err == ""


def test_first_migrate_shows_a_generated_admin_password_once(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    make_client: Callable[..., TestClient],
) -> None:
    """Without SWITCHVOX_ADMIN_PASSWORD the first run prints the new admin's password, which
    then signs in; later runs print nothing."""
    monkeypatch.delenv("SWITCHVOX_ADMIN_PASSWORD")
    assert main(["migrate"]) == 0
    err = capsys.readouterr().err
    prefix = "Created the admin account 'admin' with the password: "
    assert err.startswith(prefix)
    password = err.removeprefix(prefix).strip()
    assert main(["migrate"]) == 0
    assert capsys.readouterr().err == ""

    client = make_client()
    client.auth = ("admin", password)
    assert client.post("/xml", content=b"").status_code == 200


def test_bad_setting_exits_with_status_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unusable SWITCHVOX_* value is reported by name before anything runs."""
    monkeypatch.setenv("SWITCHVOX_DIGEST", "maybe")
    assert main(["admin", "list"]) == 2
    assert capsys.readouterr().err == (
        "switchvox-server: SWITCHVOX_DIGEST must be true or false, not 'maybe'\n"
    )


# --- admin -----------------------------------------------------------------------------


def test_admin_list_shows_the_first_admin(capsys: pytest.CaptureFixture[str]) -> None:
    """On a fresh database `admin list` shows the `admin` account with full access."""
    assert main(["admin", "list"]) == 0
    assert capsys.readouterr().out == "admin\tfull\n"


def test_admin_add_reads_the_password_from_stdin(
    stdin: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    """`--password-stdin` takes one line; the new admin is listed with its access, by name."""
    assert add_admin(stdin, "ops", "s3cret pass", "read_only") == 0
    assert add_admin(stdin, "billing", "another one", "full") == 0
    capsys.readouterr()
    assert main(["admin", "list"]) == 0
    assert capsys.readouterr().out == "admin\tfull\nbilling\tfull\nops\tread_only\n"


def test_admin_add_prompts_twice(
    prompts: list[str],
    capsys: pytest.CaptureFixture[str],
    make_client: Callable[..., TestClient],
) -> None:
    """Without `--password-stdin` the password is asked twice, and that password signs in."""
    prompts.extend(["typed secret", "typed secret"])
    assert main(["admin", "add", "ops", "--access", "full"]) == 0
    assert prompts == []
    assert capsys.readouterr().out == "Added the admin 'ops' with full access.\n"
    client = make_client()
    client.auth = ("ops", "typed secret")
    assert client.post("/xml", content=b"").status_code == 200


def test_admin_add_refuses_mismatched_prompts(
    prompts: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Two different answers to the prompts add nobody and say why."""
    prompts.extend(["one secret", "another secret"])
    assert main(["admin", "add", "ops", "--access", "full"]) == 1
    assert capsys.readouterr().err == "switchvox-server: the passwords do not match\n"
    assert main(["admin", "list"]) == 0
    assert "ops" not in capsys.readouterr().out


def test_admin_add_without_a_terminal_or_stdin_flag_fails_cleanly(
    prompts: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """When the prompt gets end-of-file the command says how to pass a password instead."""
    assert main(["admin", "add", "ops", "--access", "full"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("switchvox-server: no password given")
    assert "--password-stdin" in err


def test_admin_add_refuses_an_empty_password(
    stdin: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty line on standard input is no password."""
    assert add_admin(stdin, "ops", "") == 1
    assert capsys.readouterr().err == "switchvox-server: the password must not be empty\n"


def test_admin_add_refuses_an_existing_name(
    stdin: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    """Adding a name twice exits 1 with a plain message and keeps the first account."""
    assert add_admin(stdin, "ops", "first password", "read_only") == 0
    capsys.readouterr()
    assert add_admin(stdin, "ops", "second password", "full") == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "switchvox-server: an admin named 'ops' already exists\n"
    assert main(["admin", "list"]) == 0
    assert "ops\tread_only\n" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "must not be empty"),
        ("x" * 65, "at most 64 characters"),
        (" ops", "start or end with spaces"),
        ("op\ts", "control characters"),
        ("ops:1", "colon"),
        ("1234", "all digits"),
    ],
)
def test_admin_add_refuses_unusable_names(
    name: str, reason: str, stdin: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    """Names no client could sign in with, or that an extension would shadow, are refused."""
    assert add_admin(stdin, name, "a password") == 1
    err = capsys.readouterr().err
    assert err.startswith("switchvox-server: an admin name ")
    assert reason in err


def test_admin_add_needs_an_access_level(capsys: pytest.CaptureFixture[str]) -> None:
    """`--access` is required and limited to full and read_only (a usage error, status 2)."""
    with pytest.raises(SystemExit) as missing:
        main(["admin", "add", "ops"])
    assert missing.value.code == 2
    with pytest.raises(SystemExit) as wrong:
        main(["admin", "add", "ops", "--access", "root"])
    assert wrong.value.code == 2
    assert "invalid choice: 'root'" in capsys.readouterr().err


def test_admin_remove_deletes_the_account(
    stdin: Callable[[str], None],
    capsys: pytest.CaptureFixture[str],
    make_client: Callable[..., TestClient],
) -> None:
    """A removed admin is gone from the list and no longer signs in."""
    assert add_admin(stdin, "ops", "ops password") == 0
    assert main(["admin", "remove", "ops"]) == 0
    assert main(["admin", "list"]) == 0
    out = capsys.readouterr().out
    assert out.endswith("Removed the admin 'ops'.\nadmin\tfull\n")
    client = make_client()
    client.auth = ("ops", "ops password")
    assert client.post("/xml", content=b"").status_code == 401


def test_admin_passwd_replaces_the_password(
    stdin: Callable[[str], None],
    capsys: pytest.CaptureFixture[str],
    make_client: Callable[..., TestClient],
) -> None:
    """After `admin passwd` the new password signs in, with Basic and Digest, and the old
    one no longer does."""
    assert add_admin(stdin, "ops", "old password") == 0
    stdin("new password\n")
    assert main(["admin", "passwd", "ops", "--password-stdin"]) == 0
    assert capsys.readouterr().out.endswith("Set a new password for the admin 'ops'.\n")
    client = make_client()
    client.auth = ("ops", "old password")
    assert client.post("/xml", content=b"").status_code == 401
    client.auth = ("ops", "new password")
    assert client.post("/xml", content=b"").status_code == 200
    with client.app.state.database.sessions() as session:  # type: ignore[attr-defined]
        from switchvox_server.passwords import digest_ha1
        from switchvox_server.store.accounts import admin_credentials

        stored = admin_credentials(session, "ops")
    assert stored is not None
    assert stored.digest_ha1 == digest_ha1("ops", "new password")


def test_admin_passwd_of_an_unknown_name_fails(capsys: pytest.CaptureFixture[str]) -> None:
    """Changing the password of a name nobody has exits 1 before asking for a password."""
    assert main(["admin", "passwd", "nobody", "--password-stdin"]) == 1
    assert capsys.readouterr().err == "switchvox-server: no admin named 'nobody'\n"


def test_admin_remove_of_an_unknown_name_fails(capsys: pytest.CaptureFixture[str]) -> None:
    """Removing a name nobody has exits 1 with a message."""
    assert main(["admin", "remove", "nobody"]) == 1
    assert capsys.readouterr().err == "switchvox-server: no admin named 'nobody'\n"


def test_admin_remove_keeps_the_last_full_admin(
    stdin: Callable[[str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    """The last account with full access cannot be removed, so uploads stay possible."""
    assert add_admin(stdin, "auditor", "auditor password", "read_only") == 0
    assert main(["admin", "remove", "admin"]) == 1
    assert capsys.readouterr().err == (
        "switchvox-server: 'admin' is the last admin with full access; add another one first\n"
    )
    assert add_admin(stdin, "ops", "ops password", "full") == 0
    assert main(["admin", "remove", "admin"]) == 0


def test_new_full_admin_uploads_the_documented_example(
    stdin: Callable[[str], None], make_client: Callable[..., TestClient]
) -> None:
    """A full admin added on the command line posts the example and gets the documented
    report."""
    assert add_admin(stdin, "ops", "ops password", "full") == 0
    client = make_client()
    client.auth = ("ops", "ops password")
    expected = (FIXTURES / "example_report.xml").read_bytes()
    assert canonical(upload(client, EXAMPLE_CSV)) == canonical(expected)


def test_new_read_only_admin_may_not_upload(
    stdin: Callable[[str], None], make_client: Callable[..., TestClient]
) -> None:
    """A read_only admin signs in, but a bulk upload answers fault 27168 and writes nothing."""
    assert add_admin(stdin, "auditor", "auditor password", "read_only") == 0
    client = make_client()
    client.auth = ("auditor", "auditor password")
    assert fault(upload(client, EXAMPLE_CSV)) == PERMISSION_DENIED
    client.auth = ("admin", ADMIN_PASSWORD)
    created = upload(client, EXAMPLE_CSV).findall(".//created/extension")
    assert [node.get("extension") for node in created] == ["302", "303", "305"]


# --- serve -----------------------------------------------------------------------------


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """Stand in for uvicorn.run: record its keyword arguments and check the TLS files."""
    calls: list[dict[str, object]] = []

    def fake_run(app: object, **options: object) -> None:
        certfile, keyfile = options["ssl_certfile"], options["ssl_keyfile"]
        if certfile is not None:
            # The files must exist and match while the server runs.
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(certfile), None if keyfile is None else str(keyfile))
        calls.append(options)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return calls


def test_serve_without_tls_serves_plain_http(
    uvicorn_calls: list[dict[str, object]],
) -> None:
    """Plain `serve` passes host and port and no certificate to uvicorn, with the server's
    own access log in place of uvicorn's."""
    assert main(["serve", "--host", "127.0.0.1", "--port", "8123"]) == 0
    [options] = uvicorn_calls
    assert {name: options[name] for name in ("host", "port", "ssl_certfile", "ssl_keyfile")} == {
        "host": "127.0.0.1",
        "port": 8123,
        "ssl_certfile": None,
        "ssl_keyfile": None,
    }
    assert options["access_log"] is False
    log_config = options["log_config"]
    assert isinstance(log_config, dict)
    assert "switchvox_server" in log_config["loggers"]


def test_serve_passes_certificate_and_key(
    tmp_path: Path, uvicorn_calls: list[dict[str, object]]
) -> None:
    """`--ssl-certfile`/`--ssl-keyfile` reach uvicorn unchanged."""
    certfile, keyfile = write_self_signed(tmp_path)
    assert main(["serve", "--ssl-certfile", str(certfile), "--ssl-keyfile", str(keyfile)]) == 0
    [call] = uvicorn_calls
    assert (call["ssl_certfile"], call["ssl_keyfile"]) == (str(certfile), str(keyfile))


def test_serve_self_signed_creates_a_certificate_and_says_where(
    uvicorn_calls: list[dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    """`--self-signed` serves with a fresh pair, prints a `curl --cacert` hint naming the
    certificate, and deletes the pair when the server stops."""
    assert main(["serve", "--self-signed", "--port", "8443"]) == 0
    [call] = uvicorn_calls
    certfile = Path(str(call["ssl_certfile"]))
    err = capsys.readouterr().err
    assert f"curl --cacert {certfile} https://127.0.0.1:8443/xml" in err
    assert not certfile.parent.exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--ssl-keyfile", "key.pem"], "--ssl-keyfile needs --ssl-certfile"),
        (["--ssl-certfile", "missing.pem"], "no such file: missing.pem"),
    ],
)
def test_serve_reports_unusable_tls_options(
    arguments: list[str],
    message: str,
    uvicorn_calls: list[dict[str, object]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Wrong TLS options stop `serve` with a message before uvicorn starts."""
    monkeypatch.chdir(tmp_path)
    assert main(["serve", *arguments]) == 1
    assert capsys.readouterr().err == f"switchvox-server: {message}\n"
    assert uvicorn_calls == []


def test_serve_refuses_a_key_that_does_not_match(
    tmp_path: Path, uvicorn_calls: list[dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    """A certificate with another certificate's key is refused with a message."""
    certfile, _ = write_self_signed(tmp_path / "one")
    _, other_key = write_self_signed(tmp_path / "two")
    assert main(["serve", "--ssl-certfile", str(certfile), "--ssl-keyfile", str(other_key)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("switchvox-server: cannot load a PEM certificate and its private key")
    assert uvicorn_calls == []
