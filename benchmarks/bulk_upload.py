"""Benchmark of `switchvox.extensions.phones.bulk.upload` (docs/csv.md).

Prints figures; asserts nothing. All traffic goes to 127.0.0.1.

    .venv/bin/python benchmarks/bulk_upload.py [--rows 100000] [--postgres URL] [--big]
                                               [--skip-floor]

1. The floor: the least work an upload of N rows needs, measured in-process with the project's
   own library versions (stdlib csv, a per-row check, one SQLAlchemy Core executemany into a
   table created from the project's metadata, one lxml report).
2. End to end over HTTP: the real server as a uvicorn subprocess on SQLite; create N rows, then
   the same file with dupe_process 3 (update) and 1 (skip); peak RSS of the server and its
   helper process (summed); the latency of getInfo requests sent while the create runs.
3. `--postgres URL`: the same create on PostgreSQL, then N more rows into the now-full table.
   The public schema of that (scratch) database is dropped and recreated first.
4. `--big`: the largest six-digit file, 900,000 rows, with its time and peak RSS.
5. `--history`: the cost of the import history: the same create on fresh SQLite servers
   with SWITCHVOX_HISTORY=false and =true, alternating, `--history-rounds` times each.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import httpx2
from lxml import etree
from processes import HOST, free_port, log_tail, status_mib  # benchmarks/processes.py
from sqlalchemy import Engine, Table, create_engine, event, insert, text

from switchvox_server.passwords import digest_ha1, sip_ha1, voicemail_pin_digest
from switchvox_server.store.models import Base, Extension, Template

BULK_UPLOAD = "switchvox.extensions.phones.bulk.upload"
SECTIONS = ("create_failed", "created", "replaced", "updated", "skipped")
CSV_HEADER = (
    "ext",
    "fname",
    "lname",
    "email",
    "password",
    "voicemail_password",
    "phone_password",
)
FIRST_EXTENSION = 100_000
LAST_EXTENSION = 999_999
BIG_ROWS = LAST_EXTENSION - FIRST_EXTENSION + 1  # 900,000: every six-digit number
REFERENCE_ROWS = 100_000  # the size the 100k targets are stated for

SERVER_START_SECONDS = 60.0
POLL_SECONDS = 0.1
UPLOAD_TIMEOUT = httpx2.Timeout(1800.0, connect=10.0)
PROBE_INTERVAL = 0.2
PROBE_MAX_REQUESTS = 200
PG_RETRY_WAIT_SECONDS = 15.0

# The per-row check of the floor: the same email shape the server accepts.
EMAIL_ADDRESS = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
SECTION_PATTERN = re.compile(
    rb"<(create_failed|created|replaced|updated|skipped)(?:\s*/>|>(.*?)</\1>)", re.S
)
FAULT_PATTERN = re.compile(rb'<error code="(\d+)" message="([^"]*)"')

GET_INFO_REQUEST = (
    b'<request method="switchvox.extensions.getInfo"><parameters><extensions>'
    b"<extension>100000</extension></extensions></parameters></request>"
)


def say(line: str = "") -> None:
    print(line, flush=True)


# --------------------------------------------------------------------------- the CSV


def write_csv(path: Path, first: int, count: int) -> Path:
    """`count` valid new SIP rows numbered from `first` (no MAC column)."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for number in range(first, first + count):
            writer.writerow(
                (
                    number,
                    f"First{number}",
                    f"Last{number}",
                    f"user{number}@example.com",
                    f"web-{number}-pass",
                    1000 + number % 9000,
                    f"sip-{number}-secret",
                )
            )
    return path


# --------------------------------------------------------------------------- the floor


@dataclass(slots=True)
class Floor:
    stages: dict[str, float] = field(default_factory=dict)
    rows: int = 0

    @property
    def total(self) -> float:
        return sum(self.stages.values())


def _timed(stages: dict[str, float], name: str, work: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = work()
    stages[name] = time.perf_counter() - started
    return result


def _read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as source:
        return list(csv.DictReader(source))


def _row_is_valid(row: dict[str, str]) -> bool:
    ext, pin, phone_password = row["ext"], row["voicemail_password"], row["phone_password"]
    return (
        ext.isascii()
        and ext.isdigit()
        and 3 <= len(ext) <= 6
        and 1 <= len(row["fname"].strip()) <= 32
        and 1 <= len(row["lname"].strip()) <= 32
        and len(row["email"]) <= 254
        and EMAIL_ADDRESS.fullmatch(row["email"].strip()) is not None
        and 4 <= len(row["password"]) <= 32
        and pin.isascii()
        and pin.isdigit()
        and 4 <= len(pin) <= 16
        and 1 <= len(phone_password) <= 32
        and phone_password != ext
    )


def _sqlite_engine(path: Path) -> Engine:
    """A SQLite engine with the pragmas the server sets on its own connections."""
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def _insert_rows(engine: Engine, rows: list[dict[str, str]]) -> None:
    """One transaction, one executemany; secrets are placeholders of the stored length."""
    created = datetime.now().replace(microsecond=0)
    values = [
        {
            "number": row["ext"],
            "extension_type": "sip",
            "first_name": row["fname"].strip(),
            "last_name": row["lname"].strip(),
            "email": row["email"].strip(),
            "title": "",
            "location": "",
            "web_password_ha1": "0" * 32,
            "voicemail_pin_digest": "0" * 64,
            "phone_password_ha1": "0" * 32,
            "mac_address": None,
            "template_id": 1,
            "status": "1",
            "lang_locale": "en_us",
            "can_dial_from_ivr": True,
            "voicemail_enabled": True,
            "date_created": created,
        }
        for row in rows
    ]
    with engine.begin() as connection:
        connection.execute(insert(cast(Table, Extension.__table__)), values)


def _serialise_report(rows: list[dict[str, str]]) -> bytes:
    response = etree.Element("response", method=BULK_UPLOAD)
    result = etree.SubElement(response, "result")
    report = etree.SubElement(
        result, "bulk_creation_report", dupe_process="1", extension_type="SIP Extension"
    )
    etree.SubElement(report, "create_failed")
    created = etree.SubElement(report, "created")
    for row in rows:
        etree.SubElement(
            created,
            "extension",
            extension=row["ext"],
            first_name=row["fname"],
            last_name=row["lname"],
            email=row["email"],
        )
    for name in SECTIONS[2:]:
        etree.SubElement(report, name)
    return etree.tostring(response)


def _hash_secrets(rows: list[dict[str, str]]) -> None:
    key = secrets.token_bytes(32)
    for row in rows:
        ext = row["ext"]
        digest_ha1(ext, row["password"])
        voicemail_pin_digest(key, ext, row["voicemail_password"])
        sip_ha1(ext, row["phone_password"])


def measure_floor(csv_path: Path, workdir: Path) -> Floor:
    """Time the four stages of the least work an upload needs, on a fresh SQLite file."""
    say(f"== floor (in-process, {csv_path.name})")
    engine = _sqlite_engine(workdir / "floor.db")
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(cast(Table, Template.__table__)).values(
                id=1,
                name="Default",
                lang_locale="en_us",
                can_dial_from_ivr=True,
                status="1",
                title="",
                location="",
                voicemail_enabled=True,
                voicemail_pin_rule="extension",
            )
        )
    floor = Floor()
    stages = floor.stages
    rows: list[dict[str, str]] = _timed(stages, "read csv", lambda: _read_rows(csv_path))
    valid: list[dict[str, str]] = _timed(
        stages, "check rows", lambda: [row for row in rows if _row_is_valid(row)]
    )
    _timed(stages, "insert (one executemany)", lambda: _insert_rows(engine, valid))
    report: bytes = _timed(stages, "serialise lxml report", lambda: _serialise_report(valid))
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT count(*) FROM extensions")).scalar_one()
    engine.dispose()
    floor.rows = len(valid)
    for name, seconds in stages.items():
        say(f"  {name:<28} {seconds:8.3f} s")
    say(f"  {'floor (sum)':<28} {floor.total:8.3f} s")
    say(
        f"  rows read {len(rows)}, valid {len(valid)}, stored {stored},"
        f" report {len(report) / 2**20:.1f} MiB"
    )
    hashing: dict[str, float] = {}
    _timed(hashing, "hash", lambda: _hash_secrets(valid))
    say(
        f"  (not in the floor: hashing the 3 secrets of every row with the project's"
        f" functions takes {hashing['hash']:.3f} s)"
    )
    return floor


# --------------------------------------------------------------------------- the server


class ServerError(RuntimeError):
    """The server subprocess did not start or answer."""


def _process_tree(pid: int) -> list[int]:
    """The process and its descendants, from /proc."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            found.extend(_process_tree(int(child)))
    return found


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0  # the process ended meanwhile
    # utime and stime are fields 14 and 15 of proc(5); the split starts at field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(slots=True)
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def memory_mib(self, field_name: str = "VmHWM") -> float:
        """A `/proc/<pid>/status` memory figure in MiB (VmHWM: peak resident set), summed over
        the server and its helper processes (the writer of large uploads): the sum of peaks
        is an upper bound of what they held at once."""
        return sum(status_mib(pid, field_name) for pid in _process_tree(self.process.pid))

    def cpu_seconds(self) -> float:
        """User and system CPU time so far, summed over the server and its helper processes:
        unlike the wall time, it does not depend on what else the machine runs."""
        return sum(_cpu_seconds(pid) for pid in _process_tree(self.process.pid))

    def log_tail(self, lines: int = 20) -> str:
        return log_tail(self.log_path, lines)


@contextmanager
def running_server(
    database_url: str,
    admin_password: str,
    workdir: Path,
    name: str,
    environment: dict[str, str] | None = None,
) -> Iterator[Server]:
    """A fresh `uvicorn switchvox_server.asgi:app` process on a free loopback port."""
    port = free_port()
    # SWITCHVOX_CONTROL_TOKEN passes through: with it, every figure is with the control
    # API and its request journal on.
    env = {
        key: value
        for key, value in os.environ.items()
        if key == "SWITCHVOX_CONTROL_TOKEN"
        or (not key.startswith("SWITCHVOX_") and key != "DATABASE_URL")
    }
    env.update(DATABASE_URL=database_url, SWITCHVOX_ADMIN_PASSWORD=admin_password)
    env.update(environment or {})
    log_path = workdir / f"server-{name}.log"
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "switchvox_server.asgi:app",
        "--host",
        HOST,
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    server = Server(process, f"http://{HOST}:{port}", log_path)
    try:
        _wait_until_healthy(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def _wait_until_healthy(server: Server) -> None:
    attempts = int(SERVER_START_SECONDS / POLL_SECONDS)
    with httpx2.Client(trust_env=False, timeout=2.0) as client:
        for _ in range(attempts):
            if server.process.poll() is not None:
                raise ServerError(f"the server exited at start:\n{server.log_tail()}")
            try:
                if client.get(f"{server.base_url}/healthz").status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            time.sleep(POLL_SECONDS)
    raise ServerError(f"the server did not answer /healthz in time:\n{server.log_tail()}")


# --------------------------------------------------------------------------- uploads


@dataclass(slots=True)
class Upload:
    seconds: float
    status: int
    counts: dict[str, int]
    fault: str | None
    size: int

    def describe(self) -> str:
        if self.fault is not None:
            return f"HTTP {self.status}, fault {self.fault}"
        if self.status != 200:
            return f"HTTP {self.status}"
        sections = ", ".join(f"{name} {count}" for name, count in self.counts.items() if count)
        return f"{sections or 'an empty report'} ({self.size / 2**20:.1f} MiB)"

    def holds(self, section: str, rows: int) -> bool:
        return self.status == 200 and self.fault is None and self.counts.get(section) == rows


def _request_envelope(dupe_process: int) -> str:
    return (
        f'<request method="{BULK_UPLOAD}"><parameters>'
        f"<extension_type>sip</extension_type><dupe_process>{dupe_process}</dupe_process>"
        "<template_account_id>1</template_account_id></parameters></request>"
    )


def _read_report(body: bytes) -> tuple[dict[str, int], str | None]:
    """Rows per section (counted without parsing), or the fault of a fault envelope."""
    if b"<errors>" in body[:4096]:
        found = FAULT_PATTERN.search(body)
        fault = f"{found.group(1).decode()} {found.group(2).decode()!r}" if found else "?"
        return {}, fault
    counts = dict.fromkeys(SECTIONS, 0)
    for match in SECTION_PATTERN.finditer(body):
        counts[match.group(1).decode()] = (match.group(2) or b"").count(b"<extension ")
    return counts, None


def post_upload(server: Server, auth: tuple[str, str], csv_path: Path, dupe_process: int) -> Upload:
    """Post the CSV as multipart (streamed from disk) and time the whole exchange."""
    with (
        httpx2.Client(trust_env=False, auth=auth, timeout=UPLOAD_TIMEOUT) as client,
        csv_path.open("rb") as csv_file,
    ):
        started = time.perf_counter()
        response = client.post(
            f"{server.base_url}/xml",
            data={"request": _request_envelope(dupe_process)},
            files={"csv_file": (csv_path.name, csv_file, "text/csv")},
        )
        body = response.content
        seconds = time.perf_counter() - started
    counts, fault = _read_report(body) if response.status_code == 200 else ({}, None)
    return Upload(seconds, response.status_code, counts, fault, len(body))


class GetInfoProbe(threading.Thread):
    """Posts a getInfo request every PROBE_INTERVAL until stopped; records the latencies."""

    def __init__(self, server: Server, auth: tuple[str, str]) -> None:
        super().__init__(name="getinfo-probe", daemon=True)
        self.url = f"{server.base_url}/xml"
        self.auth = auth
        self.stopping = threading.Event()
        self.latencies: list[float] = []
        self.answers: dict[str, int] = {}

    def run(self) -> None:
        with httpx2.Client(trust_env=False, auth=self.auth, timeout=30.0) as client:
            for _ in range(PROBE_MAX_REQUESTS):
                if self.stopping.is_set():
                    return
                started = time.perf_counter()
                answer = self._ask(client)
                elapsed = time.perf_counter() - started
                self.latencies.append(elapsed)
                self.answers[answer] = self.answers.get(answer, 0) + 1
                self.stopping.wait(max(0.0, PROBE_INTERVAL - elapsed))

    def _ask(self, client: httpx2.Client) -> str:
        try:
            response = client.post(
                self.url, content=GET_INFO_REQUEST, headers={"content-type": "application/xml"}
            )
        except httpx2.HTTPError as error:
            return f"error {type(error).__name__}"
        if response.status_code != 200:
            return f"HTTP {response.status_code}"
        if b"<errors>" in response.content:
            found = FAULT_PATTERN.search(response.content)
            return f"fault {found.group(2).decode()!r}" if found else "fault"
        return "result"

    def describe(self) -> str:
        answers = ", ".join(f"{count} x {answer}" for answer, count in self.answers.items())
        return f"{len(self.latencies)} requests: {answers or 'none'}"


# --------------------------------------------------------------------------- the summary


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    value: str
    target: str
    verdict: str


class Summary:
    def __init__(self) -> None:
        self.figures: list[Figure] = []

    def add(self, name: str, value: str, target: str = "", met: bool | None = None) -> None:
        verdict = "" if met is None else ("ok" if met else "MISSED")
        self.figures.append(Figure(name, value, target, verdict))

    def print(self) -> None:
        headers = Figure("figure", "value", "target", "")
        widths = [
            max(len(getattr(figure, name)) for figure in [headers, *self.figures])
            for name in ("name", "value", "target")
        ]
        say("== summary")
        for figure in [headers, *self.figures]:
            say(
                f"  {figure.name:<{widths[0]}}  {figure.value:>{widths[1]}}"
                f"  {figure.target:<{widths[2]}}  {figure.verdict}".rstrip()
            )


def ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or not reference:
        return None
    return value / reference


def show(value: float | None, unit: str) -> str:
    return "n/a" if value is None else f"{value:.2f}{unit}"


# --------------------------------------------------------------------------- scenarios


@dataclass(slots=True)
class Results:
    floor: Floor | None = None
    create: Upload | None = None
    update: Upload | None = None
    skip: Upload | None = None
    peak_mib: float | None = None
    probe_max: float | None = None
    pg_first: Upload | None = None
    pg_second: Upload | None = None
    pg_peak_mib: float | None = None
    big: Upload | None = None
    big_peak_mib: float | None = None
    history: dict[bool, list[tuple[float, float, float]]] = field(default_factory=dict)
    """History on or off -> (seconds, CPU seconds, peak RSS MiB) of each create."""


def _report_upload(label: str, upload: Upload, rows: int, section: str) -> None:
    check = "" if upload.holds(section, rows) else f"  <-- expected {section} {rows}"
    say(f"  {label:<40} {upload.seconds:8.3f} s   {upload.describe()}{check}")


def sqlite_scenario(
    csv_path: Path, rows: int, workdir: Path, auth: tuple[str, str], results: Results
) -> None:
    """Create, update and skip the same file on a fresh SQLite server; getInfo during create."""
    say(f"== SQLite over HTTP ({rows} rows)")
    database_url = f"sqlite:///{workdir / 'bench.db'}"
    with running_server(database_url, auth[1], workdir, "sqlite") as server:
        say(f"  server pid {server.process.pid}, RSS at start {server.memory_mib('VmRSS'):.1f} MiB")
        probe = GetInfoProbe(server, auth)
        probe.start()
        try:
            create = post_upload(server, auth, csv_path, dupe_process=1)
        finally:
            probe.stopping.set()
            probe.join(timeout=60)
        _report_upload("create (dupe_process 1)", create, rows, "created")
        floor_total = results.floor.total if results.floor else None
        say(f"    ratio to the floor: {show(ratio(create.seconds, floor_total), ' x')}")
        say(f"    peak RSS after create: {server.memory_mib():.1f} MiB")
        results.probe_max = max(probe.latencies) if probe.latencies else None
        say(f"    getInfo during the create: max {show(results.probe_max, ' s')}")
        say(f"      ({probe.describe()})")

        update = post_upload(server, auth, csv_path, dupe_process=3)
        _report_upload("same file, update (dupe_process 3)", update, rows, "updated")
        say(f"    ratio to the create: {show(ratio(update.seconds, create.seconds), ' x')}")
        say(f"    peak RSS after update: {server.memory_mib():.1f} MiB")

        skip = post_upload(server, auth, csv_path, dupe_process=1)
        _report_upload("same file, skip (dupe_process 1)", skip, rows, "skipped")
        results.peak_mib = server.memory_mib()
        say(f"    peak RSS after skip: {results.peak_mib:.1f} MiB")
    results.create, results.update, results.skip = create, update, skip


def reset_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def _postgres_attempt(
    url: str, files: tuple[Path, Path | None], rows: int, workdir: Path, auth: tuple[str, str]
) -> tuple[Upload, Upload | None, float]:
    say(f"  WARNING: dropping and recreating the public schema of {_hide_password(url)}")
    reset_postgres(url)
    first_file, second_file = files
    with running_server(url, auth[1], workdir, "postgres") as server:
        first = post_upload(server, auth, first_file, dupe_process=1)
        _report_upload("create into an empty table", first, rows, "created")
        second = None
        if second_file is not None:
            second = post_upload(server, auth, second_file, dupe_process=1)
            _report_upload(f"create {rows} more (table holds {rows})", second, rows, "created")
            say(f"    ratio second / first: {show(ratio(second.seconds, first.seconds), ' x')}")
        peak = server.memory_mib()
        say(f"    peak RSS: {peak:.1f} MiB")
    return first, second, peak


def postgres_scenario(
    url: str,
    files: tuple[Path, Path | None],
    rows: int,
    workdir: Path,
    auth: tuple[str, str],
    results: Results,
) -> None:
    """Two creates of N new rows each on PostgreSQL; retried once if the first attempt fails
    (other users of the scratch database may drop the schema under us)."""
    say(f"== PostgreSQL over HTTP ({rows} rows, then {rows} more)")
    for attempt in (1, 2):
        try:
            first, second, peak = _postgres_attempt(url, files, rows, workdir, auth)
        except Exception as error:  # the database is shared: report and retry once
            say(f"  attempt {attempt} failed: {type(error).__name__}: {error}")
            failed = True
        else:
            failed = not first.holds("created", rows) or (
                second is not None and not second.holds("created", rows)
            )
            results.pg_first, results.pg_second, results.pg_peak_mib = first, second, peak
        if not failed:
            return
        if attempt == 1:
            say(f"  waiting {PG_RETRY_WAIT_SECONDS:.0f} s and retrying once")
            time.sleep(PG_RETRY_WAIT_SECONDS)


def big_scenario(csv_path: Path, workdir: Path, auth: tuple[str, str], results: Results) -> None:
    say(f"== SQLite over HTTP, the largest six-digit file ({BIG_ROWS} rows)")
    with running_server(f"sqlite:///{workdir / 'big.db'}", auth[1], workdir, "big") as server:
        big = post_upload(server, auth, csv_path, dupe_process=1)
        _report_upload("create", big, BIG_ROWS, "created")
        results.big, results.big_peak_mib = big, server.memory_mib()
        say(f"    peak RSS: {results.big_peak_mib:.1f} MiB")


def history_scenario(
    csv_path: Path, rows: int, rounds: int, workdir: Path, auth: tuple[str, str], results: Results
) -> None:
    """The same create on fresh SQLite servers without and with the history, alternating so
    that the machine's drift touches both alike."""
    say(f"== the import history's cost: create {rows} rows, {rounds} rounds")
    for round_number in range(rounds):
        for history in (False, True):
            name = f"history-{history}-{round_number}"
            database_url = f"sqlite:///{workdir / (name + '.db')}"
            environment = {"SWITCHVOX_HISTORY": "true" if history else "false"}
            with running_server(database_url, auth[1], workdir, name, environment) as server:
                cpu_before = server.cpu_seconds()
                create = post_upload(server, auth, csv_path, dupe_process=1)
                cpu = server.cpu_seconds() - cpu_before
                peak = server.memory_mib()
            _report_upload(
                f"history {'on ' if history else 'off'} round {round_number + 1}",
                create,
                rows,
                "created",
            )
            say(f"    CPU (server and helper): {cpu:.2f} s, peak RSS: {peak:.1f} MiB")
            results.history.setdefault(history, []).append((create.seconds, cpu, peak))


def _hide_password(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def summarise(results: Results, rows: int) -> Summary:
    summary = Summary()
    floor = results.floor.total if results.floor else None
    summary.add("floor (s)", show(floor, ""))
    create = results.create.seconds if results.create else None
    create_ratio = ratio(create, floor)
    summary.add(f"SQLite create {rows} (s)", show(create, ""))
    summary.add(
        "  create / floor",
        show(create_ratio, " x"),
        "<= 1.1 x floor",
        None if create_ratio is None else create_ratio <= 1.1,
    )
    update = results.update.seconds if results.update else None
    update_ratio = ratio(update, create)
    summary.add("SQLite update, same file (s)", show(update, ""))
    summary.add(
        "  update / create",
        show(update_ratio, " x"),
        "<= 1.5 x create",
        None if update_ratio is None else update_ratio <= 1.5,
    )
    summary.add("SQLite skip re-post (s)", show(results.skip.seconds if results.skip else None, ""))
    summary.add(
        f"peak RSS, {rows} rows (MiB)",
        show(results.peak_mib, ""),
        f"<= 150 MiB at {REFERENCE_ROWS}",
        None if results.peak_mib is None else results.peak_mib <= 150,
    )
    summary.add(
        "getInfo max latency during create (s)",
        show(results.probe_max, ""),
        "<= 0.5 s",
        None if results.probe_max is None else results.probe_max <= 0.5,
    )
    if results.pg_first is not None:
        first = results.pg_first.seconds
        summary.add("PG create, empty table (s)", show(first, ""), "<= 6 s", first <= 6)
        second = results.pg_second.seconds if results.pg_second else None
        pg_ratio = ratio(second, first)
        summary.add(
            "PG create, full table (s)",
            show(second, ""),
            "<= 6 s",
            None if second is None else second <= 6,
        )
        summary.add(
            "  PG second / first",
            show(pg_ratio, " x"),
            "~= 1 (0.8 - 1.25, ours)",
            None if pg_ratio is None else 0.8 <= pg_ratio <= 1.25,
        )
        summary.add("PG peak RSS (MiB)", show(results.pg_peak_mib, ""))
    if results.big is not None:
        big = results.big.seconds
        big_ratio = ratio(big, create) if rows == REFERENCE_ROWS else None
        summary.add(f"create {BIG_ROWS} (s)", show(big, ""))
        summary.add(
            f"  {BIG_ROWS} / {REFERENCE_ROWS} create",
            show(big_ratio, " x"),
            "<= 10 x",
            None if big_ratio is None else big_ratio <= 10,
        )
        summary.add(
            f"peak RSS, {BIG_ROWS} rows (MiB)",
            show(results.big_peak_mib, ""),
            "<= 300 MiB",
            None if results.big_peak_mib is None else results.big_peak_mib <= 300,
        )
    if results.history.get(False) and results.history.get(True):
        off, on = results.history[False], results.history[True]
        for index, label in ((0, "wall"), (1, "CPU")):
            best_off = min(figures[index] for figures in off)
            best_on = min(figures[index] for figures in on)
            summary.add(f"create {rows}, history off, best {label} (s)", show(best_off, ""))
            summary.add(f"create {rows}, history on, best {label} (s)", show(best_on, ""))
            summary.add(
                f"  history on / off ({label})",
                show(best_on / best_off, " x"),
                "<= 1.15 x",
                best_on / best_off <= 1.15,
            )
        peak_off = max(figures[2] for figures in off)
        peak_on = max(figures[2] for figures in on)
        summary.add(
            "peak RSS, history off / on (MiB)",
            f"{peak_off:.1f} / {peak_on:.1f}",
            "<= 150 MiB",
            peak_on <= 150,
        )
    return summary


# --------------------------------------------------------------------------- main


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=REFERENCE_ROWS, help="rows per file")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="a scratch PostgreSQL database (its public schema is dropped and recreated)",
    )
    parser.add_argument("--big", action="store_true", help=f"also upload {BIG_ROWS} rows")
    parser.add_argument("--skip-floor", action="store_true", help="do not measure the floor")
    parser.add_argument(
        "--history", action="store_true", help="measure the create without and with the history"
    )
    parser.add_argument(
        "--history-only", action="store_true", help="measure only that (no other scenario)"
    )
    parser.add_argument("--history-rounds", type=int, default=3, metavar="N")
    arguments = parser.parse_args(argv)
    if not 1 <= arguments.rows <= BIG_ROWS:
        parser.error(f"--rows must be between 1 and {BIG_ROWS}")
    return arguments


def second_range_start(rows: int) -> int | None:
    """Where the PostgreSQL second file starts: 200000 when it fits, else right after the
    first file; None when two files of `rows` six-digit numbers cannot both fit."""
    start = 200_000 if rows <= 100_000 else FIRST_EXTENSION + rows
    return start if start + rows - 1 <= LAST_EXTENSION else None


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    rows: int = arguments.rows
    started = time.perf_counter()
    auth = ("admin", secrets.token_urlsafe(16))
    results = Results()
    with tempfile.TemporaryDirectory(prefix="switchvox-bench-") as temporary:
        workdir = Path(temporary)
        say(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, work dir {workdir}")
        csv_path = write_csv(workdir / f"extensions-{rows}.csv", FIRST_EXTENSION, rows)
        say(f"CSV: {rows} rows, {csv_path.stat().st_size / 2**20:.1f} MiB")
        if arguments.history or arguments.history_only:
            rounds = max(1, arguments.history_rounds)
            history_scenario(csv_path, rows, rounds, workdir, auth, results)
        if arguments.history_only:
            summarise(results, rows).print()
            return
        if not arguments.skip_floor:
            results.floor = measure_floor(csv_path, workdir)
        try:
            sqlite_scenario(csv_path, rows, workdir, auth, results)
        except (ServerError, httpx2.HTTPError, OSError) as error:
            say(f"  the SQLite scenario failed: {type(error).__name__}: {error}")
        if arguments.postgres:
            start = second_range_start(rows)
            second = None
            if start is None:
                say(f"  (no second PostgreSQL file: two files of {rows} do not fit in 6 digits)")
            else:
                second = write_csv(workdir / f"extensions-{start}.csv", start, rows)
            postgres_scenario(arguments.postgres, (csv_path, second), rows, workdir, auth, results)
        if arguments.big:
            big_path = write_csv(workdir / "extensions-big.csv", FIRST_EXTENSION, BIG_ROWS)
            try:
                big_scenario(big_path, workdir, auth, results)
            except (ServerError, httpx2.HTTPError, OSError) as error:
                say(f"  the big scenario failed: {type(error).__name__}: {error}")
    summarise(results, rows).print()
    say(f"total wall time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
