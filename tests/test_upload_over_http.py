"""The bulk upload through a real server on loopback, with requests built by curl."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lxml import etree

from tests.conftest import FIXTURES
from tests.helpers import EXAMPLE_FORM, canonical, curl, section

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def request_file(tmp_path: Path, **parameters: object) -> Path:
    """Write an upload request with `parameters` to request.xml."""
    children = "".join(f"<{name}>{value}</{name}>" for name, value in parameters.items())
    path = tmp_path / "request.xml"
    path.write_text(
        '<request method="switchvox.extensions.phones.bulk.upload">'
        f"<parameters>{children}</parameters></request>"
    )
    return path


def test_documented_example_with_curl(live_server: str) -> None:
    """curl -F request=@… -F csv_file=@… gets the method page's report, then skips on repost."""
    arguments = EXAMPLE_FORM
    status, body = curl(f"{live_server}/xml", *arguments)
    assert status == 200
    assert canonical(body) == canonical((FIXTURES / "example_report.xml").read_bytes())
    status, body = curl(f"{live_server}/xml", *arguments)
    assert section(etree.fromstring(body), "skipped") == ["302", "303", "305"]


def test_file_part_first_and_named_file(live_server: str, tmp_path: Path) -> None:
    """A file part sent before the request part, under another name, is still the CSV."""
    request = request_file(
        tmp_path, dupe_process=1, extension_type="virtual", template_account_id=1
    )
    csv = tmp_path / "virtual.csv"
    csv.write_text("ext,fname,lname,email,password\n601,Ann,Lee,ann@test.com,webpass1\n")
    status, body = curl(f"{live_server}/xml", "-F", f"file=@{csv}", "-F", f"request=<{request}")
    assert status == 200
    assert section(etree.fromstring(body), "created") == ["601"]


def test_report_only_and_update_over_http(live_server: str, tmp_path: Path) -> None:
    """report_only previews an update without applying it; the real update then applies."""
    first = tmp_path / "first.csv"
    first.write_text(
        "ext,fname,lname,email,password,phone_password\n701,Ann,Lee,a@test.com,webpass1,sip701x\n"
    )
    create = request_file(tmp_path, dupe_process=1, extension_type="sip", template_account_id=1)
    curl(f"{live_server}/xml", "-F", f"request=<{create}", "-F", f"csv_file=@{first}")

    change = tmp_path / "change.csv"
    change.write_text("ext,lname,title\n701,Smith,Boss\n")
    preview = request_file(
        tmp_path, dupe_process=3, extension_type="sip", template_account_id=1, report_only=1
    )
    _, previewed = curl(
        f"{live_server}/xml", "-F", f"request=<{preview}", "-F", f"csv_file=@{change}"
    )
    update = request_file(tmp_path, dupe_process=3, extension_type="sip", template_account_id=1)
    _, applied = curl(f"{live_server}/xml", "-F", f"request=<{update}", "-F", f"csv_file=@{change}")
    assert canonical(previewed) == canonical(applied)
    _, again = curl(f"{live_server}/xml", "-F", f"request=<{update}", "-F", f"csv_file=@{change}")
    updated = etree.fromstring(again).find(".//updated/extension")
    assert updated is not None
    assert (updated.get("first_name"), updated.get("last_name")) == ("Ann", "Smith")


def test_wrong_password_gets_401_with_challenge(live_server: str) -> None:
    """A wrong password is an HTTP 401 carrying the Basic and Digest challenges."""
    _, answer = curl(f"{live_server}/xml", "--include", "--data-binary", "<x/>", user="admin:wrong")
    head = answer.decode("latin-1")
    assert head.startswith("HTTP/1.1 401")
    challenges = [
        line.split(":", 1)[1].strip()
        for line in head.splitlines()
        if line.lower().startswith("www-authenticate:")
    ]
    assert challenges[0].startswith('Digest realm="switchvox_api_auth", nonce="')
    assert challenges[1] == 'Basic realm="switchvox_api_auth"'


def test_raw_body_envelope_over_http(live_server: str) -> None:
    """The raw-body form (curl --data-binary) reaches the method: 70674 without a file."""
    envelope = (
        '<?xml version="1.0"?><request method="switchvox.extensions.phones.bulk.upload">'
        '<parameters dupe_process="1" extension_type="sip" template_account_id="1"/></request>'
    )
    status, body = curl(
        f"{live_server}/xml",
        "-H",
        "Content-Type: application/xml; encoding='utf8'",
        "--data-binary",
        envelope,
    )
    assert status == 200
    error = etree.fromstring(body).find("errors/error")
    assert error is not None
    assert (error.get("code"), error.get("message")) == (
        "70674",
        "Problems uploading your CSV file.",
    )
