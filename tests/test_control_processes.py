"""The control API across real server processes: one journal and one fault list for every
process on a database, and a journal that never holds up the API during a large upload."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx2
import pytest
from lxml import etree

from tests.helpers import BULK_UPLOAD, fault, request_xml
from tests.servers import AUTH, post_upload, report_of, server_process, wait_for, write_csv

TOKEN = "token-shared-by-the-processes"
CONTROL = {"Authorization": f"Bearer {TOKEN}"}
GET_INFO = "switchvox.extensions.getInfo"
ENV = {"SWITCHVOX_CONTROL_TOKEN": TOKEN}


def get_info(client: httpx2.Client, url: str) -> httpx2.Response:
    """Post a getInfo for extension 101 to the server at `url`."""
    body = request_xml(GET_INFO, extensions="<extension>101</extension>")
    return client.post(f"{url}/xml", content=body, headers={"Content-Type": "text/xml"}, auth=AUTH)


@pytest.mark.postgres
@pytest.mark.slow
def test_two_processes_share_one_journal_and_one_fault_list(database_url: str) -> None:
    """A fault injected through process A is answered by process B, once; a call to B is
    in the journal read from A; settings changed through B apply in A."""
    with (
        server_process(database_url, env=ENV) as a,
        server_process(database_url, env=ENV) as b,
        httpx2.Client(timeout=30) as client,
    ):
        assert a.pid != b.pid
        client.post(f"{a.url}/_switchvox/reset", headers=CONTROL).raise_for_status()
        injected = client.post(
            f"{a.url}/_switchvox/faults",
            headers=CONTROL,
            json={"method": GET_INFO, "code": 10013, "times": 1},
        )
        assert injected.status_code == 201
        assert fault(etree.fromstring(get_info(client, b.url).content))[0] == 10013
        assert etree.fromstring(get_info(client, a.url).content).find("result") is not None
        assert client.get(f"{b.url}/_switchvox/faults", headers=CONTROL).json() == {"faults": []}

        def journal_from_a() -> list[int | None]:
            answer = client.get(f"{a.url}/_switchvox/journal", headers=CONTROL).json()
            return [entry["fault_code"] for entry in answer["entries"]]

        # Each process records its own calls: two calls answered by two processes a few
        # milliseconds apart may be recorded in either order.
        wait_for(
            lambda: sorted(journal_from_a(), key=str) == [10013, None],
            timeout=10,
            what="B's call shows",
        )
        client.patch(
            f"{b.url}/_switchvox/settings", headers=CONTROL, json={"max_extensions": 0}
        ).raise_for_status()
        csv = b"ext,fname,lname,email,password,phone_password\n301,A,B,a@b.cc,web-pw-1,sip-pw-1\n"
        upload = post_upload(client, a.url, csv)
        assert fault(etree.fromstring(upload.content))[0] == 86162


@pytest.mark.slow
def test_get_info_answers_quickly_during_a_large_upload_with_the_journal_on(
    database_url: str, tmp_path: Path
) -> None:
    """While a 20,000-row upload runs, getInfo calls answer within 0.5 s each and are all
    journalled, as is the upload once done."""
    csv = write_csv(tmp_path / "large.csv", range(100_000, 120_000))
    with server_process(database_url, env=ENV) as server, httpx2.Client(timeout=120) as client:
        result: dict[str, httpx2.Response] = {}

        def upload() -> None:
            with csv.open("rb") as file:
                result["upload"] = post_upload(client, server.url, file)

        uploader = threading.Thread(target=upload)
        uploader.start()
        slowest = 0.0
        calls = 0
        with httpx2.Client(timeout=30) as other:
            while uploader.is_alive() and calls < 500:
                started = time.monotonic()
                assert get_info(other, server.url).status_code == 200
                slowest = max(slowest, time.monotonic() - started)
                calls += 1
                time.sleep(0.05)
        uploader.join(120)
        assert len(report_of(result["upload"])["created"]) == 20_000
        assert calls >= 3, "the upload ended before the calls could overlap it"
        assert slowest < 0.5, f"a getInfo took {slowest:.2f} s during the upload"
        journal = client.get(f"{server.url}/_switchvox/journal", headers=CONTROL).json()
        methods = [entry["method"] for entry in journal["entries"]]
        assert methods.count(GET_INFO) == calls
        (entry,) = [entry for entry in journal["entries"] if entry["method"] == BULK_UPLOAD]
        assert entry["file"]["rows"] == 20_000
        assert entry["file"]["bytes"] == csv.stat().st_size
