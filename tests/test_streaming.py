"""Both envelopes stream large results in chunks, starting before every row exists."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence

import pytest
from lxml import etree

from switchvox_server.faults import ErrorEntry
from switchvox_server.protocol import json_envelope, xml_envelope
from switchvox_server.protocol.chunks import CHUNK_SIZE
from switchvox_server.tree import Element, LazyChildren

Render = Callable[[str, Element | None, Sequence[ErrorEntry]], Iterator[bytes]]


def count_xml(document: bytes) -> int:
    """How many created extensions an XML report lists."""
    return len(etree.fromstring(document).findall("result/created/extension"))


def count_json(document: bytes) -> int:
    """How many created extensions a JSON report lists."""
    return len(json.loads(document)["response"]["result"]["created"]["extension"])


@pytest.mark.parametrize(
    ("render", "count"),
    [(xml_envelope.render_response, count_xml), (json_envelope.render_response, count_json)],
    ids=["xml", "json"],
)
def test_streams_in_chunks(render: Render, count: Callable[[bytes], int]) -> None:
    """Large results arrive as ~64 KiB chunks, the first before all rows are produced."""
    produced = 0
    total = 20_000

    def rows() -> Iterator[Element]:
        nonlocal produced
        for number in range(total):
            produced += 1
            yield Element("extension", {"extension": number, "first_name": "First"})

    chunks = render("m", Element("created", children=LazyChildren("extension", total, rows)), ())
    first = next(chunks)
    assert produced < total
    rest = list(chunks)
    assert len(rest) > 5
    assert all(len(chunk) < CHUNK_SIZE + 1024 for chunk in (first, *rest))
    assert count(first + b"".join(rest)) == total
