"""`switchvox.extensions.getInfo` and `switchvox.extensions.search` (docs/methods.md).

Decisions of this project (ours); the limits are the constants below:

- getInfo lists extensions in the order requested: the `extensions` first, then the
  `account_ids`, each extension once (at its first mention). Unknown ones are left out.
- getInfo without either parameter is fault 10013; with one or both given but holding no
  value is 10000. Every bad item is reported, one `<error>` each.
- search validates every parameter and reports each bad value with fault 10005;
  `min_extension`/`max_extension` take digits and `*`, compared by (length, text), so
  "999" < "1000". Both dates are UTC, `YYYY-MM-DD HH:MM:SS`, inclusive.
- `items_per_page` is 1 to MAX_ITEMS_PER_PAGE; a page past the end is empty;
  `total_pages` is 0 when nothing matches.
- Sorting by `display` uses byte order ("Zoe" before "adam") so that every database agrees;
  ties are broken by number, and DESC is the exact reverse of ASC.
- `status` is a number when it is all digits, as the templates store it ("1").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from switchvox_server.faults import FAULTS, ApiError, Fault
from switchvox_server.methods.registry import Access, MethodContext, registry
from switchvox_server.protocol.request import ApiRequest
from switchvox_server.protocol.tree import Element, number_or_text
from switchvox_server.store import directory
from switchvox_server.store.directory import ExtensionFilter, SortField
from switchvox_server.store.models import ExtensionType

GET_INFO = "switchvox.extensions.getInfo"
SEARCH = "switchvox.extensions.search"

DEFAULT_ITEMS_PER_PAGE = 50
MAX_ITEMS_PER_PAGE = 1000
SORT_FIELDS = {field.value: field for field in SortField}
SORT_ORDERS = {"asc": False, "desc": True}  # value -> descending
EXTENSION_TYPES = frozenset(kind.value for kind in ExtensionType)
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
_DATE_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)
_EXTENSION_SHAPE = re.compile(r"[0-9*]+")
# No stored id can be larger (a 64-bit integer); larger ones are simply not found.
_MAX_ACCOUNT_ID = 2**63 - 1

Problems = list[tuple[Fault, tuple[object, ...]]]
T = TypeVar("T")


def extension_element(row: Mapping[str, Any]) -> Element:
    """One `<extension/>` of getInfo and search, attributes in the documented order."""
    return Element(
        "extension",
        {
            "number": number_or_text(row["number"]),
            "status": number_or_text(row["status"]),
            "can_dial_from_ivr": int(row["can_dial_from_ivr"]),
            "account_id": row["account_id"],
            "display": f"{row['first_name']} {row['last_name']}",
            "date_created": row["date_created"].strftime(DATE_FORMAT),
            "type": row["extension_type"],
            "type_display": ExtensionType(row["extension_type"]).display,
            "first_name": row["first_name"],
            "last_name": row["last_name"],
            "email_address": row["email"],
            "template_id": row["template_id"],
            "template_name": row["template_name"],
            "title": row["title"],
            "location": row["location"],
            "lang_locale": row["lang_locale"],
        },
    )


# --------------------------------------------------------------------------- getInfo


@registry.register(GET_INFO, Access.ADMIN_READ)
def get_info(request: ApiRequest, context: MethodContext) -> Element:
    if "extensions" not in request.parameters and "account_ids" not in request.parameters:
        raise ApiError(FAULTS.EXTENSIONS_OR_ACCOUNT_IDS_REQUIRED)
    numbers = _present(request.items("extensions"))
    raw_ids = _present(request.items("account_ids"))
    if not numbers and not raw_ids:
        raise ApiError(FAULTS.MISSING_EXTENSIONS_OR_ACCOUNT_IDS)

    problems: Problems = []
    settings = context.settings
    for number in numbers:
        if not _EXTENSION_SHAPE.fullmatch(number):
            problems.append((FAULTS.INVALID_EXTENSION, (number,)))
        elif not settings.extension_min_length <= len(number) <= settings.extension_max_length:
            bounds = (settings.extension_min_length, settings.extension_max_length)
            problems.append((FAULTS.INVALID_EXTENSION_LENGTH, (number, *bounds)))
    for raw in raw_ids:
        if not (raw.isascii() and raw.isdigit()):
            problems.append((FAULTS.INVALID_ACCOUNT_ID, (raw,)))
    if problems:
        raise ApiError.several(problems)
    account_ids = [value for value in map(int, raw_ids) if value <= _MAX_ACCOUNT_ID]

    with context.database.sessions() as session:
        rows = directory.extensions_by_keys(session, numbers, account_ids)
    by_number = {row["number"]: row for row in rows}
    by_id = {row["account_id"]: row for row in rows}
    requested = [by_number.get(number) for number in numbers]
    requested += [by_id.get(account_id) for account_id in account_ids]
    found = {row["account_id"]: row for row in requested if row is not None}
    return Element("extensions", children=[extension_element(row) for row in found.values()])


def _present(values: tuple[str, ...]) -> list[str]:
    """The non-blank values, trimmed, each once, in the order given."""
    return list(dict.fromkeys(value.strip() for value in values if value.strip()))


# --------------------------------------------------------------------------- search


@registry.register(SEARCH, Access.ADMIN_READ)
def search(request: ApiRequest, context: MethodContext) -> Element:
    problems: Problems = []
    where = ExtensionFilter(
        min_number=_bound(request, "min_extension", problems),
        max_number=_bound(request, "max_extension", problems),
        types=_types(request, problems),
        created_from=_date(request, "min_create_date", problems),
        created_to=_date(request, "max_create_date", problems),
    )
    sort = _choice(request, "sort_field", SORT_FIELDS, SortField.NUMBER, problems)
    descending = _choice(request, "sort_order", SORT_ORDERS, False, problems)
    per_page = _count(
        request, "items_per_page", DEFAULT_ITEMS_PER_PAGE, MAX_ITEMS_PER_PAGE, problems
    )
    page_number = _count(request, "page_number", 1, None, problems)
    if problems:
        raise ApiError.several(problems)

    offset = (page_number - 1) * per_page
    with context.database.sessions() as session:
        total = directory.count_matching(session, where)
        rows = []
        if offset < total:  # a page past the end needs no query (and no huge OFFSET)
            rows = directory.search_page(
                session, where, sort, descending=descending, limit=per_page, offset=offset
            )
    attributes = {
        "page_number": page_number,
        "items_per_page": per_page,
        "total_items": total,
        "total_pages": (total + per_page - 1) // per_page,
    }
    return Element("extensions", attributes, [extension_element(row) for row in rows])


def _invalid(name: str, value: str) -> tuple[Fault, tuple[object, ...]]:
    return FAULTS.INVALID_PARAMETER_VALUE, (name, value)


def _given(request: ApiRequest, name: str) -> str | None:
    value = (request.scalar(name) or "").strip()
    return value or None


def _bound(request: ApiRequest, name: str, problems: Problems) -> str | None:
    value = _given(request, name)
    if value is not None and not _EXTENSION_SHAPE.fullmatch(value):
        problems.append(_invalid(name, value))
        return None
    return value


def _types(request: ApiRequest, problems: Problems) -> list[str]:
    types: list[str] = []
    for name in ("extension_types", "extension_type"):
        for value in _present(request.items(name)):
            if value.lower() in EXTENSION_TYPES:
                types.append(value.lower())
            else:
                problems.append(_invalid(name, value))
    return types


def _date(request: ApiRequest, name: str, problems: Problems) -> datetime | None:
    value = _given(request, name)
    if value is None:
        return None
    if _DATE_SHAPE.fullmatch(value):
        try:
            return datetime.strptime(value, DATE_FORMAT)
        except ValueError:  # the right shape but no such day or time
            pass
    problems.append(_invalid(name, value))
    return None


def _choice(
    request: ApiRequest, name: str, choices: Mapping[str, T], default: T, problems: Problems
) -> T:
    value = _given(request, name)
    if value is None:
        return default
    if value.lower() in choices:
        return choices[value.lower()]
    problems.append(_invalid(name, value))
    return default


def _count(
    request: ApiRequest, name: str, default: int, maximum: int | None, problems: Problems
) -> int:
    """A whole number from 1 up to `maximum`; digits only, no sign."""
    value = _given(request, name)
    if value is None:
        return default
    # The length check keeps int() away from absurdly long digit strings.
    if value.isascii() and value.isdigit() and len(value) <= 18:
        number = int(value)
        if number >= 1 and (maximum is None or number <= maximum):
            return number
    problems.append(_invalid(name, value))
    return default
