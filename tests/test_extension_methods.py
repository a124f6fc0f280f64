"""`switchvox.extensions.getInfo` and `switchvox.extensions.search` over HTTP (docs/methods.md)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import timedelta

import pytest
from lxml import etree
from sqlalchemy import func, select, update
from starlette.testclient import TestClient

from switchvox_server.store.models import AccessLevel, Extension
from tests.helpers import fault, request_xml, sign_in_as_new_admin, upload

GET_INFO = "switchvox.extensions.getInfo"
SEARCH = "switchvox.extensions.search"
# getInfo's attributes in the method page's order, written out rather than read from the
# server's own tables (methods/users.py has getMyInfo's), so that a change there fails here.
ATTRIBUTES = [
    "number",
    "status",
    "can_dial_from_ivr",
    "account_id",
    "display",
    "date_created",
    "type",
    "type_display",
    "first_name",
    "last_name",
    "email_address",
    "template_id",
    "template_name",
    "title",
    "location",
    "lang_locale",
]
# Three uploads; numbers chosen so that text order, number order and name order all differ.
SIP_FIRST = [("1000", "Mia", "Brown"), ("999", "Adam", "Young"), ("301", "Zoe", "Adams")]
VIRTUAL = [("302", "adam", "Zimmer"), ("5000", "Carl", "Diaz")]
SIP_LATER = [("303", "Eve", "Stone"), ("100000", "Bob", "Marsh")]
ALL_BY_NUMBER = ["301", "302", "303", "999", "1000", "5000", "100000"]


def csv_of(rows: Sequence[tuple[str, str, str]]) -> str:
    """A CSV file of valid sip rows of (number, first name, last name)."""
    lines = ["ext,fname,lname,email,password,phone_password"]
    lines += [
        f"{ext},{first},{last},u{ext}@test.com,webpass{ext},sipsecret{ext}"
        for ext, first, last in rows
    ]
    return "\n".join(lines) + "\n"


def populate(client: TestClient, *, first_a_second_older: bool = False) -> None:
    """Create the test extensions; with `first_a_second_older`, those of the first upload
    are dated a second before the earliest of all, as if the others came a second later."""
    uploads = [(SIP_FIRST, "sip"), (VIRTUAL, "virtual"), (SIP_LATER, "sip")]
    for rows, extension_type in uploads:
        report = upload(client, csv_of(rows), extension_type=extension_type)
        assert len(report.findall(".//created/extension")) == len(rows)
    if first_a_second_older:
        database = client.app.state.database  # type: ignore[attr-defined]
        with database.sessions.begin() as session:
            earliest = session.scalar(select(func.min(Extension.date_created)))
            session.execute(
                update(Extension)
                .where(Extension.number.in_([number for number, _, _ in SIP_FIRST]))
                .values(date_created=earliest - timedelta(seconds=1))
            )


def call(client: TestClient, method: str, **parameters: object) -> etree._Element:
    """Post `method` with `parameters`; the parsed answer."""
    response = client.post("/xml", content=request_xml(method, **parameters))
    assert response.status_code == 200, response.text
    return etree.fromstring(response.content)


def numbers(response: etree._Element) -> list[str]:
    """The extension numbers of a successful answer, in order."""
    assert response.find("errors") is None, etree.tostring(response)
    return [node.get("number", "") for node in response.iterfind("result/extensions/extension")]


def listed(tag: str, values: Sequence[object]) -> str:
    """`values` as a list of `tag` elements."""
    return "".join(f"<{tag}>{value}</{tag}>" for value in values)


def account_ids(client: TestClient, *extensions: str) -> dict[str, str]:
    """The account id getInfo gives for each of `extensions`, by number."""
    response = call(client, GET_INFO, extensions=listed("extension", extensions))
    return {
        node.get("number", ""): node.get("account_id", "")
        for node in response.iterfind("result/extensions/extension")
    }


def errors(response: etree._Element) -> list[tuple[int, str]]:
    """The (code, message) of every error of a fault answer."""
    assert response.find("result") is None
    return [
        (int(node.get("code", "0")), node.get("message", ""))
        for node in response.iterfind("errors/error")
    ]


def page_totals(response: etree._Element) -> tuple[str | None, str | None]:
    """The total_items and total_pages of a search answer."""
    page = response.find("result/extensions")
    assert page is not None, etree.tostring(response)
    return page.get("total_items"), page.get("total_pages")


def attributes(node: etree._Element) -> dict[str, str]:
    """The attributes of `node` as a plain dict."""
    return {str(name): str(value) for name, value in node.attrib.items()}


def sort_key(field: str, row: dict[str, str]) -> tuple[str, int, str]:
    """The documented order of a sort field: its value, then the number numerically."""
    primary = {
        "number": "",
        "display": row["display"],  # code point order, which is UTF-8 byte order
        "account_id": row["account_id"].zfill(20),
        "extension_type": row["type"],
        "date_created": row["date_created"],
    }[field]
    return primary, len(row["number"]), row["number"]


# --------------------------------------------------------------------------- getInfo


def test_get_info_by_extension_lists_every_attribute_in_order(client: TestClient) -> None:
    """getInfo by number answers the requested extensions, documented attributes in order."""
    populate(client)
    response = call(client, GET_INFO, extensions=listed("extension", ["1000", "301"]))
    assert numbers(response) == ["1000", "301"]
    node = response.findall("result/extensions/extension")[1]
    assert list(node.attrib) == ATTRIBUTES
    values = attributes(node)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", values.pop("date_created"))
    assert values.pop("account_id").isdigit()
    assert values == {
        "number": "301",
        "status": "1",
        "can_dial_from_ivr": "1",
        "display": "Zoe Adams",
        "type": "sip",
        "type_display": "SIP Extension",
        "first_name": "Zoe",
        "last_name": "Adams",
        "email_address": "u301@test.com",
        "template_id": "1",
        "template_name": "Default",
        "title": "",
        "location": "",
        "lang_locale": "en_us",
    }


def test_get_info_shows_virtual_type(client: TestClient) -> None:
    """A virtual extension is typed `virtual` with the display name `Virtual Extension`."""
    populate(client)
    response = call(client, GET_INFO, extensions=listed("extension", ["5000"]))
    node = response.find("result/extensions/extension")
    assert node is not None
    assert (node.get("type"), node.get("type_display")) == ("virtual", "Virtual Extension")


def test_get_info_by_account_id(client: TestClient) -> None:
    """getInfo by account id answers those extensions in the order requested."""
    populate(client)
    ids = account_ids(client, "999", "302")
    response = call(client, GET_INFO, account_ids=listed("account_id", [ids["302"], ids["999"]]))
    assert numbers(response) == ["302", "999"]


def test_get_info_lists_each_extension_once(client: TestClient) -> None:
    """Numbers come first, then account ids, and an extension named twice appears once."""
    populate(client)
    ids = account_ids(client, "301", "999")
    response = call(
        client,
        GET_INFO,
        extensions=listed("extension", ["301", "301"]),
        account_ids=listed("account_id", [ids["999"], ids["301"]]),
    )
    assert numbers(response) == ["301", "999"]


def test_get_info_leaves_unknown_extensions_out(client: TestClient) -> None:
    """Unknown numbers and account ids are silently left out of the answer."""
    populate(client)
    response = call(
        client,
        GET_INFO,
        extensions=listed("extension", ["888", "301"]),
        account_ids=listed("account_id", ["987654", "99999999999999999999999"]),
    )
    assert numbers(response) == ["301"]


def test_get_info_without_parameters_is_10013(client: TestClient) -> None:
    """Neither extensions nor account_ids gives the documented fault 10013."""
    assert fault(call(client, GET_INFO)) == (
        10013,
        "Invalid number of parameters. At least one of the following parameters is required"
        " : (extensions,account_ids)",
    )


def test_get_info_with_empty_lists_is_10000(client: TestClient) -> None:
    """Parameters present but holding no value give fault 10000 (ours)."""
    response = call(client, GET_INFO, extensions="", account_ids=" ")
    assert fault(response) == (10000, "Missing extensions or account_ids")


def test_get_info_bad_extension_is_10010(client: TestClient) -> None:
    """An extension with a character other than digits or `*` gives fault 10010."""
    response = call(client, GET_INFO, extensions=listed("extension", ["asdf"]))
    assert fault(response) == (
        10010,
        "Invalid extension (asdf). Extensions may only contain digits or *.",
    )


def test_get_info_extension_length_is_10012(make_client: Callable[..., TestClient]) -> None:
    """An extension outside the configured length bounds gives fault 10012 naming them."""
    client = make_client(extension_max_length=4)
    response = call(client, GET_INFO, extensions=listed("extension", ["12345"]))
    assert fault(response) == (
        10012,
        "Invalid extension (12345). Extension must be between 3 to 4 characters in length.",
    )


def test_get_info_bad_account_id_is_10014(client: TestClient) -> None:
    """An account id with a non-digit gives fault 10014."""
    response = call(client, GET_INFO, account_ids=listed("account_id", ["12a"]))
    assert fault(response) == (
        10014,
        "Invalid account_id (12a). Account_ids may only contain digits.",
    )


def test_get_info_reports_every_bad_item(client: TestClient) -> None:
    """Several bad items give one error each, in request order, and no result."""
    response = call(
        client,
        GET_INFO,
        extensions=listed("extension", ["301", "as*df", "12", "*97"]),
        account_ids=listed("account_id", ["-1"]),
    )
    assert errors(response) == [
        (10010, "Invalid extension (as*df). Extensions may only contain digits or *."),
        (10012, "Invalid extension (12). Extension must be between 3 to 6 characters in length."),
        (10014, "Invalid account_id (-1). Account_ids may only contain digits."),
    ]


def test_no_secret_is_ever_answered(client: TestClient) -> None:
    """getInfo and search answer exactly the documented attributes: no password, PIN or hash."""
    populate(client)
    answers = [
        call(client, GET_INFO, extensions=listed("extension", ALL_BY_NUMBER)),
        call(client, SEARCH),
    ]
    for response in answers:
        nodes = response.findall("result/extensions/extension")
        assert len(nodes) == len(ALL_BY_NUMBER)
        assert {tuple(node.attrib) for node in nodes} == {tuple(ATTRIBUTES)}
        body = etree.tostring(response)
        assert b"webpass" not in body
        assert b"sipsecret" not in body


def test_get_info_json_gives_numbers_as_numbers(client: TestClient) -> None:
    """In JSON, numbers by nature are numbers while names stay strings even when numeric."""
    upload(client, csv_of([("301", "123", "0456")]))
    request = {
        "request": {"method": GET_INFO, "parameters": {"extensions": {"extension": ["301"]}}}
    }
    response = client.post("/json", json=request)
    assert response.status_code == 200
    extension = response.json()["response"]["result"]["extensions"]["extension"]
    assert isinstance(extension, dict)
    assert extension["number"] == 301
    assert isinstance(extension["account_id"], int)
    assert (extension["template_id"], extension["can_dial_from_ivr"], extension["status"]) == (
        1,
        1,
        1,
    )
    assert (extension["first_name"], extension["last_name"]) == ("123", "0456")
    assert extension["display"] == "123 0456"


# --------------------------------------------------------------------------- search


def test_search_defaults_to_everything_by_number(client: TestClient) -> None:
    """Without parameters, search answers page 1 of 50, ordered numerically by number."""
    populate(client)
    response = call(client, SEARCH)
    assert numbers(response) == ALL_BY_NUMBER
    page = response.find("result/extensions")
    assert page is not None
    assert attributes(page) == {
        "page_number": "1",
        "items_per_page": "50",
        "total_items": "7",
        "total_pages": "1",
    }


@pytest.mark.parametrize(
    ("bounds", "expected"),
    [
        ({"min_extension": "999", "max_extension": "5000"}, ["999", "1000", "5000"]),
        ({"min_extension": "1000"}, ["1000", "5000", "100000"]),
        ({"max_extension": "999"}, ["301", "302", "303", "999"]),
        ({"min_extension": "302", "max_extension": "303"}, ["302", "303"]),
        ({"min_extension": "5001", "max_extension": "99999"}, []),
    ],
)
def test_search_extension_range_is_numeric(
    client: TestClient, bounds: dict[str, str], expected: list[str]
) -> None:
    """min_extension and max_extension are inclusive and compare numbers as numbers."""
    populate(client)
    assert numbers(call(client, SEARCH, **bounds)) == expected


def test_search_by_extension_type(client: TestClient) -> None:
    """The type filter is case-insensitive and takes a list, a scalar or an attribute."""
    populate(client)
    assert numbers(call(client, SEARCH, extension_type="VIRTUAL")) == ["302", "5000"]
    both = listed("extension_type", ["sip", "Virtual"])
    assert numbers(call(client, SEARCH, extension_types=both)) == ALL_BY_NUMBER
    perl_style = f'<request method="{SEARCH}"><parameters extension_type="sip"/></request>'
    response = client.post("/xml", content=perl_style.encode())
    assert numbers(etree.fromstring(response.content)) == ["301", "303", "999", "1000", "100000"]


def test_search_by_creation_date(client: TestClient) -> None:
    """min_create_date and max_create_date are inclusive bounds to the second."""
    populate(client, first_a_second_older=True)
    response = call(client, GET_INFO, extensions=listed("extension", ["301", "302"]))
    first, later = (node.get("date_created") for node in response.iterfind(".//extension"))
    assert first is not None
    assert later is not None
    assert first < later
    early = ["301", "999", "1000"]
    late = ["302", "303", "5000", "100000"]
    assert numbers(call(client, SEARCH, max_create_date=first)) == early
    assert numbers(call(client, SEARCH, min_create_date=later)) == late
    assert numbers(call(client, SEARCH, min_create_date=first, max_create_date=first)) == early
    assert numbers(call(client, SEARCH, min_create_date="2999-01-01 00:00:00")) == []


@pytest.mark.parametrize(
    "field", ["number", "display", "account_id", "extension_type", "date_created"]
)
def test_search_sorts_by_each_field_both_ways(client: TestClient, field: str) -> None:
    """Each sort field orders as documented (ties by number) and DESC is ASC reversed."""
    populate(client, first_a_second_older=field == "date_created")
    rows = [attributes(node) for node in call(client, SEARCH).iterfind(".//extension")]
    expected = [row["number"] for row in sorted(rows, key=lambda row: sort_key(field, row))]
    ascending = numbers(call(client, SEARCH, sort_field=field, sort_order="asc"))
    descending = numbers(call(client, SEARCH, sort_field=field, sort_order="DESC"))
    assert ascending == expected
    assert descending == expected[::-1]


def test_search_display_order_is_byte_order(client: TestClient) -> None:
    """Sorting by display puts capitals before lower case, as every database agrees (ours)."""
    populate(client)
    response = call(client, SEARCH, sort_field="display")
    assert [node.get("display") for node in response.iterfind(".//extension")] == [
        "Adam Young",
        "Bob Marsh",
        "Carl Diaz",
        "Eve Stone",
        "Mia Brown",
        "Zoe Adams",
        "adam Zimmer",
    ]


def test_search_pages(client: TestClient) -> None:
    """Pages split the ordered list without gaps; a page past the end is empty."""
    populate(client)
    pages = []
    for page_number in (1, 2, 3, 4):
        response = call(client, SEARCH, items_per_page=3, page_number=page_number)
        page = response.find("result/extensions")
        assert page is not None
        assert attributes(page) == {
            "page_number": str(page_number),
            "items_per_page": "3",
            "total_items": "7",
            "total_pages": "3",
        }
        pages.append(numbers(response))
    assert [len(page) for page in pages] == [3, 3, 1, 0]
    assert [number for page in pages for number in page] == ALL_BY_NUMBER


def test_search_counts_only_matching_items(client: TestClient) -> None:
    """total_items counts what the filters match; nothing matched is zero pages."""
    populate(client)
    virtual = call(client, SEARCH, extension_type="virtual", items_per_page=1)
    assert page_totals(virtual) == ("2", "2")
    nothing = call(client, SEARCH, min_extension="7000", max_extension="8000")
    assert page_totals(nothing) == ("0", "0")
    assert numbers(nothing) == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("min_extension", "12a"),
        ("max_extension", "-5"),
        ("extension_type", "fax"),
        ("extension_type", "feature_faxes"),
        ("items_per_page", "0"),
        ("items_per_page", "100001"),
        ("page_number", "0"),
        ("page_number", "000"),
    ],
)
def test_search_bad_value_is_10005(client: TestClient, name: str, value: str) -> None:
    """A bad bound or type, or a count out of range, gives fault 10005 naming the parameter
    and the value (the documented codes are pinned in test_search_fidelity.py)."""
    response = call(client, SEARCH, **{name: value})
    assert fault(response) == (10005, f"Invalid value for parameter {name} ({value}).")


def test_search_reports_every_bad_value(client: TestClient) -> None:
    """Several bad values give one error each, in parameter order."""
    response = call(
        client,
        SEARCH,
        extension_types=listed("extension_type", ["sip", "fax", "pots"]),
        sort_order="sideways",
    )
    assert errors(response) == [
        (10005, "Invalid value for parameter extension_types (fax)."),
        (10005, "Invalid value for parameter extension_types (pots)."),
        (12017, "Invalid sort order"),
    ]


# --------------------------------------------------------------------------- access


def test_read_only_admin_may_read_but_not_upload(client: TestClient) -> None:
    """A read-only admin calls getInfo and search, and gets fault 27168 for bulk upload."""
    populate(client)
    sign_in_as_new_admin(client, "reader", AccessLevel.READ_ONLY)
    assert numbers(call(client, GET_INFO, extensions=listed("extension", ["301"]))) == ["301"]
    assert numbers(call(client, SEARCH)) == ALL_BY_NUMBER
    assert fault(upload(client, csv_of([("304", "New", "Person")]))) == (
        27168,
        "Your account is not permitted to run this action.",
    )
