"""The XML envelope (docs/methods.md): requests parsed with a hardened lxml, responses streamed.

Parsing refuses anything an attacker could use to make the parser do work on their behalf
(DTDs, entities, deep nesting, counts beyond protocol.limits) with fault 10002 instead of
expanding it. Rendering is plain string building: it never needs a parser and it must stay
fast for 100,000-row reports.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from lxml import etree

from switchvox_server.faults import FAULTS, ApiError, ErrorEntry
from switchvox_server.protocol.chunks import ChunkBuffer
from switchvox_server.protocol.limits import MAX_ATTRIBUTES, MAX_DEPTH, MAX_NODES
from switchvox_server.protocol.request import ParameterValue
from switchvox_server.tree import Element

XML_CONTENT_TYPE = "application/xml; charset=utf-8"

_UTF8_BOM = b"\xef\xbb\xbf"


def _refuse(reason: str) -> ApiError:
    return ApiError(FAULTS.UNPARSABLE_REQUEST, reason)


# --------------------------------------------------------------------------- parsing


def parse_request(body: bytes) -> tuple[str, dict[str, ParameterValue]]:
    """The method name and parameters of an XML request envelope, or an `ApiError`."""
    root = _parse_document(body)
    if root.tag != "request":
        raise _refuse("the root element must be request")
    method = (root.get("method") or "").strip()
    if not method:
        raise ApiError(FAULTS.MISSING_PARAMETER, "method")

    values: dict[str, list[str]] = {}
    lists: set[str] = set()  # names given as a plural wrapper: a tuple even with one item
    for parameters in root.iterchildren("parameters"):
        for name, value in parameters.attrib.items():
            values.setdefault(str(name), []).append(str(value))
        for child in parameters.iterchildren("*"):
            name = str(child.tag)
            items = _list_items(name, child)
            if items is None:
                values.setdefault(name, []).append(_text(child))
            else:
                lists.add(name)
                values.setdefault(name, []).extend(items)

    # A name found more than once is a tuple: ApiRequest.scalar refuses it with 10006.
    parsed: dict[str, ParameterValue] = {}
    for name, found in values.items():
        parsed[name] = tuple(found) if name in lists or len(found) > 1 else found[0]
    return method, parsed


def _list_items(name: str, wrapper: etree._Element) -> list[str] | None:
    """The items of a list parameter, or None when the element is a scalar (no attributes,
    no child elements). A list of one may be an attribute of its wrapper,
    `<extensions extension="302"/>`, as XML::Simple and XML_Serializer write it."""
    children = list(wrapper.iterchildren("*"))
    if not children and not len(wrapper.attrib):
        return None
    if _text(wrapper) or any((child.tail or "").strip() for child in children):
        # Text beside items would be dropped by one reading and kept by another.
        raise _refuse(f"parameter {name} mixes text and items")
    items = [str(value) for value in wrapper.attrib.values()]
    for item in children:
        if len(item):
            raise _refuse(f"parameter {name} is nested too deeply")
        items.append(_text(item))
    return items


def _parse_document(body: bytes) -> etree._Element:
    # Clients build envelopes from templates: tolerate a BOM and blank lines before the
    # declaration, which strict XML would reject.
    if body.startswith(_UTF8_BOM):
        body = body[len(_UTF8_BOM) :]
    body = body.lstrip()
    if not body:
        raise ApiError(FAULTS.EMPTY_REQUEST)

    # A fresh parser per call: lxml parsers keep state (error log, resolvers).
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as error:
        raise _refuse(_syntax_reason(body, str(error))) from None

    docinfo = root.getroottree().docinfo
    if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None:
        raise _refuse("DOCTYPE is not allowed")
    _check_nodes(root)
    return root


def _syntax_reason(body: bytes, message: str) -> str:
    # libxml2's messages carry line/column noise; name the cause in a few words instead.
    # A DOCTYPE can fail before we get to refuse it (libxml2 stops entity amplification).
    if b"<!DOCTYPE" in body:
        return "DOCTYPE is not allowed"
    if "Excessive depth" in message:
        return f"elements nested deeper than {MAX_DEPTH} levels"
    if "entity" in message.lower():
        return "entity references are not allowed"
    return "not well-formed XML"


def _check_nodes(root: etree._Element) -> None:
    """Refuse entity nodes and whatever passes the limits. Attributes are counted here, in
    linear time, before anything reads them (reading is quadratic in their number in lxml);
    iterwalk keeps one element proxy alive at a time."""
    if next(root.iter(etree.Entity), None) is not None:
        raise _refuse("entity references are not allowed")
    depth = 0
    nodes = 0
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if event == "end":
            depth -= 1
            continue
        depth += 1
        nodes += 1
        if nodes > MAX_NODES:
            raise _refuse(f"more than {MAX_NODES} elements")
        if depth > MAX_DEPTH:
            raise _refuse(f"elements nested deeper than {MAX_DEPTH} levels")
        if len(element.attrib) > MAX_ATTRIBUTES:
            raise _refuse(f"more than {MAX_ATTRIBUTES} attributes on one element")


def _text(element: etree._Element) -> str:
    return (element.text or "").strip()


# --------------------------------------------------------------------------- rendering

_ATTRIBUTE_SPECIAL = re.compile('[&<>"\x00-\x1f\ufffe\uffff]')
_TEXT_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CONTROL = re.compile("[\x00-\x1f\ufffe\uffff]")
# C0 controls other than tab/newline/CR cannot appear in XML 1.0 at all, not even as
# character references; they become U+FFFD so that a stray one never breaks the document.
_INVALID = dict.fromkeys((*range(0x20), 0xFFFE, 0xFFFF), "\ufffd")
# Attribute value normalisation would turn tab/newline/CR into spaces; references survive.
_ATTRIBUTE_CONTROLS = str.maketrans({**_INVALID, "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"})
# In text only CR needs a reference: a raw one would be read back as LF.
_TEXT_CONTROLS = str.maketrans({**_INVALID, "\t": "\t", "\n": "\n", "\r": "&#13;"})


def _escape_attribute(value: str) -> str:
    # Most values need nothing: one regex search is the whole cost (translate-everything is
    # several times slower, and this runs for every attribute of a 100,000-row report).
    if _ATTRIBUTE_SPECIAL.search(value) is None:
        return value
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = value.replace('"', "&quot;")
    return value if _CONTROL.search(value) is None else value.translate(_ATTRIBUTE_CONTROLS)


def _escape_text(value: str) -> str:
    if _TEXT_SPECIAL.search(value) is None:
        return value
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value if _CONTROL.search(value) is None else value.translate(_TEXT_CONTROLS)


def render_response(
    method: str, result: Element | None, errors: Sequence[ErrorEntry] = ()
) -> Iterator[bytes]:
    """The response envelope as UTF-8 chunks: `<result>` or, when there are errors, `<errors>`."""
    out = ChunkBuffer()
    out.write(f'<response method="{_escape_attribute(method)}">')
    if errors:
        out.write("<errors>")
        for error in errors:
            out.write(f'<error code="{error.code}" message="{_escape_attribute(error.message)}"/>')
        out.write("</errors>")
    elif result is None:
        out.write("<result/>")
    else:
        out.write("<result>")
        yield from _render_element(result, out)
        out.write("</result>")
    out.write("</response>")
    yield out.take()


def _start_tag(element: Element) -> str:
    pieces = ["<", element.tag]
    for name, value in element.attributes.items():
        # int() also turns a stray bool into 1/0 rather than "True".
        text = _escape_attribute(value) if type(value) is str else int(value)
        pieces.append(f' {name}="{text}"')
    return "".join(pieces)


def _render_element(element: Element, out: ChunkBuffer) -> Iterator[bytes]:
    start = _start_tag(element)
    # A LazyChildren is truthy even when it will produce nothing; <x></x> equals <x/>.
    if not element.children and element.text is None:
        out.write(start + "/>")
        return
    out.write(start + ">")
    if element.text is not None:
        out.write(_escape_text(element.text))
    for child in element.iter_children():
        if child.children or child.text is not None:
            yield from _render_element(child, out)
        else:
            # The common row: a leaf written inline, no generator per element.
            out.write(_start_tag(child) + "/>")
        if out.full:
            yield out.take()
    out.write(f"</{element.tag}>")
