"""Helpers for building upload requests and reading responses in tests."""

from __future__ import annotations

import subprocess

from lxml import etree
from starlette.testclient import TestClient

from tests.conftest import ADMIN_PASSWORD, FIXTURES

BULK_UPLOAD = "switchvox.extensions.phones.bulk.upload"
# The method page's example as curl's own multipart: the request part, then the CSV.
EXAMPLE_FORM = (
    "--form",
    f"request=@{FIXTURES / 'example_request.xml'}",
    "--form",
    f"csv_file=@{FIXTURES / 'example.csv'};type=image/jpeg",
)
SECTIONS = ("create_failed", "created", "replaced", "updated", "skipped")


def request_xml(method: str = BULK_UPLOAD, **parameters: object) -> bytes:
    """A request envelope with each parameter as a child element of <parameters>."""
    children = "".join(f"<{name}>{value}</{name}>" for name, value in parameters.items())
    return f'<request method="{method}"><parameters>{children}</parameters></request>'.encode()


def upload(
    client: TestClient,
    csv: bytes | str | None,
    *,
    extension_type: str = "sip",
    dupe_process: object = 1,
    template_account_id: object = 1,
    **extra: object,
) -> etree._Element:
    """Post a bulk upload as a multipart form and return the parsed response."""
    envelope = request_xml(
        extension_type=extension_type,
        dupe_process=dupe_process,
        template_account_id=template_account_id,
        **extra,
    )
    files = {}
    if csv is not None:
        data = csv.encode() if isinstance(csv, str) else csv
        files["csv_file"] = ("C:\\extensions.csv", data, "image/jpeg")
    response = client.post("/xml", data={"request": envelope.decode()}, files=files or None)
    assert response.status_code == 200, response.text
    return etree.fromstring(response.content)


def canonical(document: bytes | etree._Element) -> bytes:
    """Canonical XML without whitespace-only text, for comparing documents."""
    element = etree.fromstring(document) if isinstance(document, bytes) else document
    for node in element.iter():
        if node.text is not None and not node.text.strip():
            node.text = None
        if node.tail is not None and not node.tail.strip():
            node.tail = None
    return etree.tostring(element, method="c14n2")


def section(response: etree._Element, name: str) -> list[str]:
    """The extension numbers listed in one report section, in order."""
    return [node.get("extension", "") for node in response.iterfind(f".//{name}/extension")]


def errors_of(response: etree._Element, extension: str) -> list[str]:
    """The error texts reported for one extension."""
    return [
        node.get("text", "")
        for node in response.iterfind(f".//extension[@extension='{extension}']/error")
    ]


def fault(response: etree._Element) -> tuple[int, str]:
    """The single (code, message) of a fault response."""
    errors = response.findall("errors/error")
    assert len(errors) == 1, etree.tostring(response)
    assert response.find("result") is None
    return int(errors[0].get("code", "0")), errors[0].get("message", "")


def curl(url: str, *arguments: str, user: str = f"admin:{ADMIN_PASSWORD}") -> tuple[int, bytes]:
    """Run curl against a test server (never through a proxy); (HTTP status, body)."""
    completed = subprocess.run(
        [
            "curl",
            "--silent",
            "--show-error",
            "--noproxy",
            "*",
            "--user",
            user,
            "--write-out",
            "\n%{http_code}",
            *arguments,
            url,
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    body, _, status = completed.stdout.rpartition(b"\n")
    return int(status), body
