"""The report spool: written in full before the upload commits, closed however the answer
ends, and temporary space running out is fault 32334 with nothing written."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from switchvox_server.bulk import report
from switchvox_server.store import queries
from tests.helpers import fault, large_csv, upload

ROWS = 20000  # enough for the helper process, and for the spool to move to disk


def open_temporary_files() -> int:
    """How many files of the temp directory this process holds open."""
    directory = tempfile.gettempdir()
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # the directory's own descriptor, closed by now
        count += target.startswith(directory)
    return count


def stored_count(client: TestClient) -> int:
    database = client.app.state.database  # type: ignore[attr-defined]
    with database.sessions() as session:
        return queries.count_extensions(session)


def failing_spool(call: str, budget: int) -> type[Any]:
    """A spool file that fails with ENOSPC once `budget` bytes have been written (`write`),
    or whenever it is flushed (`flush`): a temporary space that fills up."""

    class FullSpool(report.SpooledTemporaryFile):  # type: ignore[type-arg]
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


def test_the_spool_is_closed_when_rendering_fails_half_way(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An answer that breaks off while the report streams closes every spool file as the
    response ends, not whenever the objects happen to be collected."""
    reports: list[report.BulkReport] = []  # kept alive, so only an explicit close counts
    init = report.BulkReport.__init__

    def remembered(self: report.BulkReport, *args: Any) -> None:
        init(self, *args)
        reports.append(self)

    rows = report.SectionSpool.rows

    def break_off(self: report.SectionSpool) -> Iterator[report.ReportRow]:
        yield from list(rows(self))[:10]
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(report.BulkReport, "__init__", remembered)
    monkeypatch.setattr(report.SectionSpool, "rows", break_off)
    with pytest.raises(OSError, match="Input/output error"):
        upload(client, large_csv(100000, 50))
    assert len(reports) == 1
    assert all(spool._file.closed for spool in reports[0].sections.values())
