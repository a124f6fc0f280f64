"""Uploads racing each other through server processes: no number or
MAC is created twice, no write is lost, nobody gets a 500, and reads are not held up."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from lxml import etree
from sqlalchemy import make_url

from switchvox_server.bulk.rules import normalise_mac
from tests.helpers import request_xml, stored_count, stored_extensions
from tests.servers import (
    AUTH,
    csv_bytes,
    mac_of,
    post_upload,
    report_of,
    server_process,
    wait_for,
    writer_lock_held,
)

ROWS_PER_FILE = 2000
# Each file starts this far after the one before: in a race of up to four, every two files
# share numbers.
OFFSET = 500
FIRST_NUMBER = 100_000
# Files with dupe_process 3 update what they find, renaming everyone they touch.
UPDATED_LAST_NAME = "Updated"
REQUEST_TIMEOUT_SECONDS = 120.0
GET_INFO_LIMIT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Upload:
    numbers: range
    dupe_process: int
    mac_offset: int = 0

    @property
    def last_name(self) -> str:
        return UPDATED_LAST_NAME if self.dupe_process == 3 else "Tester"

    def body(self) -> bytes:
        return csv_bytes(self.numbers, last_name=self.last_name, mac_offset=self.mac_offset)


def overlapping_uploads(dupe_processes: Sequence[int]) -> list[Upload]:
    """Files of ROWS_PER_FILE numbers, each starting OFFSET after the one before."""
    return [
        Upload(range(start, start + ROWS_PER_FILE), dupe_process)
        for start, dupe_process in zip(
            range(FIRST_NUMBER, FIRST_NUMBER + OFFSET * len(dupe_processes), OFFSET),
            dupe_processes,
            strict=True,
        )
    ]


def race(urls: Sequence[str], uploads: Sequence[Upload]) -> list[dict[str, list[str]]]:
    """Post every upload at the same moment, the i-th to urls[i % len(urls)]; return the
    reports in the order of `uploads`."""
    barrier = threading.Barrier(len(uploads), timeout=30)

    def post(index: int) -> dict[str, list[str]]:
        upload = uploads[index]
        body = upload.body()
        with httpx2.Client(timeout=REQUEST_TIMEOUT_SECONDS) as client:
            barrier.wait()
            response = post_upload(
                client, urls[index % len(urls)], body, dupe_process=upload.dupe_process
            )
        return report_of(response)

    with ThreadPoolExecutor(max_workers=len(uploads)) as pool:
        futures = [pool.submit(post, index) for index in range(len(uploads))]
        return [future.result(timeout=REQUEST_TIMEOUT_SECONDS * 2) for future in futures]


def assert_consistent(
    database_url: str, uploads: Sequence[Upload], reports: Sequence[dict[str, list[str]]]
) -> None:
    """Each report accounts for its file's rows once; the store holds each number once,
    created by exactly one upload, with the last write of each row kept."""
    created: Counter[str] = Counter()
    for upload, report in zip(uploads, reports, strict=True):
        listed = [number for numbers in report.values() for number in numbers]
        assert sorted(listed) == sorted(map(str, upload.numbers))
        assert report["create_failed"] == []
        assert report["replaced"] == []
        found = report["updated"] if upload.dupe_process == 3 else report["skipped"]
        assert len(report["created"]) + len(found) == len(upload.numbers)
        created.update(report["created"])
    assert [number for number, times in created.items() if times > 1] == []

    stored = stored_extensions(database_url, "last_name", "mac_address")
    numbers = set(stored)
    assert stored_count(database_url) == len(numbers)  # no number stored twice
    assert numbers == set(created)
    every_number = {str(number) for upload in uploads for number in upload.numbers}
    assert numbers == every_number
    for report in reports:
        # A row found rather than created lost its race to another upload's creation.
        found = report["updated"] + report["skipped"]
        own = set(report["created"])
        assert all(created[number] == 1 and number not in own for number in found)

    macs = [row["mac_address"] for row in stored.values()]
    assert len(macs) == len(set(macs))
    updated = {
        str(number) for upload in uploads if upload.dupe_process == 3 for number in upload.numbers
    }
    for number, row in stored.items():
        assert row["mac_address"] == normalise_mac(mac_of(int(number)))
        assert row["last_name"] == (UPDATED_LAST_NAME if number in updated else "Tester"), number


@pytest.mark.slow
def test_overlapping_uploads_through_one_process(database_url: str) -> None:
    """Four overlapping uploads at once through one server all get a full report, and each
    number is created once, by one of them."""
    uploads = overlapping_uploads([1, 1, 1, 3])
    with server_process(database_url) as server:
        reports = race([server.url], uploads)
        assert server.process.poll() is None, server.log()
    assert_consistent(database_url, uploads, reports)


@pytest.mark.postgres
def test_overlapping_uploads_through_two_processes(database_url: str) -> None:
    """Overlapping uploads through two server processes on one PostgreSQL database never
    create a number twice, never lose a write, and never answer with a fault."""
    uploads = overlapping_uploads([1, 3, 1, 1, 3, 1])
    with ExitStack() as stack:
        servers = [stack.enter_context(server_process(database_url)) for _ in range(2)]
        reports = race([server.url for server in servers], uploads)
    assert_consistent(database_url, uploads, reports)


@pytest.mark.slow
def test_racing_uploads_never_give_one_mac_twice(database_url: str) -> None:
    """Four uploads at once giving the same MACs to different numbers: one creates its rows,
    the others fail every row, and each MAC is stored once (two processes on PostgreSQL)."""
    processes = 2 if make_url(database_url).get_backend_name() == "postgresql" else 1
    uploads = [
        Upload(range(start, start + ROWS_PER_FILE), 1, mac_offset=FIRST_NUMBER - start)
        for start in range(FIRST_NUMBER, FIRST_NUMBER + 4 * ROWS_PER_FILE, ROWS_PER_FILE)
    ]
    with ExitStack() as stack:
        servers = [stack.enter_context(server_process(database_url)) for _ in range(processes)]
        reports = race([server.url for server in servers], uploads)
    outcomes = sorted((len(report["created"]), len(report["create_failed"])) for report in reports)
    assert outcomes == [(0, ROWS_PER_FILE)] * 3 + [(ROWS_PER_FILE, 0)]
    assert stored_count(database_url) == ROWS_PER_FILE
    stored = stored_extensions(database_url, "mac_address").values()
    assert {row["mac_address"] for row in stored} == {
        normalise_mac(mac_of(number)) for number in uploads[0].numbers
    }


@pytest.mark.slow
def test_get_info_answers_during_a_large_upload(database_url: str, tmp_path: Path) -> None:
    """getInfo answers within two seconds while a large upload holds the writer lock."""
    large = range(200_000, 300_000)
    path = tmp_path / "large.csv"
    path.write_bytes(csv_bytes(large))
    get_info = request_xml("switchvox.extensions.getInfo", extensions="<extension>101</extension>")
    with server_process(database_url) as server, httpx2.Client(timeout=30) as client:
        report_of(post_upload(client, server.url, csv_bytes([101])))

        responses: list[httpx2.Response] = []
        finished: list[float] = []

        def upload() -> None:
            with path.open("rb") as file, httpx2.Client(timeout=REQUEST_TIMEOUT_SECONDS) as own:
                responses.append(post_upload(own, server.url, file))
            finished.append(time.monotonic())

        thread = threading.Thread(target=upload, daemon=True)
        thread.start()
        wait_for(
            lambda: writer_lock_held(database_url) or not thread.is_alive(),
            timeout=60,
            what="the upload holds the writer lock",
        )
        answers: list[tuple[float, float]] = []  # (seconds taken, when answered)
        deadline = time.monotonic() + REQUEST_TIMEOUT_SECONDS
        while thread.is_alive() and time.monotonic() < deadline:
            started = time.monotonic()
            response = client.post(f"{server.url}/xml", content=get_info, auth=AUTH)
            answered = time.monotonic()
            assert response.status_code == 200, response.text
            document = etree.fromstring(response.content)
            numbers = [node.get("number") for node in document.iterfind(".//extension")]
            assert numbers == ["101"], response.text
            answers.append((answered - started, answered))
            time.sleep(0.05)
        thread.join(timeout=REQUEST_TIMEOUT_SECONDS)
    assert not thread.is_alive()
    report = report_of(responses[0])
    assert len(report["created"]) == len(large)
    during = [taken for taken, answered in answers if answered < finished[0]]
    assert during, "no getInfo was answered while the upload ran; make the upload larger"
    assert max(during) < GET_INFO_LIMIT_SECONDS, during
