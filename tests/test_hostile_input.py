"""Hostile envelopes and spreadsheets through the endpoint: clear faults, nothing expanded,
fetched or stored by mistake."""

from __future__ import annotations

import pytest
from lxml import etree
from starlette.testclient import TestClient

from switchvox_server.bulk.messages import RowMessage
from tests.helpers import errors_of, fault, section, upload

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<request method="switchvox.extensions.getInfo"><parameters>
<extensions><extension>&lol3;</extension></extensions></parameters></request>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<request method="switchvox.extensions.getInfo"><parameters>
<extensions><extension>&xxe;</extension></extensions></parameters></request>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE request SYSTEM "http://127.0.0.1:9/evil.dtd">
<request method="switchvox.extensions.getInfo"/>"""


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", 10001),
        (b"   \n", 10001),
        (b"<request method='x'", 10002),
        (b"\xff\xfe garbage", 10002),
        (BILLION_LAUGHS, 10002),
        (EXTERNAL_ENTITY, 10002),
        (EXTERNAL_DTD, 10002),
        (b"<a>" * 200 + b"</a>" * 200, 10002),
        (b'<response method="switchvox.extensions.getInfo"/>', 10002),
        (b"<request><parameters/></request>", 10011),
        (b'<request method=""/>', 10011),
    ],
    ids=[
        "empty",
        "blank",
        "not-well-formed",
        "garbage",
        "billion-laughs",
        "external-entity",
        "external-dtd",
        "deep-nesting",
        "wrong-root",
        "no-method",
        "empty-method",
    ],
)
def test_hostile_envelopes_get_a_fault(client: TestClient, body: bytes, code: int) -> None:
    """Each broken or hostile envelope gets its fault, and no entity is ever expanded."""
    response = client.post("/xml", content=body, headers={"content-type": "text/xml"})
    assert response.status_code == 200
    assert fault(etree.fromstring(response.content))[0] == code
    assert b"root:" not in response.content
    assert b"lollol" not in response.content


HEADER = "ext,fname,lname,email,password,phone_password"


def test_empty_header_labels_are_ignored(client: TestClient) -> None:
    """Empty labels (a trailing delimiter in the header) are ignored like unknown columns."""
    response = upload(client, f"{HEADER},,\n401,Ann,Lee,a@test.com,webpass1,sipsecret,,\n")
    assert section(response, "created") == ["401"]


def test_huge_cell_fails_its_field_only(client: TestClient) -> None:
    """A 100,000-character name fails that row's name rule; later rows are still read."""
    huge = "A" * 100_000
    response = upload(
        client,
        f"{HEADER}\n401,{huge},Lee,a@test.com,webpass1,sipsecret\n"
        "402,Bo,Lee,b@test.com,webpass1,sipsecret\n",
    )
    assert errors_of(response, "401") == [RowMessage.FIRST_NAME.format()]
    assert section(response, "created") == ["402"]


def test_cell_beyond_the_reader_limit_refuses_the_file(client: TestClient) -> None:
    """A cell larger than the reader accepts (over 1 MiB) refuses the file with 94772."""
    huge = "A" * (2 * 1024 * 1024)
    response = upload(client, f"{HEADER}\n401,{huge},Lee,a@test.com,webpass1,sipsecret\n")
    assert fault(response)[0] == 94772


def test_numbers_that_lost_or_kept_leading_zeros_are_different(client: TestClient) -> None:
    """`0401` and `401` are two extensions: a spreadsheet that dropped a zero is not guessed."""
    response = upload(
        client,
        f"{HEADER}\n0401,Ann,Lee,a@test.com,webpass1,sipsecret\n"
        "401,Bo,Lee,b@test.com,webpass1,sipsecret\n",
    )
    assert section(response, "created") == ["0401", "401"]


def test_xml_special_characters_in_cells_round_trip(client: TestClient) -> None:
    """Quotes, ampersands and angle brackets in names come back escaped and intact."""
    response = upload(
        client, f'{HEADER}\n401,"<Ann & ""Jo"">",O\'Lee,a@test.com,webpass1,sipsecret\n'
    )
    created = response.find(".//created/extension")
    assert created is not None
    assert (created.get("first_name"), created.get("last_name")) == ('<Ann & "Jo">', "O'Lee")


def test_cells_are_echoed_safely_in_failed_rows(client: TestClient) -> None:
    """A failed row's cells holding control characters still give a well-formed report."""
    response = upload(client, f"{HEADER}\n401,A\x01nn,Lee,a@test.com,webpass1,sipsecret\n")
    failed = response.find(".//create_failed/extension")
    assert failed is not None
    assert failed.get("first_name") == "A\ufffdnn"
    assert errors_of(response, "401") == ["First name must not contain control characters."]


def test_nul_in_the_extension_cell_fails_the_row(client: TestClient) -> None:
    """An extension cell holding a NUL fails its row; it never reaches a database query."""
    response = upload(client, f"{HEADER}\n4\x0001,Ann,Lee,a@test.com,webpass1,sipsecret\n")
    failed = response.find(".//create_failed/extension")
    assert failed is not None
    assert [error.get("text") for error in failed] == [RowMessage.EXTENSION_DIGITS.format()]
