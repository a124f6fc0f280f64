"""Every command ends a failure with one `switchvox-server:` line on stderr and a non-zero
status, never a traceback: unusable or unreachable databases, unreadable input, standard
output that cannot be written, Ctrl+C."""

from __future__ import annotations

import errno
import io
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from switchvox_server.cli import main
from tests.conftest import FIXTURES, free_port

EXAMPLE_CSV = FIXTURES / "example.csv"
IMPORT = ["--type", "sip", "--dupe", "skip", "--template", "1"]
SEED = '[[templates]]\nname = "Sales"\n'
POSTGRES_EXTRA = "pip install 'switchvox-server[postgres]'"

# Each command sees the test database and the test admin password, nothing else.
pytestmark = pytest.mark.usefixtures("cli_environment")


@pytest.fixture
def seed_file(tmp_path: Path) -> Path:
    path = tmp_path / "seed.toml"
    path.write_text(SEED)
    return path


@pytest.fixture
def database_commands(seed_file: Path) -> list[list[str]]:
    """One command line of each command that opens the database."""
    return [
        ["migrate"],
        ["serve", "--port", str(free_port())],
        ["admin", "list"],
        ["admin", "remove", "nobody"],
        ["templates", "list"],
        ["templates", "show", "1"],
        ["import", str(EXAMPLE_CSV), *IMPORT],
        ["export"],
        ["seed", str(seed_file)],
    ]


@pytest.fixture(autouse=True)
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve` must fail before uvicorn starts; starting it is a failure of the test."""

    def refuse(*args: object, **options: object) -> None:
        raise AssertionError("uvicorn was started")

    monkeypatch.setattr(uvicorn, "run", refuse)


def one_line(err: str) -> str:
    """The message of a stderr that holds exactly one `switchvox-server:` line."""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("switchvox-server: "), err
    return lines[0].removeprefix("switchvox-server: ")


def run(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run a command in-process; its exit status and its stderr on one line."""
    status = main(arguments)
    return status, one_line(capsys.readouterr().err)


# --- the database ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a database url", "DATABASE_URL is not usable: Could not parse"),
        ("nosuchdialect://host/db", "DATABASE_URL is not usable: Can't load plugin"),
        # A driver SQLAlchemy knows but this installation lacks.
        ("mysql+mysqldb://host/db", "DATABASE_URL needs the MySQLdb driver"),
    ],
)
def test_unusable_database_url_is_one_line_and_status_2(
    url: str,
    expected: str,
    database_commands: list[list[str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A DATABASE_URL that cannot be used as written stops every command with one line
    and status 2, the status of an unusable environment variable."""
    monkeypatch.setenv("DATABASE_URL", url)
    for arguments in database_commands:
        status, message = run(arguments, capsys)
        assert (status, message[: len(expected)]) == (2, expected), arguments


def no_pq_library() -> None:
    # What psycopg raises, on several lines, when it is installed without libpq.
    """Stand in for importing psycopg where libpq is missing."""
    raise ImportError("no pq wrapper available.\nAttempts:\n- couldn't import psycopg 'c'")


@pytest.mark.parametrize("missing", ["module", "library"])
def test_missing_postgres_driver_names_the_extra_to_install(
    missing: str,
    database_commands: list[list[str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A postgresql+psycopg URL without psycopg (or without the library it needs) says
    which extra installs it, in one line, for serve and migrate as for every other
    command."""
    from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/test")
    if missing == "module":
        monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` now fails
    else:
        monkeypatch.setattr(PGDialect_psycopg, "import_dbapi", no_pq_library)
    for arguments in database_commands:
        status, message = run(arguments, capsys)
        assert status == 2, arguments
        assert message.startswith("DATABASE_URL needs the psycopg driver"), message
        assert message.endswith(POSTGRES_EXTRA), message


def newer_database(path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite database migrated by a release newer than this one."""
    url = f"sqlite:///{path}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["migrate"]) == 0
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'ffff'")
    return url


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("closed port", "cannot use the database: connection failed:"),
        ("missing directory", "cannot use the database: unable to open database file"),
        ("not a database", "cannot use the database: file is not a database"),
        ("newer schema", "cannot bring the database schema up to date: Can't locate revision"),
    ],
)
def test_unreachable_database_is_one_line(
    kind: str,
    expected: str,
    tmp_path: Path,
    database_commands: list[list[str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A database that cannot be reached or used fails every command with one line (the
    driver's message joined into it) and status 1."""
    if kind == "closed port":
        url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"
    elif kind == "missing directory":
        url = f"sqlite:///{tmp_path / 'missing' / 'switchvox.db'}"
    elif kind == "not a database":
        (tmp_path / "text.db").write_text("this is no database\n" * 100)
        url = f"sqlite:///{tmp_path / 'text.db'}"
    else:
        url = newer_database(tmp_path / "newer.db", monkeypatch)
        capsys.readouterr()
    monkeypatch.setenv("DATABASE_URL", url)
    for arguments in database_commands:
        status, message = run(arguments, capsys)
        assert (status, message[: len(expected)]) == (1, expected), arguments


def test_a_bug_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception no rule explains is a bug of the server: it is not hidden."""

    def broken(settings: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("switchvox_server.app.prepare_database", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["admin", "list"])


def test_interrupt_is_one_line_and_status_130(
    database_commands: list[list[str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Ctrl+C while a command works ends it with `interrupted` and status 130."""

    def interrupted(settings: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("switchvox_server.app.prepare_database", interrupted)
    for arguments in database_commands:
        assert run(arguments, capsys) == (130, "interrupted"), arguments


# --- input -----------------------------------------------------------------------------


def unreadable(tmp_path: Path, kind: str, suffix: str) -> Path:
    """A path of the given kind that cannot be read as an input file."""
    if kind == "missing":
        return tmp_path / f"missing{suffix}"
    if kind == "directory":
        directory = tmp_path / f"folder{suffix}"
        directory.mkdir()
        return directory
    if kind == "below a file":
        (tmp_path / "plain").write_text("x")
        return tmp_path / "plain" / f"input{suffix}"
    if os.geteuid() == 0:
        pytest.skip("root reads a file whatever its mode")
    path = tmp_path / f"locked{suffix}"
    path.write_text(SEED)
    path.chmod(0)
    return path


@pytest.mark.parametrize("kind", ["missing", "directory", "below a file", "permission denied"])
@pytest.mark.parametrize(
    ("command", "suffix", "reason"),
    [
        ("import", ".csv", "cannot read {path}: "),
        ("seed", ".toml", "cannot read the seed file {path}: "),
    ],
)
def test_unreadable_input_file_is_one_line(
    command: str,
    suffix: str,
    reason: str,
    kind: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An input file that cannot be read is named in one line with the system's reason."""
    path = unreadable(tmp_path, kind, suffix)
    arguments = [command, str(path), *(IMPORT if command == "import" else [])]
    status, message = run(arguments, capsys)
    assert status == 1
    assert message.startswith(reason.format(path=path)), message


def test_seed_file_that_is_not_utf8_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A seed file in another encoding is refused by name, not with a decoding traceback."""
    path = tmp_path / "latin1.toml"
    path.write_bytes('[[templates]]\nname = "Café"\n'.encode("latin-1"))
    assert run(["seed", str(path)], capsys) == (1, f"{path}: a seed file must be UTF-8")


@pytest.mark.parametrize("errors", ["strict", "surrogateescape"])
def test_password_on_stdin_that_is_not_utf8_is_one_line(
    errors: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A password piped in another encoding is refused whether Python's standard input
    decodes strictly or passes the bytes through (as it does in the C locale)."""
    stdin = io.TextIOWrapper(io.BytesIO(b"caf\xe9 secret\n"), encoding="utf-8", errors=errors)
    monkeypatch.setattr(sys, "stdin", stdin)
    arguments = ["admin", "add", "ci", "--access", "full", "--password-stdin"]
    assert run(arguments, capsys) == (1, "the password is not valid UTF-8")


@pytest.mark.parametrize(
    "arguments",
    [["import", "-", *IMPORT], ["admin", "add", "ci", "--access", "full", "--password-stdin"]],
)
def test_closed_standard_input_is_one_line(
    arguments: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A command told to read standard input says so when it is closed (`<&-`)."""
    monkeypatch.setattr(sys, "stdin", None)
    assert run(arguments, capsys) == (1, "standard input is closed")


# --- output ----------------------------------------------------------------------------


class FailingDevice(io.RawIOBase):
    """A device every write to fails with `error` (a full disk, a reader gone), until it is
    told to accept writes again."""

    def __init__(self, error: type[OSError], errno_value: int) -> None:
        self.error: tuple[type[OSError], int] | None = (error, errno_value)

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        if self.error is None:
            return len(data)  # type: ignore[arg-type]
        error, errno_value = self.error
        raise error(errno_value, os.strerror(errno_value))


@pytest.fixture
def failing_device() -> Iterator[FailingDevice]:
    """A FailingDevice that drops what a stream over it still holds after the test."""
    device = FailingDevice(OSError, errno.ENOSPC)
    yield device
    device.error = None


def put_stdout_on(device: FailingDevice, monkeypatch: pytest.MonkeyPatch) -> None:
    # In the test itself: pytest puts its own capture back between fixtures and test.
    """Make sys.stdout write to `device`."""
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BufferedWriter(device)))


def output_commands(seed_file: Path) -> list[list[str]]:
    """A command line of each command that writes to standard output."""
    return [
        ["migrate"],
        ["admin", "list"],
        ["admin", "remove", "nobody"],  # an error: nothing to write but the message
        ["templates", "list"],
        ["templates", "show", "1"],
        ["templates", "add", "Sales"],
        ["import", str(EXAMPLE_CSV), *IMPORT, "--report-only"],
        ["import", str(EXAMPLE_CSV), *IMPORT, "--report-only", "--format", "xml"],
        ["export"],
        ["seed", str(seed_file)],
    ]


def test_standard_output_that_cannot_be_written_is_one_line(
    failing_device: FailingDevice,
    seed_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A full disk (or any write error) under standard output ends every command with one
    line naming standard output and status 1."""
    put_stdout_on(failing_device, monkeypatch)
    for arguments in output_commands(seed_file):
        expected = (
            "no admin named 'nobody'"
            if arguments[1:2] == ["remove"]
            else ("cannot write to standard output: No space left on device")
        )
        assert run(arguments, capsys) == (1, expected), arguments


def test_reader_gone_ends_quietly_with_status_1(
    failing_device: FailingDevice,
    seed_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """When the reader of standard output went away (`| head`), every command stops with
    status 1 and nothing on stderr, as other tools do."""
    failing_device.error = (BrokenPipeError, errno.EPIPE)
    put_stdout_on(failing_device, monkeypatch)
    for arguments in output_commands(seed_file):
        if arguments[1:2] == ["remove"]:
            continue  # writes nothing to standard output
        assert main(arguments) == 1, arguments
        assert capsys.readouterr().err == "", arguments


def test_closed_standard_output_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`export >&-` says standard output is closed rather than exporting to nowhere."""
    monkeypatch.setattr(sys, "stdout", None)
    assert run(["export"], capsys) == (1, "standard output is closed")


def run_with_stdout(arguments: list[str], stdout: int) -> subprocess.CompletedProcess[bytes]:
    """Run the command line in a subprocess with `stdout` as its standard output."""
    return subprocess.run(
        [sys.executable, "-m", "switchvox_server.cli", *arguments],
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=120,
        check=False,
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
@pytest.mark.slow
def test_export_to_a_full_device_is_one_line_to_the_end() -> None:
    """`export > /dev/full` prints one line and nothing more, also when Python exits and
    flushes what standard output still holds."""
    with open("/dev/full", "wb") as full:
        result = run_with_stdout(["export"], full.fileno())
    assert result.returncode == 1
    assert (
        result.stderr
        == b"switchvox-server: cannot write to standard output: No space left on device\n"
    )


@pytest.mark.slow
def test_export_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`export | head -0`: the pipe's reader is gone before the first write; the command
    exits 1 with nothing on stderr, not even at Python's last flush."""
    assert main(["import", str(EXAMPLE_CSV), *IMPORT]) == 3  # some rows of it fail
    reader, writer = os.pipe()
    os.close(reader)
    try:
        result = run_with_stdout(["export"], writer)
    finally:
        os.close(writer)
    assert (result.returncode, result.stderr) == (1, b"")
