"""Properties of the whole request pipeline, over generated and arbitrary input."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from starlette.testclient import TestClient

from switchvox_server.faults import FAULTS
from tests.helpers import SECTIONS, request_xml

KNOWN_CODES = {fault.code for fault in FAULTS.all()}
ENVELOPE = request_xml(extension_type="sip", dupe_process=1, template_account_id=1)
PIPELINE = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
COLUMNS = ["ext", "fname", "lname", "email", "password", "phone_password", "title"]


def post_form(client: TestClient, envelope: bytes, csv_bytes: bytes) -> etree._Element:
    """Post an upload form of `envelope` and `csv_bytes`; the parsed answer."""
    response = client.post(
        "/xml",
        data={"request": envelope.decode("utf-8", "replace")},
        files={"csv_file": ("x.csv", csv_bytes, "text/csv")},
    )
    assert response.status_code == 200, response.status_code
    return etree.fromstring(response.content)


def assert_report_or_known_fault(response: etree._Element) -> None:
    """Check that `response` is a whole report or faults with known codes only."""
    errors = response.findall("errors/error")
    if errors:
        assert response.find("result") is None
        assert {int(error.get("code", "0")) for error in errors} <= KNOWN_CODES
    else:
        report = response.find("result/bulk_creation_report")
        assert report is not None
        assert [child.tag for child in report] == list(SECTIONS)


@PIPELINE
@given(envelope=st.binary(max_size=400))
@pytest.mark.slow
def test_any_request_part_gives_a_result_or_a_documented_fault(
    client: TestClient, envelope: bytes
) -> None:
    """Arbitrary bytes as the request part never produce anything but a fault envelope."""
    response = client.post("/xml", content=envelope, headers={"content-type": "application/xml"})
    assert response.status_code == 200
    assert_report_or_known_fault(etree.fromstring(response.content))


@PIPELINE
@given(data=st.binary(max_size=2000))
@pytest.mark.slow
def test_any_csv_bytes_give_a_report_or_a_documented_fault(client: TestClient, data: bytes) -> None:
    """Arbitrary bytes as the CSV give a report or a documented fault, never a 500."""
    assert_report_or_known_fault(post_form(client, ENVELOPE, data))


@PIPELINE
@given(data=st.binary(max_size=2000))
@pytest.mark.slow
def test_any_multipart_body_is_answered(client: TestClient, data: bytes) -> None:
    """Arbitrary bytes as a multipart body are answered with a fault, never a 500."""
    response = client.post(
        "/xml", content=data, headers={"content-type": "multipart/form-data; boundary=xyz"}
    )
    assert response.status_code == 200
    assert_report_or_known_fault(etree.fromstring(response.content))


cells = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
numbers = st.one_of(st.from_regex(r"[0-9]{2,7}", fullmatch=True), cells)
rows = st.lists(
    st.tuples(numbers, cells, cells, cells, cells, cells, cells).filter(
        lambda row: any(cell.strip() for cell in row)
    ),
    min_size=1,
    max_size=30,
)


@PIPELINE
@given(generated=rows, dupe_process=st.sampled_from([1, 2, 3]))
@pytest.mark.slow
def test_every_generated_row_lands_in_exactly_one_section(
    client: TestClient, generated: list[tuple[str, ...]], dupe_process: int
) -> None:
    """Each data row of any CSV is reported exactly once, whatever it holds."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(generated)
    envelope = request_xml(extension_type="sip", dupe_process=dupe_process, template_account_id=1)
    response = post_form(client, envelope, buffer.getvalue().encode())
    assert response.find("errors") is None, etree.tostring(response)
    reported = sum(len(response.findall(f".//{name}/extension")) for name in SECTIONS)
    assert reported == len(generated)
