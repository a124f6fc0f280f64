"""switchvox.extensions.search as documented: the paging attributes in order, every type code,
the paged-search family's faults, the ends of the calendar, bounded digits, large pages."""

from __future__ import annotations

import json
import re
import tracemalloc
from collections.abc import Callable
from contextlib import ExitStack

import pytest
from lxml import etree
from starlette.testclient import TestClient

from switchvox_server.faults import FAULTS
from switchvox_server.methods import extensions
from switchvox_server.methods.registry import MethodContext
from switchvox_server.profiles import Profile
from switchvox_server.protocol import xml_envelope
from switchvox_server.protocol.request import ApiRequest
from switchvox_server.tree import LazyChildren
from tests.helpers import request_xml, upload

SEARCH = "switchvox.extensions.search"
GET_INFO = "switchvox.extensions.getInfo"
PAGING_ORDER = ["page_number", "total_pages", "items_per_page", "total_items"]
# The method page's type codes, written out here rather than read from the server's own table
# (methods/extensions.py), so that a code dropped from that table fails a test.
DOCUMENTED_TYPES = [
    "sip",
    "call_queue",
    "ivr",
    "virtual",
    "intercom",
    "directory",
    "feature_intercom",
    "feature_directed_pickup",
    "feature_send_to_vm",
    "feature_monitor",
    "feature_fax",
    "voicemail",
    "simple_conference",
    "conference",
    "agentcallbacklogin",
    "agentcallbacklogoff",
    "group_pickup",
    "callpark",
    "zap",
    "parkinglog",
    "autodial",
]


def csv_of(numbers: range) -> str:
    """Rows valid under both profiles."""
    rows = [f"{n},Ann,Lee,u{n}@test.com,webpass{n},2580,sipsecret{n}" for n in numbers]
    header = "ext,fname,lname,email,password,voicemail_password,phone_password\n"
    return header + "\n".join(rows) + "\n"


@pytest.fixture
def populated(client: TestClient) -> TestClient:
    """Three SIP extensions (301-303) and two virtual ones (401-402)."""
    upload(client, csv_of(range(301, 304)))
    upload(client, csv_of(range(401, 403)), extension_type="virtual")
    return client


def post(client: TestClient, body: bytes) -> bytes:
    """Post `body`; the answer's bytes."""
    response = client.post("/xml", content=body)
    assert response.status_code == 200, response.text
    return response.content


def found(client: TestClient, **parameters: object) -> list[str]:
    """The numbers a search with `parameters` finds, in order."""
    document = etree.fromstring(post(client, request_xml(SEARCH, **parameters)))
    assert document.find("errors") is None, etree.tostring(document)
    return [node.get("number", "") for node in document.iterfind(".//extension")]


def errors(client: TestClient, **parameters: object) -> list[tuple[int, str]]:
    """The (code, message) of every error of a search with `parameters`."""
    document = etree.fromstring(post(client, request_xml(SEARCH, **parameters)))
    assert document.find("result") is None
    return [(int(e.get("code", "")), e.get("message", "")) for e in document.iter("error")]


def test_paging_attributes_are_in_the_documented_order(populated: TestClient) -> None:
    """The <extensions> element writes page_number, total_pages, items_per_page, total_items
    in that order, in the XML bytes and in the JSON keys."""
    body = post(populated, request_xml(SEARCH, items_per_page=2))
    start = re.search(rb"<extensions ([^>]*)>", body)
    assert start is not None
    assert re.findall(rb'(\w+)="', start.group(1)) == [name.encode() for name in PAGING_ORDER]
    request = {"request": {"method": SEARCH, "parameters": {"items_per_page": "2"}}}
    page = populated.post("/json", json=request).json()["response"]["result"]["extensions"]
    assert list(page)[:4] == PAGING_ORDER
    assert [page[name] for name in PAGING_ORDER] == [1, 3, 2, 5]


@pytest.mark.parametrize("code", DOCUMENTED_TYPES)
def test_every_documented_type_code_filters(populated: TestClient, code: str) -> None:
    """Each documented type code is accepted; those not stored find nothing."""
    expected = {"sip": ["301", "302", "303"], "virtual": ["401", "402"]}.get(code, [])
    assert found(populated, extension_type=code.upper()) == expected
    mixed = f"<extension_type>{code}</extension_type><extension_type>virtual</extension_type>"
    assert found(populated, extension_types=mixed) == sorted({*expected, "401", "402"})


@pytest.mark.parametrize(
    ("name", "value", "fault"),
    [
        ("sort_field", "name", FAULTS.INVALID_SORT_FIELD),
        ("sort_field", "NUMBERS", FAULTS.INVALID_SORT_FIELD),
        ("sort_order", "up", FAULTS.INVALID_SORT_ORDER),
        ("items_per_page", "ten", FAULTS.INVALID_ITEMS_PER_PAGE),
        ("items_per_page", "-1", FAULTS.INVALID_ITEMS_PER_PAGE),
        ("items_per_page", "\u00b2", FAULTS.INVALID_ITEMS_PER_PAGE),
        ("items_per_page", "\u0661\u0660", FAULTS.INVALID_ITEMS_PER_PAGE),
        ("items_per_page", "1" * 25, FAULTS.INVALID_ITEMS_PER_PAGE),
        ("items_per_page", "9" * 5000, FAULTS.INVALID_ITEMS_PER_PAGE),
        ("page_number", "1.5", FAULTS.INVALID_PAGE_NUMBER),
        ("page_number", "+1", FAULTS.INVALID_PAGE_NUMBER),
        ("page_number", "\u00b2", FAULTS.INVALID_PAGE_NUMBER),
        ("page_number", "\u0661", FAULTS.INVALID_PAGE_NUMBER),
        ("page_number", "1" * 25, FAULTS.INVALID_PAGE_NUMBER),
    ],
)
def test_bad_sort_and_paging_values_give_the_documented_codes(
    client: TestClient, name: str, value: str, fault: object
) -> None:
    """Sort and paging values answer the paged-search family's codes, never a 500."""
    assert errors(client, **{name: value}) == [(fault.code, fault.template)]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("value", "fault"),
    [
        ("2024-01-01", FAULTS.INVALID_DATE),
        ("2024-1-01 00:00:00", FAULTS.INVALID_DATE),
        ("2024-13-01 00:00:00", FAULTS.INVALID_DATE),
        ("2024-01-32 00:00:00", FAULTS.INVALID_DATE),
        ("2024-01-00 00:00:00", FAULTS.INVALID_DATE),
        ("2024-01-01 24:00:00", FAULTS.INVALID_DATE),
        ("0000-01-01 00:00:00", FAULTS.INVALID_DATE),
        ("\uff12\uff10\uff12\uff14-01-01 00:00:00", FAULTS.INVALID_DATE),
        ("2024-04-31 00:00:00", FAULTS.DATE_31ST_OF_SHORT_MONTH),
        ("2024-11-31 12:00:00", FAULTS.DATE_31ST_OF_SHORT_MONTH),
        ("2023-02-29 00:00:00", FAULTS.DATE_FEBRUARY_29TH),
        ("1900-02-29 00:00:00", FAULTS.DATE_FEBRUARY_29TH),
        ("2024-02-30 00:00:00", FAULTS.DATE_FEBRUARY_30TH_31ST),
        ("2024-02-31 00:00:00", FAULTS.DATE_FEBRUARY_30TH_31ST),
    ],
)
@pytest.mark.parametrize("name", ["min_create_date", "max_create_date"])
def test_bad_dates_give_the_documented_codes(
    client: TestClient, name: str, value: str, fault: object
) -> None:
    """Each kind of bad date answers its documented code, echoing the date."""
    expected = (fault.code, fault.format(value))  # type: ignore[attr-defined]
    assert errors(client, **{name: value}) == [expected]


def test_a_leap_day_is_a_valid_date(populated: TestClient) -> None:
    """29 February of a leap year (2000, 2024) is accepted."""
    assert len(found(populated, min_create_date="2000-02-29 00:00:00")) == 5
    assert found(populated, max_create_date="2024-02-29 23:59:59") == []


def test_reversed_dates_are_12010(client: TestClient) -> None:
    """A max_create_date before min_create_date answers 12010; equal dates are a range."""
    dates = {"min_create_date": "2024-05-02 00:00:00", "max_create_date": "2024-05-01 23:59:59"}
    assert errors(client, **dates) == [(12010, "The 'To Date' is before your 'From Date'")]
    assert (
        found(
            client,
            min_create_date=dates["min_create_date"],
            max_create_date=dates["min_create_date"],
        )
        == []
    )


def test_the_end_of_the_calendar_is_a_valid_bound(populated: TestClient) -> None:
    """9999-12-31 23:59:59 bounds like any date: as the max it includes everything, as the
    min nothing, and neither is a 500."""
    end = "9999-12-31 23:59:59"
    assert len(found(populated, max_create_date=end)) == 5
    assert found(populated, min_create_date=end) == []
    assert found(populated, min_create_date=end, max_create_date=end) == []
    assert len(found(populated, min_create_date="0001-01-01 00:00:00")) == 5


@pytest.mark.parametrize(("low", "high"), [("302", "302"), ("1000", "999"), ("303", "301")])
def test_max_extension_must_be_greater_than_min(client: TestClient, low: str, high: str) -> None:
    """Both bounds given and the max not above the min (numerically) is fault 10020 (ours)."""
    assert errors(client, min_extension=low, max_extension=high) == [
        (10020, FAULTS.EXTENSION_RANGE_REVERSED.format(low, high))
    ]


def test_items_per_page_9999_gives_every_row(populated: TestClient) -> None:
    """items_per_page=9999, as clients in the wild send it, is accepted."""
    assert found(populated, items_per_page=9999) == ["301", "302", "303", "401", "402"]


@pytest.mark.parametrize("raw", ["\u0661\u0661\u0660\u0661", "1101\u00b2", "-1101"])
def test_get_info_account_ids_must_be_ascii_digits(client: TestClient, raw: str) -> None:
    """An account id of non-ASCII digits or a sign is 10014, never another extension."""
    body = request_xml(GET_INFO, account_ids=f"<account_id>{raw}</account_id>")
    document = etree.fromstring(post(client, body))
    assert [e.get("code") for e in document.iter("error")] == ["10014"]


@pytest.mark.parametrize("digits", [20, 25, 5000])
def test_get_info_huge_account_ids_are_simply_not_found(populated: TestClient, digits: int) -> None:
    """An account id longer than any stored id can be finds nothing and is no 500."""
    body = request_xml(
        GET_INFO,
        account_ids=f"<account_id>{'9' * digits}</account_id>",
        extensions="<extension>301</extension>",
    )
    document = etree.fromstring(post(populated, body))
    assert [node.get("number") for node in document.iter("extension")] == ["301"]


@pytest.mark.slow
def test_a_large_page_streams_from_the_database(client: TestClient) -> None:
    """A page of thousands of rows is produced while it is rendered: the handler returns lazy
    rows, and rendering them peaks at a fraction of the memory of the rows held at once."""
    upload(client, csv_of(range(100000, 104000)))
    state = client.app.state  # type: ignore[attr-defined]
    with ExitStack() as cleanup:
        context = MethodContext(state.database, state.settings, b"secret", cleanup)
        request = ApiRequest(SEARCH, {"items_per_page": "9999"}, None, None)
        result = extensions.search(request, context)
        assert isinstance(result.children, LazyChildren)
        assert result.children.count == 4000

        tracemalloc.start()
        size = sum(len(chunk) for chunk in xml_envelope.render_response(SEARCH, result, ()))
        _, streamed_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        held = extensions.search(request, context)
        tracemalloc.start()
        rows = list(held.iter_children())
        _, held_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert len(rows) == 4000
    assert size > 4000 * 300
    assert streamed_peak < held_peak / 3, (streamed_peak, held_peak)


def test_modern_json_search_writes_strings(make_client: Callable[..., TestClient]) -> None:
    """Under modern, every value of a JSON search answer is a string."""
    client = make_client(profile=Profile.MODERN)
    upload(client, csv_of(range(301, 303)))
    request = {"request": {"method": SEARCH, "parameters": {}}}
    page = client.post("/json", json=request).json()["response"]["result"]["extensions"]
    assert [page[name] for name in PAGING_ORDER] == ["1", "1", "50", "2"]
    for row in page["extension"]:
        assert all(isinstance(value, str) for value in row.values()), json.dumps(row)
