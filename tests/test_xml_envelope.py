"""The XML request parser and response renderer against docs/methods.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from switchvox_server.faults import ErrorEntry
from switchvox_server.protocol.xml_envelope import (
    XML_CONTENT_TYPE,
    parse_request,
    render_response,
)
from switchvox_server.tree import Element
from tests.helpers import canonical, lazy, refusal, report_row, spec_report, unparsable

BULK = "switchvox.extensions.phones.bulk.upload"


def render(method: str, result: Element | None, errors: tuple[ErrorEntry, ...] = ()) -> bytes:
    """The XML answer render_response gives."""
    return b"".join(render_response(method, result, errors))


# --------------------------------------------------------------------------- parsing


def test_spec_example_list_wrapper() -> None:
    """The documented request gives the method and the plural wrapper as a tuple."""
    body = b"""<request method="switchvox.extensions.getInfo">
      <parameters>
        <extensions><extension>104</extension><extension>207</extension></extensions>
      </parameters>
    </request>"""
    assert parse_request(body) == ("switchvox.extensions.getInfo", {"extensions": ("104", "207")})


def test_wrapper_with_one_item_is_still_a_list() -> None:
    """A plural wrapper holding one element is a tuple of one, not a scalar."""
    body = b'<request method="m"><parameters><account_ids><account_id>7</account_id>'
    body += b"</account_ids></parameters></request>"
    assert parse_request(body) == ("m", {"account_ids": ("7",)})


def test_attribute_form_of_scalars() -> None:
    """Attributes of <parameters> are scalars, as Digium's Perl library sends them."""
    body = b'<request method="m"><parameters dupe_process="1" extension_type="sip"/></request>'
    assert parse_request(body) == ("m", {"dupe_process": "1", "extension_type": "sip"})


def test_child_form_of_scalars_is_stripped() -> None:
    """Child elements without element children are scalars with their text stripped."""
    body = b"""<request method="m">
      <parameters>
        <dupe_process>
          1
        </dupe_process>
        <extension_type>sip</extension_type>
        <title/>
      </parameters>
    </request>"""
    assert parse_request(body) == ("m", {"dupe_process": "1", "extension_type": "sip", "title": ""})


def test_repeated_scalar_accumulates() -> None:
    """A scalar child given several times becomes a tuple of its values in order."""
    body = b'<request method="m"><parameters><extension>1</extension>'
    body += b"<extension>2</extension></parameters></request>"
    assert parse_request(body) == ("m", {"extension": ("1", "2")})


def test_attribute_and_child_of_one_name_accumulate() -> None:
    """A name given as attribute and as child becomes a tuple, attribute first."""
    body = b'<request method="m"><parameters a="1"><a>2</a></parameters></request>'
    assert parse_request(body) == ("m", {"a": ("1", "2")})


def test_no_parameters_element() -> None:
    """A request without <parameters> has no parameters."""
    assert parse_request(b'<request method="switchvox.extensions.search"/>') == (
        "switchvox.extensions.search",
        {},
    )


def test_cdata_and_comments_in_values() -> None:
    """CDATA sections are text and comments vanish from values."""
    body = b'<request method="m"><parameters><a><![CDATA[x<y&z]]></a>'
    body += b"<b>4<!-- note -->2</b></parameters></request>"
    assert parse_request(body) == ("m", {"a": "x<y&z", "b": "42"})


@pytest.mark.parametrize(
    "prefix",
    [
        b"",
        b'<?xml version="1.0"?>',
        b'<?xml version="1.0" encoding="UTF-8"?>\n',
        b"\xef\xbb\xbf",
        b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>\r\n',
        b'\n  <?xml version="1.0"?>\n\n',
    ],
)
def test_declaration_bom_and_leading_whitespace(prefix: bytes) -> None:
    """Declaration, UTF-8 BOM and blank lines before the document are all accepted."""
    body = prefix + b'<request method="m">\n\t<parameters a="\xc3\xa9"/>\n</request>\n'
    assert parse_request(body) == ("m", {"a": "\u00e9"})


def test_declared_latin1_encoding() -> None:
    """The encoding named in the declaration is honoured."""
    body = b'<?xml version="1.0" encoding="ISO-8859-1"?><request method="m"><a/>'
    body += b"<parameters><n>Ren\xe9</n></parameters></request>"
    assert parse_request(body) == ("m", {"n": "Ren\u00e9"})


@pytest.mark.parametrize("body", [b"", b"   \r\n\t ", b"\xef\xbb\xbf", b"\xef\xbb\xbf \n"])
def test_empty_body(body: bytes) -> None:
    """An empty or whitespace-only body is fault 10001."""
    assert refusal(parse_request, body) == ErrorEntry(10001, "The request was empty.")


@pytest.mark.parametrize(
    "body",
    [
        b"\x00\xff\xfe\x80garbage",
        b"hello",
        b'<request method="m"><parameters>',
        b'<request method="m"></response>',
        b'<request method="m"/><request method="n"/>',
        b'{"request": {}}',
    ],
)
def test_not_well_formed(body: bytes) -> None:
    """Garbage, truncated or mismatched documents are fault 10002."""
    assert refusal(parse_request, body) == unparsable("not well-formed XML")


def test_doctype_refused() -> None:
    """A DOCTYPE, even an empty one, is refused with fault 10002."""
    body = b'<!DOCTYPE request><request method="m"/>'
    assert refusal(parse_request, body) == unparsable("DOCTYPE is not allowed")


def test_billion_laughs_refused_unexpanded() -> None:
    """The billion-laughs document is refused, never expanded."""
    entities = b'<!ENTITY lol "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">'
        % (level, (b"&lol%d;" % (level - 1) if level > 1 else b"&lol;") * 10)
        for level in range(1, 10)
    )
    body = b'<?xml version="1.0"?><!DOCTYPE lolz [' + entities + b"]>"
    body += b'<request method="m"><parameters><a>&lol9;</a></parameters></request>'
    assert refusal(parse_request, body) == unparsable("DOCTYPE is not allowed")


def test_external_entity_refused_unread(tmp_path: Path) -> None:
    """An external SYSTEM entity is refused and the file it names is never read."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    for uri in ("file:///etc/passwd", secret.as_uri()):
        body = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "{uri}">]>'.encode()
        body += b'<request method="m"><parameters><a>&xxe;</a></parameters></request>'
        entry = refusal(parse_request, body)
        assert entry == unparsable("DOCTYPE is not allowed")
        assert "MARKER" not in entry.message
        assert "root:" not in entry.message


def test_external_parameter_entity_refused() -> None:
    """A parameter entity pulling in an external DTD is refused."""
    body = b'<!DOCTYPE r [<!ENTITY % pe SYSTEM "http://127.0.0.1:9/x.dtd"> %pe;]>'
    body += b'<request method="m"/>'
    assert refusal(parse_request, body).code == 10002


def test_undeclared_entity_reference_refused() -> None:
    """An entity reference without any DTD is refused as an entity."""
    body = b'<request method="m"><parameters><a>&foo;</a></parameters></request>'
    assert refusal(parse_request, body) == unparsable("entity references are not allowed")


def nested(levels: int) -> bytes:
    """A request whose deepest element sits `levels` deep (the root being level 1)."""
    inner = levels - 1
    return b'<request method="m">' + b"<x>" * inner + b"</x>" * inner + b"</request>"


def test_nesting_up_to_32_levels_accepted() -> None:
    """A document 32 levels deep is accepted."""
    assert parse_request(nested(32)) == ("m", {})


@pytest.mark.parametrize("levels", [33, 300, 5000])
def test_deeper_nesting_refused(levels: int) -> None:
    """Nesting deeper than 32 levels is fault 10002, whatever the depth."""
    assert refusal(parse_request, nested(levels)) == unparsable(
        "elements nested deeper than 32 levels"
    )


def test_list_item_with_children_refused() -> None:
    """A list item that itself holds elements is refused rather than silently flattened."""
    body = b'<request method="m"><parameters><extensions><extension><n>1</n></extension>'
    body += b"</extensions></parameters></request>"
    assert refusal(parse_request, body) == unparsable("parameter extensions is nested too deeply")


@pytest.mark.parametrize(
    "body",
    [
        b'<response method="m"/>',
        b'<r:request xmlns:r="urn:x" method="m"/>',
        b'<Request method="m"/>',
    ],
)
def test_wrong_root(body: bytes) -> None:
    """A root other than <request> is fault 10002."""
    assert refusal(parse_request, body) == unparsable("the root element must be request")


@pytest.mark.parametrize(
    "body",
    [b"<request/>", b'<request method=""/>', b'<request method="  "><parameters/></request>'],
)
def test_missing_method(body: bytes) -> None:
    """A missing or empty method attribute is fault 10011 naming method."""
    assert refusal(parse_request, body) == ErrorEntry(10011, "Missing required parameter (method)")


# --------------------------------------------------------------------------- rendering


def test_spec_report_renders() -> None:
    """The bulk upload report renders as the documented report."""
    expected = b"""<response method="switchvox.extensions.phones.bulk.upload">
      <result>
        <bulk_creation_report dupe_process="1" extension_type="SIP Extension">
          <create_failed>
            <extension extension="304" first_name="" last_name="last" email="last@test.com">
              <error text="First name is required and must be 1 - 32 characters in length."/>
              <error text="Phone password cannot be the same as the extension."/>
            </extension>
          </create_failed>
          <created>
            <extension extension="302" first_name="Freddy" last_name="Mercury"
                       email="fmerc@test.com"/>
          </created>
          <replaced></replaced>
          <updated></updated>
          <skipped></skipped>
        </bulk_creation_report>
      </result>
    </response>"""
    assert canonical(render(BULK, spec_report())) == canonical(expected)


def test_attribute_order_is_kept() -> None:
    """Attributes are written in the order given, after the tag."""
    output = render("m", Element("x", {"b": "2", "a": 1}))
    assert output == b'<response method="m"><result><x b="2" a="1"/></result></response>'


def test_one_error() -> None:
    """One fault renders as <errors> with one <error code message/> and no <result>."""
    message = "Invalid extension (asdf). Extensions may only contain digits or *."
    output = render("switchvox.extensions.getInfo", None, (ErrorEntry(10010, message),))
    expected = b"""<response method="switchvox.extensions.getInfo">
      <errors>
        <error code="10010"
               message="Invalid extension (asdf). Extensions may only contain digits or *."/>
      </errors>
    </response>"""
    assert canonical(output) == canonical(expected)


def test_errors_win_over_result() -> None:
    """Several faults render in order, and a result passed alongside is left out."""
    errors = (ErrorEntry(10010, "first"), ErrorEntry(10014, "second"))
    output = render("m", Element("x"), errors)
    expected = b"""<response method="m"><errors>
      <error code="10010" message="first"/><error code="10014" message="second"/>
    </errors></response>"""
    assert canonical(output) == canonical(expected)


def test_no_result_element() -> None:
    """A success without a result element renders an empty <result>."""
    assert canonical(render("m", None)) == canonical(b'<response method="m"><result/></response>')


@pytest.mark.parametrize("count", [0, 1, 3])
def test_lazy_children(count: int) -> None:
    """LazyChildren of 0, 1 and 3 items render each produced element inside the section."""
    rows = [report_row(100 + i, f"F{i}", f"L{i}", f"u{i}@x.com") for i in range(count)]
    output = render("m", Element("created", children=lazy("extension", rows)))
    inner = b"".join(
        b'<extension extension="%d" first_name="F%d" last_name="L%d" email="u%d@x.com"/>'
        % (100 + i, i, i, i)
        for i in range(count)
    )
    expected = b'<response method="m"><result><created>' + inner
    expected += b"</created></result></response>"
    assert canonical(output) == canonical(expected)


def test_text_element() -> None:
    """An element with text renders the text between start and end tags."""
    output = render("m", Element("a", {"k": "v"}, text="hello"))
    assert output == b'<response method="m"><result><a k="v">hello</a></result></response>'


def test_escaping_round_trips() -> None:
    """<, &, ", ' and tab/newline/CR survive a round trip through lxml in attributes and text."""
    tricky = "a<b>&c \"quoted\" 'single'\n\r\n\tend &amp;"
    output = render(tricky, Element("x", {"v": tricky}, text=tricky))
    root = etree.fromstring(output)
    assert root.get("method") == tricky
    element = root.find("result/x")
    assert element is not None
    assert element.get("v") == tricky
    assert element.text == tricky
    (error,) = etree.fromstring(render("m", None, (ErrorEntry(1, tricky),))).iter("error")
    assert error.get("message") == tricky


def test_xml_forbidden_characters_replaced() -> None:
    """Control characters XML cannot carry become U+FFFD and the output stays well-formed."""
    output = render("m", Element("x", {"v": "a\x00b\x0bc"}, text="d\x1fe\ufffe"))
    element = etree.fromstring(output).find("result/x")
    assert element is not None
    assert element.get("v") == "a\ufffdb\ufffdc"
    assert element.text == "d\ufffde\ufffd"


def test_utf8_output() -> None:
    """Non-ASCII text is written as UTF-8 bytes, not as references."""
    output = render("m", Element("x", {"name": "J\u00fcrgen \u4e2d"}))
    assert "J\u00fcrgen \u4e2d".encode() in output


def test_bool_attribute_is_a_digit() -> None:
    """A bool that slips into an attribute renders as 1/0, not True/False."""
    assert b'flag="1"' in render("m", Element("x", {"flag": True}))


def test_content_type() -> None:
    """The XML content type names UTF-8."""
    assert XML_CONTENT_TYPE == "application/xml; charset=utf-8"
