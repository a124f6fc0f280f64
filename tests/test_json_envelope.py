"""The JSON request parser and response renderer against docs/methods.md."""

from __future__ import annotations

import json

import pytest

from switchvox_server.faults import ErrorEntry
from switchvox_server.protocol.json_envelope import (
    JSON_CONTENT_TYPE,
    parse_request,
    render_response,
)
from switchvox_server.tree import Element, LazyChildren
from tests.helpers import (
    FIRST_NAME_RULE,
    lazy,
    refusal,
    report_row,
    spec_report,
    unparsable,
)

BULK = "switchvox.extensions.phones.bulk.upload"


def request(parameters: object, **extra: object) -> bytes:
    """A JSON request of method m with `parameters` and `extra` members."""
    return json.dumps({"request": {"method": "m", "parameters": parameters, **extra}}).encode()


def render(method: str, result: Element | None, errors: tuple[ErrorEntry, ...] = ()) -> object:
    """The JSON answer render_response gives, parsed."""
    return json.loads(b"".join(render_response(method, result, errors)))


# --------------------------------------------------------------------------- parsing


def test_spec_example_wrapper() -> None:
    """The documented request gives the method and the wrapped list as a tuple."""
    body = b"""{"request": {"method": "switchvox.extensions.getInfo",
                 "parameters": {"extensions": {"extension": ["104", "207"]}}}}"""
    assert parse_request(body) == ("switchvox.extensions.getInfo", {"extensions": ("104", "207")})


def test_flat_list() -> None:
    """A flat list is a tuple of strings."""
    assert parse_request(request({"extensions": ["104", 207]})) == (
        "m",
        {"extensions": ("104", "207")},
    )


def test_wrapper_around_one_scalar() -> None:
    """A wrapper object holding one scalar is a tuple of one."""
    assert parse_request(request({"account_ids": {"account_id": 7}})) == (
        "m",
        {"account_ids": ("7",)},
    )


def test_empty_wrapper_and_empty_list() -> None:
    """An empty wrapper object, a wrapper around null and an empty list are empty tuples."""
    body = request({"a": {}, "b": {"x": None}, "c": []})
    assert parse_request(body) == ("m", {"a": (), "b": (), "c": ()})


def test_numbers_keep_their_literal_text() -> None:
    """Numbers become their literal text: ints without a .0, floats as written."""
    body = b'{"request": {"method": "m", "parameters": {"dupe_process": 1, "template_account_id": '
    body += b'12345678901234567890123, "ratio": 2.50, "neg": -3}}}'
    assert parse_request(body) == (
        "m",
        {
            "dupe_process": "1",
            "template_account_id": "12345678901234567890123",
            "ratio": "2.50",
            "neg": "-3",
        },
    )


def test_huge_integer_is_not_a_crash() -> None:
    """An integer beyond Python's digit limit stays text instead of failing."""
    body = b'{"request": {"method": "m", "parameters": {"n": ' + b"9" * 5000 + b"}}}"
    assert parse_request(body) == ("m", {"n": "9" * 5000})


def test_bool_and_null() -> None:
    """true/false become "1"/"0"; a null parameter or list item is left out."""
    body = request({"report_only": True, "flag": False, "title": None, "list": ["1", None, "2"]})
    assert parse_request(body) == ("m", {"report_only": "1", "flag": "0", "list": ("1", "2")})


def test_strings_kept_verbatim() -> None:
    """String values are kept as sent, spaces included."""
    assert parse_request(request({"fname": "  Ann "})) == ("m", {"fname": "  Ann "})


def test_unknown_keys_ignored() -> None:
    """Unknown keys such as version are ignored, wherever they sit in the envelope."""
    body = b'{"version": 2, "request": {"version": "17487", "method": "m", "parameters": {}}}'
    assert parse_request(body) == ("m", {})


def test_parameters_absent_or_null() -> None:
    """A request without parameters, or with null parameters, has none."""
    assert parse_request(b'{"request": {"method": "m"}}') == ("m", {})
    assert parse_request(b'{"request": {"method": "m", "parameters": null}}') == ("m", {})


@pytest.mark.parametrize("prefix", [b"", b"\xef\xbb\xbf", b"\xef\xbb\xbf \r\n\t"])
def test_bom_and_whitespace(prefix: bytes) -> None:
    """A UTF-8 BOM and leading whitespace are accepted, and non-ASCII text decodes."""
    body = prefix + '{"request": {"method": "m", "parameters": {"n": "Ren\u00e9"}}}'.encode()
    assert parse_request(body) == ("m", {"n": "Ren\u00e9"})


@pytest.mark.parametrize("body", [b"", b"  \n\t", b"\xef\xbb\xbf"])
def test_empty_body(body: bytes) -> None:
    """An empty or whitespace-only body is fault 10001."""
    assert refusal(parse_request, body) == ErrorEntry(10001, "The request was empty.")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\x00\xff\xfe\x80garbage", "the request is not UTF-8"),
        (b"{not json", "not valid JSON"),
        (b'{"request": {"method": "m"}', "not valid JSON"),
        (b'<request method="m"/>', "not valid JSON"),
        (b'{"request": {"method": "m", "parameters": {"n": NaN}}}', "not valid JSON"),
        (b'[{"request": {}}]', "the document must be a JSON object"),
        (b'"request"', "the document must be a JSON object"),
        (b'{"method": "m"}', "the document must hold a request object"),
        (b'{"request": "m"}', "the document must hold a request object"),
        (b'{"request": {"method": ["m"]}}', "method must be a string"),
        (b'{"request": {"method": "m", "parameters": ["a"]}}', "parameters must be an object"),
    ],
)
def test_unparsable(body: bytes, reason: str) -> None:
    """Bytes that are not a JSON request envelope are fault 10002 with a short reason."""
    assert refusal(parse_request, body) == unparsable(reason)


@pytest.mark.parametrize(
    ("parameters", "reason"),
    [
        (
            {"extensions": {"extension": ["1"], "other": ["2"]}},
            "parameter extensions must wrap a single list",
        ),
        ({"extensions": {"extension": [{"n": "1"}]}}, "parameter extensions is nested too deeply"),
        ({"extensions": {"extension": {"n": "1"}}}, "parameter extensions is nested too deeply"),
        ({"extensions": [["1"]]}, "parameter extensions is nested too deeply"),
    ],
)
def test_nested_parameters_refused(parameters: object, reason: str) -> None:
    """Parameters nested beyond a wrapper around a list are fault 10002."""
    assert refusal(parse_request, request(parameters)) == unparsable(reason)


def nested(levels: int) -> bytes:
    """A request document whose deepest array sits `levels` deep (the outer object is 1)."""
    inner = levels - 2  # the outer object and the request object
    return b'{"request": {"method": "m", "x": ' + b"[" * inner + b"]" * inner + b"}}"


def test_nesting_up_to_32_levels_accepted() -> None:
    """A document 32 levels deep is accepted."""
    assert parse_request(nested(32)) == ("m", {})


@pytest.mark.parametrize("levels", [33, 2000, 200_000])
def test_deeper_nesting_refused(levels: int) -> None:
    """Nesting deeper than 32 levels is fault 10002, also where json itself would recurse out."""
    assert refusal(parse_request, nested(levels)) == unparsable("nested deeper than 32 levels")


@pytest.mark.parametrize(
    "body",
    [
        b'{"request": {"parameters": {}}}',
        b'{"request": {"method": null}}',
        b'{"request": {"method": ""}}',
        b'{"request": {"method": "   "}}',
    ],
)
def test_missing_method(body: bytes) -> None:
    """A missing, null or empty method is fault 10011 naming method."""
    assert refusal(parse_request, body) == ErrorEntry(10011, "Missing required parameter (method)")


# --------------------------------------------------------------------------- rendering


def test_report_renders() -> None:
    """The bulk report takes the documented shape: one → object, several → list, empty → {}."""
    assert render(BULK, spec_report(report_row("0303", "Brian", "May", "bmay@test.com"))) == {
        "response": {
            "method": BULK,
            "result": {
                "bulk_creation_report": {
                    "dupe_process": 1,
                    "extension_type": "SIP Extension",
                    "create_failed": {
                        "extension": {
                            "extension": 304,
                            "first_name": "",
                            "last_name": "last",
                            "email": "last@test.com",
                            "error": [
                                {"text": FIRST_NAME_RULE},
                                {"text": "Phone password cannot be the same as the extension."},
                            ],
                        }
                    },
                    "created": {
                        "extension": [
                            {
                                "extension": 302,
                                "first_name": "Freddy",
                                "last_name": "Mercury",
                                "email": "fmerc@test.com",
                            },
                            {
                                "extension": "0303",
                                "first_name": "Brian",
                                "last_name": "May",
                                "email": "bmay@test.com",
                            },
                        ]
                    },
                    "replaced": {},
                    "updated": {},
                    "skipped": {},
                }
            },
        }
    }


def test_one_error() -> None:
    """One fault is an error object with a numeric code, and there is no result."""
    assert render("m", Element("x"), (ErrorEntry(10011, "Missing required parameter (x)"),)) == {
        "response": {
            "method": "m",
            "errors": {"error": {"code": 10011, "message": "Missing required parameter (x)"}},
        }
    }


def test_several_errors() -> None:
    """Several faults are a list of error objects in order."""
    errors = (ErrorEntry(10010, "first"), ErrorEntry(10014, "second"))
    assert render("m", None, errors) == {
        "response": {
            "method": "m",
            "errors": {
                "error": [{"code": 10010, "message": "first"}, {"code": 10014, "message": "second"}]
            },
        }
    }


def test_no_result_element() -> None:
    """A success without a result element renders an empty result object."""
    assert render("m", None) == {"response": {"method": "m", "result": {}}}


@pytest.mark.parametrize("count", [0, 1, 3])
def test_lazy_children(count: int) -> None:
    """LazyChildren of 0, 1 and 3 items give {}, an object and a list."""
    rows = [report_row(100 + i, f"F{i}", f"L{i}", f"u{i}@x.com") for i in range(count)]
    expected_rows = [
        {"extension": 100 + i, "first_name": f"F{i}", "last_name": f"L{i}", "email": f"u{i}@x.com"}
        for i in range(count)
    ]
    expected: object = {}
    if count == 1:
        expected = {"extension": expected_rows[0]}
    elif count > 1:
        expected = {"extension": expected_rows}
    output = render("m", Element("created", children=lazy("extension", rows)))
    assert output == {"response": {"method": "m", "result": {"created": expected}}}


def test_lazy_count_mismatch_is_loud() -> None:
    """A LazyChildren producing a different number than its count raises instead of lying."""
    wrong = LazyChildren(
        "extension", 1, lambda: iter([report_row(1, "a", "b", "c"), report_row(2, "a", "b", "c")])
    )
    with pytest.raises(RuntimeError, match="1 announced, 2 produced"):
        b"".join(render_response("m", Element("created", children=wrong)))


def test_children_grouped_by_tag_in_first_appearance_order() -> None:
    """Interleaved child tags are grouped per tag, in the order each tag first appears."""
    element = Element(
        "x",
        children=(Element("b", {"n": 1}), Element("a", {"n": 2}), Element("b", {"n": 3})),
    )
    output = b"".join(render_response("m", element))
    assert output.index(b'"b"') < output.index(b'"a"')
    assert json.loads(output)["response"]["result"] == {
        "x": {"b": [{"n": 1}, {"n": 3}], "a": {"n": 2}}
    }


def test_numbers_versus_strings() -> None:
    """int attributes are JSON numbers; str attributes stay strings even when numeric."""
    element = Element("x", {"template_id": 1, "number": "0104", "name": "123", "flag": True})
    assert render("m", element) == {
        "response": {
            "method": "m",
            "result": {"x": {"template_id": 1, "number": "0104", "name": "123", "flag": 1}},
        }
    }


def test_text_elements() -> None:
    """A text-only element is its string; text beside attributes goes under content."""
    element = Element("x", children=(Element("a", text="42"), Element("b", {"k": 1}, text="t")))
    assert render("m", element) == {
        "response": {"method": "m", "result": {"x": {"a": "42", "b": {"k": 1, "content": "t"}}}}
    }


def test_escaping_and_utf8() -> None:
    """Quotes, backslashes and control characters are escaped; non-ASCII stays raw UTF-8."""
    tricky = "a<b>&c \"quoted\" \\ 'single'\n\r\t\x00 J\u00fcrgen \u4e2d"
    raw = b"".join(render_response(tricky, Element("x", {"v": tricky}, text=tricky)))
    assert "J\u00fcrgen \u4e2d".encode() in raw
    assert render(tricky, Element("x", {"v": tricky}, text=tricky)) == {
        "response": {"method": tricky, "result": {"x": {"v": tricky, "content": tricky}}}
    }


def test_content_type() -> None:
    """The JSON content type is application/json."""
    assert JSON_CONTENT_TYPE == "application/json"
