"""Many uploads in a row through one server process: its memory levels off and no spooled
upload or report leaves an open temp file behind."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest
from lxml import etree

from tests.helpers import stored_count
from tests.servers import post_upload, report_of, server_process

pytestmark = pytest.mark.slow

ROWS = 1000
# An ignored column that makes each file larger than the 1 MiB kept in memory, so every
# upload is spooled to a temp file on disk.
PADDING = "x" * 1100
# One round of ten uploads, played four times over fresh numbers.
ROUND = (
    "create",
    "skip",
    "update",
    "create_some",
    "report_only",
    "bad_template",
    "replace",
    "broken_after_a_batch",
    "skip",
    "create",
)

ROUNDS = 4
MEMORY_SAMPLE_AFTER = 10
RSS_GROWTH_LIMIT_BYTES = 20 * 1024 * 1024
REQUEST_TIMEOUT_SECONDS = 60.0


@dataclass(slots=True)
class Round:
    """The numbers one round works on, and what it expects the store to hold."""

    next_number: int
    created: list[int] = field(default_factory=list)

    def fresh(self, count: int) -> range:
        """Numbers no upload has used yet."""
        numbers = range(self.next_number, self.next_number + count)
        self.next_number += count
        return numbers


def csv_of(rows: Sequence[tuple[str, str]], *, broken_at: int | None = None) -> bytes:
    """A CSV of (number, last name) rows, padded; a stray quote at row `broken_at`."""

    def lines() -> Iterator[str]:
        yield "ext,fname,lname,email,password,phone_password,notes\n"
        for index, (number, last_name) in enumerate(rows):
            first = '"First"x' if index == broken_at else "First"
            yield (
                f"{number},{first},{last_name},u{number}@test.com,webpass{number},"
                f"sipsecret{number},{PADDING}\n"
            )

    return "".join(lines()).encode()


def numbered(numbers: Sequence[int] | range, last_name: str = "Soak") -> list[tuple[str, str]]:
    """(number, last name) pairs for `numbers`."""
    return [(str(number), last_name) for number in numbers]


def fault_code(response: httpx2.Response) -> str:
    """The codes of a fault answer, joined with commas."""
    assert response.status_code == 200, response.text[:2000]
    document = etree.fromstring(response.content)
    assert document.find("result") is None, response.text[:2000]
    return ",".join(error.get("code", "") for error in document.iterfind("errors/error"))


def resident_bytes(pid: int) -> int:
    """The process's resident set size, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def temp_files_open(pid: int, temp_dir: Path) -> list[str]:
    """What the process's descriptors point at, where that is a deleted file or the temp dir."""
    targets = []
    for descriptor in os.listdir(f"/proc/{pid}/fd"):
        if int(descriptor) <= 2:
            continue  # stdout and stderr go to the test's own (deleted) temp file
        try:
            targets.append(os.readlink(f"/proc/{pid}/fd/{descriptor}"))
        except FileNotFoundError:
            continue  # closed while listing
    return [
        target
        for target in targets
        if target.endswith(" (deleted)") or target.startswith(str(temp_dir))
    ]


def run_upload(client: httpx2.Client, url: str, kind: str, state: Round) -> int:
    """Run one upload of the given kind and check its report; return how many extensions it
    added to the store."""
    last = state.created[-ROWS:]
    if kind in {"create", "create_some"}:
        numbers = state.fresh(ROWS)
        rows = numbered(numbers)
        if kind == "create_some":  # every other row is a number too short to be an extension
            rows = [("12", "Short") if index % 2 else row for index, row in enumerate(rows)]
        report = report_of(post_upload(client, url, csv_of(rows)))
        created = [int(number) for number in report["created"]]
        assert len(created) == (ROWS if kind == "create" else ROWS // 2)
        assert len(report["create_failed"]) == ROWS - len(created)
        state.created.extend(created)
        return len(created)
    if kind == "skip":
        report = report_of(post_upload(client, url, csv_of(numbered(last)), dupe_process=1))
        assert report["skipped"] == [str(number) for number in last]
    elif kind == "update":
        body = csv_of(numbered(last, "Updated"))
        report = report_of(post_upload(client, url, body, dupe_process=3))
        assert report["updated"] == [str(number) for number in last]
    elif kind in {"replace", "report_only"}:
        extra = {"report_only": 1} if kind == "report_only" else {}
        body = csv_of(numbered(last, "Replaced"))
        report = report_of(post_upload(client, url, body, dupe_process=2, **extra))
        assert report["replaced"] == [str(number) for number in last]
    elif kind == "bad_template":
        response = post_upload(client, url, csv_of(numbered(last)), template_account_id=999)
        assert fault_code(response) == "86173"
    elif kind == "broken_after_a_batch":
        # The first batch (2,000 rows) is written before the reader meets the bad row.
        numbers = state.fresh(2500)
        response = post_upload(client, url, csv_of(numbered(numbers), broken_at=2400))
        assert fault_code(response) == "94772"
    else:
        raise AssertionError(kind)
    return 0


def test_forty_uploads_level_off_and_leave_no_temp_files(database_url: str, tmp_path: Path) -> None:
    """After forty mixed uploads the server's RSS has grown by under 20 MiB since the tenth,
    the store holds exactly what the reports created, and no temp file is left open."""
    temp_dir = tmp_path / "server-tmp"
    temp_dir.mkdir()
    expected = 0
    with (
        server_process(database_url, env={"TMPDIR": str(temp_dir)}) as server,
        httpx2.Client(timeout=REQUEST_TIMEOUT_SECONDS) as client,
    ):
        rounds = [Round(next_number=100_000 + 20_000 * number) for number in range(ROUNDS)]
        uploads = [(state, kind) for state in rounds for kind in ROUND]
        early = 0
        started = time.monotonic()
        for done, (state, kind) in enumerate(uploads, 1):
            expected += run_upload(client, server.url, kind, state)
            assert stored_count(database_url) == expected, (done, kind)
            if done == MEMORY_SAMPLE_AFTER:
                early = resident_bytes(server.pid)
        late = resident_bytes(server.pid)
        elapsed = time.monotonic() - started

        deadline = time.monotonic() + 5
        while (left := temp_files_open(server.pid, temp_dir)) and time.monotonic() < deadline:
            time.sleep(0.05)  # the last response's clean-up runs just after it is sent
        assert left == []
        assert server.process.poll() is None, server.log()
    print(f"{len(uploads)} uploads in {elapsed:.1f} s; RSS {early >> 20} -> {late >> 20} MiB")
    assert late - early < RSS_GROWTH_LIMIT_BYTES, (early, late)
