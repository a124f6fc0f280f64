"""Multipart parts that run straight into the next delimiter, as the Ruby client writes an
LF-terminated file: read whole, nothing lost, over HTTP and fed in chunks of any size."""

from __future__ import annotations

import pytest
from lxml import etree
from starlette.testclient import TestClient

from switchvox_server.http.multipart import DelimiterRepair, MultipartReader
from tests.conftest import FIXTURES
from tests.helpers import canonical

BOUNDARY = b"----RubyMultipartClient4242"
EXAMPLE_REQUEST = (FIXTURES / "example_request.xml").read_bytes()
EXAMPLE_CSV = (FIXTURES / "example.csv").read_bytes()
EXAMPLE_REPORT = (FIXTURES / "example_report.xml").read_bytes()


def ruby_body(csv: bytes, *, request_crlf: bool = True, file_first: bool = False) -> bytes:
    """A body laid out as the Ruby client writes it: each part's content, then the
    delimiter; the file (ending in LF) has no CRLF before the closing `--BOUNDARY--`."""
    dash = b"--" + BOUNDARY
    request = dash + b'\r\nContent-Disposition: form-data; name="request"\r\n\r\n' + EXAMPLE_REQUEST
    request += b"\r\n" if request_crlf else b""
    upload = (
        dash + b'\r\nContent-Disposition: form-data; name="csv_file"; filename="x.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n" + csv
    )
    parts = [upload, request] if file_first else [request, upload]
    return b"".join(parts) + dash + b"--"


def read(body: bytes, chunk: int) -> tuple[list[bytes], list[bytes], bool]:
    """Feed `body` to a MultipartReader in chunks; its requests, files and completeness."""
    reader = MultipartReader(BOUNDARY)
    try:
        for start in range(0, len(body), chunk):
            reader.feed(body[start : start + chunk])
        reader.finish()
        return reader.requests, [upload.read() for upload in reader.files], reader.complete
    finally:
        reader.close()


@pytest.mark.parametrize("chunk", [1, 2, 5, len(BOUNDARY) + 1, 64, 1 << 20])
@pytest.mark.parametrize("file_first", [False, True])
def test_a_part_without_the_crlf_is_read_whole(chunk: int, file_first: bool) -> None:
    """Whatever the chunking and part order, the file keeps every byte, its final LF too."""
    body = ruby_body(EXAMPLE_CSV, request_crlf=not file_first, file_first=file_first)
    requests, files, complete = read(body, chunk)
    assert complete
    assert requests == [EXAMPLE_REQUEST]
    assert files == [EXAMPLE_CSV]


@pytest.mark.parametrize("chunk", [1, 3, 1 << 20])
def test_a_conforming_body_reads_as_before(chunk: int) -> None:
    """With the CRLF in place the parts are exactly the bytes between, CRLF excluded."""
    dash = b"--" + BOUNDARY
    body = (
        dash + b'\r\nContent-Disposition: form-data; name="request"\r\n\r\n'
        + EXAMPLE_REQUEST + b"\r\n"
        + dash + b'\r\nContent-Disposition: form-data; name="csv_file"; filename="a.csv"\r\n\r\n'
        + b"ext\r\n301\r\n" + b"\r\n" + dash + b"--\r\n"
    )  # fmt: skip
    assert read(body, chunk) == ([EXAMPLE_REQUEST], [b"ext\r\n301\r\n"], True)


def test_the_repair_only_adds_missing_crlfs() -> None:
    """DelimiterRepair leaves a body that needs nothing byte for byte as it was."""
    body = b"--B\r\nx\r\n\r\nabc\r\n--B--\r\n"
    repair = DelimiterRepair(b"B")
    assert repair.feed(body) + repair.finish() == body
    repair = DelimiterRepair(b"B")
    assert repair.feed(b"--B\r\n\r\nabc\n--B--") + repair.finish() == (b"--B\r\n\r\nabc\n\r\n--B--")


def test_the_ruby_upload_over_http_gives_the_documented_report(client: TestClient) -> None:
    """The method page's example sent as the Ruby client lays it out answers the documented
    report: all five rows were read."""
    body = ruby_body(EXAMPLE_CSV)
    response = client.post(
        "/xml",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY.decode()}"},
    )
    assert response.status_code == 200
    assert canonical(etree.fromstring(response.content)) == canonical(EXAMPLE_REPORT)
