"""Hostile callers against a real server: does any one of them stall, exhaust or fool it?

Prints a table; asserts nothing. All traffic stays on the loopback interface.

    .venv/bin/python benchmarks/hostile.py [--quick]

The script starts `python -m switchvox_server.cli serve` on a free port of 127.0.0.1 with a
temporary SQLite database, and stops it at the end. For each class of hostile request it
sends the requests while two probes run: `/healthz` every 50 ms (unauthenticated) and a
legitimate admin's getInfo every 200 ms (Basic, from another loopback address than the
attackers'). A row shows what the hostile requests got, the slowest `/healthz` answer and the
admin's latency (median and slowest) meanwhile, and how the server process's memory changed
(VmRSS, and VmHWM, its peak resident set, from /proc/<pid>/status). The targets are those of
the project: `/healthz` within 0.5 s, an admin within 1 s, at most 150 MiB more memory, and
never a plain HTTP 500.

Every client call has a timeout and every loop a bound, so a server that misbehaves shows in
the table (`timeout`, `closed`, `500`) instead of stopping the script; the default run takes
under three minutes, `--quick` in about a minute and a half.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from processes import HOST, free_port, log_tail, status_mib  # benchmarks/processes.py

# Loopback addresses of their own for the attackers (Linux routes all of 127/8 to lo), so
# that a throttle counting failures per address sees them apart from the admin at HOST.
FLOOD_ADDRESS = "127.0.0.2"
GUESSER_ADDRESS = "127.0.0.3"

HEALTHZ_TARGET = 0.5  # seconds
ADMIN_TARGET = 1.0  # seconds
MEMORY_TARGET = 150.0  # MiB
REQUEST_TIMEOUT = 20.0  # seconds, any one hostile request
PROBE_TIMEOUT = 5.0
# Seconds for one class, and for all of them: requests past it are not sent.
CLASS_BUDGET, CLASS_BUDGET_QUICK = 30.0, 12.0
RUN_BUDGET, RUN_BUDGET_QUICK = 150.0, 100.0
SETTLE_TIMEOUT = 10.0
MIN_WINDOW = 1.0
PROBE_MARGIN = 60.0  # seconds the probes may outlive the run's budget (the last class)
START_TIMEOUT = 60.0
MiB = 1024 * 1024

BULK_UPLOAD = "switchvox.extensions.phones.bulk.upload"
GET_INFO = "switchvox.extensions.getInfo"
SEARCH = "switchvox.extensions.search"
FAULT_CODE = re.compile(rb'code="(\d+)"|"code":\s*"?(\d+)')


def say(line: str = "") -> None:
    print(line, flush=True)


# --------------------------------------------------------------------------- HTTP, by hand


@dataclass(frozen=True, slots=True)
class Answer:
    """What one request got: an HTTP status (and fault code), or why there was none."""

    status: int | None
    fault: str | None = None
    size: int = 0
    seconds: float = 0.0
    problem: str = ""  # "timeout", "closed", "refused", "reset" when status is None
    start: bytes = b""  # the first 64 KiB of the answer

    def describe(self) -> str:
        if self.status is None:
            return self.problem
        return f"{self.status}" + (f"/{self.fault}" if self.fault else "")


def basic(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def request_head(
    method: str, path: str, *, length: int | None = None, headers: dict[str, str] | None = None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", "Connection: close"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    # Header values may carry any bytes a hostile client sends (UTF-8 here).
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def exchange(
    port: int,
    head: bytes,
    body: Iterable[bytes] = (),
    *,
    timeout: float = REQUEST_TIMEOUT,
    source: str = HOST,
) -> Answer:
    """Send one request on a new connection and read the answer until the server closes
    it; never longer than `timeout` in all. Keeps only the start of a large answer."""
    started = time.monotonic()
    deadline = started + timeout
    try:
        connection = socket.create_connection(
            (HOST, port), timeout=timeout, source_address=(source, 0)
        )
    except OSError as error:
        return Answer(None, problem=f"refused ({error.strerror or error})")
    with connection:
        try:
            connection.sendall(head)
            for chunk in body:
                connection.settimeout(max(0.01, deadline - time.monotonic()))
                connection.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: its answer may be waiting
        except TimeoutError:
            return Answer(None, seconds=time.monotonic() - started, problem="timeout (sending)")
        except OSError as error:
            return Answer(None, seconds=time.monotonic() - started, problem=f"{error}")
        return _read_answer(connection, started, deadline)


def _read_answer(connection: socket.socket, started: float, deadline: float) -> Answer:
    kept = bytearray()
    size = 0
    problem = ""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            problem = "timeout"
            break
        connection.settimeout(remaining)
        try:
            chunk = connection.recv(256 * 1024)
        except TimeoutError:
            problem = "timeout"
            break
        except ConnectionResetError:
            problem = "reset"
            break
        except OSError as error:
            problem = str(error)
            break
        if not chunk:
            break
        size += len(chunk)
        if len(kept) < 64 * 1024:
            kept += chunk[: 64 * 1024 - len(kept)]
    seconds = time.monotonic() - started
    status_line = bytes(kept).split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or not status_line[1].isdigit():
        return Answer(None, size=size, seconds=seconds, problem=problem or "closed")
    found = FAULT_CODE.search(kept)
    fault = None if found is None else (found.group(1) or found.group(2)).decode()
    return Answer(int(status_line[1]), fault, size, seconds, problem, bytes(kept))


def in_chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def post(
    port: int,
    path: str,
    body: bytes,
    authorization: str,
    content_type: str = "application/xml",
    **options: object,
) -> Answer:
    head = request_head(
        "POST",
        path,
        length=len(body),
        headers={"Authorization": authorization, "Content-Type": content_type},
    )
    return exchange(port, head, in_chunks(body), **options)  # type: ignore[arg-type]


def multipart(fields: dict[str, tuple[str | None, bytes]]) -> tuple[str, bytes]:
    """A multipart/form-data body: field name -> (file name or None, content)."""
    boundary = secrets.token_hex(16)
    parts = []
    for name, (filename, content) in fields.items():
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        parts.append(
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


def envelope(method: str, parameters: str = "", attributes: str = "") -> bytes:
    return (
        f'<request method="{method}"><parameters{attributes}>{parameters}</parameters></request>'
    ).encode()


# --------------------------------------------------------------------------- the server


@dataclass(slots=True)
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def memory(self) -> tuple[float, float]:
        """VmRSS and VmHWM of the server process in MiB (0 once it has exited)."""
        return status_mib(self.process.pid, "VmRSS"), status_mib(self.process.pid, "VmHWM")

    def log_tail(self, lines: int = 15) -> str:
        return log_tail(self.log_path, lines)


@contextmanager
def running_server(workdir: Path, admin_password: str) -> Iterator[Server]:
    """`switchvox-server serve` on a free loopback port with a fresh SQLite database."""
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SWITCHVOX_") and key != "DATABASE_URL"
    }
    env.update(
        DATABASE_URL=f"sqlite:///{workdir / 'hostile.db'}",
        SWITCHVOX_ADMIN_PASSWORD=admin_password,
    )
    log_path = workdir / "server.log"
    command = [sys.executable, "-m", "switchvox_server.cli", "serve", "--host", HOST]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--port", str(port)], cwd=workdir, env=env, stdout=log, stderr=log
        )
    server = Server(process, port, log_path)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while exchange(port, request_head("GET", "/healthz"), timeout=2.0).status != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start:\n{server.log_tail()}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


# --------------------------------------------------------------------------- the probes


class Probe(threading.Thread):
    """Sends one request again and again (at most every `interval`) and keeps, for the
    current window, every latency; a request still unanswered counts with its time so far."""

    def __init__(
        self, name: str, send: Callable[[], Answer], interval: float, until: float
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.send = send
        self.interval = interval
        self.until = until  # a monotonic time past which it stops by itself
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.failures: Counter[str] = Counter()
        self.in_flight_since: float | None = None

    def run(self) -> None:
        while not self.stopping.is_set() and time.monotonic() < self.until:
            started = time.monotonic()
            with self.lock:
                self.in_flight_since = started
            answer = self.send()
            elapsed = time.monotonic() - started
            with self.lock:
                self.in_flight_since = None
                self.latencies.append(elapsed)
                if answer.status != 200 or answer.fault:
                    self.failures[answer.describe()] += 1
            self.stopping.wait(max(0.0, self.interval - elapsed))

    def begin(self) -> None:
        with self.lock:
            self.latencies = []
            self.failures = Counter()

    def end(self) -> tuple[list[float], Counter[str]]:
        with self.lock:
            latencies = list(self.latencies)
            if self.in_flight_since is not None:
                latencies.append(time.monotonic() - self.in_flight_since)
            return latencies, Counter(self.failures)


# --------------------------------------------------------------------------- the classes


@dataclass(slots=True)
class Context:
    server: Server
    admin_auth: str
    quick: bool
    run_deadline: float
    flooder: str  # the source address of the guessing flood
    guesser: str  # the source address of the other requests with wrong credentials
    class_deadline: float = 0.0

    @property
    def port(self) -> int:
        return self.server.port

    def start_class(self) -> None:
        budget = CLASS_BUDGET_QUICK if self.quick else CLASS_BUDGET
        self.class_deadline = min(time.monotonic() + budget, self.run_deadline)

    def remaining(self) -> float:
        return self.class_deadline - time.monotonic()

    def hold(self, default: float) -> float:
        """How long a class that holds connections open lasts, within its budget."""
        return max(0.0, min(5.0 if self.quick else default, self.remaining() - 1.0))

    def post(
        self,
        path: str,
        body: bytes,
        authorization: str | None = None,
        content_type: str = "application/xml",
        source: str = HOST,
    ) -> Answer:
        """POST within what is left of the class's budget (at most REQUEST_TIMEOUT)."""
        timeout = min(REQUEST_TIMEOUT, self.remaining())
        if timeout <= 0:
            return Answer(None, problem="not sent (class time budget spent)")
        return post(
            self.port,
            path,
            body,
            self.admin_auth if authorization is None else authorization,
            content_type,
            timeout=timeout,
            source=source,
        )


def outcomes(answers: Iterable[Answer]) -> str:
    counted = Counter(answer.describe() for answer in answers)
    return ", ".join(f"{text} x{count}" if count > 1 else text for text, count in counted.items())


def huge_attribute_list(context: Context) -> str:
    attributes = "".join(f' a{index}="1"' for index in range(80_000))
    body = envelope(GET_INFO, "<extensions><extension>201</extension></extensions>", attributes)
    return sized(context.post("/xml", body), body)


def deep_json(context: Context) -> str:
    depth = 100_000
    nested = "[" * depth + "]" * depth
    body = f'{{"request": {{"method": "{GET_INFO}", "parameters": {{"x": {nested}}}}}}}'.encode()
    return sized(context.post("/json", body, None, "application/json"), body)


def wide_json(context: Context) -> str:
    parameters = {f"k{index}": str(index) for index in range(60_000)}
    parameters["extensions"] = {"extension": [str(n) for n in range(100, 10_000)]}  # type: ignore[assignment]
    body = json.dumps({"request": {"method": GET_INFO, "parameters": parameters}}).encode()
    return sized(context.post("/json", body, None, "application/json"), body)


def oversize_raw_body(context: Context) -> str:
    size = 64 * MiB
    head = request_head(
        "POST",
        "/xml",
        length=size,
        headers={"Authorization": context.admin_auth, "Content-Type": "application/xml"},
    )
    opening = envelope(GET_INFO, "<extensions>")[: -len("</parameters></request>")]
    filler = b"<extension>201</extension>" * 2520  # 64 KiB a chunk

    def body() -> Iterator[bytes]:
        yield opening
        sent = len(opening)
        while sent < size:
            chunk = filler[: size - sent]
            sent += len(chunk)
            yield chunk

    answer = exchange(context.port, head, body(), timeout=max(0.1, context.remaining()))
    return f"{answer.describe()} ({size // MiB} MiB sent or offered)"


def parameters_twice(context: Context) -> str:
    repeated = "<page_number>1</page_number>" * 35_000
    search = envelope(SEARCH, f"<sort_field>display</sort_field>{repeated}", ' sort_field="number"')
    upload_request = envelope(
        BULK_UPLOAD,
        "<extension_type>sip</extension_type><dupe_process>1</dupe_process>"
        "<template_account_id>1</template_account_id><report_only>0</report_only>",
        ' report_only="1"',
    )
    content_type, body = multipart(
        {
            "request": (None, upload_request),
            "csv_file": (
                "twice.csv",
                b"ext,fname,lname,email,password,phone_password\r\n"
                b"777,Twice,Given,twice@example.com,webpass777,sippass777\r\n",
            ),
        }
    )
    answers = [
        context.post("/xml", search),
        context.post("/xml", body, None, content_type),
    ]
    stored = context.post(
        "/xml", envelope(GET_INFO, "<extensions><extension>777</extension></extensions>")
    )
    written = "row STORED" if b'number="777"' in stored.start else "nothing stored"
    return f"{outcomes(answers)}; report_only given twice: {written}"


def echoed_values(context: Context) -> str:
    # A raw JSON envelope (not a form's request part, and no XML text node limit) with a
    # 10 MB extension: fault 10010 echoes it.
    parameters = {"extensions": {"extension": ["x" + "9" * (10 * 1000 * 1000)]}}
    in_parameter = context.post(
        "/json",
        json.dumps({"request": {"method": GET_INFO, "parameters": parameters}}).encode(),
        None,
        "application/json",
    )
    request = envelope(
        BULK_UPLOAD,
        "<extension_type>sip</extension_type><dupe_process>1</dupe_process>"
        "<template_account_id>1</template_account_id><report_only>1</report_only>",
    )
    # A first name of 0.9 MB (cells are read up to 1 MiB): the failed row shows it.
    row = b"301," + b"x" * 900_000 + b",B,a@example.com,webpass1,sippass1\r\n"
    content_type, body = multipart(
        {
            "request": (None, request),
            "csv_file": ("echo.csv", b"ext,fname,lname,email,password,phone_password\r\n" + row),
        }
    )
    in_cell = context.post("/xml", body, None, content_type)
    return (
        f"10 MB parameter: {in_parameter.describe()}, {in_parameter.size / 1e6:.2f} MB back;"
        f" 0.9 MB CSV cell: {in_cell.describe()}, {in_cell.size / 1e6:.2f} MB back"
    )


def odd_numbers(context: Context) -> str:
    values = ["١٢٣", "²", "1" * 25, "9" * 5000]
    bodies = (
        [
            envelope(GET_INFO, f"<account_ids><account_id>{value}</account_id></account_ids>")
            for value in values
        ]
        + [envelope(SEARCH, f"<items_per_page>{value}</items_per_page>") for value in values]
        + [
            envelope(SEARCH, "<max_create_date>9999-12-31 23:59:59</max_create_date>"),
            envelope(SEARCH, "<min_create_date>9999-12-31 23:59:59</min_create_date>"),
        ]
    )
    return outcomes(context.post("/xml", body) for body in bodies)


def odd_credentials(context: Context) -> str:
    names = ["٢٠١", "²01", "2" * 5000, "ad\x00min", "admin\u00e9", "201"]
    body = envelope(GET_INFO, "<extensions><extension>201</extension></extensions>")
    answers = [
        context.post("/xml", body, basic(name, "wrong-password"), source=context.guesser)
        for name in names
    ]
    return outcomes(answers)


def digest_bad_uri(context: Context) -> str:
    body = envelope(GET_INFO, "<extensions><extension>201</extension></extensions>")
    answers = []
    for uri in ("http://[::1", "/xml\x00", "//" + "a" * 10_000, "http://[v1.x]/"):
        header = (
            'Digest username="admin", realm="switchvox_api_auth", nonce="0", '
            f'uri="{uri}", response="{"0" * 32}"'
        )
        answers.append(context.post("/xml", body, header, source=context.guesser))
    return outcomes(answers)


def idle_connections(context: Context) -> str:
    hold = context.hold(20.0)
    count = 200
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            timeout = min(5.0, context.remaining() - hold)
            if timeout <= 0:
                break
            try:
                sockets.append(socket.create_connection((HOST, context.port), timeout=timeout))
            except OSError:
                break
        opened = len(sockets)
        closed_at: dict[int, float] = {}
        started = time.monotonic()
        while time.monotonic() - started < hold and len(closed_at) < opened:
            for index, connection in enumerate(sockets):
                if index not in closed_at and _closed(connection):
                    closed_at[index] = time.monotonic() - started
            time.sleep(0.25)
    finally:
        for connection in sockets:
            connection.close()
    first = f", first after {min(closed_at.values()):.1f} s" if closed_at else ""
    return f"{len(closed_at)} of {opened} idle connections closed within {hold:.0f} s{first}"


def dribbled_head(context: Context) -> str:
    hold = context.hold(20.0)
    head = request_head("GET", "/healthz") + b"X-Padding: " + b"a" * 10_000
    started = time.monotonic()
    with socket.create_connection((HOST, context.port), timeout=5) as connection:
        for byte in head:
            if time.monotonic() - started >= hold:
                return f"still open after {hold:.0f} s of one byte every 0.5 s"
            try:
                connection.sendall(bytes([byte]))
            except OSError:
                break
            if _closed(connection):
                break
            time.sleep(0.5)
    return f"closed after {time.monotonic() - started:.1f} s"


def _closed(connection: socket.socket) -> bool:
    """Whether the server has closed (or answered and closed) this connection."""
    timeout = connection.gettimeout()
    connection.setblocking(False)  # a socket with a timeout would wait for data first
    try:
        data = connection.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        connection.settimeout(timeout)
    return data == b"" or data.startswith(b"H")


def guessing_flood(context: Context) -> str:
    seconds = max(1.0, min(3.0 if context.quick else 10.0, context.remaining() - 10.0))
    deadline = time.monotonic() + seconds
    answers: Counter[str] = Counter()
    lock = threading.Lock()
    body = envelope(GET_INFO, "<extensions><extension>201</extension></extensions>")
    names = ("admin", "201", "no-such-user")

    def guess(worker: int) -> None:
        for attempt in range(100_000):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or context.remaining() < 1.0:
                return
            name = names[(worker + attempt) % len(names)]
            answer = post(
                context.port,
                "/xml",
                body,
                basic(name, f"guess-{worker}-{attempt}"),
                timeout=max(0.1, min(remaining + 5.0, context.remaining())),
                source=context.flooder,
            )
            with lock:
                answers[answer.describe()] += 1

    workers = [threading.Thread(target=guess, args=(n,), daemon=True) for n in range(100)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=max(0.1, context.remaining()))
    shown = ", ".join(f"{text} x{count}" for text, count in answers.most_common())
    return f"100 connections for {seconds:.0f} s: {shown}"


def sized(answer: Answer, body: bytes) -> str:
    return f"{answer.describe()} ({len(body) / 1e6:.2f} MB in {answer.seconds:.1f} s)"


CLASSES: tuple[tuple[str, Callable[[Context], str]], ...] = (
    ("XML: 80,000 attributes on <parameters>", huge_attribute_list),
    ("JSON: 100,000 levels deep", deep_json),
    ("JSON: 60,000 keys, 9,900 extensions", wide_json),
    ("raw body of 64 MiB", oversize_raw_body),
    ("parameters given twice", parameters_twice),
    ("echoes: 10 MB parameter, 0.9 MB cell", echoed_values),
    ("non-ASCII, long digits, end of calendar", odd_numbers),
    ("credentials: non-ASCII, long, NUL", odd_credentials),
    ("Digest header with a bad uri", digest_bad_uri),
    ("200 idle connections", idle_connections),
    ("a head dribbled byte by byte", dribbled_head),
    ("password guessing flood", guessing_flood),
)


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    answer: str
    healthz_max: float | None
    admin_p50: float | None
    admin_max: float | None
    rss_growth: float
    peak_growth: float
    missed: tuple[str, ...]


def measure(
    name: str,
    run: Callable[[Context], str],
    context: Context,
    healthz: Probe,
    admin: Probe,
) -> Row:
    rss_before, peak_before = context.server.memory()
    context.start_class()
    healthz.begin()
    admin.begin()
    began = time.monotonic()
    try:
        answer = run(context)
    except Exception as error:  # a class that breaks is a row too, not the end of the run
        answer = f"client error: {type(error).__name__}: {error}"
    # A window of at least a second, so that both probes have answered in it.
    time.sleep(max(0.0, MIN_WINDOW - (time.monotonic() - began)))
    healthz_latencies, healthz_failures = healthz.end()
    admin_latencies, admin_failures = admin.end()
    rss_after, peak_after = context.server.memory()
    if context.server.process.poll() is not None:
        answer += f" - the server exited ({context.server.process.returncode})"
    healthz_max = max(healthz_latencies, default=None)
    admin_max = max(admin_latencies, default=None)
    missed = []
    if healthz_max is None or healthz_max > HEALTHZ_TARGET or healthz_failures:
        missed.append("healthz")
    if admin_max is None or admin_max > ADMIN_TARGET or admin_failures:
        missed.append("admin")
    if peak_after - peak_before > MEMORY_TARGET or rss_after - rss_before > MEMORY_TARGET:
        missed.append("memory")
    if re.search(r"\b500\b", answer):
        missed.append("500")
    if healthz_failures:
        answer += f"; /healthz got {outcomes_of(healthz_failures)}"
    if admin_failures:
        answer += f"; admin got {outcomes_of(admin_failures)}"
    return Row(
        name,
        answer,
        healthz_max,
        statistics.median(admin_latencies) if admin_latencies else None,
        admin_max,
        rss_after - rss_before,
        peak_after - peak_before,
        tuple(missed),
    )


def outcomes_of(counted: Counter[str]) -> str:
    return ", ".join(f"{text} x{count}" for text, count in counted.most_common())


def settle(context: Context) -> None:
    """Wait (bounded) until the server answers /healthz again, so that work left over from
    one class does not count against the next."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline and context.server.process.poll() is None:
        if exchange(context.port, request_head("GET", "/healthz"), timeout=2.0).status == 200:
            break
    time.sleep(0.5)


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_table(rows: list[Row]) -> None:
    headers = ("class", "/healthz max s", "admin p50/max s", "RSS +MiB", "peak +MiB", "missed")
    cells = [
        (
            row.name,
            seconds(row.healthz_max),
            f"{seconds(row.admin_p50)}/{seconds(row.admin_max)}",
            f"{row.rss_growth:+.0f}",
            f"{row.peak_growth:+.0f}",
            ",".join(row.missed) or "-",
        )
        for row in rows
    ]
    widths = [max(len(line[index]) for line in [headers, *cells]) for index in range(6)]
    say(
        f"== targets: /healthz <= {HEALTHZ_TARGET} s, admin <= {ADMIN_TARGET} s,"
        f" memory <= +{MEMORY_TARGET:.0f} MiB, never HTTP 500"
    )
    for line in [headers, *cells]:
        say(
            "  ".join(
                cell.ljust(width) if index in (0, 5) else cell.rjust(width)
                for index, (cell, width) in enumerate(zip(line, widths, strict=True))
            ).rstrip()
        )
    say()
    say("== what each class got (HTTP status/fault code, or why no answer)")
    for row in rows:
        say(f"  {row.name}: {row.answer}")


# --------------------------------------------------------------------------- main


def loopback_source_works(address: str) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((address, 0))
        except OSError:
            return False
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="hold connections 5 s, flood 3 s")
    arguments = parser.parse_args(argv)
    # Stopped from outside, still stop the server (the `finally` blocks run).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    flooder, guesser = FLOOD_ADDRESS, GUESSER_ADDRESS
    if not loopback_source_works(FLOOD_ADDRESS):
        say(f"note: cannot send from {FLOOD_ADDRESS}; the attackers share {HOST} with the admin")
        flooder = guesser = HOST
    password = secrets.token_urlsafe(12)
    admin_auth = basic("admin", password)
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="hostile-") as workdir,
        running_server(Path(workdir), password) as server,
    ):
        budget = RUN_BUDGET_QUICK if arguments.quick else RUN_BUDGET
        context = Context(
            server, admin_auth, arguments.quick, time.monotonic() + budget, flooder, guesser
        )
        context.start_class()
        _create_extension(context)
        healthz = Probe(
            "healthz",
            lambda: exchange(server.port, request_head("GET", "/healthz"), timeout=PROBE_TIMEOUT),
            0.05,
            context.run_deadline + PROBE_MARGIN,
        )
        get_info = envelope(GET_INFO, "<extensions><extension>201</extension></extensions>")
        admin = Probe(
            "admin",
            lambda: post(server.port, "/xml", get_info, admin_auth, timeout=PROBE_TIMEOUT),
            0.2,
            context.run_deadline + PROBE_MARGIN,
        )
        healthz.start()
        admin.start()
        rows = []
        try:
            for name, run in CLASSES:
                if time.monotonic() > context.run_deadline:
                    say(f"-- skipped (time budget spent): {name}")
                    continue
                say(f"-- {name} (at {time.monotonic() - started:.0f} s)")
                rows.append(measure(name, run, context, healthz, admin))
                settle(context)
        finally:
            healthz.stopping.set()
            admin.stopping.set()
            healthz.join(timeout=PROBE_TIMEOUT + 1)
            admin.join(timeout=PROBE_TIMEOUT + 1)
        say()
        print_table(rows)
        say(f"\n(run took {time.monotonic() - started:.0f} s; server log: last lines below)")
        say(server.log_tail(5))


def _create_extension(context: Context) -> None:
    """Extension 201 with a web password, so that guesses can aim at an existing one."""
    request = envelope(
        BULK_UPLOAD,
        "<extension_type>sip</extension_type><dupe_process>1</dupe_process>"
        "<template_account_id>1</template_account_id>",
    )
    content_type, body = multipart(
        {
            "request": (None, request),
            "csv_file": (
                "one.csv",
                b"ext,fname,lname,email,password,phone_password\r\n"
                b"201,Ada,Lovelace,ada@example.com,webpass201,sippass201\r\n",
            ),
        }
    )
    answer = context.post("/xml", body, None, content_type)
    if answer.status != 200 or answer.fault:
        say(f"note: creating extension 201 answered {answer.describe()}")


if __name__ == "__main__":
    main()
