"""The server as a separate process (`python -m uvicorn switchvox_server.asgi:app`) on a
loopback port, and the HTTP helpers the process-level tests share."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx2
from lxml import etree
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from switchvox_server.store.driver import BULK_WRITE_LOCK_KEY
from tests.conftest import ADMIN_PASSWORD, free_port
from tests.helpers import BULK_UPLOAD, SECTIONS, request_xml

STARTUP_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
# A port taken between free_port() and uvicorn's bind is retried with another port.
START_ATTEMPTS = 3
CSV_HEADER = "ext,fname,lname,email,password,phone_password,digium_phone_mac_address\n"
AUTH = ("admin", ADMIN_PASSWORD)
UVICORN = (sys.executable, "-m", "uvicorn", "switchvox_server.asgi:app", "--log-level", "warning")
SERVE = (sys.executable, "-m", "switchvox_server.cli", "serve")


@dataclass(frozen=True, slots=True)
class ServerProcess:
    """A running server: its base URL, its process, and where its output goes."""

    url: str
    process: subprocess.Popen[bytes]
    output: IO[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        """Everything the process wrote to stdout and stderr so far."""
        # pread leaves alone the file offset that the process shares and writes at.
        descriptor = self.output.fileno()
        written = os.pread(descriptor, os.fstat(descriptor).st_size, 0)
        return written.decode("utf-8", "replace")

    def kill(self) -> None:
        """SIGKILL: the process dies at once, with no chance to clean up."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT_SECONDS)


@contextmanager
def server_process(
    database_url: str,
    *,
    env: Mapping[str, str] | None = None,
    command: Sequence[str] = UVICORN,
) -> Iterator[ServerProcess]:
    """Run the server (`command`, given where to listen) on a free 127.0.0.1 port until the
    block ends; then terminate it, and kill it if it has not stopped within
    STOP_TIMEOUT_SECONDS."""
    environment = dict(os.environ)
    environment.update(
        DATABASE_URL=database_url, SWITCHVOX_ADMIN_PASSWORD=ADMIN_PASSWORD, PYTHONUNBUFFERED="1"
    )
    environment.update(env or {})
    with tempfile.TemporaryFile() as output:
        server = _start(command, environment, output)
        try:
            yield server
        finally:
            _stop(server.process)


def _start(command: Sequence[str], environment: dict[str, str], output: IO[bytes]) -> ServerProcess:
    for _ in range(START_ATTEMPTS):
        port = free_port()
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        server = ServerProcess(f"http://127.0.0.1:{port}", process, output)
        try:
            if _wait_until_healthy(server):
                return server
        except BaseException:
            _stop(process)
            raise
        if "address already in use" not in server.log().lower():
            break
    raise RuntimeError(f"the server process did not start:\n{server.log()}")


def _wait_until_healthy(server: ServerProcess) -> bool:
    """True once GET /healthz answers 200; False if the process exits first. Raises when
    neither happens within STARTUP_TIMEOUT_SECONDS."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    with httpx2.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                return False
            try:
                if client.get(f"{server.url}/healthz").status_code == 200:
                    return True
            except httpx2.TransportError:
                pass
            time.sleep(0.05)
    _stop(server.process)
    raise RuntimeError(
        f"the server did not answer /healthz within {STARTUP_TIMEOUT_SECONDS:.0f} s:\n"
        + server.log()
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_SECONDS)


# --------------------------------------------------------------------------- requests


def csv_lines(
    numbers: Iterable[int], *, last_name: str = "Tester", mac_offset: int = 0
) -> Iterator[str]:
    """CSV rows that are all valid: each number with its own web and SIP password, and the
    MAC of number + mac_offset."""
    for number in numbers:
        yield (
            f"{number},First{number},{last_name},u{number}@test.com,webpass{number},"
            f"sipsecret{number},{mac_of(number + mac_offset)}\n"
        )


def csv_bytes(numbers: Iterable[int], *, last_name: str = "Tester", mac_offset: int = 0) -> bytes:
    lines = csv_lines(numbers, last_name=last_name, mac_offset=mac_offset)
    return (CSV_HEADER + "".join(lines)).encode()


def write_csv(path: Path, numbers: Iterable[int]) -> Path:
    """Write the CSV for `numbers` to `path` without holding it in memory."""
    with path.open("w", encoding="ascii", newline="") as file:
        file.write(CSV_HEADER)
        file.writelines(csv_lines(numbers))
    return path


def mac_of(number: int) -> str:
    """A MAC address of the number's own (locally administered, so never a real phone's)."""
    return ":".join(f"{octet:02x}" for octet in (0x0A, 0, *number.to_bytes(4, "big")))


def post_upload(
    client: httpx2.Client,
    url: str,
    csv: bytes | IO[bytes],
    *,
    dupe_process: int = 1,
    template_account_id: object = 1,
    **extra: object,
) -> httpx2.Response:
    """Post a bulk upload (multipart, as the Switchvox clients do); a file object streams."""
    envelope = request_xml(
        BULK_UPLOAD,
        extension_type="sip",
        dupe_process=dupe_process,
        template_account_id=template_account_id,
        **extra,
    )
    return client.post(
        f"{url}/xml",
        data={"request": envelope.decode()},
        files={"csv_file": ("extensions.csv", csv, "text/csv")},
        auth=AUTH,
    )


def report_of(response: httpx2.Response) -> dict[str, list[str]]:
    """The numbers in each section of a successful upload's report; fails on anything else."""
    assert response.status_code == 200, response.text[:2000]
    document = etree.fromstring(response.content)
    assert document.find("errors") is None, response.text[:2000]
    assert document.find("result") is not None, response.text[:2000]
    return {
        name: [node.get("extension", "") for node in document.iterfind(f".//{name}/extension")]
        for name in SECTIONS
    }


# --------------------------------------------------------------------------- the store


def writer_lock_held(database_url: str) -> bool:
    """Whether some connection holds the bulk writer lock: SQLite's write lock (probed with
    a BEGIN IMMEDIATE that does not wait) or the PostgreSQL advisory lock (read from
    pg_locks, without taking it)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        probe = sqlite3.connect(url.database or "", timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if "locked" in str(error):
                return True
            raise
        else:
            probe.execute("ROLLBACK")
        finally:
            probe.close()
        return False
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            held = connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND database = (SELECT oid FROM pg_database"
                    "                 WHERE datname = current_database())"
                    " AND classid = :high AND objid = :low"
                ),
                {"high": BULK_WRITE_LOCK_KEY >> 32, "low": BULK_WRITE_LOCK_KEY & 0xFFFF_FFFF},
            ).scalar_one()
    finally:
        engine.dispose()
    return bool(held)


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll `condition` every 10 ms until it holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting until {what}")
        time.sleep(0.01)
