"""How parameters may arrive: a scalar given twice in any shape is fault 10006 and never a
write; one-item lists as an attribute of their wrapper and PHP's empty `"parameters": []`
are read as real clients mean them; numeric parameters are bounded ASCII digits."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from lxml import etree
from starlette.testclient import TestClient

from switchvox_server.faults import ApiError
from switchvox_server.protocol.request import ApiRequest
from switchvox_server.values import ascii_integer
from tests.helpers import BULK_UPLOAD, fault, request_xml, section

SEARCH = "switchvox.extensions.search"
GET_INFO = "switchvox.extensions.getInfo"
CSV = b"ext,fname,lname,email,password,phone_password\n401,Ann,Lee,a@test.com,webpass1,sip401x\n"
UPLOAD_PARAMETERS = {
    "extension_type": "sip",
    "dupe_process": "1",
    "template_account_id": "1",
    "report_only": "1",
}
SEARCH_PARAMETERS = {
    "min_extension": "100",
    "max_extension": "999",
    "min_create_date": "2000-01-01 00:00:00",
    "max_create_date": "9999-12-31 23:59:59",
    "sort_field": "number",
    "sort_order": "ASC",
    "items_per_page": "10",
    "page_number": "1",
}
# Every scalar parameter of every method, with a valid value for each of its neighbours.
SCALARS = [(BULK_UPLOAD, name) for name in UPLOAD_PARAMETERS] + [
    (SEARCH, name) for name in SEARCH_PARAMETERS
]

# A request as (path, body): each shape gives `name` twice, the other parameters once.
Shape = Callable[[str, dict[str, str], str], tuple[str, bytes]]


def _elements(parameters: dict[str, str], skip: str) -> str:
    return "".join(f"<{k}>{v}</{k}>" for k, v in parameters.items() if k != skip)


def attribute_and_element(method: str, parameters: dict[str, str], name: str) -> tuple[str, bytes]:
    """A request giving parameter `name` both as an attribute and as an element."""
    value = parameters[name]
    body = f'<request method="{method}"><parameters {name}="{value}">'
    body += f"{_elements(parameters, name)}<{name}>{value}</{name}></parameters></request>"
    return "/xml", body.encode()


def two_elements(method: str, parameters: dict[str, str], name: str) -> tuple[str, bytes]:
    """A request giving parameter `name` as two elements."""
    value = parameters[name]
    twice = f"<{name}>{value}</{name}>" * 2
    body = f'<request method="{method}"><parameters>{twice}{_elements(parameters, name)}'
    return "/xml", (body + "</parameters></request>").encode()


def xml_list_of_two(method: str, parameters: dict[str, str], name: str) -> tuple[str, bytes]:
    """A request giving parameter `name` as an XML list of two items."""
    value = parameters[name]
    wrapper = f"<{name}><item>{value}</item><item>{value}</item></{name}>"
    body = f'<request method="{method}"><parameters>{_elements(parameters, name)}{wrapper}'
    return "/xml", (body + "</parameters></request>").encode()


def wrapper_attribute_and_item(
    method: str, parameters: dict[str, str], name: str
) -> tuple[str, bytes]:
    """A request giving parameter `name` as a wrapper's attribute and as its item."""
    value = parameters[name]
    wrapper = f'<{name} item="{value}"><item>{value}</item></{name}>'
    body = f'<request method="{method}"><parameters>{_elements(parameters, name)}{wrapper}'
    return "/xml", (body + "</parameters></request>").encode()


def json_list_of_two(method: str, parameters: dict[str, str], name: str) -> tuple[str, bytes]:
    """A JSON request giving parameter `name` as a list of two."""
    given: dict[str, object] = {**parameters, name: [parameters[name]] * 2}
    return "/json", json.dumps({"request": {"method": method, "parameters": given}}).encode()


def json_wrapped_list_of_two(
    method: str, parameters: dict[str, str], name: str
) -> tuple[str, bytes]:
    """A JSON request giving parameter `name` as an item list of two."""
    given: dict[str, object] = {**parameters, name: {"item": [parameters[name]] * 2}}
    return "/json", json.dumps({"request": {"method": method, "parameters": given}}).encode()


def json_key_twice(method: str, parameters: dict[str, str], name: str) -> tuple[str, bytes]:
    """A JSON request with parameter `name` as a key twice."""
    members = ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in parameters.items())
    members += f",{json.dumps(name)}:{json.dumps(parameters[name])}"
    body = f'{{"request":{{"method":{json.dumps(method)},"parameters":{{{members}}}}}}}'
    return "/json", body.encode()


SHAPES: list[Shape] = [
    attribute_and_element,
    two_elements,
    xml_list_of_two,
    wrapper_attribute_and_item,
    json_list_of_two,
    json_wrapped_list_of_two,
    json_key_twice,
]


def post(client: TestClient, path: str, body: bytes, *, with_file: bool) -> etree._Element:
    """Post the envelope (as a form's request part with a CSV, or raw); the answer as XML."""
    if with_file:
        response = client.post(
            path, data={"request": body.decode()}, files={"csv_file": ("x.csv", CSV, "text/csv")}
        )
    else:
        response = client.post(path, content=body)
    assert response.status_code == 200, response.text
    if path == "/xml":
        return etree.fromstring(response.content)
    errors = response.json()["response"].get("errors", {}).get("error", [])
    errors = errors if isinstance(errors, list) else [errors]
    root = etree.Element("response")
    holder = etree.SubElement(root, "errors") if errors else etree.SubElement(root, "result")
    for error in errors:
        etree.SubElement(holder, "error", code=str(error["code"]), message=error["message"])
    return root


def stored_extensions(client: TestClient) -> int:
    """How many extensions a search finds."""
    response = client.post("/xml", content=request_xml(SEARCH))
    extensions = etree.fromstring(response.content).find("result/extensions")
    assert extensions is not None, response.text
    return int(extensions.get("total_items", "-1"))


@pytest.mark.parametrize(("method", "name"), SCALARS, ids=[f"{m[10:]}-{n}" for m, n in SCALARS])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: shape.__name__)
def test_a_scalar_given_twice_is_10006(
    client: TestClient, method: str, name: str, shape: Shape
) -> None:
    """Every scalar parameter of every method, given twice in any shape, is fault 10006
    naming it, and an upload with a real write asked for stores nothing."""
    parameters = dict(UPLOAD_PARAMETERS if method == BULK_UPLOAD else SEARCH_PARAMETERS)
    if method == BULK_UPLOAD:
        parameters["report_only"] = "0"  # a write, if the doubled parameter were dropped
    path, body = shape(method, parameters, name)
    response = post(client, path, body, with_file=method == BULK_UPLOAD)
    assert fault(response) == (10006, f"Parameter ({name}) was given more than once.")
    assert stored_extensions(client) == 0


@pytest.mark.parametrize(
    "parameters",
    [
        '<parameters report_only="1" extension_type="sip" dupe_process="1"'
        ' template_account_id="1"><report_only>0</report_only></parameters>',
        '<parameters report_only="0" extension_type="sip" dupe_process="1"'
        ' template_account_id="1"><report_only>1</report_only></parameters>',
        "<parameters><report_only>1</report_only><extension_type>sip</extension_type>"
        "<dupe_process>1</dupe_process><template_account_id>1</template_account_id>"
        "<report_only>0</report_only></parameters>",
    ],
    ids=["attribute-1-element-0", "attribute-0-element-1", "elements-1-then-0"],
)
def test_a_doubled_report_only_never_writes(client: TestClient, parameters: str) -> None:
    """`report_only` given as attribute and element (either way round), or twice, is 10006
    and stores nothing; the same upload with it given once does write."""
    body = f'<request method="{BULK_UPLOAD}">{parameters}</request>'.encode()
    assert fault(post(client, "/xml", body, with_file=True))[0] == 10006
    assert stored_extensions(client) == 0
    single = request_xml(extension_type="sip", dupe_process=1, template_account_id=1)
    assert section(post(client, "/xml", single, with_file=True), "created") == ["401"]
    assert stored_extensions(client) == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7", "7"), (("7",), "7"), ((), None), (None, None)],
    ids=["scalar", "list-of-one", "empty-list", "absent"],
)
def test_scalar_reads_one_value(value: str | tuple[str, ...] | None, expected: str | None) -> None:
    """A scalar read takes a value or a one-item list; an empty list counts as not given."""
    parameters = {} if value is None else {"x": value}
    assert ApiRequest("m", parameters).scalar("x") == expected


@pytest.mark.parametrize("values", [("1", "1"), ("1", "0"), ("", "1"), ("a", "b", "c")])
def test_scalar_read_of_several_values_is_10006(values: tuple[str, ...]) -> None:
    """Several values, equal or not, are fault 10006 when read as a scalar."""
    with pytest.raises(ApiError) as caught:
        ApiRequest("m", {"x": values}).scalar("x")
    assert [(e.code, e.message) for e in caught.value.errors] == [
        (10006, "Parameter (x) was given more than once.")
    ]


def test_list_parameters_may_still_be_given_in_parts(client: TestClient) -> None:
    """A list parameter given as two wrappers is one list, not a fault."""
    body = request_xml(GET_INFO).replace(
        b"<parameters>",
        b"<parameters><extensions><extension>101</extension></extensions>"
        b"<extensions><extension>102</extension></extensions>",
    )
    assert post(client, "/xml", body, with_file=False).find("result/extensions") is not None


# --------------------------------------------------------------------------- one-item lists


def seed_extensions(client: TestClient) -> dict[str, str]:
    """Create extensions 401 and 402; their account ids by number."""
    csv = CSV + b"402,Bo,Ray,b@test.com,webpass1,sip402x\n"
    body = request_xml(extension_type="sip", dupe_process=1, template_account_id=1)
    response = client.post(
        "/xml", data={"request": body.decode()}, files={"csv_file": ("x.csv", csv, "text/csv")}
    )
    assert section(etree.fromstring(response.content), "created") == ["401", "402"]
    answer = etree.fromstring(client.post("/xml", content=request_xml(SEARCH)).content)
    return {e.get("number", ""): e.get("account_id", "") for e in answer.iter("extension")}


def numbers(client: TestClient, body: bytes) -> list[str]:
    """The extension numbers of the answer to `body`, which must not be a fault."""
    response = client.post("/xml", content=body, headers={"content-type": "text/xml"})
    root = etree.fromstring(response.content)
    assert root.find("errors") is None, response.text
    return [extension.get("number", "") for extension in root.iter("extension")]


def test_perl_xml_simple_one_item_lists(client: TestClient) -> None:
    """XML::Simple's one-item lists, `<extensions extension="401" />` and the same for
    account ids, as Digium's Perl library sends them, name one extension each."""
    ids = seed_extensions(client)
    body = (
        '<request method="switchvox.extensions.getInfo">\n'
        "  <parameters>\n"
        f'    <account_ids account_id="{ids["402"]}" />\n'
        '    <extensions extension="401" />\n'
        "  </parameters>\n"
        "</request>\n"
    ).encode()
    assert numbers(client, body) == ["401", "402"]


def test_php_xml_serializer_one_item_lists(client: TestClient) -> None:
    """XML_Serializer with scalarAsAttributes writes a one-item list as an attribute of its
    wrapper, `<extension_types extension_type="sip" />`: search reads it as that type."""
    seed_extensions(client)
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<request method="switchvox.extensions.search">\n'
        b'    <parameters items_per_page="10">\n'
        b'        <extension_types extension_type="sip" />\n'
        b"    </parameters>\n"
        b"</request>"
    )
    assert numbers(client, body) == ["401", "402"]
    virtual = body.replace(b'extension_type="sip"', b'extension_type="virtual"')
    assert numbers(client, virtual) == []


def test_wrapper_attribute_and_items_together_are_one_list(client: TestClient) -> None:
    """A wrapper's attribute item and its element items together make one list."""
    seed_extensions(client)
    body = request_xml(GET_INFO).replace(
        b"<parameters>",
        b'<parameters><extensions extension="402"><extension>401</extension></extensions>',
    )
    assert numbers(client, body) == ["402", "401"]


def test_text_beside_list_items_is_10002(client: TestClient) -> None:
    """A wrapper with text beside its items is refused rather than half read."""
    body = request_xml(BULK_UPLOAD).replace(
        b"<parameters>", b'<parameters><report_only value="0">1</report_only>'
    )
    response = post(client, "/xml", body, with_file=True)
    assert fault(response) == (
        10002,
        "The request could not be parsed (parameter report_only mixes text and items).",
    )


def test_php_json_encode_empty_parameters(client: TestClient) -> None:
    """`"parameters": []`, as PHP's json_encode writes an empty array, means no parameters."""
    seed_extensions(client)
    body = b'{"request":{"method":"switchvox.extensions.search","parameters":[]}}'
    response = client.post("/json", content=body, headers={"content-type": "application/json"})
    extensions = response.json()["response"]["result"]["extensions"]
    assert [item["number"] for item in extensions["extension"]] == [401, 402]
    body = b'{"request":{"method":"switchvox.extensions.getInfo","parameters":[]}}'
    response = client.post("/json", content=body)
    assert response.json()["response"]["errors"]["error"]["code"] == 10013


# --------------------------------------------------------------------------- numeric values


@pytest.mark.parametrize(
    ("text", "max_digits", "expected"),
    [
        ("0", 1, 0),
        ("7", 1, 7),
        ("0042", 4, 42),
        ("2147483647", 10, 2147483647),
        ("12", 1, None),
        ("", 3, None),
        (" 1", 3, None),
        ("+1", 3, None),
        ("-1", 3, None),
        ("1.0", 3, None),
        ("\u00b2", 3, None),
        ("\u0661", 3, None),
        ("\uff11", 3, None),
        ("1" * 25, 10, None),
        ("9" * 5000, 10, None),
    ],
)
def test_ascii_integer(text: str, max_digits: int, expected: int | None) -> None:
    """Only 1 to max_digits ASCII digits are a number; other scripts' digits, signs, spaces
    and long strings are not."""
    assert ascii_integer(text, max_digits) == expected


ODD_NUMBERS = ["\u00b2", "\u0661", "\uff11", "1" * 25, "9" * 5000, "2147483648", "-1", "1e3"]


def _upload_with(client: TestClient, **changes: str) -> tuple[int, str]:
    parameters = {**UPLOAD_PARAMETERS, "report_only": "0", **changes}
    response = post(client, "/xml", request_xml(**parameters), with_file=True)
    return fault(response)


def _echo(value: str) -> str:
    return value if len(value) <= 64 else value[:64] + "\u2026"


@pytest.mark.parametrize("value", ODD_NUMBERS)
def test_odd_template_ids_are_86173(client: TestClient, value: str) -> None:
    """A template id in other digits, too long or too large is 86173, never a 500 or
    another template, and nothing is stored."""
    code, message = _upload_with(client, template_account_id=value)
    assert (code, message) == (86173, f"Invalid template account ID ({_echo(value)})")
    assert stored_extensions(client) == 0


@pytest.mark.parametrize("value", [*ODD_NUMBERS, "01", "4", "0"])
def test_odd_dupe_processes_are_95106(client: TestClient, value: str) -> None:
    """A dupe_process other than the ASCII digit 1, 2 or 3 is 95106."""
    code, message = _upload_with(client, dupe_process=value)
    assert code == 95106
    assert message.startswith(f"Invalid dupe process ({_echo(value)}).")
    assert stored_extensions(client) == 0


@pytest.mark.parametrize("value", [*ODD_NUMBERS, "00", "01", "2"])
def test_odd_report_only_values_are_10005(client: TestClient, value: str) -> None:
    """A report_only other than the ASCII digit 0 or 1 is 10005, and nothing is stored."""
    code, message = _upload_with(client, report_only=value)
    assert (code, message) == (10005, f"Invalid value for parameter report_only ({_echo(value)}).")
    assert stored_extensions(client) == 0
