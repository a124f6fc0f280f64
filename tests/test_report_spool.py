"""The report spool: written in full before the upload commits, closed however the answer
ends, and temporary space running out is fault 32334 with nothing written."""

from __future__ import annotations

import base64
import errno
import os
import socket
import tempfile
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from switchvox_server.bulk import report
from switchvox_server.settings import Settings
from switchvox_server.store import queries
from switchvox_server.testing import serve_app
from tests.conftest import ADMIN_PASSWORD
from tests.helpers import (
    fault,
    large_csv,
    open_temporary_files,
    request_xml,
    stored_count,
    upload,
)
from tests.servers import wait_for

ROWS = 20000  # enough for the helper process, and for the spool to move to disk


def failing_spool(call: str, budget: int) -> type[Any]:
    """A spool file that fails with ENOSPC once `budget` bytes have been written (`write`),
    or whenever it is flushed (`flush`): a temporary space that fills up."""

    class FullSpool(tempfile.SpooledTemporaryFile[bytes]):
        written = 0

        def write(self, data: Any) -> int:
            FullSpool.written += len(data)
            if call == "write" and FullSpool.written > budget:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return super().write(data)

        def flush(self) -> None:
            if call == "flush":
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            super().flush()

    return FullSpool


@pytest.mark.slow
@pytest.mark.parametrize("call", ["write", "flush"])
@pytest.mark.parametrize("writer_process", [False, True], ids=["in-process", "helper"])
def test_temporary_space_running_out_is_fault_32334_with_nothing_written(
    make_client: Callable[..., TestClient],
    monkeypatch: pytest.MonkeyPatch,
    call: str,
    writer_process: bool,
) -> None:
    """A spool write or flush failing for lack of space, after several stored batches, is
    fault 32334: nothing stored, no spool file left open, and the next upload works."""
    client = make_client(writer_process=writer_process)
    before = open_temporary_files()
    with monkeypatch.context() as patch:
        patch.setattr(report, "SpooledTemporaryFile", failing_spool(call, budget=300_000))
        refused = upload(client, large_csv(100000, ROWS))
    assert fault(refused) == (32334, "Error creating temporary file for bulk extension creation.")
    assert stored_count(client) == 0
    assert open_temporary_files() == before
    created = upload(client, large_csv(100000, ROWS))
    assert len(created.findall(".//created/extension")) == ROWS


@pytest.mark.slow
@pytest.mark.parametrize("writer_process", [False, True], ids=["in-process", "helper"])
def test_a_committed_upload_gets_its_whole_report_without_writing_after_the_commit(
    make_client: Callable[..., TestClient],
    monkeypatch: pytest.MonkeyPatch,
    writer_process: bool,
) -> None:
    """Once the report is sealed (before the commit) no spool is written again: with the
    temporary space full from then on, the answer is still the whole report."""
    client = make_client(writer_process=writer_process)
    full = failing_spool("write", budget=10**12)
    seal = report.BulkReport.seal

    def seal_then_fill_the_disk(self: report.BulkReport) -> None:
        seal(self)
        full.written = 10**13  # every later write fails

    monkeypatch.setattr(report, "SpooledTemporaryFile", full)
    monkeypatch.setattr(report.BulkReport, "seal", seal_then_fill_the_disk)
    response = upload(client, large_csv(100000, ROWS) + "100000,dup,x,d@test.com,a,1,s,\n")
    assert len(response.findall(".//created/extension")) == ROWS
    assert len(response.findall(".//create_failed/extension")) == 1
    assert stored_count(client) == ROWS


@pytest.mark.slow
@pytest.mark.parametrize("writer_process", [False, True], ids=["in-process", "helper"])
def test_a_failure_after_the_commit_still_answers_the_whole_report(
    make_client: Callable[..., TestClient],
    monkeypatch: pytest.MonkeyPatch,
    writer_process: bool,
) -> None:
    """The statistics refresh that follows a large commit failing (the database gone, say)
    costs the committed upload neither its report nor its rows."""

    def lost(session: object) -> None:
        raise OperationalError("ANALYZE extensions", {}, Exception("server closed the connection"))

    client = make_client(writer_process=writer_process)
    monkeypatch.setattr(queries, "refresh_statistics", lost)
    response = upload(client, large_csv(100000, ROWS))
    assert len(response.findall(".//created/extension")) == ROWS
    assert stored_count(client) == ROWS


def remember_reports(monkeypatch: pytest.MonkeyPatch) -> list[report.BulkReport]:
    """Every report made from now on, kept alive, so that only an explicit close counts."""
    reports: list[report.BulkReport] = []
    init = report.BulkReport.__init__

    def remembered(self: report.BulkReport, *args: Any) -> None:
        init(self, *args)
        reports.append(self)

    monkeypatch.setattr(report.BulkReport, "__init__", remembered)
    return reports


def closed(bulk_report: report.BulkReport) -> bool:
    """Whether every section spool of `bulk_report` is closed."""
    return all(spool._file.closed for spool in bulk_report.sections.values())


def test_the_spool_is_closed_when_rendering_fails_half_way(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An answer that breaks off while the report streams closes every spool file as the
    response ends, not whenever the objects happen to be collected."""
    reports = remember_reports(monkeypatch)
    rows = report.SectionSpool.rows

    def break_off(self: report.SectionSpool) -> Iterator[report.ReportRow]:
        yield from list(rows(self))[:10]
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(report.SectionSpool, "rows", break_off)
    with pytest.raises(OSError, match="Input/output error"):
        upload(client, large_csv(100000, 50))
    assert len(reports) == 1
    assert closed(reports[0])


@pytest.mark.parametrize("reader", ["whole", "gone"])
@pytest.mark.slow
def test_the_spool_is_closed_when_the_answer_is_sent_or_the_client_goes_away(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    """Over a live server, a report read to its end, or dropped by a client that hangs up
    after its first bytes, has its spool files closed as the response ends."""
    reports = remember_reports(monkeypatch)
    # Rows failing six rules each: a report of several MiB, more than socket buffers hold.
    rows = "".join(f"{100000 + n},,,bad,ab,1,{100000 + n}\n" for n in range(20000))
    csv = "ext,fname,lname,email,password,voicemail_password,phone_password\n" + rows
    with serve_app(settings) as url:
        port = urlsplit(url).port or 0
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            connection.sendall(multipart_upload(port, csv))
            first = connection.recv(4096)
            assert first.startswith(b"HTTP/1.1 200")
            while reader == "whole" and connection.recv(1 << 20):
                pass
        wait_for(lambda: len(reports) == 1 and closed(reports[0]), timeout=10, what="closed")


def multipart_upload(port: int, csv: str) -> bytes:
    """A whole HTTP request posting `csv` as a bulk upload, authenticated with Basic."""
    boundary = "spoolboundary"
    envelope = request_xml(extension_type="sip", dupe_process=1, template_account_id=1)
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="request"\r\n\r\n'.encode()
        + envelope
        + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="csv_file";'
        f' filename="x.csv"\r\n\r\n{csv}\r\n--{boundary}--\r\n'.encode()
    )
    credentials = base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
    head = (
        f"POST /xml HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
        f"Authorization: Basic {credentials}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body
