"""The hand-written XML and JSON renderers say what the slow, library-built path says.

They exist for speed; these properties pin that for any text XML can carry (quotes,
ampersands, brackets, tab/newline/CR, all of Unicode but the surrogates and the
non-characters U+FFFE/U+FFFF) and any shape of attributes and children, lazy ones included,
the rendered envelope parses (lxml, json) to the tree lxml.etree builds from the same
elements, and to json.dumps of the same structure.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from switchvox_server.faults import ErrorEntry
from switchvox_server.protocol import json_envelope, xml_envelope
from switchvox_server.tree import AttributeValue, Element, LazyChildren

# Every character XML 1.0 can carry: tab, newline, CR, and U+0020 on, less the surrogates
# and U+FFFE/U+FFFF.
XML_TEXT = st.text(
    st.characters(
        codec="utf-8",
        exclude_characters="".join(chr(c) for c in range(0x20) if c not in (9, 10, 13))
        + "\ufffe\uffff",
    )
    | st.sampled_from("&<>\"'\t\n\r]]>"),
    max_size=20,
)
ATTRIBUTE_VALUES: st.SearchStrategy[AttributeValue] = XML_TEXT | st.integers(-(10**12), 10**12)
# Attribute names and child tags come from different alphabets, so a JSON object never has
# a key twice (nor the text's key, "content").
ATTRIBUTE_NAMES = st.sampled_from(["a", "b", "first_name", "email", "x_1"])
CHILD_TAGS = st.sampled_from(["extension", "error", "row", "section"])
METHOD_NAMES = XML_TEXT
# Always tried besides the generated ones: every character that needs escaping somewhere.
SPECIALS = "<&>\"'\\\t\n\r]]>"


def _elements(tag: st.SearchStrategy[str]) -> st.SearchStrategy[Element]:
    leaves = st.builds(
        Element,
        tag,
        st.dictionaries(ATTRIBUTE_NAMES, ATTRIBUTE_VALUES, max_size=4),
        st.just(()),
        st.none() | XML_TEXT,
    )

    def with_children(children: st.SearchStrategy[Element]) -> st.SearchStrategy[Element]:
        listed = st.lists(children, max_size=4)
        lazy = st.builds(_lazy, CHILD_TAGS, st.lists(children, max_size=3))
        return st.builds(
            Element,
            tag,
            st.dictionaries(ATTRIBUTE_NAMES, ATTRIBUTE_VALUES, max_size=3),
            listed | lazy,
            st.none() | XML_TEXT,
        )

    return st.recursive(leaves, with_children, max_leaves=12)


def _lazy(tag: str, children: Sequence[Element]) -> LazyChildren:
    rows = [Element(tag, child.attributes, child.children, child.text) for child in children]
    return LazyChildren(tag, len(rows), lambda: iter(rows))


ELEMENTS = _elements(CHILD_TAGS)

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- XML


def _lxml_tree(element: Element, parent: etree._Element | None = None) -> etree._Element:
    """The slow path: the same element built with lxml.etree."""
    attributes = {name: str(value) for name, value in element.attributes.items()}
    node = (
        etree.Element(element.tag, attributes)
        if parent is None
        else etree.SubElement(parent, element.tag, attributes)
    )
    node.text = element.text
    for child in element.iter_children():
        _lxml_tree(child, node)
    return node


Shape = tuple[str, list[tuple[str, str]], str | None, list["Shape"]]


def _shape(node: etree._Element) -> Shape:
    # An empty text and no text are the same document.
    return (
        str(node.tag),
        [(str(name), str(value)) for name, value in node.attrib.items()],
        node.text or None,
        [_shape(child) for child in node],
    )


def _rendered_xml(
    method: str, result: Element | None, errors: Sequence[ErrorEntry] = ()
) -> etree._Element:
    document = b"".join(xml_envelope.render_response(method, result, errors))
    return etree.fromstring(document, etree.XMLParser(resolve_entities=False))


@PROPERTY
@given(method=METHOD_NAMES, element=ELEMENTS)
@example(method=SPECIALS, element=Element("row", {"a": SPECIALS}, text=SPECIALS))
@pytest.mark.slow
def test_the_xml_renderer_parses_to_the_tree_lxml_builds(method: str, element: Element) -> None:
    """Any result tree, rendered as XML and parsed by lxml, equals the tree lxml.etree
    builds from the same elements, and the method name survives as written."""
    root = _rendered_xml(method, element)
    assert root.get("method") == method
    [result] = root
    [rendered] = result
    assert _shape(rendered) == _shape(_lxml_tree(element))


@PROPERTY
@given(method=METHOD_NAMES, messages=st.lists(XML_TEXT, min_size=1, max_size=3))
def test_xml_fault_messages_parse_back_as_written(method: str, messages: list[str]) -> None:
    """Every fault message, whatever its text, parses back from the XML errors as written."""
    errors = [ErrorEntry(10000 + index, message) for index, message in enumerate(messages)]
    [listed] = _rendered_xml(method, None, errors)
    assert [(e.get("code"), e.get("message")) for e in listed] == [
        (str(error.code), error.message) for error in errors
    ]


# --------------------------------------------------------------------------- JSON


def _json_value(element: Element, strings: bool) -> object:
    """The slow path: the structure the JSON envelope stands for, as plain Python values."""

    def scalar(value: AttributeValue) -> object:
        return str(value) if strings or isinstance(value, str) else value

    members: dict[str, object] = {name: scalar(v) for name, v in element.attributes.items()}
    children = list(element.iter_children())
    if not children and not members:
        return {} if element.text is None else element.text
    if element.text is not None:
        members[json_envelope.CONTENT_KEY] = element.text
    groups: dict[str, list[object]] = {}
    for child in children:
        groups.setdefault(child.tag, []).append(_json_value(child, strings))
    for tag, values in groups.items():
        members[tag] = values if len(values) > 1 else values[0]
    return members


@PROPERTY
@given(method=METHOD_NAMES, element=ELEMENTS, strings=st.booleans())
@example(method=SPECIALS, element=Element("row", {"a": SPECIALS}, text=SPECIALS), strings=False)
@pytest.mark.slow
def test_the_json_renderer_writes_what_json_dumps_writes(
    method: str, element: Element, strings: bool
) -> None:
    """Any result tree, rendered as JSON (numbers or the all-strings profile), is byte for
    byte json.dumps of the same structure, and so parses to it."""
    rendered = b"".join(json_envelope.render_response(method, element, strings=strings))
    expected = {
        "response": {"method": method, "result": {element.tag: _json_value(element, strings)}}
    }
    assert json.loads(rendered) == expected
    assert rendered == json.dumps(expected, ensure_ascii=False, separators=(",", ":")).encode()


@PROPERTY
@given(method=METHOD_NAMES, messages=st.lists(XML_TEXT, min_size=1, max_size=3))
def test_json_fault_messages_parse_back_as_written(method: str, messages: list[str]) -> None:
    """Every fault message, whatever its text, parses back from the JSON errors as written."""
    errors = [ErrorEntry(10000 + index, message) for index, message in enumerate(messages)]
    entries = [{"code": error.code, "message": error.message} for error in errors]
    parsed = json.loads(b"".join(json_envelope.render_response(method, None, errors)))
    assert parsed == {
        "response": {
            "method": method,
            "errors": {"error": entries[0] if len(entries) == 1 else entries},
        }
    }


@pytest.mark.slow
@settings(max_examples=500)
@given(text=st.text(st.characters(codec="utf-8"), max_size=30))
@example(text=SPECIALS + "".join(map(chr, range(0x20))) + "\x7f\u2028\ufffe")
def test_json_strings_are_escaped_as_json_dumps_escapes_them(text: str) -> None:
    """Any string (every control character included, which JSON must escape) is written as
    json.dumps writes it, in names, values and text alike."""
    element = Element("row", {"value": text}, text=text)
    rendered = b"".join(json_envelope.render_response(text, element))
    expected = {"response": {"method": text, "result": {"row": {"value": text, "content": text}}}}
    assert rendered == json.dumps(expected, ensure_ascii=False, separators=(",", ":")).encode()
