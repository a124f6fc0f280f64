"""The envelope's bounds: counts refused with 10002 past the limits, parsing linear in the
input, any bytes answered with an envelope or a request fault, raw bodies never buffered
past 1 MiB, and fault messages that echo little of a huge value."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.testclient import TestClient

from switchvox_server.faults import FAULTS, ApiError, ErrorEntry, IntakeError
from switchvox_server.http.intake import take_in
from switchvox_server.http.multipart import MAX_REQUEST_PART_BYTES
from switchvox_server.protocol import json_envelope, xml_envelope
from switchvox_server.protocol.limits import MAX_ATTRIBUTES, MAX_DEPTH, MAX_NODES
from switchvox_server.protocol.request import ParameterValue
from tests.conftest import ADMIN_PASSWORD
from tests.helpers import refusal, request_xml, unparsable

Parser = Callable[[bytes], tuple[str, dict[str, ParameterValue]]]
DOCS = Path(__file__).parent.parent / "docs"
PARSERS = {"xml": xml_envelope.parse_request, "json": json_envelope.parse_request}
REQUEST_FAULTS = {10001, 10002, 10006}


def attributes(count: int, prefix: str = "a") -> str:
    """`count` XML attributes named `prefix` and a number."""
    return " ".join(f'{prefix}{n}="1"' for n in range(count))


# --------------------------------------------------------------------------- XML counts

TOO_MANY_ATTRIBUTES = unparsable(f"more than {MAX_ATTRIBUTES} attributes on one element")


@pytest.mark.parametrize(
    ("template", "own"),
    [
        ('<request method="m" {}/>', 1),
        ('<request method="m"><parameters {}/></request>', 0),
        ('<request method="m"><parameters><extensions {}/></parameters></request>', 0),
        ('<request method="m"><x><y><z {}/></y></x></request>', 0),
    ],
    ids=["root", "parameters", "wrapper", "anywhere"],
)
def test_attributes_beyond_the_limit_are_refused(template: str, own: int) -> None:
    """More than MAX_ATTRIBUTES attributes on any one element is 10002; exactly as many is
    read (`own` counts those the element has anyway)."""
    at_limit = template.format(attributes(MAX_ATTRIBUTES - own)).encode()
    assert xml_envelope.parse_request(at_limit)[0] == "m"
    beyond = template.format(attributes(MAX_ATTRIBUTES - own + 1)).encode()
    assert refusal(xml_envelope.parse_request, beyond) == TOO_MANY_ATTRIBUTES


def test_scalars_as_attributes_up_to_the_limit() -> None:
    """<parameters> may carry MAX_ATTRIBUTES scalars as attributes, each read."""
    body = f'<request method="m"><parameters {attributes(MAX_ATTRIBUTES)}/></request>'.encode()
    _, parameters = xml_envelope.parse_request(body)
    assert parameters == {f"a{n}": "1" for n in range(MAX_ATTRIBUTES)}


@pytest.mark.parametrize("extra", [0, 1, 50_000])
def test_elements_beyond_the_limit_are_refused(extra: int) -> None:
    """An envelope of MAX_NODES elements is read; one more, or many more, is 10002."""
    items = MAX_NODES - 3 + extra  # with <request>, <parameters> and <extensions>
    body = b'<request method="m"><parameters><extensions>'
    body += b"<e>1</e>" * items + b"</extensions></parameters></request>"
    if extra == 0:
        _, parameters = xml_envelope.parse_request(body)
        assert len(parameters["extensions"]) == items
    else:
        refused = unparsable(f"more than {MAX_NODES} elements")
        assert refusal(xml_envelope.parse_request, body) == refused


# --------------------------------------------------------------------------- JSON counts


def json_request(parameters: str, extra: str = "") -> bytes:
    """A JSON request of method m with `parameters` (raw JSON) and `extra` members."""
    return f'{{"request":{{"method":"m","parameters":{parameters}}}{extra}}}'.encode()


@pytest.mark.parametrize("extra", [0, 1, 200_000])
def test_json_values_beyond_the_limit_are_refused(extra: int) -> None:
    """MAX_NODES values in all are read; one more, or many more, is 10002."""
    # The document, its request, method, parameters and extensions are five values.
    items = MAX_NODES - 5 + extra
    body = json_request('{"extensions":[' + ",".join(["1"] * items) + "]}")
    if extra == 0:
        _, parameters = json_envelope.parse_request(body)
        assert len(parameters["extensions"]) == items
    else:
        refused = unparsable(f"more than {MAX_NODES} values")
        assert refusal(json_envelope.parse_request, body) == refused


def test_json_objects_beyond_the_limit_are_refused_before_the_rest_is_read() -> None:
    """A document whose first MAX_NODES + 1 values are objects is refused as too large
    there, without reading on: what follows them is never looked at, broken or not."""
    body = json_request('{"extensions":[' + "{}," * (MAX_NODES + 1)) + b"not JSON at all"
    assert refusal(json_envelope.parse_request, body) == unparsable(f"more than {MAX_NODES} values")


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 100_000])
def test_json_nesting_beyond_the_limit_is_refused(depth: int) -> None:
    """Objects and arrays nested deeper than MAX_DEPTH are 10002, however deep."""
    body = json_request("{}", ',"x":' + "[" * depth + "]" * depth)
    assert refusal(json_envelope.parse_request, body) == unparsable(
        f"nested deeper than {MAX_DEPTH} levels"
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"request":{"method":"m"},"request":{"method":"n"}}',
        b'{"request":{"method":"m","method":"n"}}',
        b'{"request":{"method":"m","parameters":{},"parameters":{"report_only":"0"}}}',
        json_request("{}", ',"version":{"a":"1","a":"2"}'),
        json_request('{"extensions":[{"a":"1","a":"2"}]}'),
        json_request("{}", ',"version":[{"":"1","":"2"}]'),
    ],
    ids=["document", "request", "parameters-twice", "unknown-member", "inside-a-list", "empty"],
)
def test_json_key_twice_outside_the_parameters_is_10002(body: bytes) -> None:
    """A key given twice in any object but the parameters and their wrappers is 10002."""
    assert refusal(json_envelope.parse_request, body).code == 10002


@pytest.mark.parametrize(
    ("parameters", "name"),
    [
        ('{"report_only":"1","report_only":"0"}', "report_only"),
        ('{"report_only":"1","dupe_process":"1","report_only":"1"}', "report_only"),
        ('{"extensions":["1"],"extensions":["2"]}', "extensions"),
        ('{"extensions":{"extension":"1","extension":"2"}}', "extensions"),
    ],
)
def test_json_key_twice_in_the_parameters_is_10006(parameters: str, name: str) -> None:
    """A key given twice in `parameters` or in one of its wrappers is 10006 naming it."""
    assert refusal(json_envelope.parse_request, json_request(parameters)) == ErrorEntry(
        10006, f"Parameter ({name}) was given more than once."
    )


# --------------------------------------------------------------------------- linear time

SMALL = MAX_REQUEST_PART_BYTES // 4


def repeat_to(size: int, head: str, unit: Callable[[int], str], tail: str) -> bytes:
    """head + unit(0) + unit(1) + … + tail, as close to `size` bytes as whole units allow."""
    pieces = [head]
    length = len(head) + len(tail)
    n = 0
    while length < size:
        piece = unit(n)
        pieces.append(piece)
        length += len(piece)
        n += 1
    return ("".join(pieces) + tail).encode()


XML_HEAD = '<request method="m"><parameters>'
XML_TAIL = "</parameters></request>"
JSON_HEAD = '{"request":{"method":"m","parameters":{'
JSON_TAIL = "}}}"
# Hostile shapes, each a function of the envelope's size in bytes.
SHAPES: dict[str, Callable[[int], bytes]] = {
    "xml-attributes-of-parameters": lambda size: repeat_to(
        size, '<request method="m"><parameters ', lambda n: f'a{n}="1" ', "/></request>"
    ),
    "xml-attributes-of-the-root": lambda size: repeat_to(
        size, "<request ", lambda n: f'a{n}="1" ', 'method="m"/>'
    ),
    "xml-wrappers-full-of-attributes": lambda size: repeat_to(
        size, XML_HEAD, lambda n: f"<w{n} {attributes(MAX_ATTRIBUTES)}/>", XML_TAIL
    ),
    "xml-parameters-full-of-attributes": lambda size: repeat_to(
        size, '<request method="m">', lambda n: f"<parameters {attributes(60)}/>", "</request>"
    ),
    "xml-list-items": lambda size: repeat_to(
        size, XML_HEAD + "<extensions>", lambda n: "<extension>101</extension>", "</extensions>"
    ),
    "xml-distinct-scalars": lambda size: repeat_to(
        size, XML_HEAD, lambda n: f"<p{n}>1</p{n}>", XML_TAIL
    ),
    "xml-repeated-scalar": lambda size: repeat_to(
        size, XML_HEAD, lambda n: "<report_only>1</report_only>", XML_TAIL
    ),
    "xml-empty-elements": lambda size: repeat_to(size, XML_HEAD, lambda n: "<a/>", XML_TAIL),
    "xml-long-value": lambda size: repeat_to(size, XML_HEAD + "<a>", lambda n: "x" * 1024, "</a>"),
    "json-list-items": lambda size: repeat_to(
        size, JSON_HEAD + '"extensions":["1"', lambda n: ',"1"', "]" + JSON_TAIL
    ),
    "json-distinct-keys": lambda size: repeat_to(
        size, JSON_HEAD + '"k":1', lambda n: f',"k{n}":1', JSON_TAIL
    ),
    "json-repeated-key": lambda size: repeat_to(
        size, JSON_HEAD + '"k":1', lambda n: ',"k":1', JSON_TAIL
    ),
    "json-empty-objects": lambda size: repeat_to(
        size, JSON_HEAD + '"k":[{}', lambda n: ",{}", "]" + JSON_TAIL
    ),
    "json-long-string": lambda size: repeat_to(
        size, JSON_HEAD + '"k":"', lambda n: "x" * 1024, '"' + JSON_TAIL
    ),
}


def parse_cpu_seconds(body: bytes) -> float:
    """The least CPU time of a few parses of `body`, whatever each answers."""
    parse = json_envelope.parse_request if body.startswith(b"{") else xml_envelope.parse_request
    best = float("inf")
    for _ in range(3):
        started = time.thread_time()
        with contextlib.suppress(ApiError):
            parse(body)
        best = min(best, time.thread_time() - started)
    return best


@pytest.mark.slow
@pytest.mark.parametrize("shape", SHAPES)
def test_parsing_is_linear_in_the_envelope(shape: str) -> None:
    """A hostile envelope four times larger (up to the 1 MiB limit) costs at most about four
    times as much to parse: well under the sixteen times a quadratic step would cost."""
    small = parse_cpu_seconds(SHAPES[shape](SMALL))
    large = parse_cpu_seconds(SHAPES[shape](4 * SMALL))
    assert large < 8 * small + 0.02, (small, large)
    assert large < 1.0, large


# --------------------------------------------------------------------------- any bytes


def assert_envelope_or_request_fault(parse: Parser, body: bytes) -> None:
    """Check that `parse` either gives a method and string parameters or refuses with a request
    fault."""
    try:
        method, parameters = parse(body)
    except ApiError as error:
        codes = {entry.code for entry in error.errors}
    else:
        codes = set()
    if codes:
        assert codes <= REQUEST_FAULTS | {10011}, codes
        return
    assert isinstance(method, str)
    assert method
    for value in parameters.values():
        assert isinstance(value, str) or all(isinstance(item, str) for item in value)


ANY_BYTES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces of envelopes, so that generated bodies get past the first byte of the parser.
XML_PIECES = st.sampled_from(
    [
        '<request method="m">',
        "</request>",
        "<parameters>",
        "</parameters>",
        '<parameters a="1" b="2">',
        "<extensions>",
        "</extensions>",
        '<extensions extension="1"/>',
        "<extension>1</extension>",
        "<report_only>1</report_only>",
        "<a>",
        "</a>",
        "<!DOCTYPE r>",
        "&amp;",
        "&x;",
        "<![CDATA[<]]>",
        "<!-- c -->",
        "<?pi x?>",
        ' x="1"',
        "\x00",
        "\u00e9",
        " ",
    ]
)
JSON_PIECES = st.sampled_from(
    [
        '{"request":',
        '{"method":"m"',
        ',"parameters":',
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        '"report_only"',
        '"extensions"',
        '"extension"',
        '"1"',
        "1",
        "1e999",
        "NaN",
        "true",
        "null",
        '"\\ud800"',
        '"\\u0000"',
        " ",
    ]
)


@ANY_BYTES
@given(body=st.binary(max_size=600))
def test_any_bytes_give_an_xml_envelope_or_a_request_fault(body: bytes) -> None:
    """Any bytes at all parse as an XML envelope or give 10001, 10002, 10006 (or 10011
    for a missing method), never another exception."""
    assert_envelope_or_request_fault(xml_envelope.parse_request, body)


@ANY_BYTES
@given(body=st.binary(max_size=600))
def test_any_bytes_give_a_json_envelope_or_a_request_fault(body: bytes) -> None:
    """Any bytes at all parse as a JSON envelope or give a request fault, never another
    exception."""
    assert_envelope_or_request_fault(json_envelope.parse_request, body)


@pytest.mark.slow
@ANY_BYTES
@given(pieces=st.lists(XML_PIECES, max_size=40))
def test_any_xml_like_text_gives_an_envelope_or_a_request_fault(pieces: list[str]) -> None:
    """Envelope-like XML, well-formed or not, parses or gives a request fault."""
    assert_envelope_or_request_fault(xml_envelope.parse_request, "".join(pieces).encode())


@ANY_BYTES
@given(pieces=st.lists(JSON_PIECES, max_size=40))
def test_any_json_like_text_gives_an_envelope_or_a_request_fault(pieces: list[str]) -> None:
    """Envelope-like JSON, valid or not, parses or gives a request fault."""
    text = "".join(pieces)
    assert_envelope_or_request_fault(json_envelope.parse_request, text.encode("utf-8", "replace"))


# --------------------------------------------------------------------------- intake


def streamed_request(content_type: str, total: int, chunk: int) -> tuple[Request, list[int]]:
    """A request whose body of `total` bytes arrives in chunks; the list counts the chunks
    the server took."""
    taken = [0]

    async def receive() -> dict[str, object]:
        taken[0] += 1
        more = taken[0] * chunk < total
        return {"type": "http.request", "body": b" " * chunk, "more_body": more}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/xml",
        "headers": [(b"content-type", content_type.encode())],
    }
    return Request(scope, receive), taken


@pytest.mark.parametrize("content_type", ["text/xml", "application/x-www-form-urlencoded", ""])
def test_a_raw_body_is_never_buffered_past_1_mib(content_type: str) -> None:
    """A 100 MB raw or URL-encoded body is refused after reading one chunk past 1 MiB,
    holding a few MiB at most, whatever the upload limit."""
    chunk = 64 * 1024
    request, taken = streamed_request(content_type, 100 * 1024 * 1024, chunk)
    tracemalloc.start()
    try:
        with pytest.raises(IntakeError, match="larger than 1 MiB"):
            asyncio.run(take_in(request, limit=1024**3))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert taken[0] == MAX_REQUEST_PART_BYTES // chunk + 1
    assert peak < 4 * MAX_REQUEST_PART_BYTES


def test_an_oversized_raw_body_over_a_live_server_is_10002(live_server: str) -> None:
    """Over a real server, a raw envelope announced as 64 MiB is answered 10002 once it
    passes 1 MiB, while the client is still sending."""
    host, port = live_server.removeprefix("http://").split(":")
    token = base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
    total = 64 * 1024 * 1024
    head = (
        f"POST /xml HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {token}\r\n"
        f"Content-Type: text/xml\r\nContent-Length: {total}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head)

        def send_body() -> None:
            try:
                for _ in range(total // (1024 * 1024)):
                    connection.sendall(b" " * (1024 * 1024))
            except OSError:
                pass  # the server may close once it has answered

        sender = threading.Thread(target=send_body, daemon=True)
        sender.start()
        reply = b""
        while b"</response>" not in reply:
            chunk = connection.recv(65536)  # the socket's timeout bounds each wait
            if not chunk:
                break
            reply += chunk
        connection.shutdown(socket.SHUT_RDWR)
        sender.join(timeout=10)
    assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
    assert b"(the request is larger than 1 MiB)" in reply


# --------------------------------------------------------------------------- echoes


def test_a_huge_value_is_echoed_in_64_characters() -> None:
    """A fault filled with a 10 MB value echoes its first 64 characters and `…`."""
    error = ApiError(FAULTS.INVALID_TEMPLATE, "7" * 10_000_000)
    (entry,) = error.errors
    assert entry.message == f"Invalid template account ID ({'7' * 64}\u2026)"
    several = ApiError.several([(FAULTS.INVALID_EXTENSION, ("x" * 65,))])
    assert several.errors[0].message.startswith(f"Invalid extension ({'x' * 64}\u2026).")


@pytest.mark.parametrize("length", [63, 64])
def test_a_short_value_is_echoed_whole(length: int) -> None:
    """Values of up to 64 characters are echoed whole."""
    (entry,) = ApiError(FAULTS.INVALID_METHOD, "m" * length).errors
    assert entry.message == f"Invalid method ({'m' * length})."


def test_an_echoing_fault_over_http_stays_small(client: TestClient) -> None:
    """A method name of almost 1 MiB answers a fault of a few hundred bytes."""
    name = "x" * (MAX_REQUEST_PART_BYTES - 100)
    for path, body in (
        ("/xml", request_xml(name)),
        ("/json", json.dumps({"request": {"method": name}}).encode()),
    ):
        response = client.post(path, content=body)
        assert response.status_code == 200
        assert len(response.content) < 400, len(response.content)
        assert "x" * 64 + "\u2026" in response.text


def test_the_limits_are_documented() -> None:
    """docs/methods.md states each envelope limit as the code sets it."""
    text = (DOCS / "methods.md").read_text()
    section = text.split("### Envelope limits", 1)[1].split("\n## ", 1)[0]
    for figure in ("1 MiB", f"{MAX_NODES:,}", f"{MAX_DEPTH} levels", f"| {MAX_ATTRIBUTES} |"):
        assert figure in section, figure
