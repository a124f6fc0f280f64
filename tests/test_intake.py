"""Hostile and broken request bodies: each gets a clear answer, and nothing is kept."""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree
from starlette.testclient import TestClient

from switchvox_server.http import intake, multipart
from tests.conftest import ADMIN_PASSWORD
from tests.helpers import fault, open_temporary_files, request_xml, section

CSV = b"ext,fname,lname,email,password,phone_password\n401,Ann,Lee,a@test.com,webpass1,sip401x\n"
ENVELOPE = request_xml(extension_type="sip", dupe_process=1, template_account_id=1)
BOUNDARY = "----switchvoxtestboundary"


def part(name: str, content: bytes, filename: str | None = None) -> bytes:
    """One multipart part named `name`, a file part where `filename` is given."""
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    return (
        f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
    )


def body(*parts: bytes, closed: bool = True) -> bytes:
    """A multipart body of `parts`, with its closing delimiter unless `closed` is false."""
    return b"".join(parts) + (f"--{BOUNDARY}--\r\n".encode() if closed else b"")


def post(client: TestClient, content: bytes, boundary: str = BOUNDARY) -> etree._Element:
    """Post a multipart `content` with `boundary`; the parsed answer."""
    response = client.post(
        "/xml",
        content=content,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 200, response.text
    return etree.fromstring(response.content)


def test_file_part_first_under_any_name(client: TestClient) -> None:
    """The file may come before the request part and carry any field name."""
    response = post(client, body(part("file", CSV, "C:\\x.csv"), part("request", ENVELOPE)))
    assert section(response, "created") == ["401"]


def test_csv_sent_as_plain_field(client: TestClient) -> None:
    """A `csv_file` field without a file name is still the CSV."""
    response = post(client, body(part("request", ENVELOPE), part("csv_file", CSV)))
    assert section(response, "created") == ["401"]


def test_no_file_chosen_is_70674(client: TestClient) -> None:
    """A file part with an empty file name (a browser's "no file chosen") is no file."""
    response = post(client, body(part("request", ENVELOPE), part("csv_file", b"", "")))
    assert fault(response) == (70674, "Problems uploading your CSV file.")


def test_truncated_body_is_70674(client: TestClient) -> None:
    """A body cut off before its closing boundary gives 70674 and writes nothing."""
    truncated = body(part("request", ENVELOPE), part("csv_file", CSV, "x.csv"), closed=False)
    assert fault(post(client, truncated)) == (70674, "Problems uploading your CSV file.")


def test_two_request_parts_are_refused(client: TestClient) -> None:
    """Two request parts are a 10002 fault, never a guess."""
    response = post(client, body(part("request", ENVELOPE), part("request", ENVELOPE)))
    assert fault(response) == (
        10002,
        "The request could not be parsed (more than one request part).",
    )


def test_missing_request_part(client: TestClient) -> None:
    """A form without a request part is a 10002 fault."""
    response = post(client, body(part("csv_file", CSV, "x.csv")))
    assert fault(response) == (10002, "The request could not be parsed (no request part).")


def test_too_many_parts(client: TestClient) -> None:
    """More parts than the limit is a 10002 fault."""
    extras = [part(f"x{n}", b"1") for n in range(multipart.MAX_PARTS)]
    code, message = fault(post(client, body(part("request", ENVELOPE), *extras)))
    assert code == 10002
    assert "parts" in message


def test_oversized_part_headers(client: TestClient) -> None:
    """A part header beyond the size limit is a 10002 fault."""
    huge = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="request"\r\n'
            f"X-Padding: {'a' * (multipart.MAX_HEADER_BYTES + 10)}\r\n\r\n"
        ).encode()
        + ENVELOPE
        + b"\r\n"
    )
    assert fault(post(client, body(huge)))[0] == 10002


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=nope"],
)
def test_missing_or_wrong_boundary(client: TestClient, content_type: str) -> None:
    """A multipart body without a usable boundary is a 10002 fault, not a 500."""
    response = client.post(
        "/xml",
        content=body(part("request", ENVELOPE)),
        headers={"content-type": content_type},
    )
    assert response.status_code == 200
    assert fault(etree.fromstring(response.content))[0] == 10002


def test_body_over_limit_after_request_part_is_70674(
    make_client: Callable[..., TestClient],
) -> None:
    """Past the upload limit with the request part read, the method answers 70674."""
    client = make_client(max_upload_mb=1)
    big = CSV + b"".join(
        f"{1000 + n},Ann,Lee,a{n}@test.com,webpass1,sipsecret\n".encode() for n in range(40000)
    )
    response = post(client, body(part("request", ENVELOPE), part("csv_file", big, "x.csv")))
    assert fault(response) == (70674, "Problems uploading your CSV file.")


def test_body_over_limit_before_request_part_is_413(
    make_client: Callable[..., TestClient],
) -> None:
    """Past the upload limit before any request part, the answer is HTTP 413."""
    client = make_client(max_upload_mb=1)
    big = b"x" * (2 * 1024 * 1024)
    response = client.post(
        "/xml",
        content=body(part("csv_file", big, "x.csv"), part("request", ENVELOPE)),
        headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    "content_type", ["text/xml", "application/x-www-form-urlencoded", "application/octet-stream"]
)
def test_raw_body_over_1_mib_is_10002(client: TestClient, content_type: str) -> None:
    """A raw or URL-encoded envelope past 1 MiB is fault 10002 (not 413), however large the
    upload limit."""
    oversized = b" " * multipart.MAX_REQUEST_PART_BYTES + ENVELOPE
    response = client.post("/xml", content=oversized, headers={"content-type": content_type})
    assert response.status_code == 200
    assert fault(etree.fromstring(response.content)) == (
        10002,
        "The request could not be parsed (the request is larger than 1 MiB).",
    )


def test_raw_body_of_1_mib_is_read(client: TestClient) -> None:
    """A raw envelope of exactly 1 MiB is still read."""
    envelope = request_xml("switchvox.nothing")
    padded = envelope + b" " * (multipart.MAX_REQUEST_PART_BYTES - len(envelope))
    response = client.post("/xml", content=padded, headers={"content-type": "text/xml"})
    assert fault(etree.fromstring(response.content))[0] == 10003


def test_spool_failure_is_32334(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the upload cannot be spooled (disk full), the answer is 32334."""

    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(multipart.tempfile, "SpooledTemporaryFile", no_space)  # type: ignore[attr-defined]
    response = post(client, body(part("request", ENVELOPE), part("csv_file", CSV, "x.csv")))
    assert fault(response) == (
        32334,
        "Error creating temporary file for bulk extension creation.",
    )


def test_urlencoded_request_field(client: TestClient) -> None:
    """The envelope may arrive as the `request` field of a urlencoded form."""
    response = client.post("/xml", data={"request": request_xml("switchvox.nothing").decode()})
    assert fault(etree.fromstring(response.content))[0] == 10003


def _raw_post(url: str, head_extra: str, payload: bytes, length: int) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)), timeout=10)
    token = base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
    connection.sendall(
        (
            f"POST /xml HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {token}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {length}\r\n{head_extra}\r\n"
        ).encode()
        + payload
    )
    return connection


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc to count files")
@pytest.mark.slow
def test_client_disconnect_mid_upload_keeps_nothing(live_server: str) -> None:
    """A client that hangs up mid-upload leaves no temp file, no rows, and the server up."""
    big = CSV + b"9" * (3 * 1024 * 1024)
    payload = body(part("request", ENVELOPE), part("csv_file", big, "x.csv"))
    before = open_temporary_files()
    connection = _raw_post(live_server, "", payload[: len(payload) // 2], len(payload))
    time.sleep(0.5)
    connection.close()
    deadline = time.monotonic() + 10
    while open_temporary_files() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert open_temporary_files() == before
    import httpx2

    answer = httpx2.get(f"{live_server}/healthz")
    assert answer.status_code == 200


@pytest.mark.slow
def test_idle_client_is_dropped(live_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that stops sending its body gets a fault once the idle timeout passes."""
    monkeypatch.setattr(intake, "BODY_IDLE_TIMEOUT_SECONDS", 0.5)
    payload = body(part("request", ENVELOPE), part("csv_file", CSV, "x.csv"))
    connection = _raw_post(live_server, "", payload[:40], len(payload))
    reply = b""
    while b"</response>" not in reply:
        chunk = connection.recv(65536)  # the socket's own timeout bounds each wait
        if not chunk:
            break
        reply += chunk
    connection.close()
    assert reply.startswith(b"HTTP/1.1 200")
    assert b'code="10002"' in reply
    assert b"stopped sending" in reply


def test_raw_envelope_labelled_as_a_form(client: TestClient) -> None:
    """A raw envelope sent with the form content type (curl -d's default) is still read."""
    response = client.post(
        "/xml",
        content=request_xml("switchvox.nothing"),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert fault(etree.fromstring(response.content))[0] == 10003
