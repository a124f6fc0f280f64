"""The JSON envelope (docs/methods.md): the same requests and responses as XML, spelt in JSON.

Element → JSON follows the XML::Simple conventions the documented rules describe: attributes
become keys, a child tag that occurs once is an object and a repeated one a list, an empty
element is `{}`, a text-only element is its text. Text next to attributes or children goes
under the key `content` (XML::Simple's name for it; ours, no documented response has one).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import NoReturn

from switchvox_server.faults import FAULTS, ApiError, ErrorEntry
from switchvox_server.protocol.chunks import ChunkBuffer
from switchvox_server.protocol.limits import MAX_DEPTH, MAX_NODES
from switchvox_server.protocol.request import ParameterValue
from switchvox_server.tree import AttributeValue, Element, LazyChildren

JSON_CONTENT_TYPE = "application/json"

CONTENT_KEY = "content"


def _refuse(reason: str) -> ApiError:
    return ApiError(FAULTS.UNPARSABLE_REQUEST, reason)


# --------------------------------------------------------------------------- parsing


def parse_request(body: bytes) -> tuple[str, dict[str, ParameterValue]]:
    """The method name and parameters of a JSON request envelope, or an `ApiError`."""
    document, repeated_anywhere = _load(body)
    if not isinstance(document, dict):
        raise _refuse("the document must be a JSON object")
    request = document.get("request")
    if not isinstance(request, dict):
        raise _refuse("the document must hold a request object")
    for envelope in (document, request):
        if (key := _repeated_key(envelope)) is not None:
            raise _refuse(f"key {key} given twice")

    method = request.get("method")
    if method is not None and not isinstance(method, str):
        raise _refuse("method must be a string")
    method = (method or "").strip()
    if not method:
        raise ApiError(FAULTS.MISSING_PARAMETER, "method")

    raw = request.get("parameters")
    if raw is None or raw == []:  # PHP's json_encode writes an empty array as []
        raw = {}
    if not isinstance(raw, dict):
        raise _refuse("parameters must be an object")
    if (key := _repeated_key(raw)) is not None:
        raise ApiError(FAULTS.PARAMETER_REPEATED, key)
    parameters: dict[str, ParameterValue] = {}
    for name, value in raw.items():
        if _repeated_key(value) is not None:  # {"extension": […], "extension": […]}
            raise ApiError(FAULTS.PARAMETER_REPEATED, name)
        parsed = _parameter(name, value)
        if parsed is not None:
            parameters[name] = parsed
    if repeated_anywhere is not None:  # in an object that is no part of the parameters
        raise _refuse(f"key {repeated_anywhere} given twice")
    return method, parameters


class _Members(dict[str, object]):
    """A JSON object that remembers the first key it was given twice, if any."""

    __slots__ = ("repeated",)

    def __init__(self, pairs: list[tuple[str, object]]) -> None:
        super().__init__(pairs)
        self.repeated: str | None = None
        if len(self) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    self.repeated = key
                    break
                seen.add(key)


class _TooManyObjects(Exception):
    """Raised out of the JSON parser once a document has made more objects than it may
    hold values."""


class _ObjectMaker:
    """Makes the objects of one document, and stops the parse at once when there are more of
    them than MAX_NODES (each is a value): the hook is Python code run for every object, so
    without this a document of a million `{}` would cost its full length before being
    refused."""

    def __init__(self) -> None:
        self.made = 0

    def __call__(self, pairs: list[tuple[str, object]]) -> _Members:
        self.made += 1
        if self.made > MAX_NODES:
            raise _TooManyObjects
        return _Members(pairs)


def _repeated_key(value: object) -> str | None:
    """The first key given twice in `value`, if it is a JSON object."""
    return value.repeated if isinstance(value, _Members) else None


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _load(body: bytes) -> tuple[object, str | None]:
    """The document, and the first key given twice in any of its objects (None if none)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse("the request is not UTF-8") from None
    if not text.strip():
        raise ApiError(FAULTS.EMPTY_REQUEST)
    try:
        # Numbers stay as written ("1", "2.50"): parameters are strings anyway, and this
        # sidesteps int's digit limit and float rounding.
        document: object = json.loads(
            text,
            object_pairs_hook=_ObjectMaker(),
            parse_int=str,
            parse_float=str,
            parse_constant=_reject_constant,
        )
    except RecursionError:
        raise _refuse(f"nested deeper than {MAX_DEPTH} levels") from None
    except _TooManyObjects:
        raise _refuse(f"more than {MAX_NODES} values") from None
    except ValueError:
        raise _refuse("not valid JSON") from None
    return document, _check_shape(document)


def _check_shape(document: object) -> str | None:
    """Refuse nesting deeper than MAX_DEPTH (a bare object is 1) and more than MAX_NODES
    values, walking without recursion; return the first key given twice in any object."""
    repeated: str | None = None
    nodes = 1
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if repeated is None:
                repeated = _repeated_key(value)
            children = list(value.values())
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > MAX_DEPTH:
            raise _refuse(f"nested deeper than {MAX_DEPTH} levels")
        nodes += len(children)  # counted before they are stacked
        if nodes > MAX_NODES:
            raise _refuse(f"more than {MAX_NODES} values")
        stack.extend((child, depth + 1) for child in children)
    return repeated


def _parameter(name: str, value: object) -> ParameterValue | None:
    """One parameter: a scalar, a flat list, or a wrapper object `{"extension": [...]}`."""
    if value is None:
        return None  # null means "not given"
    if isinstance(value, dict):
        if len(value) > 1:
            raise _refuse(f"parameter {name} must wrap a single list")
        if not value:
            return ()
        (value,) = value.values()
        if value is None:
            return ()
        if not isinstance(value, list):
            return (_scalar(name, value),)
    if isinstance(value, list):
        return tuple(_scalar(name, item) for item in value if item is not None)
    return _scalar(name, value)


def _scalar(name: str, value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str):  # numbers arrive as their literal text, see _load
        return value
    raise _refuse(f"parameter {name} is nested too deeply")


# --------------------------------------------------------------------------- rendering

# What a JSON string must escape (RFC 8259, section 7): the quote, the backslash and the C0
# controls, with the short escapes where JSON has them. Everything else, non-ASCII included,
# is written as itself, as json.dumps(value, ensure_ascii=False) writes it.
_STRING_ESCAPES = str.maketrans(
    {
        **{chr(code): f"\\u{code:04x}" for code in range(0x20)},
        '"': '\\"',
        "\\": "\\\\",
        "\b": "\\b",
        "\f": "\\f",
        "\n": "\\n",
        "\r": "\\r",
        "\t": "\\t",
    }
)


def _json_string(value: str) -> str:
    # Most values need no escape, and these three checks in C (the controls are not printable)
    # keep this as fast as the standard library's encoder on the rows of a large report.
    if '"' not in value and "\\" not in value and value.isprintable():
        return f'"{value}"'
    return f'"{value.translate(_STRING_ESCAPES)}"'


def render_response(
    method: str,
    result: Element | None,
    errors: Sequence[ErrorEntry] = (),
    *,
    strings: bool = False,
) -> Iterator[bytes]:
    """The response envelope as UTF-8 chunks: a `result` or, when there are errors, `errors`.

    `strings` writes every scalar as a JSON string (the `modern` profile); otherwise values
    that are numbers by nature are JSON numbers."""
    scalar = _string_json if strings else _scalar_json
    out = ChunkBuffer()
    out.write(f'{{"response":{{"method":{_json_string(method)},')
    if errors:
        entries = [
            f'{{"code":{scalar(int(error.code))},"message":{_json_string(error.message)}}}'
            for error in errors
        ]
        listed = entries[0] if len(entries) == 1 else f"[{','.join(entries)}]"
        out.write(f'"errors":{{"error":{listed}}}')
    elif result is None:
        out.write('"result":{}')
    else:
        out.write(f'"result":{{{_json_string(result.tag)}:')
        yield from _render_value(result, out, scalar)
        out.write("}")
    out.write("}}")
    yield out.take()


def render_strings_response(
    method: str, result: Element | None, errors: Sequence[ErrorEntry] = ()
) -> Iterator[bytes]:
    """`render_response` with every scalar a string (profiles.JSON_STRINGS)."""
    return render_response(method, result, errors, strings=True)


Scalar = Callable[[AttributeValue], str]


def _scalar_json(value: AttributeValue) -> str:
    # int() also turns a stray bool into 1/0, as in XML.
    return _json_string(value) if type(value) is str else str(int(value))


def _string_json(value: AttributeValue) -> str:
    return _json_string(value if type(value) is str else str(int(value)))


def _leaf(element: Element, scalar: Scalar) -> str | None:
    """The JSON of an element without children, or None when it has children to stream."""
    children = element.children
    if children.count if isinstance(children, LazyChildren) else children:
        return None
    attributes = element.attributes
    text = element.text
    if not attributes:
        return "{}" if text is None else _json_string(text)
    members = [f"{_json_string(name)}:{scalar(v)}" for name, v in attributes.items()]
    if text is not None:
        members.append(f'"{CONTENT_KEY}":{_json_string(text)}')
    return "{" + ",".join(members) + "}"


def _render_value(element: Element, out: ChunkBuffer, scalar: Scalar) -> Iterator[bytes]:
    leaf = _leaf(element, scalar)
    if leaf is not None:
        out.write(leaf)
        return
    members = [f"{_json_string(n)}:{scalar(v)}" for n, v in element.attributes.items()]
    if element.text is not None:
        members.append(f'"{CONTENT_KEY}":{_json_string(element.text)}')
    out.write("{" + "".join(member + "," for member in members))

    children = element.children
    groups: list[tuple[str, int, Iterator[Element]]]
    if isinstance(children, LazyChildren):
        # The count decides object or list up front, so the rows can stream.
        groups = [(children.tag, children.count, children.produce())]
    else:
        by_tag: dict[str, list[Element]] = {}
        for child in children:
            by_tag.setdefault(child.tag, []).append(child)
        groups = [(tag, len(group), iter(group)) for tag, group in by_tag.items()]

    for index, (tag, count, items) in enumerate(groups):
        out.write(("," if index else "") + _json_string(tag) + (":[" if count > 1 else ":"))
        produced = 0
        for child in items:
            if produced:
                out.write(",")
            produced += 1
            leaf = _leaf(child, scalar)
            if leaf is None:
                yield from _render_value(child, out, scalar)
            else:
                out.write(leaf)  # the common row: no generator per element
            if out.full:
                yield out.take()
        if produced != count:
            # The shape (object or list) was chosen from the count; a wrong one means a bug.
            raise RuntimeError(f"<{tag}> children: {count} announced, {produced} produced")
        if count > 1:
            out.write("]")
    out.write("}")
